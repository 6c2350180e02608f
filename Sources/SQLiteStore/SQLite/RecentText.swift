import EventStore
import Foundation

/// The last two texts read from one column of a scan. Consecutive rows mostly alternate between
/// the few deployments running at once, so a stream name or a runner's metadata often equals
/// one of them: comparing the bytes with a kept copy costs less than hashing them, and much
/// less than making and later freeing a new string.
final class RecentText {
    // A scan uses its texts from one thread, row after row: no run-time exclusivity checks.
    @exclusivity(unchecked) private var first = KeptText()
    @exclusivity(unchecked) private var second = KeptText()

    deinit {
        first.free()
        second.free()
    }

    /// The kept string whose bytes are `bytes`, or the one `make` returns (then kept as the newest).
    func text(_ bytes: UnsafeRawBufferPointer, orMake make: (UnsafeRawBufferPointer) -> String) -> String {
        guard bytes.count > 15, let base = bytes.baseAddress else { return String(decoding: bytes, as: UTF8.self) }
        if first.holds(base, bytes.count) { return first.text }
        if second.holds(base, bytes.count) {
            swap(&first, &second)
            return first.text
        }
        // The older one's storage takes the new text, which becomes the newest.
        swap(&first, &second)
        first.keep(bytes, make(bytes))
        return first.text
    }
}

/// A string and a copy of its UTF-8 bytes, compared without going through the string. Its
/// owner frees the copy (`free`).
struct KeptText {
    private(set) var text = ""
    private var bytes: UnsafeMutableRawPointer?
    private var capacity = 0
    private var count = -1

    /// Texts up to this long are compared here, eight bytes at a time, rather than by `memcmp`.
    static let shortest = 32

    @inline(__always)
    func holds(_ base: UnsafeRawPointer, _ count: Int) -> Bool {
        guard self.count == count, let bytes else { return false }
        return count <= Self.shortest ? ShortBytes.equal(bytes, base, count) : memcmp(bytes, base, count) == 0
    }

    mutating func keep(_ source: UnsafeRawBufferPointer, _ text: String) {
        if capacity < source.count {
            bytes?.deallocate()
            capacity = max(source.count, 64)
            bytes = .allocate(byteCount: capacity, alignment: 8)
        }
        if let base = source.baseAddress { bytes!.copyMemory(from: base, byteCount: source.count) }
        count = source.count
        self.text = text
    }

    func free() { bytes?.deallocate() }

    /// `count` empty slots, for a table its owner frees with `free(_:)`.
    static func table(_ count: Int) -> UnsafeMutableBufferPointer<KeptText> {
        let slots = UnsafeMutableBufferPointer<KeptText>.allocate(capacity: count)
        slots.initialize(repeating: KeptText())
        return slots
    }

    static func free(_ table: UnsafeMutableBufferPointer<KeptText>) {
        for slot in table { slot.free() }
        table.deinitialize()
        table.deallocate()
    }
}
