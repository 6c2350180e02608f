import EventStore
import Foundation

extension DeliveryMetrics {
    /// The figures as one JSON object (docs/METRICS.md shows it); durations in seconds.
    public var json: String { JSONText.object(jsonMembers) }

    /// The members of `json`, in order, for a caller that adds its own.
    public var jsonMembers: [(String, String)] {
        [
            ("environment", environment.map(JSONText.quote) ?? "null"),
            ("since", JSONText.quote(since)),
            ("until", JSONText.quote(until)),
            ("days", Self.number(days)),
            (
                "deployment_frequency",
                JSONText.object([
                    ("deployments", String(frequency.deployments)), ("per_day", Self.number(frequency.perDay)),
                    ("per_week", Self.number(frequency.perWeek)), ("bucket", JSONText.quote(frequency.bucket.rawValue)),
                ])
            ),
            (
                "change_failure_rate",
                JSONText.object([
                    ("rate", changeFailure.rate.map(Self.number) ?? "null"), ("finished", String(changeFailure.finished)),
                    ("failed", String(changeFailure.failed)), ("rolled_back", String(changeFailure.rolledBack)),
                ])
            ),
            (
                "time_to_restore",
                JSONText.object(
                    Self.members(timeToRestore.restored, count: "restored") + [
                        ("unrestored", String(timeToRestore.unrestored)),
                        ("unrestored_since", timeToRestore.unrestoredSince.map(JSONText.quote) ?? "null"),
                    ])
            ),
            (
                "lead_time",
                JSONText.object(
                    Self.members(leadTime.measured, count: "measured") + [("without_commit_time", String(leadTime.withoutCommitTime))])
            ),
            ("restorations", String(restorations)),
            ("abandoned", String(abandoned)),
            (
                "weeks",
                JSONText.array(
                    weeks.map { w in
                        JSONText.object([
                            ("week", JSONText.quote(w.start)), ("succeeded", String(w.succeeded)), ("failed", String(w.failed)),
                            ("rolled_back", String(w.rolledBack)), ("abandoned", String(w.abandoned)),
                            ("restorations", String(w.restorations)), ("days_deployed", String(w.daysDeployed.nonzeroBitCount)),
                        ])
                    })
            ),
        ]
    }

    static func members(_ d: Distribution, count: String) -> [(String, String)] {
        [(count, String(d.count)), ("median_seconds", d.median.map(number) ?? "null"), ("p90_seconds", d.p90.map(number) ?? "null")]
    }

    /// A JSON number with at most three decimals: `0.125`, `42`, `3.333`.
    static func number(_ value: Double) -> String {
        let rounded = (value * 1000).rounded() / 1000
        if rounded == rounded.rounded(), abs(rounded) < 1e15 { return String(Int64(rounded)) }
        return String(format: "%.3f", rounded).replacingOccurrences(of: #"0+$"#, with: "", options: .regularExpression)
    }
}
