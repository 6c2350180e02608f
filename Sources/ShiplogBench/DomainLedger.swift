import EventStore
import SQLiteStore
import Foundation
import Ledger
import SeededRandom

/// A ledger of many deployments, written as the domain writes them: every event made by the
/// real `DeploymentEvent` encoders, chained with the real hash, loaded with the store's
/// `importRecorded` in large batches, then projected with `Ledger.rebuild`.
///
/// Four environments take turns, one deployment about every 21 minutes, each taking 10 to 25
/// minutes, so consecutive deployments' events interleave in the log. Most succeed (21 events);
/// some fail their health checks and roll back (21), some fail to build (9); 1% are marked bad
/// a day later. Each event carries a metadata object (correlation id, runner, pipeline digest,
/// trace id) as a runner would record it, so data and metadata together average about 400 bytes.
struct DomainLedger {
    static let environments = ["production", "staging", "qa", "dev"]
    static let spacing: Double = 1_260

    /// The SQLite file or the PostgreSQL database URL.
    let location: String
    let deployments: Int
    var events: Int64 = 0
    /// Events of the domain's own streams (the rest were appended by the append-at-scale workload).
    var domainEvents: Int64 = 0
    /// Mean bytes of data plus metadata per event.
    var payloadBytes: Double = 0
    /// A finished deployment from the middle of the ledger, for `show`.
    var sampleID = ""
    /// When the last event was recorded.
    var end = Date()

    /// `1,024,010`, for labels.
    var label: String { Figure.number(Double(events)) }

    /// A ledger built earlier (`--ledger`), described from its contents.
    static func open(path: String) throws -> DomainLedger {
        let store = try SQLiteEventStore(path: path, mode: .readOnly)
        let db = store.database
        let deployments = try db.withStatement("SELECT count(*) FROM deployments") { s in
            try s.step(); return s.int(0)
        }
        var result = DomainLedger(location: path, deployments: deployments)
        result.events = try store.head().position
        try db.withStatement(
            """
            SELECT count(*), avg(length(data) + length(metadata)), max(recorded_at) FROM events
            WHERE stream NOT LIKE 'deployment-bench-%'
            """
        ) { s in
            try s.step()
            result.domainEvents = s.int64(0)
            result.payloadBytes = s.double(1)
            result.end = Timestamp.parse(s.string(2)) ?? Date()
        }
        result.sampleID = try db.withStatement("SELECT deployment_id FROM deployments ORDER BY request_position LIMIT 1 OFFSET ?") { s in
            s.bind(1, deployments / 2)
            try s.step()
            return s.string(0)
        }
        return result
    }

    private struct Pending {
        var time: Double
        var sequence: Int
        var stream: String
        var event: DeploymentEvent
        var metadata: String
    }

