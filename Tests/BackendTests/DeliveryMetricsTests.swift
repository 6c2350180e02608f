import EventStore
import Foundation
import Ledger
import ShiplogTestSupport
import Testing

/// How a test deployment ends.
enum TestOutcome { case success, failed, rolledBack, running }

extension BackendLedger {
    /// A recorded deployment that begins at `start` and finishes `minutes` later (its terminal
    /// event's time) as `outcome`; returns its id.
    @discardableResult
    func deploy(
        _ env: String, _ n: Int, at start: Date, minutes: Double, _ outcome: TestOutcome, commit: Date? = nil,
        ref: String = "refs/heads/main", by: String = "ci", attempts: [HealthAttempt] = []
    ) throws -> String {
        clock.now = start
        let id = try #require(
            try ledger.request(
                environment: env, gitSHA: sha(n), gitRef: ref, services: ["api"], triggeredBy: by, mode: .record,
                commitTime: commit.map(Timestamp.format)
            ).id)
        clock.now = start.addingTimeInterval(1)
        if outcome == .running { return id }
        try ledger.execute(.completeStep(.deploy, succeeded: outcome != .failed, reason: outcome == .failed ? "deploy script exited 1" : nil), on: id)
        if !attempts.isEmpty {
            try ledger.execute(.recordHealthAttempts(attempts, policy: HealthPolicy(retries: attempts.count), now: Timestamp.format(clock.now)), on: id)
        }
        if outcome == .rolledBack {
            if attempts.isEmpty { try ledger.execute(.recordHealthVerdict(check: "api_gateway", healthy: false, attempts: 5, reason: "HTTP 503"), on: id) }
            _ = try ledger.beginRollback(id, attempt: 1)
            try ledger.execute(.completeStep(.rollback, succeeded: true, reason: nil), on: id)
        }
        clock.now = start.addingTimeInterval(minutes * 60)
        switch outcome {
        case .success: try ledger.execute(.finish(.succeeded), on: id)
        case .failed: try ledger.execute(.finish(.failed(reason: "deploy script exited 1")), on: id)
        case .rolledBack: try ledger.execute(.finish(.rolledBack), on: id)
        case .running: break
        }
        return id
    }
}

/// DORA's four keys on a ledger whose answers are known, on both backends, in process and
/// through `shiplog metrics --json`: deployments with and without a commit time, two
/// environments, and windows whose edges fall on deployments.
@Suite("Both backends: delivery metrics")
struct DeliveryMetricsTests {
    /// Monday 2026-11-02 00:00 UTC.
    static let day0 = Date(timeIntervalSince1970: 1_793_577_600)
    static func at(_ day: Double, _ hour: Double, _ minute: Double = 0) -> Date {
        day0.addingTimeInterval(day * 86_400 + hour * 3_600 + minute * 60)
    }

    /// staging: D1 ok (commit 70 min before), D2 failed, D3 rolled back, D4 ok (no commit time:
    /// restores 4 h after D2), D5 ok (commit 2 h before), D6 failed, D7 ok (no commit time:
    /// restores 30 min after D6). qa: Q1 ok (commit 70 min before), Q2 failed, never restored.
    static func build(_ t: BackendLedger) throws -> [String: String] {
        var ids: [String: String] = [:]
        ids["D1"] = try t.deploy("staging", 1, at: at(0, 9), minutes: 10, .success, commit: at(0, 8))
        ids["Q1"] = try t.deploy("qa", 11, at: at(0, 12), minutes: 10, .success, commit: at(0, 11))
        ids["D2"] = try t.deploy("staging", 2, at: at(1, 9), minutes: 5, .failed)
        ids["D3"] = try t.deploy("staging", 3, at: at(1, 11), minutes: 20, .rolledBack)
        ids["D4"] = try t.deploy("staging", 4, at: at(1, 13), minutes: 5, .success)
        ids["D5"] = try t.deploy("staging", 5, at: at(2, 10), minutes: 10, .success, commit: at(2, 8, 10))
        ids["Q2"] = try t.deploy("qa", 12, at: at(2, 12), minutes: 10, .failed)
        ids["D6"] = try t.deploy("staging", 6, at: at(3, 10), minutes: 5, .failed)
        ids["D7"] = try t.deploy("staging", 7, at: at(3, 10, 30), minutes: 5, .success)
        return ids
    }

    @Test(arguments: Backend.allCases)
    func theFourKeysOfAKnownLedger(backend: Backend) throws {
        let t = try BackendLedger(backend)
        _ = try Self.build(t)
        let tally = try Queries(ledger: t.ledger).deliveryMetrics(environment: nil, since: Self.at(0, 0), until: Self.at(4, 0))
        let staging = tally.metrics(environment: "staging")
        #expect(staging.since == Timestamp.format(Self.at(0, 9)), "the window starts at the first deployment")
        #expect(staging.days == 3.625)
        #expect(staging.frequency.deployments == 4)
        #expect(staging.frequency.bucket == .daily)
        #expect(staging.changeFailure == DeliveryMetrics.ChangeFailure(finished: 7, failed: 2, rolledBack: 1))
        #expect(staging.timeToRestore.restored == DeliveryMetrics.Distribution([14_400, 1_800]))
        #expect(staging.timeToRestore.restored.median == 8_100 && staging.timeToRestore.restored.p90 == 13_140)
        #expect(staging.timeToRestore.unrestored == 0)
        #expect(staging.leadTime.measured == DeliveryMetrics.Distribution([4_200, 7_200]))
        #expect(staging.leadTime.withoutCommitTime == 2)

        let qa = tally.metrics(environment: "qa")
        #expect(qa.frequency.deployments == 1 && qa.changeFailure.finished == 2 && qa.changeFailure.rate == 0.5)
        #expect(qa.timeToRestore.unrestored == 1 && qa.timeToRestore.unrestoredSince == Timestamp.format(Self.at(2, 12, 10)))

        let all = tally.metrics(environment: nil)
        #expect(all.frequency.deployments == 5 && all.changeFailure.finished == 9 && all.changeFailure.failed == 3)
        #expect(all.leadTime.measured == DeliveryMetrics.Distribution([4_200, 7_200, 4_200]))
        #expect(all.timeToRestore.unrestored == 1)
    }

