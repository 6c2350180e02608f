/// Where curl's callbacks put a response: the body kept up to a limit and counted beyond it,
/// and the header block measured.
///
/// Health probes only need the status, so they keep no body; callers that read a body keep
/// a bounded amount so a misbehaving server cannot make the runner allocate without end.
/// Headers are not kept, only counted, per response (each response of a redirect chain starts
/// again): a header block larger than `headerLimit` ends the transfer, and so does a single
/// header line larger than curl accepts (100 KiB), which curl reports as "out of memory".
/// Either way the sink knows, so the failure reads "response header too large".
final class ResponseSink {
    /// The largest header block of one response accepted: 64 KiB.
    static let headerLimit = 64 * 1024

    let limit: Int
    private(set) var bytes: [UInt8] = []
    private(set) var receivedCount = 0
    /// Header bytes of the current response.
    private(set) var headerBytes = 0
    /// True once the current response's header block ended (its blank line arrived).
    private(set) var headersComplete = false
    /// True when a header block went past `headerLimit` and the transfer was ended for it.
    private(set) var headerTooLarge = false

    init(limit: Int) {
        precondition(limit >= 0, "a response body limit cannot be negative")
        self.limit = limit
    }

    /// True when more arrived than was kept.
    var isTruncated: Bool { receivedCount > bytes.count }

    func append(_ chunk: UnsafeRawBufferPointer) {
        receivedCount += chunk.count
        let room = limit - bytes.count
        if room > 0 {
            bytes.append(contentsOf: chunk.prefix(room))
        }
    }

    /// Takes one header line (curl passes them whole); false ends the transfer.
    func appendHeader(_ line: UnsafeRawBufferPointer) -> Bool {
        if line.starts(with: "HTTP/".utf8) {
            // A new response: the first, or the next one after a redirect or a 1xx.
            headerBytes = 0
            headersComplete = false
        }
        headerBytes += line.count
        if line.elementsEqual("\r\n".utf8) || line.elementsEqual("\n".utf8) {
            headersComplete = true
        }
        if headerBytes > Self.headerLimit {
            headerTooLarge = true
            return false
        }
        return true
    }

    func reset() {
        bytes.removeAll(keepingCapacity: true)
        receivedCount = 0
        headerBytes = 0
        headersComplete = false
        headerTooLarge = false
    }
}
