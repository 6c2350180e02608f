import EventStore
import Foundation

extension DeliveryMetrics {
    /// Folds deployment records, each environment's in request order, into the four keys of
    /// every environment they name: it keeps counts, a week table and one duration per restore
    /// and per measured change, never the records, so a history of any length streams through it.
    ///
    /// A record counts when it finished within [`since`, `until`); the ones before `since` only
    /// carry an outage across the window's start (a failure before it, restored within it).
    public struct Tally {
        /// The start asked for; nil to measure from the scope's first deployment.
        public let since: Date?
        public let until: Date
        private let sinceText: String?
        private let untilText: String
        private var environments: [String: EnvironmentTally] = [:]

        public init(since: Date?, until: Date) {
            self.since = since
            self.until = until
            sinceText = since.map(Timestamp.format)
            untilText = Timestamp.format(until)
        }

        /// What one environment's records added up to.
        struct EnvironmentTally {
            var firstRequested: Date?
            /// The failed or rolled-back change that began the outage still open, and when it ended.
            var outage: (id: String, since: String, at: Date)?
            var succeeded = 0
            var failed = 0
            var rolledBack = 0
            var abandoned = 0
            var restorations = 0
            var restoreSeconds: [Double] = []
            var leadSeconds: [Double] = []
            var withoutCommitTime = 0
            var weeks: [Int: Week] = [:]
            var months: Set<Int> = []
            var latest: DeploymentRecord?
        }

        /// The environments seen, by name.
        public var environmentNames: [String] { environments.keys.sorted() }

        /// The newest deployment of `environment` that finished before `until`: what runs there.
        public func latestFinished(environment: String) -> DeploymentRecord? {
            environments[environment]?.latest
        }

        /// The failed or rolled-back change whose outage is still open in `environment` at `until`.
        public func openOutage(environment: String) -> (deploymentID: String, since: String)? {
            environments[environment]?.outage.map { ($0.id, $0.since) }
        }

        /// Adds one record. Each environment's records must come in request order (the order of
        /// `Queries.forEachRecord(_:newestFirst: false)`); environments may interleave.
        public mutating func add(_ r: DeploymentRecord) {
            guard r.startedAt < untilText else { return }
            var e = environments[r.environment] ?? EnvironmentTally()
            defer { environments[r.environment] = e }
            if e.firstRequested == nil { e.firstRequested = Timestamp.parse(r.startedAt) }
            guard let finishedText = r.finishedAt, finishedText < untilText, let finished = Timestamp.parse(finishedText) else { return }
            e.latest = r
            let inWindow = sinceText.map { finishedText >= $0 } ?? true
            let week = Self.weekIndex(finished)
            let restoration = DeliveryMetrics.isRestoration(r)
            switch r.status {
            case "success":
                if let outage = e.outage {
                    if inWindow { e.restoreSeconds.append(max(0, finished.timeIntervalSince(outage.at))) }
                    e.outage = nil
                }
                guard inWindow else { return }
                if restoration {
                    e.restorations += 1
                    e.weeks[week, default: Self.week(week)].restorations += 1
                    return
                }
                e.succeeded += 1
                e.weeks[week, default: Self.week(week)].succeeded += 1
                e.weeks[week]!.daysDeployed |= 1 << Self.weekday(finished)
                e.months.insert(Self.monthIndex(finished))
                if let commit = r.commitTime.flatMap(Timestamp.parse) {
                    e.leadSeconds.append(max(0, finished.timeIntervalSince(commit)))
                } else {
                    e.withoutCommitTime += 1
                }
            case "failed", "rolled_back":
                // A restoration is never a change: one that fails leaves the outage open, as it was.
                guard !restoration else { return }
                if e.outage == nil { e.outage = (r.deploymentID, finishedText, finished) }
                guard inWindow else { return }
                if r.status == "failed" {
                    e.failed += 1
                    e.weeks[week, default: Self.week(week)].failed += 1
                } else {
                    e.rolledBack += 1
                    e.weeks[week, default: Self.week(week)].rolledBack += 1
                }
            case "abandoned":
                guard inWindow else { return }
                e.abandoned += 1
                e.weeks[week, default: Self.week(week)].abandoned += 1
            default:
                return
            }
        }

