import Foundation

/// Time-ordered UUIDs (RFC 9562, version 7): 48 bits of Unix milliseconds, then random bits.
///
/// Ids made later sort later, so the unique index on `event_id` grows at one end
/// instead of splitting pages all over a ledger of millions of events.
public enum UUIDv7 {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var last: (milliseconds: UInt64, counter: UInt16) = (0, 0)

    /// A new id. Within one process, ids sort in the order they were made: in the same
    /// millisecond (or if the clock steps back) the 12-bit counter field increases instead.
    public static func make(milliseconds now: UInt64 = UInt64(Date().timeIntervalSince1970 * 1000)) -> String {
        var rng = SystemRandomNumberGenerator()
        let random = rng.next()
        let (milliseconds, counter): (UInt64, UInt16) = lock.withLock {
            if now > last.milliseconds {
                last = (now, UInt16(truncatingIfNeeded: rng.next()) & 0x3FF)
            } else if last.counter < 0xFFF {
                last.counter += 1
            } else {
                last = (last.milliseconds + 1, 0)
            }
            return last
        }
        // 48 bits of milliseconds, version 7, the 12-bit counter; then the variant bits and 62 random bits.
        let bytes = (milliseconds << 16 | 0x7000 | UInt64(counter & 0xFFF), random & 0x3FFF_FFFF_FFFF_FFFF | 0x8000_0000_0000_0000)
        // Written digit by digit: every appended event gets one.
        return String(unsafeUninitializedCapacity: 36) { out in
            var o = 0
            func put(_ word: UInt64) {
                var shift: UInt64 = 64
                while shift > 0 {
                    shift -= 4
                    if o == 8 || o == 13 || o == 18 || o == 23 {
                        out[o] = UInt8(ascii: "-")
                        o += 1
                    }
                    let n = UInt8(truncatingIfNeeded: word >> shift) & 0x0F
                    out[o] = n < 10 ? 48 + n : 87 + n
                    o += 1
                }
            }
            put(bytes.0)
            put(bytes.1)
            return 36
        }
    }

    /// True for the canonical 8-4-4-4-12 lowercase or uppercase hex form.
    public static func isWellFormed(_ text: String) -> Bool {
        // Over the string's bytes directly: every appended event's id is checked.
        if let checked = text.utf8.withContiguousStorageIfAvailable(isWellFormed) { return checked }
        return Array(text.utf8).withUnsafeBufferPointer(isWellFormed)
    }

    private static func isWellFormed(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count == 36 else { return false }
        for i in 0..<36 {
            let c = bytes[i]
            if i == 8 || i == 13 || i == 18 || i == 23 {
                if c != UInt8(ascii: "-") { return false }
            } else if !((c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70)) {
                return false
            }
        }
        return true
    }
}
