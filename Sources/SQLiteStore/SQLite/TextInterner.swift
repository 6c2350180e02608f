import EventStore
import Foundation

/// One `String` for text that repeats row after row (stream names, event types), so a scan of
/// the ledger allocates and validates each only once instead of once per row.
///
/// A small direct-mapped table keyed by a hash of the bytes; a miss just makes the string
/// and takes the slot. Short text (15 bytes or less) is stored inline by `String` anyway and
/// is made directly.
final class TextInterner {
    private var slots: [(bytes: [UInt8], text: String)?] = Array(repeating: nil, count: 256)

    func text(_ bytes: UnsafeRawBufferPointer) -> String {
        bytes.count > 15 ? keyed(bytes).text : String(decoding: bytes, as: UTF8.self)
    }

    /// The text and an FNV-1a hash of its bytes, for keying a table without hashing them again.
    func keyed(_ bytes: UnsafeRawBufferPointer) -> (text: String, hash: UInt32) {
        let count = bytes.count
        var hash: UInt32 = 2_166_136_261
        for byte in bytes { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
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
