/// Minimal JSON writing with a fixed key order, so the same value always gives the same bytes.
///
/// Export files must be byte-identical across export → import → export; Foundation's
/// encoder gives no key-order or escaping guarantee, and is slower than this by far.
public enum JSONText {
    /// `text` as a JSON string literal, quotes included. Every character of ``mustEscape(_:)``
    /// is written as a `\u` escape.
    public static func quote(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count + 2)
        appendQuoted(text, to: &out)
        return out
    }

    /// Appends `text` as a JSON string literal: records and exports are built in one string.
    static func appendQuoted(_ text: String, to out: inout String) {
        out += "\""
        // Most text needs no escape: copied whole.
        var scanned = text
        let plain = scanned.withUTF8 { bytes in !bytes.contains { $0 == 0x22 || $0 == 0x5C || mayLeadControl($0) } }
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
                if mustEscape(scalar) {
                    appendEscape(scalar, to: &out)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    /// The characters written as `\u` escapes: those JSON requires (C0 controls) and those it
    /// allows raw but that act on a terminal or split a line for line-based readers instead of
    /// printing: DEL, the C1 controls (CSI, OSC), the Unicode line and paragraph separators
    /// (U+2028, U+2029), and the bidirectional formatting characters (U+061C, U+200E, U+200F,
    /// U+202A–U+202E, U+2066–U+2069). JSON output printed on a terminal cannot carry a control
    /// sequence; the terminal renderer shows the same characters as escapes.
    public static func mustEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F: true
        case 0x061C, 0x200E, 0x200F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    /// False when no UTF-8 sequence starting with `byte` can encode a ``mustEscape(_:)``
    /// character: 0xC2 leads U+0080–U+00BF, 0xD8 leads U+061C, 0xE2 leads U+2000–U+2FFF.
    public static func mayLeadControl(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == 0x7F || byte == 0xC2 || byte == 0xD8 || byte == 0xE2
    }

    /// A JSON text (such as a stored payload, written by another encoder) with every
    /// ``mustEscape(_:)`` character that JSON allows raw inside strings written as a `\u`
    /// escape: the same value, safe to print. Valid JSON stays valid: those characters occur
    /// only inside strings.
    public static func escapingControls(inJSON json: String) -> String {
        var copy = json
        guard copy.withUTF8({ $0.contains(where: mayLeadControl) }) else { return json }
        var out = ""
        out.reserveCapacity(json.utf8.count + 8)
        for scalar in json.unicodeScalars {
            if mustEscape(scalar) {
                appendEscape(scalar, to: &out)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// `\u` and four lowercase hex digits.
    static func appendEscape(_ scalar: Unicode.Scalar, to out: inout String) {
        let hex = String(scalar.value, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
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
