/// Minimal JSON writing with a fixed key order, so the same value always gives the same bytes.
///
/// Export files must be byte-identical across export → import → export; Foundation's
/// encoder gives no key-order or escaping guarantee, and is slower than this by far.
public enum JSONText {
    /// `text` as a JSON string literal, quotes included.
    public static func quote(_ text: String) -> String {
        // Most text needs no escape: copy it whole.
        if !text.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) {
            var out = "\""
            out.reserveCapacity(text.utf8.count + 2)
            out += text
            out += "\""
            return out
        }
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
        return out
    }

    /// An object from already-encoded member values, in the given order.
    public static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { quote($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }

    public static func array(_ values: [String]) -> String { "[" + values.joined(separator: ",") + "]" }
}

extension RecordedEvent {
    /// The event as one NDJSON line (no newline): every column, `data` and `metadata` as
    /// JSON strings holding the exact recorded text, so the hash can be recomputed from the line.
    public var jsonLine: String {
        JSONText.object([
            ("position", String(position)),
            ("event_id", JSONText.quote(eventID)),
            ("stream", JSONText.quote(stream)),
            ("version", String(version)),
            ("type", JSONText.quote(type)),
            ("schema", String(schema)),
            ("data", JSONText.quote(data)),
            ("metadata", JSONText.quote(metadata)),
            ("recorded_at", JSONText.quote(recordedAt)),
            ("hash", JSONText.quote(hash)),
        ])
    }
}
