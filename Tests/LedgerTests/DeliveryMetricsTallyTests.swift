import EventStore
import Foundation
import Ledger
import Testing

/// The four keys' arithmetic on records given directly: DORA's frequency buckets, the
/// interpolated quantiles, which statuses count as change failures, and how outages open and
/// close across the window's edges. The same computation on a real ledger, on both backends and
/// through the binary, is in BackendTests (`DeliveryMetricsTests`).
@Suite("Delivery metrics: the tally")
struct DeliveryMetricsTallyTests {
    /// Monday 2026-11-02 00:00 UTC.
    static let monday = Date(timeIntervalSince1970: 1_793_577_600)

    static func at(day: Double, hour: Double = 12) -> Date { monday.addingTimeInterval(day * 86_400 + hour * 3_600) }

    static func record(
        _ status: String, env: String = "production", day: Double, hour: Double = 12, minutes: Double = 10, commit: Date? = nil,
        manualRollback: String? = nil
    ) -> DeploymentRecord {
        let start = at(day: day, hour: hour)
        let id = "\(Int64(start.timeIntervalSince1970))-abcdef\(String(format: "%06d", Int(day * 100 + hour)))"
        return DeploymentRecord(
            deploymentID: id, environment: env, status: status, gitSHA: "abcdef" + String(repeating: "0", count: 34), gitRef: "main",
            servicesDeployed: "[]", healthChecks: "{}", triggeredBy: "ci", mode: "record", currentPhase: status,
            startedAt: Timestamp.format(start), finishedAt: status == "running" ? nil : Timestamp.format(start.addingTimeInterval(minutes * 60)),
            durationMs: nil, previousStableID: nil, rolledBackTo: nil, failureReason: nil, markedBadReason: nil, markedBadBy: nil,
            requestPosition: Int64(day * 100 + hour), lastPosition: 0, commitTime: commit.map(Timestamp.format), manualRollback: manualRollback)
    }

    static func tally(_ records: [DeploymentRecord], since: Date? = nil, until: Date) -> DeliveryMetrics.Tally {
        var tally = DeliveryMetrics.Tally(since: since, until: until)
        for r in records { tally.add(r) }
        return tally
    }

    @Test func bucketsFollowDORAsWeeksAndMonths() {
        // Four weeks, a success on Monday, Tuesday and Wednesday of each: the median week has 3 days.
        let daily = (0..<4).flatMap { w in (0..<3).map { d in Self.record("success", day: Double(w * 7 + d)) } }
        #expect(Self.tally(daily, until: Self.at(day: 27)).metrics(environment: nil).frequency.bucket == .daily)
        // Two days a week is not daily, but every week has one.
        let twice = (0..<4).flatMap { w in (0..<2).map { d in Self.record("success", day: Double(w * 7 + d)) } }
        #expect(Self.tally(twice, until: Self.at(day: 27)).metrics(environment: nil).frequency.bucket == .weekly)
        // One a month for three months: most weeks have none, every month has one.
        let monthly = [0.0, 31, 61].map { Self.record("success", day: $0) }
        #expect(Self.tally(monthly, until: Self.at(day: 90)).metrics(environment: nil).frequency.bucket == .monthly)
        // One in three months.
        let rare = [Self.record("success", day: 0)]
        #expect(Self.tally(rare, since: Self.at(day: 0, hour: 0), until: Self.at(day: 90)).metrics(environment: nil).frequency.bucket == .yearly)
        // Failures are not deployments to count: a failing week is an empty week.
        let failing = (0..<4).flatMap { w in (0..<3).map { d in Self.record(d == 0 ? "success" : "failed", day: Double(w * 7 + d)) } }
        let m = Self.tally(failing, until: Self.at(day: 27)).metrics(environment: nil)
        #expect(m.frequency.bucket == .weekly)
        #expect(m.frequency.deployments == 4)
        #expect(m.weeks.map(\.start) == ["2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23"])
        #expect(m.weeks.map(\.failed) == [2, 2, 2, 2])
    }

    @Test func quantilesInterpolateBetweenRanks() {
        typealias D = DeliveryMetrics.Distribution
        #expect(D.quantile(0.5, of: []) == nil)
        #expect(D.quantile(0.9, of: [7]) == 7)
        #expect(D.quantile(0.5, of: [1, 2, 3, 4]) == 2.5)
        #expect(D.quantile(0.9, of: [10, 20]) == 19)
        #expect(D.quantile(0.9, of: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]) == 10)
        let d = D([30, 10, 20])
        #expect(d.count == 3 && d.median == 20 && d.p90 == 28)
    }

    @Test func failedAndRolledBackAreChangeFailuresAndAbandonedCountsInNeither() {
        let records = [
            Self.record("success", day: 0), Self.record("failed", day: 1), Self.record("rolled_back", day: 2),
            Self.record("abandoned", day: 3), Self.record("success", day: 4), Self.record("running", day: 5),
        ]
        let m = Self.tally(records, until: Self.at(day: 6)).metrics(environment: "production")
        #expect(m.changeFailure.finished == 4)
        #expect(m.changeFailure.failed == 1 && m.changeFailure.rolledBack == 1)
        #expect(m.changeFailure.rate == 0.5)
        #expect(m.abandoned == 1)
        #expect(m.frequency.deployments == 2)
        // One outage, from the failure on day 1 (12:10) to the success on day 4 (12:10), across the rollback and the abandoned one.
        #expect(m.timeToRestore.restored == DeliveryMetrics.Distribution([3 * 86_400]))
        #expect(m.timeToRestore.unrestored == 0)
    }

