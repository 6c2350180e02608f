import CCurl

/// One libcurl easy handle with Shiplog's transport policy applied; owns everything curl borrows.
///
/// The handle starts with: `CURLOPT_NOSIGNAL` (timeouts must not raise SIGALRM in a threaded
/// process), HTTP and HTTPS only (also after redirects), at most `maxRedirects` redirects, TLS
/// peer and host verification on, an error buffer, a bounded in-memory body sink, and a header
/// block of at most `ResponseSink.headerLimit` bytes per response.
///
/// Use it from one isolation domain at a time, as libcurl requires. Every `CURLcode` passes
/// through `check(_:_:transfer:)`. The error buffer, the header list and the POST body stay
/// allocated until `deinit`, after `curl_easy_cleanup`, because curl keeps pointers to them.
final class CurlEasy {
    /// How many redirects a transfer may follow before failing with "too many redirects".
    static let maxRedirects: CLong = 5
    /// The schemes a transfer may use, directly or through a redirect.
    static let allowedProtocols = "http,https"
    static let userAgent = "shiplog"

    /// The raw `CURL *`, for the multi interface and for matching its completion messages.
    let handle: UnsafeMutableRawPointer
    let sink: ResponseSink
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private let errorBufferSize: Int
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private var postBody: UnsafeMutableRawBufferPointer?

    /// Creates a handle with the transport policy applied.
    ///
    /// - Parameter bodyLimit: how many bytes of each response body to keep; 0 keeps none.
    /// - Throws: `CurlError` when libcurl cannot be initialised or refuses a default option.
    init(bodyLimit: Int = 0) throws(CurlError) {
        try CurlRuntime.ensureInitialized()
        guard let handle = curl_easy_init() else {
            throw CurlError(easyCode: CURLE_FAILED_INIT, operation: "curl_easy_init", detail: "")
        }
        self.handle = handle
        self.sink = ResponseSink(limit: bodyLimit)
        self.errorBufferSize = shiplog_curl_error_size()
        self.errorBuffer = .allocate(capacity: errorBufferSize)
        self.errorBuffer.initialize(repeating: 0, count: errorBufferSize)
        // From here on a throw runs deinit, which releases all of the above.
        try applyPolicy()
    }

    deinit {
        // Cleanup first: until then curl may still read the buffers it was given.
        curl_easy_cleanup(handle)
        if let headerList { curl_slist_free_all(headerList) }
        postBody?.deallocate()
        errorBuffer.deallocate()
    }

    // MARK: - The choke point

    /// Turns any failing `CURLcode` into a `CurlError`.
    ///
    /// - Parameter transfer: true for the result of a transfer, whose failure the error buffer
    ///   describes; option and info calls leave the buffer alone, so it may hold stale text.
    func check(_ code: CURLcode, _ operation: @autoclosure () -> String, transfer: Bool = false) throws(CurlError) {
        guard code != CURLE_OK else { return }
        guard transfer else {
            throw CurlError(easyCode: code, operation: operation(), detail: "")
        }
        // Read directly, not through check: this runs while reporting another failure.
        var systemErrno: CLong = 0
        if shiplog_curl_easy_getinfo_long(handle, CURLINFO_OS_ERRNO, &systemErrno) != CURLE_OK {
            systemErrno = 0
        }
        throw CurlError(
            easyCode: code, operation: operation(), detail: errorBufferText(),
            systemErrno: Int32(truncatingIfNeeded: systemErrno),
            responseHeaderTooLarge: headerOverflow(code))
    }

    /// True when `code` ended a transfer because a response header was too large: the sink
    /// stopped it, or curl refused one header line, which curl before 8.6 reports as "out of
    /// memory" and later versions as CURLE_TOO_LARGE (100), while the header block was open.
    private func headerOverflow(_ code: CURLcode) -> Bool {
        if sink.headerTooLarge { return true }
        let tooLarge: UInt32 = 100  // CURLE_TOO_LARGE, absent from older headers
        return (code == CURLE_OUT_OF_MEMORY || code.rawValue == tooLarge) && !sink.headersComplete
    }

    /// The error buffer's text, read without writing to it (curl owns its contents) and
    /// without trusting it to be terminated.
    private func errorBufferText() -> String {
        var text = errorBuffer.withMemoryRebound(to: UInt8.self, capacity: errorBufferSize) { start in
            let bytes = UnsafeBufferPointer(start: start, count: errorBufferSize)
            return String(decoding: bytes[..<(bytes.firstIndex(of: 0) ?? bytes.count)], as: UTF8.self)
        }
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return text
    }

    // MARK: - Typed options

