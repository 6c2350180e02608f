import Foundation

/// What the GitHub Actions runner makes of a step: its output file read back, and every line
/// the step printed read as a workflow command or as plain text. A line-by-line port of the
/// runner's own parsers (actions/runner: `EnvFileKeyValuePairs` in
/// `src/Runner.Worker/FileCommandManager.cs`, `ActionCommand.TryParseV2` and `TryParse` in
/// `src/Runner.Common/ActionCommand.cs`), on Linux, where only LF ends a line of the output file.
enum GitHubRunner {
    struct FileCommandError: Error, CustomStringConvertible {
        var description: String
    }

    /// `$GITHUB_OUTPUT` as the runner reads it: lines split at LF; an empty line skipped; a line
    /// whose first `=` comes before any `<<` is `NAME=VALUE`; else `NAME<<DELIMITER`, the value
    /// being every line up to one that is exactly the delimiter, joined by their own line breaks.
    /// Throws where the runner fails the step.
    static func outputs(_ text: String) throws -> [(name: String, value: String)] {
        let text = Array(text.unicodeScalars)
        var index = 0
        var entries: [(name: String, value: String)] = []

        /// The runner's `ReadLine`: the text up to the next LF (not included), and that LF.
        func readLine() -> (line: String, newline: Bool)? {
            guard index < text.count else { return nil }
            let start = index
            guard let lf = text[index...].firstIndex(of: "\n") else {
                index = text.count
                return (string(text[start...]), false)
            }
            index = lf + 1
            return (string(text[start..<lf]), true)
        }

        while let (line, _) = readLine() {
            if line.isEmpty { continue }
            let scalars = Array(line.unicodeScalars)
            let equals = find("=", in: scalars), heredoc = find("<<", in: scalars)
            if let equals, heredoc.map({ equals < $0 }) ?? true {
                entries.append((string(scalars[..<equals]), string(scalars[(equals + 1)...])))
            } else if let heredoc {
                let name = string(scalars[..<heredoc]), delimiter = string(scalars[(heredoc + 2)...])
                if name.isEmpty || delimiter.isEmpty {
                    throw FileCommandError(description: "Invalid format '\(line)'. Name must not be empty and delimiter must not be empty")
                }
                let start = index
                var end = index
                var next = readLine()
                while next.map({ !same($0.line, delimiter) }) ?? true {
                    guard let current = next else { throw FileCommandError(description: "Matching delimiter not found '\(delimiter)'") }
                    guard current.newline else { throw FileCommandError(description: "EOF marker missing new line") }
                    end = index - 1
                    next = readLine()
                }
                entries.append((name, end > start ? string(text[start..<end]) : ""))
            } else {
                throw FileCommandError(description: "Invalid format '\(line)'")
            }
        }
        return entries
    }

    /// The last value of each output name, as the step's outputs end up.
    static func outputMap(_ text: String) throws -> [String: String] {
        var map: [String: String] = [:]
        for entry in try outputs(text) { map[entry.name] = entry.value }
        return map
    }

    /// A workflow command the runner would process.
    struct Command: Equatable, CustomStringConvertible {
        var name: String
        var properties: [String: String]
        var data: String
        var description: String { "::\(name) \(properties)::\(data.debugDescription)" }
    }

    /// The commands the runner processes today (`ActionCommandManager`'s extensions).
    static let registered: Set<String> = [
        "set-env", "set-output", "save-state", "add-mask", "add-path", "add-matcher", "remove-matcher",
        "debug", "warning", "error", "notice", "group", "endgroup", "echo", "stop-commands",
    ]

    /// One printed line read as a command: `::name k=v,…::data` after leading white space, else
    /// the older `##[name k=v;…]data` anywhere in the line; nil when it is plain text.
    static func command(_ line: String) -> Command? {
        let all = Array(line.unicodeScalars)
        let trimmed = Array(all.drop { $0.properties.isWhitespace })
        if trimmed.starts(with: "::".unicodeScalars), let end = find("::", in: trimmed, from: 2) {
            let info = Array(trimmed[2..<end])
            let space = info.firstIndex(of: " ")
            let name = string(info[..<(space ?? info.count)])
            if registered.contains(name) {
                var properties: [String: String] = [:]
                if let space {
                    let list = string(info[(space + 1)...]).trimmingCharacters(in: .whitespaces)
                    for property in Array(list.unicodeScalars).split(separator: ",", omittingEmptySubsequences: true) {
                        let pair = property.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: true)
                        if pair.count == 2 { properties[string(pair[0])] = unescapeProperty(string(pair[1])) }
                    }
                }
                return Command(name: name, properties: properties, data: unescapeData(string(trimmed[(end + 2)...])))
            }
        }
        guard let prefix = find("##[", in: all), let close = all[(prefix + 3)...].firstIndex(of: "]") else { return nil }
        let info = Array(all[(prefix + 3)..<close])
        let name = string(info.prefix { $0 != " " })
        guard registered.contains(name) else { return nil }
        var properties: [String: String] = [:]
        for property in info.dropFirst(name.unicodeScalars.count).split(separator: ";") {
            let pair = property.split(separator: "=", maxSplits: 1)
            if pair.count == 2 { properties[string(pair[0]).trimmingCharacters(in: .whitespaces)] = string(pair[1]) }
        }
        return Command(name: name, properties: properties, data: string(all[(close + 1)...]))
    }

    /// Where `needle` first occurs in `haystack` at or after `from`, comparing scalars (the
    /// runner's ordinal search), or nil.
    static func find(_ needle: String, in haystack: [Unicode.Scalar], from: Int = 0) -> Int? {
        let n = Array(needle.unicodeScalars)
        guard haystack.count >= n.count, from <= haystack.count - n.count else { return nil }
        return (from...(haystack.count - n.count)).first { haystack[$0..<($0 + n.count)].elementsEqual(n) }
    }

    /// Ordinal equality: the same scalars (Swift's `==` would also equate canonically equivalent text).
    static func same(_ a: String, _ b: String) -> Bool { a.unicodeScalars.elementsEqual(b.unicodeScalars) }

    /// Every line of a step's output as the runner sees it (it reads lines ending in LF, CR or
    /// CR LF), each with the command it holds, if any.
    static func lines(_ output: String) -> [(line: String, command: Command?)] {
        output.replacingOccurrences(of: "\r\n", with: "\n").split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r" }
            .map { (String($0), command(String($0))) }
    }

    static func unescapeData(_ text: String) -> String {
        text.replacingOccurrences(of: "%0D", with: "\r").replacingOccurrences(of: "%0A", with: "\n")
            .replacingOccurrences(of: "%25", with: "%")
    }

    static func unescapeProperty(_ text: String) -> String {
        text.replacingOccurrences(of: "%0D", with: "\r").replacingOccurrences(of: "%0A", with: "\n")
            .replacingOccurrences(of: "%3A", with: ":").replacingOccurrences(of: "%2C", with: ",")
            .replacingOccurrences(of: "%25", with: "%")
    }

    static func string<S: Sequence<Unicode.Scalar>>(_ scalars: S) -> String {
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars)
        return String(out)
    }
}
