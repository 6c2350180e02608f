import CCurl

/// HTTP health checks for deployed services, run concurrently on libcurl's multi interface.
public enum HealthProbe {
    /// Probes every request at once and returns one result per request, in the same order.
    ///
    /// All requests are in flight together on the calling thread, each bounded by its own
    /// timeout, so the call lasts about as long as the slowest probe rather than the sum. A
    /// probe is healthy when the transfer succeeds and the final status (redirects followed,
    /// at most five, over HTTP or HTTPS only) equals its expected status. The call never
    /// throws: every failure, including a bad URL or option, becomes an unhealthy result.
    ///
    ///     let results = HealthProbe.probeAll([
    ///         HealthProbeRequest(service: "api_gateway", url: "https://staging.example.com/api/health"),
    ///         HealthProbeRequest(service: "auth_service", url: "https://staging.example.com/auth/health"),
    ///     ])
    ///     let allHealthy = results.allSatisfy(\.healthy)
    ///
    /// `stop` is asked at least once a second; when it says so, the probes still in flight are
    /// abandoned and reported as unhealthy with the error "interrupted".
    ///
    /// An unhealthy answer keeps the first ``bodyLimit`` bytes of its body (`HealthProbeResult.body`):
    /// what the service said about itself is often the fastest way to the cause.
    public static func probeAll(_ requests: [HealthProbeRequest], stop: () -> Bool = { false }) -> [HealthProbeResult] {
        guard !requests.isEmpty else { return [] }
        var results = [HealthProbeResult?](repeating: nil, count: requests.count)
        let timeouts = requests.map { CurlEasy.milliseconds(fromSeconds: $0.timeout) }

        let multi: CurlMulti
        do {
            multi = try CurlMulti()
        } catch {
            return requests.map { failed($0, error.summary()) }
        }

        var indexOfTransfer: [ObjectIdentifier: Int] = [:]
        for (index, request) in requests.enumerated() {
            do {
                let transfer = try makeTransfer(for: request)
                try multi.add(transfer)
                indexOfTransfer[ObjectIdentifier(transfer)] = index
            } catch {
                results[index] = failed(request, error.summary(timeoutMs: timeouts[index]))
            }
        }

        do {
            try multi.run(stop: stop) { transfer, code in
                guard let index = indexOfTransfer[ObjectIdentifier(transfer)] else { return }
                results[index] = result(
                    of: transfer, code: code, for: requests[index],
                    timeoutMs: timeouts[index])
            }
        } catch {
            for index in results.indices where results[index] == nil {
                results[index] = failed(requests[index], error.summary())
            }
        }

        let stopped = stop()
        return zip(requests, results).map { request, result in
            result ?? failed(request, stopped ? "interrupted" : "no result from the transfer")
        }
    }

    /// How much of a response body a probe keeps: enough that the excerpt shown after
    /// redaction (512 bytes) cannot start inside a secret cut off here.
    public static let bodyLimit = 8 * 1024

    /// A GET that keeps the start of its body: a health check is decided by its status alone,
    /// and the body says why when it fails.
    private static func makeTransfer(for request: HealthProbeRequest) throws(CurlError) -> CurlEasy {
        let transfer = try CurlEasy(bodyLimit: bodyLimit)
        try transfer.setURL(request.url)
        try transfer.setTimeout(seconds: request.timeout)
        try transfer.setCAFile(request.caFile)
        try transfer.setHeaders(["Accept: application/json, */*;q=0.5"])
        return transfer
    }

    private static func result(
        of transfer: CurlEasy, code: CURLcode, for request: HealthProbeRequest,
        timeoutMs: Int
    ) -> HealthProbeResult {
        let status = (try? transfer.responseCode()) ?? nil
        let latency = (try? transfer.totalTimeMilliseconds()) ?? 0
        let problem: String?
        if let failure = transfer.transferError(code) {
            problem = failure.summary(timeoutMs: timeoutMs)
        } else if let status {
            problem =
                status == request.expectedStatus
                ? nil
                : "expected HTTP \(request.expectedStatus), got \(status)"
        } else {
            problem = "no HTTP status received"
        }
        var result = HealthProbeResult(
            service: request.service, url: request.url, httpStatus: status,
            latencyMs: latency, error: problem, healthy: problem == nil)
        if problem != nil, status != nil, !transfer.sink.bytes.isEmpty {
            result.body = transfer.sink.bytes
            result.bodyTruncated = transfer.sink.isTruncated
        }
        return result
    }

    private static func failed(_ request: HealthProbeRequest, _ problem: String) -> HealthProbeResult {
        HealthProbeResult(
            service: request.service, url: request.url, httpStatus: nil, latencyMs: 0,
            error: problem, healthy: false)
    }
}