    @Test func aManualRollbackIsARestorationNotAChangeAndTheReleaseItReplacedIsAFailure() {
        let restore = #"{"target":"t","target_sha":"abc","replaces":"r","reason":"errors","requested_by":"oncall"}"#
        let records = [
            Self.record("success", day: 0),
            // Released on day 1, rolled back by hand on day 2: the release is a change failure.
            Self.record("rolled_back", day: 1),
            Self.record("success", day: 2, manualRollback: restore),
            // A manual rollback that failed is still no change: it is not a change failure either.
            Self.record("failed", day: 3, manualRollback: restore),
        ]
        let m = Self.tally(records, until: Self.at(day: 6)).metrics(environment: "production")
        #expect(m.restorations == 1, "successful restorations are counted; the failed one is neither a change nor a restoration")
        #expect(m.frequency.deployments == 1, "only the change on day 0 counts as a deployment")
        #expect(m.changeFailure.finished == 2 && m.changeFailure.rolledBack == 1 && m.changeFailure.failed == 0)
        // The outage opened by the rolled-back release (day 1, 12:10) ends with the restoration's success (day 2, 12:10).
        #expect(m.timeToRestore.restored == DeliveryMetrics.Distribution([86_400]))
    }

    @Test func anOutageOpenAtTheEndIsReportedAndOneFromBeforeTheWindowCountsWhenItEndsInside() {
        let records = [
            Self.record("failed", day: 0), Self.record("success", day: 2), Self.record("failed", day: 5), Self.record("success", day: 9),
        ]
        let m = Self.tally(records, since: Self.at(day: 1), until: Self.at(day: 7)).metrics(environment: nil)
        #expect(m.timeToRestore.restored == DeliveryMetrics.Distribution([2 * 86_400]))
        #expect(m.timeToRestore.unrestored == 1)
        #expect(m.timeToRestore.unrestoredSince == Timestamp.format(Self.at(day: 5).addingTimeInterval(600)))
        #expect(m.changeFailure.finished == 2 && m.changeFailure.failed == 1, "the failure before the window is not counted")
        #expect(m.since == Timestamp.format(Self.at(day: 1)) && m.days == 6)
    }

    @Test func leadTimeIsMeasuredFromTheCommitAndDeploymentsWithoutOneAreCountedApart() {
        let records = [
            Self.record("success", day: 0, commit: Self.at(day: 0, hour: 11)),  // 1h10m
            Self.record("success", day: 1),
            Self.record("success", day: 2, commit: Self.at(day: 1, hour: 12)),  // 1d 10m
            Self.record("failed", day: 3, commit: Self.at(day: 3, hour: 1)),  // not a success: not measured
            Self.record("success", day: 4, commit: Self.at(day: 4, hour: 13)),  // a commit after the deploy: 0, never negative
        ]
        let m = Self.tally(records, until: Self.at(day: 5)).metrics(environment: nil)
        #expect(m.leadTime.measured == DeliveryMetrics.Distribution([4_200, 87_000, 0]))
        #expect(m.leadTime.withoutCommitTime == 1)
    }

    @Test func environmentsAreMeasuredApartAndTogether() {
        let records = [
            Self.record("failed", env: "staging", day: 0), Self.record("success", env: "production", day: 1),
            Self.record("success", env: "staging", day: 2, hour: 12, minutes: 30),
        ]
        let tally = Self.tally(records, until: Self.at(day: 3))
        #expect(tally.environmentNames == ["production", "staging"])
        // A success in production does not end staging's outage.
        #expect(tally.metrics(environment: "staging").timeToRestore.restored == DeliveryMetrics.Distribution([2 * 86_400 + 20 * 60]))
        #expect(tally.metrics(environment: "production").timeToRestore.restored.count == 0)
        let all = tally.metrics(environment: nil)
        #expect(all.frequency.deployments == 2 && all.changeFailure.finished == 3)
        #expect(tally.metrics(environment: "qa").frequency.deployments == 0)
        #expect(tally.latestFinished(environment: "staging")?.status == "success")
    }

    @Test func theJSONCarriesEveryFigure() throws {
        let records = [Self.record("success", day: 0, commit: Self.at(day: 0, hour: 11)), Self.record("failed", day: 1)]
        let m = Self.tally(records, until: Self.at(day: 2)).metrics(environment: "production")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(m.json.utf8)) as? [String: Any])
        let frequency = try #require(object["deployment_frequency"] as? [String: Any])
        #expect(frequency["deployments"] as? Int == 1 && frequency["bucket"] as? String == "weekly")
        let failure = try #require(object["change_failure_rate"] as? [String: Any])
        #expect(failure["rate"] as? Double == 0.5)
        let lead = try #require(object["lead_time"] as? [String: Any])
        #expect(lead["median_seconds"] as? Int == 4_200 && lead["without_commit_time"] as? Int == 0)
        let restore = try #require(object["time_to_restore"] as? [String: Any])
        #expect(restore["unrestored"] as? Int == 1 && restore["median_seconds"] is NSNull)
    }
}
