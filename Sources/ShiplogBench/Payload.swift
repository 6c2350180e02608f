/// The store-level benchmark payload: 400 bytes of JSON, byte for byte the one
/// tools/bench-baseline.c builds, so both sides write and hash the same rows.
enum Payload {
    static let filler = Array(
        ("rolled out to every instance behind the load balancer; connection draining finished, "
            + "readiness probes passed on each pod, previous replica set scaled down, image digest pinned, "
            + "configuration checksum unchanged, feature flags evaluated, caches warmed, error budget intact, "
            + "latency within objective, no alerts fired during the window, audit trail recorded for review "
            + "and sign-off by the release manager on duty this week").utf8)

    static let size = 400

    /// The data of event `seq` of `stream`.
    static func make(seq: Int, stream: String) -> String {
        let prefix =
            "{\"seq\":\(seq),\"stream\":\"\(stream)\",\"environment\":\"production\",\"service\":\"svc-\(seq % 8)\","
            + "\"git_ref\":\"refs/heads/main\",\"detail\":\""
        let pad = Swift.max(0, size - prefix.utf8.count - 2)
        return prefix + String(decoding: filler[0..<pad], as: UTF8.self) + "\"}"
    }

    /// `deployment-bench-000042`: stream `index` of the append workloads.
    static func stream(_ index: Int) -> String {
        let digits = String(index)
        return "deployment-bench-" + String(repeating: "0", count: Swift.max(0, 6 - digits.count)) + digits
    }
}