    @Test(arguments: Backend.allCases)
    func aWindowCountsWhatFinishedInsideItAndCarriesAnOutageAcrossItsStart(backend: Backend) throws {
        let t = try BackendLedger(backend)
        let ids = try Self.build(t)
        let queries = Queries(ledger: t.ledger)
        let m = try queries.deliveryMetrics(environment: "staging", since: Self.at(1, 12), until: Self.at(3, 10, 20)).metrics(environment: "staging")
        #expect(m.frequency.deployments == 2, "D4 and D5; D7 began after the window")
        #expect(m.changeFailure == DeliveryMetrics.ChangeFailure(finished: 3, failed: 1, rolledBack: 0))
        #expect(m.timeToRestore.restored == DeliveryMetrics.Distribution([14_400]), "D2's outage began before the window and ended inside it")
        #expect(m.timeToRestore.unrestored == 1 && m.timeToRestore.unrestoredSince == Timestamp.format(Self.at(3, 10, 5)))
        #expect(m.leadTime.measured == DeliveryMetrics.Distribution([7_200]) && m.leadTime.withoutCommitTime == 1)

        // The edges: since is inclusive, until exclusive, both on a deployment's finish.
        let d4 = try #require(try queries.record(ids["D4"]!)?.finishedAt.flatMap(Timestamp.parse))
        let d5 = try #require(try queries.record(ids["D5"]!)?.finishedAt.flatMap(Timestamp.parse))
        let edges = try queries.deliveryMetrics(environment: "staging", since: d4, until: d5).metrics(environment: "staging")
        #expect(edges.frequency.deployments == 1 && edges.leadTime.withoutCommitTime == 1, "D4 is in, D5 is out")
    }

    @Test(arguments: Backend.allCases)
    func theCommandPrintsTheSameFiguresAsJSON(backend: Backend) throws {
        let t = try BackendLedger(backend)
        _ = try Self.build(t)
        let dir = try TemporaryDirectory(prefix: "shiplog-metrics")
        func run(_ args: [String]) -> ProcessOutput {
            runShiplog(["metrics", "--db", t.location] + args, environment: ["USER": "tester"], in: dir.url)
        }
        let out = run(["--since", "2026-11-03T12:00:00Z", "--until", "2026-11-05T10:20:00Z", "--env", "staging", "--json"])
        #expect(out.status == 0, "\(out.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any])
        #expect(object["environment"] as? String == "staging")
        #expect(object["since"] as? String == "2026-11-03T12:00:00.000Z" && object["days"] as? Double == 1.931)
        let frequency = try #require(object["deployment_frequency"] as? [String: Any])
        #expect(frequency["deployments"] as? Int == 2 && frequency["per_day"] as? Double == 1.036)
        let failure = try #require(object["change_failure_rate"] as? [String: Any])
        #expect(failure["rate"] as? Double == 0.333 && failure["finished"] as? Int == 3 && failure["failed"] as? Int == 1)
        let restore = try #require(object["time_to_restore"] as? [String: Any])
        #expect(restore["restored"] as? Int == 1 && restore["median_seconds"] as? Int == 14_400 && restore["unrestored"] as? Int == 1)
        #expect(restore["unrestored_since"] as? String == "2026-11-05T10:05:00.000Z")
        let lead = try #require(object["lead_time"] as? [String: Any])
        #expect(lead["measured"] as? Int == 1 && lead["median_seconds"] as? Int == 7_200 && lead["without_commit_time"] as? Int == 1)

        let all = run(["--since", "2026-11-02", "--until", "2026-11-06", "--json"])
        #expect(all.status == 0, "\(all.stderr)")
        let whole = try #require(try JSONSerialization.jsonObject(with: Data(all.stdout.utf8)) as? [String: Any])
        let each = try #require(whole["environments"] as? [[String: Any]])
        #expect(each.map { $0["environment"] as? String } == ["qa", "staging"])
        #expect((whole["deployment_frequency"] as? [String: Any])?["deployments"] as? Int == 5)
        #expect((whole["lead_time"] as? [String: Any])?["without_commit_time"] as? Int == 2)

        let text = run(["--since", "2026-11-02", "--until", "2026-11-06"])
        #expect(text.status == 0 && text.stdout.contains("change failure rate") && text.stdout.contains("44.4%"), "\(text.stdout)")
        #expect(run(["--env", "production"]).status == 4)
        #expect(run(["--since", "2026-11-06", "--until", "2026-11-02"]).status == 64)
    }
}
