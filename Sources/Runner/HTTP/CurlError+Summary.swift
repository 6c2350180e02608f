import CCurl

extension CurlError {
    /// A short, lower-case sentence for a failed transfer, fit for a ledger event or a terminal line.
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
        if hasCode(CURLE_COULDNT_CONNECT), detail.lowercased().contains("connection refused") {
            return "connection refused"
        }
        if hasCode(CURLE_TOO_MANY_REDIRECTS) {
            return "too many redirects"
        }
        if hasCode(CURLE_UNSUPPORTED_PROTOCOL) {
            // Also what a redirect to a scheme outside "http,https" reports.
            return detail.isEmpty
                ? "protocol not allowed"
                : "protocol not allowed: \(detail)"
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
