import EventStore
import Foundation

/// Read-side questions, answered from the projection tables through the projection port.
public struct Queries {
    public let store: any EventStore
    public let projections: any ProjectionStore

    public init(store: any EventStore, projections: any ProjectionStore) {
        self.store = store
        self.projections = projections
    }

    public init(ledger: Ledger) {
        self.init(store: ledger.store, projections: ledger.projections)
    }

    public func record(_ id: String) throws -> DeploymentRecord? {
        try projections.record(id)
    }

    /// Each deployment newer than the last stable one, with why it is not a rollback target.
    public func skippedSinceLastStable(environment: String, stable: DeploymentRecord?) throws -> [(DeploymentRecord, String)] {
        try projections.records(environment: environment, requestedAfter: stable?.requestPosition ?? 0).map { r in
            let why: String
            switch r.status {
            case "success": why = "marked bad by \(r.markedBadBy ?? "?"): \(r.markedBadReason ?? "")"
            case "failed": why = "failed: \(r.failureReason ?? "no reason recorded")"
            case "rolled_back":
                if let by = r.rolledBackBy.flatMap({ try? JSONObject(parsing: $0) }) {
                    why = "replaced by the manual rollback \(by.string("deployment_id") ?? "?") to \(r.rolledBackTo ?? "?"): \(by.string("reason") ?? "")"
                } else {
                    why = "rolled back to \(r.rolledBackTo ?? "?")"
                }
            case "abandoned": why = "abandoned: \(r.failureReason ?? "")"
            default: why = "still running (\(r.currentPhase))"
            }
            return (r, why)
        }
    }

    /// A filter for `history` and `export`.
    public typealias Filter = RecordFilter

    /// Deployments matching `filter`, newest first (or oldest first), streamed to `body` without a cap.
    public func forEachRecord(_ filter: Filter, newestFirst: Bool, limit: Int? = nil, _ body: (DeploymentRecord) throws -> Void) throws {
        try projections.forEachRecord(filter, newestFirst: newestFirst, limit: limit, body)
    }

    /// Artifacts with their retention state evaluated at `now`.
    ///
    /// An artifact stored at T with N days of retention expires at exactly T + N × 86 400 s, to the
    /// millisecond: from that instant on it is `expired` (and `prune` takes it); one millisecond before,
    /// it is `expiring_soon`, as it is from `soonDays` days before its expiry on.
    public func artifacts(
        environment: String? = nil, deploymentID: String? = nil, expiringWithinDays: Int? = nil,
        expiredOnly: Bool = false, now: Date, soonDays: Int = 30
    ) throws -> [ArtifactRecord] {
        let nowText = Timestamp.format(now)
        let filter = ArtifactFilter(
            environment: environment, deploymentID: deploymentID,
            expiring: expiringWithinDays.map { (nowText, Timestamp.format(now.addingTimeInterval(Double($0) * 86_400))) },
            expiredAt: expiredOnly ? nowText : nil)
        let soon = Timestamp.format(now.addingTimeInterval(Double(expiringWithinDays ?? soonDays) * 86_400))
        return try projections.artifacts(filter).map { a in
            let state: ArtifactRecord.State = a.prunedAt != nil ? .pruned : a.expiresAt <= nowText ? .expired : a.expiresAt <= soon ? .expiringSoon : .retained
            return ArtifactRecord(row: a, state: state)
        }
    }

    /// Environments with a deployment in progress.
    public func activeDeployments(environment: String? = nil) throws -> [DeploymentRecord] {
        try projections.activeDeployments(environment: environment)
    }

    /// The position of the last event recorded at or before `time`.
    public func position(atOrBefore time: Date) throws -> Int64 {
        try store.position(atOrBefore: Timestamp.format(time))
    }
}