    func set(_ option: CURLoption, _ value: CLong) throws(CurlError) {
        try check(shiplog_curl_easy_setopt_long(handle, option, value), Self.describe(option))
    }

    /// String options are copied by libcurl (since 7.17), so the Swift string may go away after.
    func set(_ option: CURLoption, _ value: String) throws(CurlError) {
        let code = value.withCString { shiplog_curl_easy_setopt_string(handle, option, $0) }
        try check(code, Self.describe(option))
    }

    /// Resets a string option to libcurl's default.
    func clear(_ option: CURLoption) throws(CurlError) {
        try check(shiplog_curl_easy_setopt_string(handle, option, nil), Self.describe(option))
    }

    func set(_ option: CURLoption, pointer: UnsafeMutableRawPointer?) throws(CurlError) {
        try check(shiplog_curl_easy_setopt_pointer(handle, option, pointer), Self.describe(option))
    }

    func set(_ option: CURLoption, offset value: curl_off_t) throws(CurlError) {
        try check(shiplog_curl_easy_setopt_off_t(handle, option, value), Self.describe(option))
    }

    private static func describe(_ option: CURLoption) -> String {
        if let known = curl_easy_option_by_id(option), let name = known.pointee.name {
            return "setopt CURLOPT_\(String(cString: name))"
        }
        return "setopt \(option.rawValue)"
    }

    // MARK: - Request shape

    /// The URL to fetch; only http and https are accepted when the transfer starts.
    func setURL(_ url: String) throws(CurlError) {
        try set(CURLOPT_URL, url)
    }

    /// Bounds the whole transfer, and the connect phase within it, to `seconds`.
    ///
    /// - Returns: the bound in milliseconds as given to curl (at least 1: 0 would mean "never").
    @discardableResult
    func setTimeout(seconds: Double) throws(CurlError) -> Int {
        let milliseconds = Self.milliseconds(fromSeconds: seconds)
        try set(CURLOPT_TIMEOUT_MS, CLong(milliseconds))
        try set(CURLOPT_CONNECTTIMEOUT_MS, CLong(milliseconds))
        return milliseconds
    }

    /// Converts a timeout in seconds to curl's milliseconds, never 0 and never unbounded.
    static func milliseconds(fromSeconds seconds: Double) -> Int {
        let dayInMilliseconds = 86_400_000.0
        guard seconds.isFinite else { return seconds > 0 ? Int(dayInMilliseconds) : 1 }
        return Int(min(max((seconds * 1000).rounded(), 1), dayInMilliseconds))
    }

    /// Trusts the certificates in `path` (PEM) instead of the system store, for private CAs.
    /// Passing nil restores the system store.
    func setCAFile(_ path: String?) throws(CurlError) {
        if let path {
            try set(CURLOPT_CAINFO, path)
        } else {
            try clear(CURLOPT_CAINFO)
        }
    }

    func setFollowRedirects(_ follow: Bool) throws(CurlError) {
        try set(CURLOPT_FOLLOWLOCATION, follow ? 1 : 0)
    }

    /// Replaces the request headers ("Name: value" lines; "Name:" removes a default header).
    func setHeaders(_ lines: [String]) throws(CurlError) {
        var list: UnsafeMutablePointer<curl_slist>?
        for line in lines {
            guard let extended = curl_slist_append(list, line) else {
                if let list { curl_slist_free_all(list) }
                throw CurlError(easyCode: CURLE_OUT_OF_MEMORY, operation: "curl_slist_append", detail: "")
            }
            list = extended
        }
        do {
            try set(CURLOPT_HTTPHEADER, pointer: UnsafeMutableRawPointer(list))
        } catch {
            if let list { curl_slist_free_all(list) }
            throw error
        }
        // Curl now points at the new list; the old one can go.
        if let headerList { curl_slist_free_all(headerList) }
        headerList = list
    }

