import CCurl
import Foundation

/// Removes a secret URL, and each part of it that could carry the secret, from text.
///
/// Webhook URLs are credentials (a Slack incoming-webhook URL is its own token), yet libcurl's
/// error buffer readily names the host or the URL. Every message about a secret URL passes
/// through `redact(_:)` before it leaves the HTTP layer.
///
///     let redactor = URLRedactor(url: "https://hooks.example.com/services/T1/B2/abcdef")
///     redactor.redact("Could not resolve host: hooks.example.com")
///     // "Could not resolve host: [redacted]"
struct URLRedactor: Sendable {
    static let placeholder = "[redacted]"
    /// Shorter pieces are left alone: they carry no secret and would shred the message.
    static let minimumFragmentLength = 3
    /// Path segments at least this long are removed on their own too, as tokens usually are.
    static let minimumSegmentLength = 6

    /// What to remove, longest first so a whole URL goes before its host does.
    let fragments: [String]

    init(url: String) {
        var pieces = Set<String>()
        let trimmed = url.trimmingCharacters(in: .whitespacesAndNewlines)
        pieces.insert(url)
        pieces.insert(trimmed)
        Self.addSplitParts(of: trimmed, to: &pieces)
        Self.addCurlParts(of: trimmed, to: &pieces)
        fragments =
            pieces
            .filter { $0.count >= Self.minimumFragmentLength || $0 == url && !url.isEmpty }
            .sorted { $0.count != $1.count ? $0.count > $1.count : $0 < $1 }
    }

    /// `text` with every fragment of the URL replaced by `placeholder`, ignoring case.
    func redact(_ text: String) -> String {
        var result = text
        for fragment in fragments {
            result = result.replacingOccurrences(of: fragment, with: Self.placeholder, options: .caseInsensitive)
        }
        return result
    }

    /// The parts found by plain splitting, which works even for a URL curl would reject.
    private static func addSplitParts(of url: String, to pieces: inout Set<String>) {
        var rest = Substring(url)
        if let schemeEnd = rest.range(of: "://") {
            rest = rest[schemeEnd.upperBound...]
        }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let tail = rest[authorityEnd...]
        pieces.insert(String(rest))
        pieces.insert(String(authority))
        pieces.insert(String(tail))

        var hostAndPort = authority
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            pieces.insert(String(userInfo))
            pieces.formUnion(userInfo.split(separator: ":").map(String.init))
            hostAndPort = authority[authority.index(after: at)...]
        }
        pieces.insert(String(hostAndPort))
        if hostAndPort.hasPrefix("["), let close = hostAndPort.firstIndex(of: "]") {
            pieces.insert(String(hostAndPort[hostAndPort.index(after: hostAndPort.startIndex)..<close]))
        } else if let colon = hostAndPort.lastIndex(of: ":") {
            pieces.insert(String(hostAndPort[..<colon]))
        }

        let path = tail.prefix { $0 != "?" && $0 != "#" }
        pieces.insert(String(path))
        if let decoded = path.removingPercentEncoding { pieces.insert(decoded) }
        for segment in path.split(separator: "/") where segment.count >= minimumSegmentLength {
            pieces.insert(String(segment))
        }
        if let query = tail.firstIndex(of: "?") {
            pieces.insert(String(tail[tail.index(after: query)...].prefix { $0 != "#" }))
        }
    }

    /// The parts as libcurl itself parses and normalises them, which is how its messages show them.
    private static func addCurlParts(of url: String, to pieces: inout Set<String>) {
        guard let parsed = curl_url() else { return }
        defer { curl_url_cleanup(parsed) }
        guard curl_url_set(parsed, CURLUPART_URL, url, 0) == CURLUE_OK else { return }
        let parts = [
            CURLUPART_URL, CURLUPART_HOST, CURLUPART_PATH, CURLUPART_QUERY,
            CURLUPART_USER, CURLUPART_PASSWORD, CURLUPART_FRAGMENT,
        ]
        for part in parts {
            var value: UnsafeMutablePointer<CChar>?
            guard curl_url_get(parsed, part, &value, 0) == CURLUE_OK, let value else { continue }
            let text = String(cString: value)
            curl_free(value)
            pieces.insert(text)
            if part == CURLUPART_HOST, text.hasPrefix("["), text.hasSuffix("]") {
                pieces.insert(String(text.dropFirst().dropLast()))
            }
        }
    }
}
