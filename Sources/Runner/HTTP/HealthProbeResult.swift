/// What one health check found: the status received, how long it took, and any transport error.
public struct HealthProbeResult: Sendable, Equatable, Codable {
    public var service: String
    public var url: String
    /// The last HTTP status received (after redirects), or nil when no response arrived.
    public var httpStatus: Int?
    /// Wall time of the request, redirects included; about the timeout when it timed out.
    public var latencyMs: Int
    /// Why the probe is unhealthy, in a few words ("connection refused", "timed out after
    /// 1000 ms", "expected HTTP 200, got 503"); nil when healthy.
    public var error: String?
    /// No transport error and `httpStatus` equal to the request's expected status.
    public var healthy: Bool
    /// The first bytes of an unhealthy answer's body (at most `HealthProbe.bodyLimit`), as
    /// received: not redacted, not necessarily text. nil when healthy or without a body.
    public var body: [UInt8]?
    /// True when the body was longer than `body`.
    public var bodyTruncated = false

    public init(
        service: String, url: String, httpStatus: Int?, latencyMs: Int, error: String?,
        healthy: Bool
    ) {
        self.service = service
        self.url = url
        self.httpStatus = httpStatus
        self.latencyMs = latencyMs
        self.error = error
        self.healthy = healthy
    }
}
