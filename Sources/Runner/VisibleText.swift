import EventStore

/// Text made safe to show on a terminal: every character that would act instead of print is
/// shown as an escape, so that nothing recorded or typed (a ref, a reason, an error, step
/// output) can move the cursor, rewrite a line, set the window title, ring the bell or start a
/// new line that looks like Shiplog's own output.
///
/// Shown as escapes: the C0 controls (U+0000–U+001F: `\t`, `\n`, `\r` by those names, the rest
/// as `\u{1B}`), DEL (U+007F), the C1 controls (U+0080–U+009F, CSI and OSC among them), the
/// Unicode line and paragraph separators (U+2028, U+2029), and the bidirectional formatting
/// characters (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) that reorder what
/// follows them on the screen. Everything else is left as it is.
///
///     VisibleText.render("main\u{1B}]0;pwned\u{07}\r")   // "main\u{1B}]0;pwned\u{07}\r", as 28 plain characters
public enum VisibleText {
    /// `text` with every character that acts on a terminal shown as an escape; a single line.
    public static func render(_ text: String) -> String {
        guard needsRendering(text) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            if isActive(scalar) {
                out += escape(scalar)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// True when `scalar` would act on a terminal (or reorder the text) rather than print: the
    /// characters JSON output escapes too (`JSONText.mustEscape`), one definition for both.
    public static func isActive(_ scalar: Unicode.Scalar) -> Bool {
        JSONText.mustEscape(scalar)
    }

    /// `\t`, `\n`, `\r`, else `\u{XX}` with at least two uppercase hex digits.
    static func escape(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\t": return "\\t"
        case "\n": return "\\n"
        case "\r": return "\\r"
        default:
            let hex = String(scalar.value, radix: 16, uppercase: true)
            return "\\u{" + (hex.count < 2 ? "0" + hex : hex) + "}"
        }
    }

    /// A quick byte scan: false when no character of `text` can be active, true when one may be.
    static func needsRendering(_ text: String) -> Bool {
        var copy = text
        return copy.withUTF8 { $0.contains(where: JSONText.mayLeadControl) }
    }
}