    /// Builds the ledger at `location` (a file that must not exist, or an empty database).
    static func build(location: String, backend: any BenchBackend, deployments: Int) throws -> DomainLedger {
        var result = DomainLedger(location: location, deployments: deployments)
        let store = try backend.open(location, mode: .create)
        let ledger = backend.ledger(on: store)
        var rng = SeededRNG(seed: 0x5EED_1ED6_E12)
        let endTime = Date().timeIntervalSince1970 - 3_600
        let start = endTime - Double(deployments) * spacing

        let hasher = HashChain()
        var previous = HashChain.genesis
        var position: Int64 = 0
        var versions: [String: Int64] = [:]
        var chunk: [RecordedEvent] = []
        chunk.reserveCapacity(10_000)
        var pending: [Pending] = []
        var sequence = 0
        var lastStable: [String: (id: String, sha: String)] = [:]
        var payloadTotal = 0
        var lastTime = 0.0

        func hex(_ count: Int) -> String {
            let digits = Array("0123456789abcdef".utf8)
            return String(decoding: (0..<count).map { _ in digits[Int(rng.next() & 15)] }, as: UTF8.self)
        }

        func flush(before limit: Double) throws {
            pending.sort { ($0.time, $0.sequence) < ($1.time, $1.sequence) }
            var taken = 0
            for p in pending {
                guard p.time < limit else { break }
                taken += 1
                position += 1
                let version = (versions[p.stream] ?? 0) + 1
                versions[p.stream] = version
                let time = Swift.max(p.time, lastTime)
                lastTime = time
                let made = p.event.makeNewEvent(metadata: p.metadata)
                let id = UUIDv7.make(milliseconds: UInt64(time * 1000))
                let recordedAt = Timestamp.format(Date(timeIntervalSince1970: time))
                let digest = hasher.hash(
                    previous: previous, position: position, eventID: id, stream: p.stream, version: version,
                    type: made.type, schema: made.schema, data: made.data, metadata: made.metadata,
                    recordedAt: recordedAt)
                previous = digest
                payloadTotal += made.data.utf8.count + made.metadata.utf8.count
                chunk.append(
                    RecordedEvent(
                        position: position, eventID: id, stream: p.stream, version: version, type: made.type,
                        schema: made.schema, data: made.data, metadata: made.metadata,
                        recordedAt: recordedAt, hash: Hex.encode(digest)))
                if chunk.count == 10_000 {
                    try store.importRecorded(chunk, within: { _ in })
                    chunk.removeAll(keepingCapacity: true)
                }
            }
            pending.removeFirst(taken)
        }

        for k in 0..<deployments {
            let environment = environments[k % environments.count]
            let t0 = start + Double(k) * spacing + Double(rng.next() % 300_000) / 1000
            let sha = hex(40)
            let id = DeploymentRequest.makeID(at: Date(timeIntervalSince1970: t0), sha: sha)
            let dstream = Ledger.stream(deployment: id)
            let estream = Ledger.stream(environment: environment)
            let host = "ci-runner-\(rng.next() % 16).build.internal"
            let metadata = JSONText.object([
                ("correlation_id", JSONText.quote(id)),
                (
                    "runner",
                    JSONText.object([
                        ("host", JSONText.quote(host)), ("pid", String(10_000 + rng.next() % 50_000)),
                        ("version", JSONText.quote("shiplog 0.1.0")),
                    ])
                ),
                ("pipeline", JSONText.object([("file", JSONText.quote("deploy/shiplog.yml")), ("sha256", JSONText.quote(hex(64)))])),
                ("trace_id", JSONText.quote(hex(32))),
                ("source", JSONText.quote("github-actions/\(environment)/deploy")),
            ])
            var t = t0
            func add(_ event: DeploymentEvent, _ stream: String? = nil, after seconds: Double = 1) {
                t += seconds + Double(rng.next() % 1000) / 1000
                sequence += 1
                pending.append(Pending(time: t, sequence: sequence, stream: stream ?? dstream, event: event, metadata: metadata))
            }
            let services = ["api-gateway", "auth-service"]
            let checks = ["api_gateway", "auth_service"]
            let target = "https://\(environment).example.com"
            let stable = lastStable[environment]
            let request = DeploymentRequest(
                deploymentID: id, environment: environment, gitSHA: sha, gitRef: "refs/heads/release/\(2024 + k % 3).\(k % 12 + 1)",
                services: services, triggeredBy: ["alice", "bob", "carol", "deploy-bot"][Int(rng.next() % 4)], mode: .run,
                phases: [.preflight, .build, .deploy, .health], checks: checks,
                previousStableID: stable?.id, previousStableSHA: stable?.sha,
                commitTime: Timestamp.format(Date(timeIntervalSince1970: t0 - 1_800 - Double(k % 48) * 1_800)))
            add(.deploymentRequested(request), after: 0)
            add(.environmentLocked(deploymentID: id), estream, after: 0)
            add(.stepStarted(.preflight, attempt: 1))
            add(.stepSucceeded(.preflight, detail: "required status checks green: ci/build, ci/test, security/scan"), after: 7)
            add(.stepStarted(.build, attempt: 1))
            let outcome = rng.next() % 100
            if outcome < 5 {
                let reason = "build exited with status 2: compilation failed in module Payments (see build log)"
                add(.stepFailed(.build, reason: reason), after: Double(120 + rng.next() % 300))
                add(.deploymentFailed(reason: reason, phase: .build))
                add(.environmentReleased(deploymentID: id, status: "failed"), estream, after: 0)
                add(.notificationSent(channel: "slack", attempts: 1))
            } else {
                add(.stepSucceeded(.build, detail: "image \(environment)/app:\(sha.prefix(12)) built and pushed"), after: Double(300 + rng.next() % 600))
                add(
                    .artifactStored(
                        Artifact(
                            name: Phase.build.logArtifactName(deploymentID: id), phase: "build", sha256: hex(64),
                            size: Int64(20_000 + rng.next() % 80_000), retentionDays: 365)))
                add(.stepStarted(.deploy, attempt: 1))
                for service in services { add(.serviceDeployed(service: service), after: Double(60 + rng.next() % 120)) }
                let until = Timestamp.format(Date(timeIntervalSince1970: t + 31))
                add(.stabilizationWaitStarted(seconds: 30, until: until))
                add(.stabilizationWaitFinished, after: 30)
                let broken = outcome < 13 && stable != nil
                for (n, check) in checks.enumerated() {
                    let bad = broken && n == 1
                    add(
                        .healthCheckAttempted(
                            HealthAttempt(
                                check: check, target: target + (n == 0 ? "/api/health" : "/auth/health"),
                                attempt: 1, round: .deploy, httpStatus: bad ? 503 : 200,
                                latencyMs: Int(20 + rng.next() % 200),
                                error: bad ? "expected HTTP 200, got 503" : nil, healthy: !bad)))
                }
                for (n, check) in checks.enumerated() {
                    if broken && n == 1 {
                        add(.serviceUnhealthy(check: check, attempts: 1, reason: "expected HTTP 200, got 503", round: .deploy))
                    } else {
                        add(.serviceHealthy(check: check, attempts: 1, round: .deploy))
                    }
                }
                if broken, let stable {
                    add(.healthChecksFailed(round: .deploy, failed: [checks[1]]))
                    add(.rollbackStarted(targetID: stable.id, targetSHA: stable.sha, attempt: 1))
                    add(.stepSucceeded(.rollback, detail: "restored \(stable.sha.prefix(12))"), after: Double(60 + rng.next() % 120))
                    add(.deploymentRolledBack(targetID: stable.id, targetSHA: stable.sha))
                    add(.environmentReleased(deploymentID: id, status: "rolled_back"), estream, after: 0)
                } else {
                    add(.healthChecksPassed(round: .deploy))
                    add(
                        .artifactStored(
                            Artifact(
                                name: Phase.recordArtifactName(deploymentID: id), phase: "record", sha256: hex(64),
                                size: Int64(1_500 + rng.next() % 1_000), retentionDays: 365)))
                    add(.deploymentSucceeded)
                    add(.environmentReleased(deploymentID: id, status: "success"), estream, after: 0)
                    if rng.next() % 100 == 0 {
                        // Found bad a day later: the runner is long gone, a person records it.
                        let later = t
                        t += 86_400
                        add(.deploymentMarkedBad(reason: "memory leak found in production traffic", by: "oncall"))
                        t = later
                    } else {
                        lastStable[environment] = (id, sha)
                    }
                }
                add(.notificationSent(channel: "slack", attempts: 1))
            }
            if k == deployments / 2 { result.sampleID = id }
            try flush(before: start + Double(k + 1) * spacing)
        }
        try flush(before: .infinity)
        if !chunk.isEmpty { try store.importRecorded(chunk, within: { _ in }) }
        try ledger.rebuild()
        result.events = position
        result.domainEvents = position
        result.payloadBytes = Double(payloadTotal) / Double(Swift.max(position, 1))
        result.end = Date(timeIntervalSince1970: lastTime)
        return result
    }
}
