import CCurl
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension CurlError {
    /// A short phrase for a failed transfer, fit for a ledger event or a terminal line.
    ///
    /// Common failures get a fixed phrase ("connection refused", "timed out after 500 ms");
    /// anything else is curl's code text followed by the error buffer's detail.
    ///
    /// - Parameter timeoutMs: the transfer's own bound, used when curl's text carries no duration.
    func summary(timeoutMs: Int? = nil) -> String {
        switch code {
        case .multi:
            return "\(lowercasingFirst(message)) (\(operation))"
        case .easy:
            break
        }
        if responseHeaderTooLarge {
            return "response header too large (over \(ResponseSink.headerLimit / 1024) KiB)"
        }
        if hasCode(CURLE_OPERATION_TIMEDOUT) {
            let elapsed = Self.milliseconds(in: detail) ?? timeoutMs
            let duration = elapsed.map { " after \($0) ms" } ?? ""
            if detail.hasPrefix("Connection timed out") || detail.hasPrefix("Failed to connect") {
                return "connect timed out\(duration)"
            }
            if detail.hasPrefix("Resolving timed out") {
                return "name lookup timed out\(duration)"
            }
            return "timed out\(duration)"
        }
        if hasCode(CURLE_COULDNT_CONNECT) {
            if systemErrno == ECONNREFUSED || detail.lowercased().contains("connection refused") {
                return "connection refused"
            }
            if systemErrno != 0, let reason = strerror(systemErrno) {
                return "could not connect: \(lowercasingFirst(String(cString: reason)))"
            }
        }
        if hasCode(CURLE_COULDNT_RESOLVE_HOST) {
            // curl says "Could not resolve host: NAME"; the name is the useful part.
            if let colon = detail.lastIndex(of: ":") {
                let name = detail[detail.index(after: colon)...].drop { $0 == " " }
                if !name.isEmpty { return "could not resolve host: \(name)" }
            }
            return "could not resolve host"
        }
        if hasCode(CURLE_PEER_FAILED_VERIFICATION) {
            return detail.isEmpty ? "TLS verification failed" : "TLS verification failed: \(detail)"
        }
        if hasCode(CURLE_TOO_MANY_REDIRECTS) {
            return "too many redirects"
        }
        if hasCode(CURLE_UNSUPPORTED_PROTOCOL) {
            // Also what a redirect to a scheme outside "http,https" reports.
            if let scheme = Self.firstQuoted(in: detail) {
                return "protocol not allowed: \(scheme)"
            }
            return detail.isEmpty ? "protocol not allowed" : "protocol not allowed: \(detail)"
        }
        let head = lowercasingFirst(message)
        let context = operation == "perform" ? "" : " (\(operation))"
        if detail.isEmpty || detail.caseInsensitiveEquals(message) {
            return head + context
        }
        return "\(head)\(context): \(detail)"
    }

    /// The number in "... after 1000 milliseconds ..." or "... after 1000 ms ...", as curl phrases it.
    private static func milliseconds(in text: String) -> Int? {
        let words = text.split(separator: " ")
        for (index, word) in words.enumerated() where word == "after" && index + 2 < words.count {
            let unit = words[index + 2]
            guard unit.hasPrefix("millisecond") || unit.hasPrefix("ms") else { continue }
            if let value = Int(words[index + 1]) { return value }
        }
        return nil
    }

    /// The text between the first pair of double quotes, as in `Protocol "ftp" not supported`.
    private static func firstQuoted(in text: String) -> String? {
        let pieces = text.split(separator: "\"", omittingEmptySubsequences: false)
        guard pieces.count >= 3, !pieces[1].isEmpty else { return nil }
        return String(pieces[1])
    }

    private func lowercasingFirst(_ text: String) -> String {
        guard let first = text.first else { return text }
        // Keep acronyms such as "SSL" intact; only a capitalised ordinary word is lowered.
        if let second = text.dropFirst().first, second.isUppercase { return text }
        return first.lowercased() + text.dropFirst()
    }
}

private extension String {
    func caseInsensitiveEquals(_ other: String) -> Bool {
        lowercased() == other.lowercased()
    }
}
