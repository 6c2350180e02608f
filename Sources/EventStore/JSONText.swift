/// Minimal JSON writing with a fixed key order, so the same value always gives the same bytes.
///
/// Export files must be byte-identical across export → import → export; Foundation's
/// encoder gives no key-order or escaping guarantee, and is slower than this by far.
public enum JSONText {
    /// `text` as a JSON string literal, quotes included. Control characters (C0, DEL, C1) are
    /// written as `\u` escapes.
    public static func quote(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count + 2)
        appendQuoted(text, to: &out)
        return out
    }

    /// Appends `text` as a JSON string literal: records and exports are built in one string.
    static func appendQuoted(_ text: String, to out: inout String) {
        out += "\""
        // Most text needs no escape: copied whole. (0xC2 leads U+0080–U+00BF, the C1 controls among them.)
        var scanned = text
        let plain = scanned.withUTF8 { bytes in !bytes.contains { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 == 0x7F || $0 == 0xC2 } }
        if plain {
            out += text
            out += "\""
            return
        }
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
                // C0 controls must be escaped; DEL and the C1 controls are too, so JSON printed
                // on a terminal cannot carry a control sequence (CSI, OSC) either.
                if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    /// A JSON text (such as a stored payload, written by another encoder) with DEL and the C1
    /// controls, which JSON allows raw inside strings, written as `\u` escapes: the same value,
    /// safe to print on a terminal. Valid JSON stays valid: those characters occur only in strings.
    public static func escapingControls(inJSON json: String) -> String {
        var copy = json
        guard copy.withUTF8({ $0.contains { $0 == 0x7F || $0 == 0xC2 } }) else { return json }
        var out = ""
        out.reserveCapacity(json.utf8.count + 8)
        for scalar in json.unicodeScalars {
            if (0x7F...0x9F).contains(scalar.value) {
                out += "\\u00" + String(scalar.value, radix: 16)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// An object from already-encoded member values, in the given order.
    public static func object(_ members: [(String, String)]) -> String {
        var size = 2
        for (key, value) in members { size += key.utf8.count + value.utf8.count + 4 }
        var out = ""
        out.reserveCapacity(size)
        out += "{"
        for (i, (key, value)) in members.enumerated() {
            if i > 0 { out += "," }
            appendQuoted(key, to: &out)
            out += ":"
            out += value
        }
        out += "}"
        return out
    }

    public static func array(_ values: [String]) -> String {
        var size = 2
        for value in values { size += value.utf8.count + 1 }
        var out = ""
        out.reserveCapacity(size)
        out += "["
        for (i, value) in values.enumerated() {
            if i > 0 { out += "," }
            out += value
        }
        out += "]"
        return out
    }
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
