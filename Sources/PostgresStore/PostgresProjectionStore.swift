import EventStore
import Foundation
import Ledger
import PostgresClient

/// The projection tables of a PostgreSQL ledger (migrations/postgres/0002_projections.pg.sql),
/// on the event store's own session so that every write commits in the append's transaction.
public final class PostgresProjectionStore: ProjectionStore {
    let connection: PGConnection
    /// Put before each table name: "" for the ledger's tables, "replay_" for a replica (temporary tables).
    let prefix: String

    static let compared: [(table: String, key: String)] = [("deployments", "deployment_id"), ("artifacts", "name"), ("environments", "name")]
    static let tables = ["deployments", "artifacts", "environments", "projection_state"]

    public convenience init(store: PostgresEventStore) {
        self.init(connection: store.connection, prefix: "")
    }

    init(connection: PGConnection, prefix: String) {
        self.connection = connection
        self.prefix = prefix
        table = ProjectionColumns.unqualified(prefix)
    }

    /// `prefix` without its schema (`ProjectionColumns.unqualified`).
    let table: String

    static let recordColumns = ProjectionColumns.deployment

    static func records(_ r: PGResult) throws -> [DeploymentRecord] {
        try (0..<r.rowCount).map { i in
            DeploymentRecord(
                deploymentID: r.string(i, 0) ?? "", environment: r.string(i, 1) ?? "", status: r.string(i, 2) ?? "",
                gitSHA: r.string(i, 3) ?? "", gitRef: r.string(i, 4) ?? "", servicesDeployed: r.string(i, 5) ?? "[]",
                healthChecks: r.string(i, 6) ?? "{}", triggeredBy: r.string(i, 7) ?? "", mode: r.string(i, 8) ?? "",
                currentPhase: r.string(i, 9) ?? "", startedAt: r.string(i, 10) ?? "", finishedAt: r.string(i, 11),
                durationMs: try r.int64(i, 12), previousStableID: r.string(i, 13), rolledBackTo: r.string(i, 14),
                failureReason: r.string(i, 15), markedBadReason: r.string(i, 16), markedBadBy: r.string(i, 17),
                requestPosition: try r.int64(i, 18) ?? 0, lastPosition: try r.int64(i, 19) ?? 0, commitTime: r.string(i, 20), manualRollback: r.string(i, 21),
                rolledBackBy: r.string(i, 22), approval: r.string(i, 23))
        }
    }

    // MARK: Writing

    public func upsert(deployment r: DeploymentRecord) throws {
        let values: [String?] = [
            r.deploymentID, r.environment, r.status, r.gitSHA, r.gitRef, r.servicesDeployed, r.healthChecks,
            r.triggeredBy, r.mode, r.currentPhase, r.startedAt, r.finishedAt, r.durationMs.map { String($0) },
            r.previousStableID, r.rolledBackTo, r.failureReason, r.markedBadReason, r.markedBadBy,
            String(r.requestPosition), String(r.lastPosition), r.commitTime, r.manualRollback, r.rolledBackBy, r.approval,
        ]
        try pg {
            try connection.query(
                """
                INSERT INTO \(prefix)deployments (\(Self.recordColumns))
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)
                ON CONFLICT (deployment_id) DO UPDATE SET \(ProjectionColumns.replacing(Self.recordColumns))
                WHERE excluded.last_position >= \(table)deployments.last_position
                """, values)
        }
    }

    public func upsert(artifact a: ArtifactRow) throws {
        try pg {
            try connection.query(
                """
                INSERT INTO \(prefix)artifacts (\(ProjectionColumns.artifact))
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                ON CONFLICT (name) DO UPDATE SET \(ProjectionColumns.replacing(ProjectionColumns.artifact))
                WHERE excluded.stored_position >= \(table)artifacts.stored_position
                """,
                [
                    a.name, a.deploymentID, a.environment, a.phase, a.sha256, String(a.size), String(a.retentionDays), a.storedAt,
                    a.expiresAt, a.prunedAt, String(a.storedPosition),
                ])
        }
    }

    public func markPruned(artifact name: String, at time: String, position: Int64) throws {
        try pg {
            try connection.query("UPDATE \(prefix)artifacts SET pruned_at = $1 WHERE name = $2 AND stored_position < $3", [time, name, String(position)])
        }
    }

