import Foundation

extension PGConnection {
    /// `url` with every password replaced by `***`, for messages that name the server.
    ///
    /// Handles the forms libpq accepts:
    /// - URIs (`postgres://` or `postgresql://`): the password of `user:password@host`, and a
    ///   `password=` query parameter (key matched without case and after percent-decoding);
    /// - `key=value` connection strings: the value of `password`, quoted or not.
    ///
    /// When a password's end cannot be found for certain (an unescaped `@`, `?` or `/` in it,
    /// an unterminated quote), more is replaced rather than less.
    public static func redacted(url: String) -> String {
        redaction(of: url).text
    }

    /// The passwords `url` contains, raw and percent-decoded, so they can also be scrubbed
    /// from libpq's own messages (which may quote a mis-parsed URL).
    static func passwords(in url: String) -> [String] {
        redaction(of: url).secrets
    }

    private static func redaction(of url: String) -> (text: String, secrets: [String]) {
        for scheme in ["postgresql://", "postgres://"] where url.lowercased().hasPrefix(scheme) {
            return redactURI(url, schemeLength: scheme.count)
        }
        return redactKeywordValue(url)
    }

    private static func redactURI(_ url: String, schemeLength: Int) -> (text: String, secrets: [String]) {
        let characters = Array(url)
        let rest = schemeLength
        var secrets: [String] = []
        let firstQuestion = characters[rest...].firstIndex(of: "?") ?? characters.count
        let firstSlash = characters[rest...].firstIndex(of: "/") ?? characters.count
        // libpq takes credentials up to the first "@" before the first "/"; a password with an
        // unescaped "?" or "@" is better covered by the last "@" before the query.
        var credentialsEnd: Int?
        if let at = characters[rest..<firstSlash].firstIndex(of: "@") { credentialsEnd = at }
        if let at = characters[rest..<firstQuestion].lastIndex(of: "@") { credentialsEnd = max(credentialsEnd ?? at, at) }
        var output: [Character] = Array(characters[..<rest])
        var cursor = rest
        if let end = credentialsEnd, let colon = characters[rest..<end].firstIndex(of: ":") {
            output += characters[rest...colon]
            let password = String(characters[(colon + 1)..<end])
            if !password.isEmpty {
                secrets += [password, password.removingPercentEncoding ?? password]
                output += "***"
            }
            cursor = end
        }
        // The query starts at the first "?" after the credentials, if there were any.
        let queryStart = credentialsEnd.map { end in characters[end...].firstIndex(of: "?") ?? characters.count } ?? firstQuestion
        output += characters[cursor..<queryStart]
        guard queryStart < characters.count else { return (String(output), secrets) }
        // The query: "&"-separated key=value pairs, percent-encoded.
        output.append("?")
        let query = String(characters[(queryStart + 1)...])
        let pairs = query.split(separator: "&", omittingEmptySubsequences: false).map { pair -> String in
            guard let equals = pair.firstIndex(of: "=") else { return String(pair) }
            let key = String(pair[..<equals])
            guard (key.removingPercentEncoding ?? key).lowercased() == "password" else { return String(pair) }
            let value = String(pair[pair.index(after: equals)...])
            if !value.isEmpty { secrets += [value, value.removingPercentEncoding ?? value] }
            return key + "=***"
        }
        output += pairs.joined(separator: "&")
        return (String(output), secrets)
    }

    /// `keyword = value` pairs separated by spaces; a value is either unquoted (up to the next
    /// space) or single-quoted, with `\'` and `\\` escapes in both (libpq's own rules).
    private static func redactKeywordValue(_ conninfo: String) -> (text: String, secrets: [String]) {
        let characters = Array(conninfo)
        var output: [Character] = []
        var secrets: [String] = []
        var index = 0
        func skipSpaces() {
            while index < characters.count, characters[index].isWhitespace {
                output.append(characters[index]); index += 1
            }
        }
        while true {
            skipSpaces()
            guard index < characters.count else { break }
            let keywordStart = index
            while index < characters.count, !characters[index].isWhitespace, characters[index] != "=" { index += 1 }
            let keyword = String(characters[keywordStart..<index])
            output += characters[keywordStart..<index]
            skipSpaces()
            guard index < characters.count, characters[index] == "=" else {
                // Not a connection string libpq would accept (or a bare database name):
                // keep it, unless it mentions a password, then hide everything from there on.
                if String(characters[keywordStart...]).lowercased().contains("password") {
                    return (String(characters[..<keywordStart]) + "***", secrets + [String(characters[keywordStart...])])
                }
                output += characters[index...]
                return (String(output), secrets)
            }
            output.append("="); index += 1
            skipSpaces()
            let valueStart = index
            var value = ""
            if index < characters.count, characters[index] == "'" {
                index += 1
                var closed = false
                while index < characters.count {
                    if characters[index] == "\\", index + 1 < characters.count {
                        value.append(characters[index + 1]); index += 2; continue
                    }
                    if characters[index] == "'" { closed = true; index += 1; break }
                    value.append(characters[index]); index += 1
                }
                if !closed, keyword.lowercased() == "password" {
                    return (String(output) + "***", secrets + [value])
                }
            } else {
                while index < characters.count, !characters[index].isWhitespace {
                    if characters[index] == "\\", index + 1 < characters.count {
                        value.append(characters[index + 1]); index += 2; continue
                    }
                    value.append(characters[index]); index += 1
                }
            }
            if keyword.lowercased() == "password" {
                output += "***"
                if !value.isEmpty { secrets.append(value) }
            } else {
                output += characters[valueStart..<index]
            }
        }
        return (String(output), secrets)
    }
}
