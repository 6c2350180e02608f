import Foundation

/// The small value languages of a pipeline file, shared by the parser and the environment
/// overrides: durations, day counts, whole numbers, names, and `${VAR}` references.
enum PipelineSyntax {
    static let durationForm = "a duration such as 30s, 5m, 1h or 500ms, or a number of seconds"
    static let retentionForm = "a number of days such as 365d or 365"
    static let serviceNameForm = "a name made of letters, digits, '.', '_' and '-'"
    static let checkNameForm = "a name made of lowercase letters, digits and '_'"
    static let variableNameForm = "an environment variable name (letters, digits and '_', not starting with a digit)"

    // MARK: Durations

    /// Parses `30s`, `5m`, `1h`, `500ms`, `1m30s`, `1.5s`, or a bare number of seconds.
    /// Returns nil for anything else, including negative values.
    static func parseDuration(_ text: String) -> Duration? {
        let text = text.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { return nil }
        if let seconds = parseNumber(Substring(text)) {
            return duration(seconds, unitNanoseconds: 1_000_000_000)
        }
        var total: Duration = .zero
        var rest = Substring(text)
        while !rest.isEmpty {
            let numberEnd = rest.firstIndex { !($0.isASCII && ($0.isNumber || $0 == ".")) } ?? rest.endIndex
            guard numberEnd != rest.startIndex, numberEnd != rest.endIndex else { return nil }
            let number = rest[..<numberEnd]
            let unitEnd = rest[numberEnd...].firstIndex { !($0.isASCII && $0.isLetter) } ?? rest.endIndex
            let unit = rest[numberEnd..<unitEnd]
            let unitNanoseconds: Int64
            switch unit {
            case "ms": unitNanoseconds = 1_000_000
            case "s": unitNanoseconds = 1_000_000_000
            case "m": unitNanoseconds = 60_000_000_000
            case "h": unitNanoseconds = 3_600_000_000_000
            default: return nil
            }
            guard let value = parseNumber(number),
                let part = duration(value, unitNanoseconds: unitNanoseconds)
            else { return nil }
            total += part
            rest = rest[unitEnd...]
        }
        return total
    }