    public func setActive(environment: String, deploymentID: String?, at time: String) throws {
        try pg {
            try connection.query(
                """
                INSERT INTO \(prefix)environments (name, active_deployment_id, updated_at) VALUES ($1, $2, $3)
                ON CONFLICT (name) DO UPDATE SET active_deployment_id = excluded.active_deployment_id, updated_at = excluded.updated_at
                """, [environment, deploymentID, time])
        }
    }

    public func setPosition(_ position: Int64) throws {
        try pg { try connection.query("UPDATE \(prefix)projection_state SET position = $1 WHERE name = 'all'", [String(position)]) }
    }

    public func removeAll() throws {
        let p = prefix
        try pg {
            try connection.execute("DELETE FROM \(p)deployments; DELETE FROM \(p)artifacts; DELETE FROM \(p)environments; UPDATE \(p)projection_state SET position = 0")
        }
    }

    // MARK: Reading

    public func record(_ id: String) throws -> DeploymentRecord? {
        try pg { try Self.records(connection.query("SELECT \(Self.recordColumns) FROM \(prefix)deployments WHERE deployment_id = $1", [id])).first }
    }

    /// Keyset pages on `request_position`: a long history streams instead of loading.
    public func forEachRecord(_ filter: RecordFilter, newestFirst: Bool, limit: Int?, _ body: (DeploymentRecord) throws -> Void) throws {
        var conditions: [String] = []
        var values: [String?] = []
        func add(_ condition: String, _ value: String) {
            values.append(value)
            conditions.append(condition.replacingOccurrences(of: "?", with: "$\(values.count)"))
        }
        if let v = filter.environment { add("environment = ?", v) }
        if let v = filter.status { add("status = ?", v) }
        if let v = filter.since { add("started_at >= ?", v) }
        if let v = filter.until { add("started_at < ?", v) }
        let page = 1_000
        var remaining = limit ?? .max
        var cursor: Int64? = nil
        try pg {
            while remaining > 0 {
                var pageConditions = conditions
                var pageValues = values
                if let cursor {
                    pageValues.append(String(cursor))
                    pageConditions.append("request_position \(newestFirst ? "<" : ">") $\(pageValues.count)")
                }
                let whereClause = pageConditions.isEmpty ? "" : "WHERE " + pageConditions.joined(separator: " AND ")
                let want = min(page, remaining)
                let rows = try Self.records(
                    connection.query(
                        """
                        SELECT \(Self.recordColumns) FROM \(prefix)deployments \(whereClause)
                        ORDER BY request_position \(newestFirst ? "DESC" : "ASC") LIMIT \(want)
                        """, pageValues))
                for r in rows { try body(r) }
                remaining -= rows.count
                guard rows.count == want, let last = rows.last else { return }
                cursor = last.requestPosition
            }
        }
    }

    public func records(environment: String, requestedAfter position: Int64) throws -> [DeploymentRecord] {
        try pg {
            try Self.records(
                connection.query(
                    """
                    SELECT \(Self.recordColumns) FROM \(prefix)deployments
                    WHERE environment = $1 AND request_position > $2 ORDER BY request_position DESC
                    """, [environment, String(position)]))
        }
    }

    public func artifacts(_ filter: ArtifactFilter) throws -> [ArtifactRow] {
        var conditions: [String] = []
        var values: [String?] = []
        func add(_ condition: String, _ vs: [String]) {
            var c = condition
            for v in vs {
                values.append(v)
                c = c.replacingOccurrences(of: "?", with: "$\(values.count)", options: [], range: c.range(of: "?"))
            }
            conditions.append(c)
        }
        if let v = filter.environment { add("environment = ?", [v]) }
        if let v = filter.deploymentID { add("deployment_id = ?", [v]) }
        if let v = filter.expiring { add("pruned_at IS NULL AND expires_at > ? AND expires_at <= ?", [v.after, v.through]) }
        if let v = filter.expiredAt { add("pruned_at IS NULL AND expires_at <= ?", [v]) }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        return try pg {
            let r = try connection.query(
                """
                SELECT name, deployment_id, environment, phase, sha256, size, retention_days, stored_at, expires_at, pruned_at, stored_position
                FROM \(prefix)artifacts \(whereClause) ORDER BY expires_at, name
                """, values)
            return try (0..<r.rowCount).map { i in
                ArtifactRow(
                    name: r.string(i, 0) ?? "", deploymentID: r.string(i, 1) ?? "", environment: r.string(i, 2) ?? "",
                    phase: r.string(i, 3) ?? "", sha256: r.string(i, 4) ?? "", size: try r.int64(i, 5) ?? 0,
                    retentionDays: Int(try r.int64(i, 6) ?? 0), storedAt: r.string(i, 7) ?? "", expiresAt: r.string(i, 8) ?? "",
                    prunedAt: r.string(i, 9), storedPosition: try r.int64(i, 10) ?? 0)
            }
        }
    }

