import Foundation

/// The last two texts read from one column of a scan. Consecutive rows mostly alternate between
/// the few deployments running at once, so a stream name or a runner's metadata often equals
/// one of them: comparing the bytes with a kept string costs less than hashing them, and much
/// less than making and later freeing a new string.
struct RecentText {
    private var first = ""
    private var second = ""

    /// The kept string equal to `bytes`, or the one `make` returns (then kept as the newest).
    mutating func text(_ bytes: UnsafeRawBufferPointer, orMake make: (UnsafeRawBufferPointer) -> String) -> String {
        let count = bytes.count
        guard count > 15, let base = bytes.baseAddress else { return String(decoding: bytes, as: UTF8.self) }
        if Self.equal(&first, base, count) { return first }
        if Self.equal(&second, base, count) {
            swap(&first, &second)
            return first
        }
        let made = make(bytes)
        second = first
        first = made
        return made
    }

    private static func equal(_ text: inout String, _ base: UnsafeRawPointer, _ count: Int) -> Bool {
        text.utf8.count == count && text.withUTF8 { memcmp($0.baseAddress!, base, count) == 0 }
    }
}