        /// The four keys of `environment`, or of every environment together when nil.
        public func metrics(environment: String?) -> DeliveryMetrics {
            let tallies = environment.map { name in environments[name].map { [$0] } ?? [] } ?? Array(environments.values)
            let first = tallies.compactMap(\.firstRequested).min()
            let start: Date =
                switch (since, first) {
                case (let s?, let f?): max(s, f)
                case (let s?, nil): s
                case (nil, let f?): f
                case (nil, nil): until
                }
            let days = max(1, until.timeIntervalSince(start) / 86_400)
            var weeks: [Int: Week] = [:]
            var months: Set<Int> = []
            for t in tallies {
                months.formUnion(t.months)
                for (index, w) in t.weeks {
                    var merged = weeks[index] ?? Self.week(index)
                    merged.succeeded += w.succeeded
                    merged.failed += w.failed
                    merged.rolledBack += w.rolledBack
                    merged.abandoned += w.abandoned
                    merged.restorations += w.restorations
                    merged.daysDeployed |= w.daysDeployed
                    weeks[index] = merged
                }
            }
            let last = until.addingTimeInterval(-0.001)
            let weekRange = Self.weekIndex(min(start, last))...Self.weekIndex(last)
            let allWeeks = weekRange.map { weeks[$0] ?? Self.week($0) }
            let monthFlags = (Self.monthIndex(min(start, last))...Self.monthIndex(last)).map { months.contains($0) ? 1.0 : 0 }
            let succeeded = tallies.reduce(0) { $0 + $1.succeeded }
            let outages = tallies.compactMap(\.outage)
            return DeliveryMetrics(
                environment: environment, since: Timestamp.format(start), until: untilText, days: days,
                frequency: Frequency(
                    deployments: succeeded, perDay: Double(succeeded) / days, perWeek: Double(succeeded) / days * 7,
                    bucket: Self.bucket(weeks: allWeeks, monthFlags: monthFlags)),
                changeFailure: ChangeFailure(
                    finished: tallies.reduce(0) { $0 + $1.succeeded + $1.failed + $1.rolledBack },
                    failed: tallies.reduce(0) { $0 + $1.failed }, rolledBack: tallies.reduce(0) { $0 + $1.rolledBack }),
                timeToRestore: TimeToRestore(
                    restored: Distribution(tallies.flatMap(\.restoreSeconds)), unrestored: outages.count,
                    unrestoredSince: outages.map(\.since).min()),
                leadTime: LeadTime(measured: Distribution(tallies.flatMap(\.leadSeconds)), withoutCommitTime: tallies.reduce(0) { $0 + $1.withoutCommitTime }),
                restorations: tallies.reduce(0) { $0 + $1.restorations }, abandoned: tallies.reduce(0) { $0 + $1.abandoned },
                weeks: allWeeks)
        }

        /// DORA's bucket, as the Four Keys project decides it: daily when the median week has
        /// successful deployments on 3 days or more; weekly when the median week has one; monthly
        /// when the median calendar month has one; yearly otherwise.
        static func bucket(weeks: [Week], monthFlags: [Double]) -> Bucket {
            func median(_ values: [Double]) -> Double { Distribution.quantile(0.5, of: values.sorted()) ?? 0 }
            if median(weeks.map { Double($0.daysDeployed.nonzeroBitCount) }) >= 3 { return .daily }
            if median(weeks.map { $0.daysDeployed != 0 ? 1 : 0 }) >= 1 { return .weekly }
            if median(monthFlags) >= 1 { return .monthly }
            return .yearly
        }

        /// 1970-01-05, the first Monday of the Unix epoch, in seconds.
        private static let firstMonday: Double = 4 * 86_400

        /// The week holding `date`, counted in weeks from Monday 1970-01-05 00:00 UTC.
        static func weekIndex(_ date: Date) -> Int {
            Int(((date.timeIntervalSince1970 - firstMonday) / 604_800).rounded(.down))
        }

        /// 0 for Monday … 6 for Sunday, in UTC.
        static func weekday(_ date: Date) -> Int {
            let day = Int(((date.timeIntervalSince1970 - firstMonday) / 86_400).rounded(.down))
            return ((day % 7) + 7) % 7
        }

        /// The calendar month holding `date`, as year × 12 + month (UTC).
        static func monthIndex(_ date: Date) -> Int {
            var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
            var parts = tm()
            gmtime_r(&seconds, &parts)
            return (Int(parts.tm_year) + 1900) * 12 + Int(parts.tm_mon)
        }

        static func week(_ index: Int) -> Week {
            Week(start: String(Timestamp.format(Date(timeIntervalSince1970: Double(index) * 604_800 + firstMonday)).prefix(10)))
        }
    }
}
