import EventStore
import Foundation

/// One `String` for text that repeats row after row (stream names, event types, a runner's
/// metadata), so a scan of the ledger allocates and validates each only once instead of once per row.
///
/// Small direct-mapped tables keyed by a hash of the bytes; a miss just makes the string and
/// takes the slot. Used by one thread, row after row.
final class TextInterner {
    /// Longer text (stream names), keyed by a hash of every byte.
    private let slots = KeptText.table(256)
    /// Names (event types), keyed by their length and first and last eight bytes: short text is
    /// kept too, as checking and making even a string held inline costs more than comparing it.
    private let names = KeptText.table(256)
    private let streams = RecentText()
    private let metadata = RecentText()

    deinit {
        KeptText.free(slots)
        KeptText.free(names)
    }

    /// A stream name: one of the last two seen, or from the table.
    func stream(_ bytes: UnsafeRawBufferPointer) -> String {
        streams.text(bytes) { keyed($0).text }
    }

    /// A metadata object: one of the last two seen, or made (metadata varies too much to keep in the table).
    func metadata(_ bytes: UnsafeRawBufferPointer) -> String {
        metadata.text(bytes) { String(decoding: $0, as: UTF8.self) }
    }

    /// Text that repeats from a small set (event types).
    func text(_ bytes: UnsafeRawBufferPointer) -> String {
        let count = bytes.count
        guard count >= 8, count <= KeptText.shortest, let base = bytes.baseAddress else {
            return count > 15 ? keyed(bytes).text : String(decoding: bytes, as: UTF8.self)
        }
        let head = base.loadUnaligned(as: UInt64.self), last = base.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
        let slot = names.baseAddress! + ShortBytes.hash(head: head, last: last, count: count, shift: 56)
        if slot.pointee.holds(base, count) { return slot.pointee.text }
        let text = String(decoding: bytes, as: UTF8.self)
        slot.pointee.keep(bytes, text)
        return text
    }

    /// FNV-1a's multiply over eight bytes at a time, then the tail byte by byte, mixed and folded to 32 bits.
    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        var i = 0
        let count = bytes.count
        if let base = bytes.baseAddress {
            while i + 8 <= count {
                h = (h ^ base.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0x0000_0100_0000_01B3
                i += 8
            }
            while i < count {
                h = (h ^ UInt64(base.load(fromByteOffset: i, as: UInt8.self))) &* 0x0000_0100_0000_01B3
                i += 1
            }
        }
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        return UInt32(truncatingIfNeeded: h >> 32)
    }

    /// The text and a hash of its bytes, for keying a table without hashing them again.
    func keyed(_ bytes: UnsafeRawBufferPointer) -> (text: String, hash: UInt32) {
        let count = bytes.count
        let hash = Self.hash(bytes)
        guard count > 15, let base = bytes.baseAddress else { return (String(decoding: bytes, as: UTF8.self), hash) }
        let slot = slots.baseAddress! + Int(hash & 255)
        if slot.pointee.holds(base, count) { return (slot.pointee.text, hash) }
        let text = String(decoding: bytes, as: UTF8.self)
        slot.pointee.keep(bytes, text)
        return (text, hash)
    }
}
