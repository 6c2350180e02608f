import CCurl

/// One libcurl multi handle that runs many easy transfers at once on the calling thread.
///
/// Keeps a strong reference to every attached `CurlEasy`, so an easy handle is removed from the
/// multi handle and the multi handle cleaned up before any easy handle is freed, the order
/// libcurl requires. Every `CURLMcode` passes through `check(_:_:)`.
final class CurlMulti {
    /// The longest `curl_multi_poll` waits before looking again; transfers end on their own timeouts.
    static let pollIntervalMilliseconds: Int32 = 1000

    private let handle: UnsafeMutableRawPointer
    private var attached: [UnsafeMutableRawPointer: CurlEasy] = [:]

    init() throws(CurlError) {
        try CurlRuntime.ensureInitialized()
        guard let handle = curl_multi_init() else {
            throw CurlError(easyCode: CURLE_FAILED_INIT, operation: "curl_multi_init", detail: "")
        }
        self.handle = handle
    }

    deinit {
        for easyHandle in attached.keys {
            curl_multi_remove_handle(handle, easyHandle)
        }
        curl_multi_cleanup(handle)
    }

    /// Turns any failing `CURLMcode` into a `CurlError`.
    func check(_ code: CURLMcode, _ operation: @autoclosure () -> String) throws(CurlError) {
        guard code != CURLM_OK else { return }
        throw CurlError(multiCode: code, operation: operation())
    }

    func set(_ option: CURLMoption, _ value: CLong) throws(CurlError) {
        try check(shiplog_curl_multi_setopt_long(handle, option, value), "curl_multi_setopt \(option.rawValue)")
    }

    /// Starts `easy` with the next `run`.
    func add(_ easy: CurlEasy) throws(CurlError) {
        precondition(attached[easy.handle] == nil, "an easy handle can join a multi handle once")
        easy.prepareForMultiTransfer()
        try check(curl_multi_add_handle(handle, easy.handle), "curl_multi_add_handle")
        attached[easy.handle] = easy
    }

    /// Drives every attached transfer until all have finished, reporting each as it ends.
    ///
    /// Each finished handle is detached before `completed` is called, with the code curl ended it
    /// with; the handle stays readable (status, timing) inside the call.
    /// `stop` is asked between polls (at least once a second): when it says so, `run` returns
    /// with the unfinished transfers still attached, never completed.
    /// - Throws: `CurlError` when the multi interface itself fails; transfers still attached
    ///   then never complete, and the caller decides what to report for them.
    func run(stop: () -> Bool = { false }, _ completed: (CurlEasy, CURLcode) -> Void) throws(CurlError) {
        var running: Int32 = 0
        while true {
            if stop() { return }
            try check(curl_multi_perform(handle, &running), "curl_multi_perform")
            try drainCompleted(completed)
            if running == 0 {
                // libcurl posts a CURLMSG_DONE for every transfer before it stops counting it.
                guard attached.isEmpty else {
                    throw CurlError(
                        multiCode: CURLM_INTERNAL_ERROR,
                        operation: "\(attached.count) transfers ended without a result")
                }
                return
            }
            try check(curl_multi_poll(handle, nil, 0, Self.pollIntervalMilliseconds, nil), "curl_multi_poll")
        }
    }

    private func drainCompleted(_ completed: (CurlEasy, CURLcode) -> Void) throws(CurlError) {
        var remaining: Int32 = 0
        while let message = curl_multi_info_read(handle, &remaining) {
            guard message.pointee.msg == CURLMSG_DONE, let easyHandle = message.pointee.easy_handle,
                let easy = attached[easyHandle]
            else { continue }
            // Read the result before removing: the message does not survive the removal.
            let code = shiplog_curl_msg_result(message)
            try check(curl_multi_remove_handle(handle, easyHandle), "curl_multi_remove_handle")
            attached[easyHandle] = nil
            completed(easy, code)
        }
    }
}