    /// Makes the transfer a POST of exactly these bytes.
    ///
    /// `CURLOPT_POSTFIELDS` does not copy, so the bytes live in a buffer this handle owns.
    func setPostBody(_ body: [UInt8]) throws(CurlError) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(body.count, 1), alignment: 1)
        body.withUnsafeBytes { buffer.copyMemory(from: $0) }
        do {
            try set(CURLOPT_POSTFIELDS, pointer: buffer.baseAddress)
        } catch {
            buffer.deallocate()
            throw error
        }
        // Curl now points at the new buffer; the old one can go.
        postBody?.deallocate()
        postBody = buffer
        // Without an explicit size curl would measure the body with strlen.
        try set(CURLOPT_POSTFIELDSIZE_LARGE, offset: curl_off_t(body.count))
    }

    // MARK: - Running

    /// Runs the transfer to completion on the calling thread.
    ///
    /// - Throws: `CurlError` for transport failures; HTTP error statuses are not failures here.
    func perform() throws(CurlError) {
        sink.reset()
        try check(curl_easy_perform(handle), "perform", transfer: true)
    }

    /// Prepares the sink for a transfer the multi interface is about to run.
    func prepareForMultiTransfer() {
        sink.reset()
    }

    /// The error for a transfer the multi interface finished with `code`, or nil on success.
    func transferError(_ code: CURLcode) -> CurlError? {
        do {
            try check(code, "perform", transfer: true)
            return nil
        } catch {
            return error
        }
    }

    // MARK: - Results

    /// The last HTTP status received, or nil when no response arrived.
    func responseCode() throws(CurlError) -> Int? {
        var status: CLong = 0
        try check(shiplog_curl_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status), "getinfo RESPONSE_CODE")
        return status > 0 ? Int(status) : nil
    }

    /// Wall time of the last transfer, redirects included, in milliseconds.
    func totalTimeMilliseconds() throws(CurlError) -> Int {
        var microseconds: curl_off_t = 0
        try check(shiplog_curl_easy_getinfo_off_t(handle, CURLINFO_TOTAL_TIME_T, &microseconds), "getinfo TOTAL_TIME_T")
        return Int((microseconds + 500) / 1000)
    }

    /// The URL the last transfer ended at, after any redirects.
    func effectiveURL() throws(CurlError) -> String? {
        var url: UnsafeMutablePointer<CChar>?
        try check(shiplog_curl_easy_getinfo_string(handle, CURLINFO_EFFECTIVE_URL, &url), "getinfo EFFECTIVE_URL")
        return url.map { String(cString: $0) }
    }

    // MARK: - Policy

    private func applyPolicy() throws(CurlError) {
        try set(CURLOPT_ERRORBUFFER, pointer: UnsafeMutableRawPointer(errorBuffer))
        try set(CURLOPT_NOSIGNAL, 1)
        try restrictProtocols()
        try set(CURLOPT_FOLLOWLOCATION, 1)
        try set(CURLOPT_MAXREDIRS, Self.maxRedirects)
        try set(CURLOPT_SSL_VERIFYPEER, 1)
        try set(CURLOPT_SSL_VERIFYHOST, 2)
        try set(CURLOPT_USERAGENT, Self.userAgent)
        try check(
            shiplog_curl_easy_setopt_write_callback(handle, CURLOPT_WRITEFUNCTION, curlWriteToSink),
            Self.describe(CURLOPT_WRITEFUNCTION))
        // Unretained: the sink is a stored constant of this handle and outlives every transfer.
        try set(CURLOPT_WRITEDATA, pointer: Unmanaged.passUnretained(sink).toOpaque())
        try check(
            shiplog_curl_easy_setopt_write_callback(handle, CURLOPT_HEADERFUNCTION, curlHeaderToSink),
            Self.describe(CURLOPT_HEADERFUNCTION))
        try set(CURLOPT_HEADERDATA, pointer: Unmanaged.passUnretained(sink).toOpaque())
    }

    private func restrictProtocols() throws(CurlError) {
        if CurlRuntime.supportsProtocolStrings {
            try set(CURLOPT_PROTOCOLS_STR, Self.allowedProtocols)
            try set(CURLOPT_REDIR_PROTOCOLS_STR, Self.allowedProtocols)
        } else {
            try check(
                shiplog_curl_easy_restrict_protocols_legacy(handle, shiplog_curl_proto_http_https()),
                "setopt CURLOPT_PROTOCOLS")
        }
    }
}

/// libcurl's write callback: hands each chunk to the `ResponseSink` passed as `CURLOPT_WRITEDATA`.
/// Returning the full size always: a short count would abort the transfer with a write error.
private func curlWriteToSink(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ userData: UnsafeMutableRawPointer?
) -> Int {
    let total = size * count
    guard let data, let userData, total > 0 else { return total }
    let sink = Unmanaged<ResponseSink>.fromOpaque(userData).takeUnretainedValue()
    sink.append(UnsafeRawBufferPointer(start: data, count: total))
    return total
}

/// libcurl's header callback: hands each header line to the `ResponseSink` passed as
/// `CURLOPT_HEADERDATA`; a short count (0) ends the transfer when the header block is too large.
private func curlHeaderToSink(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ userData: UnsafeMutableRawPointer?
) -> Int {
    let total = size * count
    guard let data, let userData, total > 0 else { return total }
    let sink = Unmanaged<ResponseSink>.fromOpaque(userData).takeUnretainedValue()
    return sink.appendHeader(UnsafeRawBufferPointer(start: data, count: total)) ? total : 0
}
