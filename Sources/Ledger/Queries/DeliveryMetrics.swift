import EventStore
import Foundation

/// DORA's four keys for one environment (or all of them) over a window of time, computed from
/// the deployment records: deployment frequency, change failure rate, time to restore, and lead
/// time for changes. docs/METRICS.md gives each definition and its formula.
///
/// A deployment counts in the window when it finished in it (`since` inclusive, `until`
/// exclusive). Restorations (`isRestoration`) are not changes: they count neither in the
/// frequency nor in the failure rate, but they end a time-to-restore interval.
public struct DeliveryMetrics: Sendable, Equatable {
    /// The environment measured; nil for all of them together.
    public var environment: String?
    /// The window measured: the later of the asked start and the scope's first deployment, to `until`.
    public var since: String
    public var until: String
    /// The window's length in days, at least 1.
    public var days: Double

    public var frequency: Frequency
    public var changeFailure: ChangeFailure
    public var timeToRestore: TimeToRestore
    public var leadTime: LeadTime
    /// Successful restorations in the window (not changes; see `isRestoration`).
    public var restorations: Int
    /// Deployments abandoned in the window (`shiplog unlock`): their outcome is unknown, so they
    /// count neither as successes nor as failures.
    public var abandoned: Int
    /// Every week the window touches (Monday 00:00 UTC), oldest first, with each outcome's count.
    public var weeks: [Week]

    /// DORA's deployment frequency: how often a change reaches the environment.
    public struct Frequency: Sendable, Equatable {
        /// Changes that finished as `success` in the window.
        public var deployments: Int
        public var perDay: Double
        public var perWeek: Double
        public var bucket: Bucket
    }

    /// DORA's frequency buckets, decided from the weeks and months of the window (docs/METRICS.md).
    public enum Bucket: String, Sendable, Equatable {
        /// On demand: in the median week, successful deployments on 3 days or more.
        case daily
        /// At least half the weeks have one.
        case weekly
        /// At least half the calendar months have one.
        case monthly
        /// Fewer than once a month.
        case yearly
    }

    /// DORA's change failure rate: finished changes that failed or were rolled back, of all finished changes.
    public struct ChangeFailure: Sendable, Equatable {
        /// Changes that finished as success, failed or rolled back in the window.
        public var finished: Int
        public var failed: Int
        public var rolledBack: Int

        public init(finished: Int, failed: Int, rolledBack: Int) {
            self.finished = finished
            self.failed = failed
            self.rolledBack = rolledBack
        }

        /// (failed + rolled back) ÷ finished; nil when nothing finished.
        public var rate: Double? { finished == 0 ? nil : Double(failed + rolledBack) / Double(finished) }
    }

    /// DORA's time to restore: from a failed or rolled-back change to the environment's next success.
    public struct TimeToRestore: Sendable, Equatable {
        /// Intervals that ended (a success) in the window, in seconds.
        public var restored: Distribution
        /// Outages still open at `until`: environments whose last finished change failed.
        public var unrestored: Int
        /// When the oldest of them began.
        public var unrestoredSince: String?
    }

    /// DORA's lead time for changes: from the commit to its successful deployment.
    public struct LeadTime: Sendable, Equatable {
        /// Successful changes of the window whose request carries the commit's time, in seconds.
        public var measured: Distribution
        /// Successful changes of the window whose request carries no commit time.
        public var withoutCommitTime: Int
    }

    /// How many values, their median and 90th percentile (interpolated between ranks).
    public struct Distribution: Sendable, Equatable {
        public var count: Int
        public var median: Double?
        public var p90: Double?

        public init(_ values: [Double]) {
            let sorted = values.sorted()
            count = sorted.count
            median = Self.quantile(0.5, of: sorted)
            p90 = Self.quantile(0.9, of: sorted)
        }

        /// The `q` quantile of sorted values, linearly interpolated: with h = (n − 1)·q, the value at
        /// rank ⌊h⌋ plus (h − ⌊h⌋) of the step to the next (PERCENTILE_CONT). Nil for no values.
        public static func quantile(_ q: Double, of sorted: [Double]) -> Double? {
            guard let first = sorted.first else { return nil }
            guard sorted.count > 1 else { return first }
            let h = Double(sorted.count - 1) * q
            let low = Int(h.rounded(.down))
            let high = min(low + 1, sorted.count - 1)
            return sorted[low] + (h - Double(low)) * (sorted[high] - sorted[low])
        }
    }

    /// One week's outcomes, by when each deployment finished.
    public struct Week: Sendable, Equatable {
        /// Monday 00:00 UTC, as `YYYY-MM-DD`.
        public var start: String
        public var succeeded = 0
        public var failed = 0
        public var rolledBack = 0
        public var abandoned = 0
        public var restorations = 0
        /// The weekdays (bit 0 = Monday) with a successful change: DORA's "days deployed".
        public var daysDeployed: UInt8 = 0

        public var total: Int { succeeded + failed + rolledBack + abandoned + restorations }
    }
}
