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
        var bytes = [UInt8](repeating: 0, count: 16)
        var rng = SystemRandomNumberGenerator()
        for i in 8..<16 { bytes[i] = UInt8.random(in: 0...255, using: &rng) }
        let (milliseconds, counter): (UInt64, UInt16) = lock.withLock {
            if now > last.milliseconds {
                last = (now, UInt16.random(in: 0...0x3FF, using: &rng))
            } else if last.counter < 0xFFF {
                last.counter += 1
            } else {
                last = (last.milliseconds + 1, 0)
            }
            return last
        }
        for i in 0..<6 { bytes[i] = UInt8(truncatingIfNeeded: milliseconds >> (8 * (5 - UInt64(i)))) }
        bytes[6] = 0x70 | UInt8(counter >> 8)
        bytes[7] = UInt8(truncatingIfNeeded: counter)
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = bytes.map { byte in
            let s = String(byte, radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined()
        let h = Array(hex)
        return String(h[0..<8]) + "-" + String(h[8..<12]) + "-" + String(h[12..<16]) + "-" + String(h[16..<20]) + "-" + String(h[20..<32])
    }

    /// True for the canonical 8-4-4-4-12 lowercase or uppercase hex form.
    public static func isWellFormed(_ text: String) -> Bool {
        let utf8 = Array(text.utf8)
        guard utf8.count == 36 else { return false }
        for (i, c) in utf8.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                if c != UInt8(ascii: "-") { return false }
            } else if !((c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70)) {
                return false
            }
        }
        return true
    }
}