    /// A decimal number without sign or exponent, as integer and fractional digits.
    private static func parseNumber(_ text: Substring) -> (whole: Int64, fraction: Substring)? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let wholeDigits = parts.first, !wholeDigits.isEmpty, wholeDigits.count <= 12,
            wholeDigits.allSatisfy({ $0.isASCII && $0.isNumber }),
            let whole = Int64(wholeDigits)
        else { return nil }
        if parts.count == 2 {
            let fraction = parts[1]
            guard !fraction.isEmpty, fraction.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            return (whole, fraction)
        }
        return (whole, "")
    }

    private static func duration(
        _ value: (whole: Int64, fraction: Substring)?,
        unitNanoseconds: Int64
    ) -> Duration? {
        guard let value else { return nil }
        let (wholeNanos, overflow) = value.whole.multipliedReportingOverflow(by: unitNanoseconds)
        guard !overflow else { return nil }
        var nanos = wholeNanos
        if !value.fraction.isEmpty, let fraction = Double("0." + value.fraction) {
            nanos += Int64((fraction * Double(unitNanoseconds)).rounded())
        }
        return .nanoseconds(nanos)
    }

    /// The shortest exact spelling of a duration in the file's syntax: `30s`, `5m`, `500ms`.
    static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let nanos = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        if nanos == 0 { return "0s" }
        if nanos % 3_600_000_000_000 == 0 { return "\(nanos / 3_600_000_000_000)h" }
        if nanos % 60_000_000_000 == 0 { return "\(nanos / 60_000_000_000)m" }
        if nanos % 1_000_000_000 == 0 { return "\(nanos / 1_000_000_000)s" }
        if nanos % 1_000_000 == 0 { return "\(nanos / 1_000_000)ms" }
        return "\(Double(nanos) / 1e9)s"
    }

    // MARK: Numbers

    /// A whole number written with decimal digits only.
    static func parseWholeNumber(_ text: String) -> Int? {
        let text = text.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty, text.count <= 18, text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(text)
    }

    /// `365d` or a bare `365`: a whole number of days, at least 1.
    static func parseRetentionDays(_ text: String) -> Int? {
        var text = text.trimmingCharacters(in: .whitespaces)
        if text.hasSuffix("d") { text.removeLast() }
        guard let days = parseWholeNumber(text), days >= 1 else { return nil }
        return days
    }

    // MARK: Names

    /// `[A-Za-z0-9._-]+`: services, preflight checks, the environment.
    static func isServiceName(_ text: String) -> Bool {
        !text.isEmpty
            && text.unicodeScalars.allSatisfy {
                $0.isASCIIAlphanumeric || $0 == "." || $0 == "_" || $0 == "-"
            }
    }

    /// `[a-z0-9_]+`: health checks.
    static func isCheckName(_ text: String) -> Bool {
        !text.isEmpty
            && text.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_"
            }
    }

    /// `[A-Za-z_][A-Za-z0-9_]*`: environment variables.
    static func isVariableName(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, !("0"..."9").contains(first) else { return false }
        return text.unicodeScalars.allSatisfy { $0.isASCIIAlphanumeric || $0 == "_" }
    }

    // MARK: ${VAR} references

    enum Piece: Equatable {
        case literal(String)
        case variable(String)
    }

    /// Splits text into literal text and `${NAME}` references. A `$` not followed by `{` is
    /// literal. Returns a description of the problem for an unclosed or malformed reference.
    static func pieces(of text: String) -> Result<[Piece], VariableSyntaxError> {
        var pieces: [Piece] = []
        var literal = ""
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(after: index)
            if text[index] == "$", next < text.endIndex, text[next] == "{" {
                let nameStart = text.index(after: next)
                guard let close = text[nameStart...].firstIndex(of: "}") else {
                    return .failure(VariableSyntaxError(message: "unclosed ${ in \(quoted(text))"))
                }
                let name = String(text[nameStart..<close])
                guard isVariableName(name) else {
                    return .failure(
                        VariableSyntaxError(
                            message: "${\(name)} does not name an environment variable; expected \(variableNameForm)"))
                }
                if !literal.isEmpty { pieces.append(.literal(literal)); literal = "" }
                pieces.append(.variable(name))
                index = text.index(after: close)
            } else {
                literal.append(text[index])
                index = next
            }
        }
        if !literal.isEmpty { pieces.append(.literal(literal)) }
        return .success(pieces)
    }

    struct VariableSyntaxError: Error {
        var message: String
    }

    /// Checks that a URL, once its `${VAR}` references are replaced, can be an http(s) URL.
    /// Returns a description of the problem, or nil.
    static func urlProblem(_ text: String) -> String? {
        let lower = text.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://") else {
            return "expected an http:// or https:// URL, found \(quoted(text))"
        }
        if text.contains("${") { return nil }  // checked again once expanded
        guard let url = URL(string: text), let host = url.host, !host.isEmpty else {
            return "expected an http:// or https:// URL, found \(quoted(text))"
        }
        return nil
    }

    /// A value quoted for an error message, shortened when long.
    static func quoted(_ text: String) -> String {
        var shown = text
        if shown.count > 60 { shown = String(shown.prefix(57)) + "..." }
        var escaped = ""
        for character in shown {
            switch character {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\t": escaped += "\\t"
            case "\r": escaped += "\\r"
            default: escaped.append(character)
            }
        }
        return "\"\(escaped)\""
    }

    /// The closest of `candidates` to a mistyped `word`, when it is close enough to be the
    /// likely intent.
    /// A close spelling (`retires` → `retries`), else a shared stem (`migrations` → `migrate`,
    /// `healthchecks` → `health`): a common start of at least four letters that leaves at most
    /// two letters of the candidate over.
    static func suggestion(for word: String, among candidates: [String]) -> String? {
        let lower = word.lowercased()
        let scored = candidates.map { ($0, editDistance(lower, $0)) }
        guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
        let limit = max(1, min(3, best.0.count / 3))
        if best.1 <= limit { return best.0 }
        let stems = candidates.map { ($0, zip(lower, $0).prefix { $0 == $1 }.count) }
            .filter { $0.1 >= max(4, $0.0.count - 2) }
        return stems.max { $0.1 < $1.1 }?.0
    }

    /// Levenshtein distance where swapping two neighbouring letters counts as one edit.
    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        if a.isEmpty || b.isEmpty { return d[a.count][b.count] }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }
}

private extension Unicode.Scalar {
    var isASCIIAlphanumeric: Bool {
        ("a"..."z").contains(self) || ("A"..."Z").contains(self) || ("0"..."9").contains(self)
    }
}
