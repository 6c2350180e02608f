import CCurl

/// A libcurl call that did not succeed: which call, curl's code, and curl's own words.
///
/// `message` is the fixed text of the code (`curl_easy_strerror`); `detail` is what the handle's
/// error buffer said about this particular failure, which may name the host or the URL. Callers
/// that hold secrets in URLs must pass the text through `URLRedactor` before it leaves the layer.
struct CurlError: Error, Sendable, CustomStringConvertible {
    /// The raw code, tagged by the interface that returned it.
    enum Code: Sendable, Equatable {
        case easy(UInt32)
        case multi(Int32)
    }

    let code: Code
    /// The call or option that failed, such as `perform` or `setopt CAINFO`.
    let operation: String
    let message: String
    let detail: String
    /// The errno of the failed connect or socket call (`CURLINFO_OS_ERRNO`), 0 when none.
    /// Curl's own text says only "Couldn't connect to server"; this says why.
    let systemErrno: Int32
    /// The transfer ended because a response's header block, or one header line, was larger
    /// than accepted (see `ResponseSink`); curl's own code then says "out of memory" or
    /// "write error", which would mislead.
    let responseHeaderTooLarge: Bool

    init(
        easyCode: CURLcode, operation: String, detail: String, systemErrno: Int32 = 0,
        responseHeaderTooLarge: Bool = false
    ) {
        self.code = .easy(easyCode.rawValue)
        self.operation = operation
        self.message = String(cString: curl_easy_strerror(easyCode))
        self.detail = detail
        self.systemErrno = systemErrno
        self.responseHeaderTooLarge = responseHeaderTooLarge
    }

    init(multiCode: CURLMcode, operation: String) {
        self.code = .multi(multiCode.rawValue)
        self.operation = operation
        self.message = String(cString: curl_multi_strerror(multiCode))
        self.detail = ""
        self.systemErrno = 0
        self.responseHeaderTooLarge = false
    }

    /// True when the code is the given easy-interface code.
    func hasCode(_ easyCode: CURLcode) -> Bool {
        code == .easy(easyCode.rawValue)
    }

    /// True for failures that repeating the same request cannot cure: a malformed URL, a scheme
    /// outside http and https, an unreadable CA file. Retrying those only delays the report.
    var isPermanent: Bool {
        hasCode(CURLE_URL_MALFORMAT) || hasCode(CURLE_UNSUPPORTED_PROTOCOL) || hasCode(CURLE_SSL_CACERT_BADFILE)
    }

    var description: String {
        detail.isEmpty || detail == message
            ? "\(operation): \(message)"
            : "\(operation): \(message): \(detail)"
    }
}