    public func artifactOwner(name: String) throws -> String? {
        try pg {
            let r = try connection.query("SELECT deployment_id FROM \(prefix)artifacts WHERE name = $1", [name])
            return r.rowCount == 1 ? r.string(0, 0) : nil
        }
    }

    public func activeDeployments(environment: String?) throws -> [DeploymentRecord] {
        let columns = Self.recordColumns.split(separator: ",").map { "d." + $0.trimmingCharacters(in: .whitespacesAndNewlines) }.joined(separator: ", ")
        return try pg {
            try Self.records(
                connection.query(
                    """
                    SELECT \(columns)
                    FROM \(prefix)environments e JOIN \(prefix)deployments d ON d.deployment_id = e.active_deployment_id
                    WHERE e.active_deployment_id IS NOT NULL AND ($1::text IS NULL OR e.name = $1) ORDER BY e.name
                    """, [environment]))
        }
    }

    // MARK: Verifying

    /// Temporary copies of the tables (`replay_*`, private to this session).
    public func makeReplica() throws -> ProjectionStore {
        try pg {
            for name in Self.tables {
                try connection.execute("DROP TABLE IF EXISTS pg_temp.replay_\(name); CREATE TEMP TABLE replay_\(name) (LIKE \(name) INCLUDING ALL)")
            }
            try connection.execute("INSERT INTO pg_temp.replay_projection_state (name, position) VALUES ('all', 0)")
        }
        return PostgresProjectionStore(connection: connection, prefix: "pg_temp.replay_")
    }

    public func discardReplica(_ replica: ProjectionStore) {
        for name in Self.tables { try? connection.execute("DROP TABLE IF EXISTS pg_temp.replay_\(name)") }
    }

    public func firstDifference(from replica: ProjectionStore) throws -> ProjectionDifference? {
        guard let other = replica as? PostgresProjectionStore else { preconditionFailure("a replica of another backend") }
        for (table, key) in Self.compared {
            let mine = "public.\(table)", theirs = "\(other.prefix)\(table)"
            let value: String? = try pg {
                try connection.query(
                    """
                    SELECT min(k) FROM (
                        SELECT \(key) AS k FROM (SELECT * FROM \(mine) EXCEPT SELECT * FROM \(theirs)) a
                        UNION ALL
                        SELECT \(key) AS k FROM (SELECT * FROM \(theirs) EXCEPT SELECT * FROM \(mine)) b) c
                    """
                ).string(0, 0)
            }
            guard let value else { continue }
            func row(_ qualified: String) throws -> [(String, String?)]? {
                let r = try pg { try connection.query("SELECT * FROM \(qualified) WHERE \(key) = $1", [value]) }
                guard r.rowCount == 1 else { return nil }
                return r.columnNames.enumerated().map { ($0.element, r.string(0, $0.offset)) }
            }
            return ProjectionDifference(table: table, key: key, value: value, stored: try row(mine), replayed: try row(theirs))
        }
        return nil
    }
}

extension Ledger {
    /// A ledger on a PostgreSQL event store, its projection tables on the same session;
    /// `scratch` makes the private ledger `asOf` replays into.
    public convenience init(
        store: PostgresEventStore, clock: @escaping () -> Date = Date.init,
        textFilter: @escaping @Sendable (String) -> String = { $0 },
        scratch: @escaping (_ clock: @escaping () -> Date) throws -> Ledger
    ) {
        self.init(store: store, projections: PostgresProjectionStore(store: store), clock: clock, textFilter: textFilter, scratch: scratch)
    }
}
