/// Where curl's write callback puts a response body: kept up to a limit, counted beyond it.
///
/// Health probes only need the status, so they keep nothing; callers that read a body keep
/// a bounded amount so a misbehaving server cannot make the runner allocate without end.
final class ResponseSink {
    let limit: Int
    private(set) var bytes: [UInt8] = []
    private(set) var receivedCount = 0

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

    func reset() {
        bytes.removeAll(keepingCapacity: true)
        receivedCount = 0
    }
}
