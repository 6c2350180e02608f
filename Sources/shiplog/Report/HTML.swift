import Foundation
import Runner

/// A piece of HTML whose every interpolated value is text: a string literal's own characters
/// are markup, and each `String` interpolated into it passes through ``HTML/escape(_:)``, the
/// one escaping function of the report. A field cannot become markup by being forgotten:
/// only another `HTML` value (itself built this way) or a number is taken as it is.
///
///     let row: HTML = "<td>\(record.gitRef)</td>"   // a ref "<script>" shows as text
struct HTML: ExpressibleByStringInterpolation, Sendable {
    private(set) var text: String

    init(stringLiteral value: String) { text = value }

    init(stringInterpolation: StringInterpolation) { text = stringInterpolation.text }

    static let empty: HTML = ""

    static func + (lhs: HTML, rhs: HTML) -> HTML {
        var joined = lhs
        joined.text += rhs.text
        return joined
    }

    static func += (lhs: inout HTML, rhs: HTML) { lhs.text += rhs.text }

    struct StringInterpolation: StringInterpolationProtocol {
        var text = ""

        init(literalCapacity: Int, interpolationCount: Int) {
            text.reserveCapacity(literalCapacity + interpolationCount * 16)
        }

        mutating func appendLiteral(_ literal: String) { text += literal }
        /// Text: escaped.
        mutating func appendInterpolation(_ value: String) { text += HTML.escape(value) }
        /// Markup built the same way.
        mutating func appendInterpolation(_ value: HTML) { text += value.text }
        mutating func appendInterpolation(_ value: Int) { text += String(value) }
        mutating func appendInterpolation(_ value: Int64) { text += String(value) }
        /// A coordinate or a size, with at most one decimal.
        mutating func appendInterpolation(_ value: Double) {
            let rounded = (value * 10).rounded() / 10
            text += rounded == rounded.rounded() ? String(Int64(rounded)) : String(rounded)
        }
    }

    /// `text` as HTML text, safe in element content and in a quoted attribute value alike:
    /// the process's secrets redacted (`ProcessSecrets`), characters that act instead of print
    /// (controls, bidirectional overrides) shown as escapes (`VisibleText`), then `&`, `<`, `>`,
    /// `"` and `'` as character references.
    static func escape(_ text: String) -> String {
        let shown = VisibleText.render(ProcessSecrets.redact(text))
        var plain = shown
        let needsEscaping = plain.withUTF8 { bytes in
            bytes.contains { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 }
        }
        guard needsEscaping else { return shown }
        var out = ""
        out.reserveCapacity(shown.utf8.count + 16)
        for scalar in shown.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
