import EventStore
import Foundation

/// Read-side questions, answered from the projection tables with indexed queries.
public struct Queries {
    public let store: SQLiteEventStore
    var db: Database { store.database }

    public init(store: SQLiteEventStore) { self.store = store }

    public func record(_ id: String) throws -> DeploymentRecord? {
        try db.withStatement("SELECT \(DeploymentRecord.columns) FROM deployments WHERE deployment_id = ?") { s in
            s.bind(1, id)
            return try s.step() ? DeploymentRecord(s) : nil
        }
    }

    /// Each deployment newer than the last stable one, with why it is not a rollback target.
    public func skippedSinceLastStable(environment: String, stable: DeploymentRecord?) throws -> [(DeploymentRecord, String)] {
        try db.withStatement("""
            SELECT \(DeploymentRecord.columns) FROM deployments
            WHERE environment = ? AND request_position > ? ORDER BY request_position DESC
            """) { s in
            s.bind(1, environment)
            s.bind(2, stable?.requestPosition ?? 0)
            var out: [(DeploymentRecord, String)] = []
            while try s.step() {
                let r = DeploymentRecord(s)
                let why: String
                switch r.status {
                case "success": why = "marked bad by \(r.markedBadBy ?? "?"): \(r.markedBadReason ?? "")"
                case "failed": why = "failed: \(r.failureReason ?? "no reason recorded")"
                case "rolled_back": why = "rolled back to \(r.rolledBackTo ?? "?")"
                case "abandoned": why = "abandoned: \(r.failureReason ?? "")"
                default: why = "still running (\(r.currentPhase))"
                }
                out.append((r, why))
            }
            return out
        }
    }

    /// A filter for `history` and `export`.
    public struct Filter: Sendable {
        public var environment: String?
        public var status: String?
        public var since: String?
        public var until: String?
        public init(environment: String? = nil, status: String? = nil, since: String? = nil, until: String? = nil) {
            self.environment = environment
            self.status = status
            self.since = since
            self.until = until
        }
    }

    /// Deployments matching `filter`, newest first (or oldest first), streamed to `body` without a cap.
    public func forEachRecord(_ filter: Filter, newestFirst: Bool, limit: Int? = nil, _ body: (DeploymentRecord) throws -> Void) throws {
        var conditions: [String] = []
        if filter.environment != nil { conditions.append("environment = ?1") }
        if filter.status != nil { conditions.append("status = ?2") }
        if filter.since != nil { conditions.append("started_at >= ?3") }
        if filter.until != nil { conditions.append("started_at < ?4") }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let sql = "SELECT \(DeploymentRecord.columns) FROM deployments \(whereClause) ORDER BY request_position \(newestFirst ? "DESC" : "ASC") LIMIT ?5"
        try db.inReadTransaction {
            try db.withStatement(sql) { s in
                if let v = filter.environment { s.bind(1, v) }
                if let v = filter.status { s.bind(2, v) }
                if let v = filter.since { s.bind(3, v) }
                if let v = filter.until { s.bind(4, v) }
                s.bind(5, Int64(limit ?? -1))
                while try s.step() { try body(DeploymentRecord(s)) }
            }
        }
    }

    /// Artifacts with their retention state evaluated at `now`.
    ///
    /// An artifact stored at T with N days of retention expires at exactly T + N × 86 400 s, to the
    /// millisecond: from that instant on it is `expired` (and `prune` takes it); one millisecond before,
    /// it is `expiring_soon`, as it is from `soonDays` days before its expiry on.
    public func artifacts(environment: String? = nil, deploymentID: String? = nil, expiringWithinDays: Int? = nil,
                          expiredOnly: Bool = false, now: Date, soonDays: Int = 30) throws -> [ArtifactRecord] {
        let nowText = Timestamp.format(now)
        var conditions: [String] = []
        if environment != nil { conditions.append("environment = ?1") }
        if deploymentID != nil { conditions.append("deployment_id = ?2") }
        if expiringWithinDays != nil { conditions.append("pruned_at IS NULL AND expires_at > ?3 AND expires_at <= ?4") }
        if expiredOnly { conditions.append("pruned_at IS NULL AND expires_at <= ?3") }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        return try db.withStatement("""
            SELECT name, deployment_id, environment, phase, sha256, size, retention_days, stored_at, expires_at, pruned_at
            FROM artifacts \(whereClause) ORDER BY expires_at, name
            """) { s in
            if let environment { s.bind(1, environment) }
            if let deploymentID { s.bind(2, deploymentID) }
            s.bind(3, nowText)
            s.bind(4, Timestamp.format(now.addingTimeInterval(Double(expiringWithinDays ?? 0) * 86_400)))
            var out: [ArtifactRecord] = []
            let soon = Timestamp.format(now.addingTimeInterval(Double(expiringWithinDays ?? soonDays) * 86_400))
            while try s.step() {
                let expires = s.string(8)
                let pruned = s.optionalString(9)
                let state: ArtifactRecord.State = pruned != nil ? .pruned : expires <= nowText ? .expired : expires <= soon ? .expiringSoon : .retained
                out.append(ArtifactRecord(name: s.string(0), deploymentID: s.string(1), environment: s.string(2), phase: s.string(3),
                                          sha256: s.string(4), size: s.int64(5), retentionDays: s.int(6), storedAt: s.string(7),
                                          expiresAt: expires, prunedAt: pruned, state: state))
            }
            return out
        }
    }

    /// Environments with a deployment in progress.
    public func activeDeployments(environment: String? = nil) throws -> [DeploymentRecord] {
        try db.withStatement("""
            SELECT \(DeploymentRecord.columns.split(separator: ",").map { "d." + $0.trimmingCharacters(in: .whitespacesAndNewlines) }.joined(separator: ", "))
            FROM environments e JOIN deployments d ON d.deployment_id = e.active_deployment_id
            WHERE e.active_deployment_id IS NOT NULL AND (?1 IS NULL OR e.name = ?1) ORDER BY e.name
            """) { s in
            s.bind(1, environment)
            var out: [DeploymentRecord] = []
            while try s.step() { out.append(DeploymentRecord(s)) }
            return out
        }
    }

    /// The position of the last event recorded at or before `time`.
    public func position(atOrBefore time: Date) throws -> Int64 {
        try db.withStatement("SELECT coalesce(max(position), 0) FROM events WHERE recorded_at <= ?") { s in
            s.bind(1, Timestamp.format(time))
            try s.step()
            return s.int64(0)
        }
    }
}
