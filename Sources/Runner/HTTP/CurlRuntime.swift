import CCurl

/// Process-wide libcurl state: the one `curl_global_init` call and what the loaded library supports.
///
/// `curl_global_init` is not thread-safe in every libcurl version and must run before any other
/// libcurl call, exactly once. A `static let` is initialised lazily under a once-guard, which gives
/// both properties without a lock of our own. `curl_global_cleanup` is deliberately never called:
/// handles may be alive on other threads until the process exits.
enum CurlRuntime {
    private static let globalInitCode: CURLcode = curl_global_init(shiplog_curl_global_default_flags())

    /// `CURLOPT_PROTOCOLS_STR` and `CURLOPT_REDIR_PROTOCOLS_STR` arrived in libcurl 7.85.0.
    static let supportsProtocolStrings: Bool = shiplog_curl_runtime_version_num() >= 0x07_55_00

    /// Runs `curl_global_init` on first use and reports its failure on every use.
    static func ensureInitialized() throws(CurlError) {
        let code = globalInitCode
        guard code == CURLE_OK else {
            throw CurlError(easyCode: code, operation: "curl_global_init", detail: "")
        }
    }
}
