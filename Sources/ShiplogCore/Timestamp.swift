import Foundation

/// UTC instants as the ledger writes them: ISO 8601 with milliseconds, `2026-11-26T15:35:00.123Z`.
///
/// Fixed width, so text order is time order and SQLite compares them as strings.
public enum Timestamp {
    public static func format(_ date: Date) -> String {
        let ms = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(ms / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        // Written digit by digit: projections format a time per artifact and per record.
        let year = Int(parts.tm_year) + 1900
        guard (0...9999).contains(year) else {
            func pad(_ v: Int32, _ width: Int) -> String {
                let s = String(v)
                return String(repeating: "0", count: max(0, width - s.count)) + s
            }
            return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
                + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(ms % 1000), 3))Z"
        }
        return String(unsafeUninitializedCapacity: 24) { out in
            func put(_ value: Int, _ width: Int, at offset: Int) {
                var v = value
                for k in stride(from: offset + width - 1, through: offset, by: -1) {
                    out[k] = UInt8(truncatingIfNeeded: 48 + v % 10)
                    v /= 10
                }
            }
            put(year, 4, at: 0)
            out[4] = 45
            put(Int(parts.tm_mon) + 1, 2, at: 5)
            out[7] = 45
            put(Int(parts.tm_mday), 2, at: 8)
            out[10] = 84
            put(Int(parts.tm_hour), 2, at: 11)
            out[13] = 58
            put(Int(parts.tm_min), 2, at: 14)
            out[16] = 58
            put(Int(parts.tm_sec), 2, at: 17)
            out[19] = 46
            put(Int(ms % 1000), 3, at: 20)
            out[23] = 90
            return 24
        }
    }

    /// Parses `2026-11-26T15:35:00Z`, with or without milliseconds, or a bare date `2026-11-26` (midnight UTC).
    public static func parse(_ text: String) -> Date? {
        // Trimming through Foundation costs more than the rest of the parse: only when needed.
        let edges = (text.utf8.first ?? 0, text.utf8.last ?? 0)
        let plain = edges.0 > 0x20 && edges.0 < 0x80 && edges.1 > 0x20 && edges.1 < 0x80
        let t = plain ? text : text.trimmingCharacters(in: .whitespaces)
        let digits = Array(t.utf8)
        func num(_ from: Int, _ len: Int) -> Int32? {
            guard from + len <= digits.count else { return nil }
            var v: Int32 = 0
            for c in digits[from..<(from + len)] {
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int32(c - 48)
            }
            return v
        }
        guard let year = num(0, 4), digits.count >= 10, digits[4] == 45, let month = num(5, 2), digits[7] == 45,
            let day = num(8, 2), (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        var millis: Int32 = 0
        if digits.count > 10 {
            guard digits[10] == 84 || digits[10] == 32, let h = num(11, 2), digits.count > 13, digits[13] == 58,
                let m = num(14, 2), digits.count > 16, digits[16] == 58, let s = num(17, 2),
                h < 24, m < 60, s < 61
            else { return nil }
            parts.tm_hour = h
            parts.tm_min = m
            parts.tm_sec = s
            var i = 19
            if i < digits.count, digits[i] == 46 {
                i += 1
                var scale: Int32 = 100
                while i < digits.count, digits[i] >= 48, digits[i] <= 57 {
                    millis += Int32(digits[i] - 48) * scale
                    scale /= 10
                    i += 1
                }
            }
            guard i == digits.count - 1, digits[i] == 90 else { return nil }
        }
        let seconds = timegm(&parts)
        return Date(timeIntervalSince1970: Double(seconds) + Double(millis) / 1000)
    }
}
