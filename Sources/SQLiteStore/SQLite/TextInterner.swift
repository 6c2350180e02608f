import EventStore
import Foundation

/// One `String` for text that repeats row after row (stream names, event types, a runner's
/// metadata), so a scan of the ledger allocates and validates each only once instead of once per row.
///
/// A small direct-mapped table keyed by a hash of the bytes; a miss just makes the string
/// and takes the slot. Short text (15 bytes or less) is stored inline by `String` anyway and
/// is made directly.
final class TextInterner {
    // A scan uses its interner from one thread, row after row: no run-time exclusivity checks.
    @exclusivity(unchecked) private var slots: [(bytes: [UInt8], text: String)?] = Array(repeating: nil, count: 256)
    @exclusivity(unchecked) private var streams = RecentText()
    @exclusivity(unchecked) private var metadata = RecentText()

    /// A stream name: one of the last two seen, or from the table.
    func stream(_ bytes: UnsafeRawBufferPointer) -> String {
        streams.text(bytes) { keyed($0).text }
    }

    /// A metadata object: one of the last two seen, or made (metadata varies too much to keep in the table).
    func metadata(_ bytes: UnsafeRawBufferPointer) -> String {
        metadata.text(bytes) { String(decoding: $0, as: UTF8.self) }
    }

    func text(_ bytes: UnsafeRawBufferPointer) -> String {
        bytes.count > 15 ? keyed(bytes).text : String(decoding: bytes, as: UTF8.self)
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
        let slot = Int(hash & 255)
        if let entry = slots[slot], entry.bytes.count == count,
            entry.bytes.withUnsafeBytes({ memcmp($0.baseAddress!, base, count) == 0 })
        {
            return (entry.text, hash)
        }
        let text = String(decoding: bytes, as: UTF8.self)
        slots[slot] = (Array(bytes), text)
        return (text, hash)
    }
}
