import EventStore
import Ledger
import Foundation

/// The projection tables of a SQLite ledger (migrations/0002_projections.sql), on the event
/// store's own connection so that every write commits in the append's transaction.
public final class SQLiteProjectionStore: ProjectionStore {
    let database: Database
    /// Put before each table name: "" for the ledger's tables, "temp.replay_" for a replica.
    let prefix: String

    /// The tables `verify` compares, with their key columns.
    static let compared: [(table: String, key: String)] = [("deployments", "deployment_id"), ("artifacts", "name"), ("environments", "name")]
    static let tables = ["deployments", "artifacts", "environments", "projection_state"]

    public convenience init(database: Database) {
        self.init(database: database, prefix: "")
    }

    init(database: Database, prefix: String) {
        self.database = database
        self.prefix = prefix
        writes = Writes(prefix: prefix)
    }

    /// The statements the projector runs per row, spelled once: a rebuild writes a row every few
    /// events, and building the text each time cost more than finding its prepared statement.
    struct Writes {
        let deployment: String
        let artifact: String
        let markPruned: String
        let setActive: String
        let setPosition: String

        init(prefix: String) {
            let table = ProjectionColumns.unqualified(prefix)
            deployment = """
                INSERT INTO \(prefix)deployments (\(SQLiteProjectionStore.recordColumns))
                VALUES (\(SQLiteProjectionStore.recordPlaceholders))
                ON CONFLICT (deployment_id) DO UPDATE SET \(ProjectionColumns.replacing(SQLiteProjectionStore.recordColumns))
                WHERE excluded.last_position >= \(table)deployments.last_position
                """
            let artifactColumns = ProjectionColumns.artifact
            artifact = """
                INSERT INTO \(prefix)artifacts (\(artifactColumns))
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET \(ProjectionColumns.replacing(artifactColumns))
                WHERE excluded.stored_position >= \(table)artifacts.stored_position
                """
            markPruned = "UPDATE \(prefix)artifacts SET pruned_at = ? WHERE name = ? AND stored_position < ?"
            setActive = """
                INSERT INTO \(prefix)environments (name, active_deployment_id, updated_at) VALUES (?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET active_deployment_id = excluded.active_deployment_id, updated_at = excluded.updated_at
                """
            setPosition = "UPDATE \(prefix)projection_state SET position = ? WHERE name = 'all'"
        }
    }

    let writes: Writes

    /// One `?` for each of `recordColumns`.
    static let recordPlaceholders = Array(repeating: "?", count: ProjectionColumns.names(recordColumns).count).joined(separator: ", ")

    static let recordColumns = ProjectionColumns.deployment

    static func record(_ s: Statement) -> DeploymentRecord {
        DeploymentRecord(
            deploymentID: s.string(0), environment: s.string(1), status: s.string(2), gitSHA: s.string(3), gitRef: s.string(4),
            servicesDeployed: s.string(5), healthChecks: s.string(6), triggeredBy: s.string(7), mode: s.string(8),
            currentPhase: s.string(9), startedAt: s.string(10), finishedAt: s.optionalString(11), durationMs: s.optionalInt64(12),
            previousStableID: s.optionalString(13), rolledBackTo: s.optionalString(14), failureReason: s.optionalString(15),
            markedBadReason: s.optionalString(16), markedBadBy: s.optionalString(17), requestPosition: s.int64(18),
            lastPosition: s.int64(19), commitTime: s.optionalString(20), manualRollback: s.optionalString(21), rolledBackBy: s.optionalString(22), approval: s.optionalString(23))
    }

    // MARK: Writing

    public func upsert(deployment r: DeploymentRecord) throws {
        try database.withStatement(writes.deployment) { s in
            s.bind(1, r.deploymentID)
            s.bind(2, r.environment)
            s.bind(3, r.status)
            s.bind(4, r.gitSHA)
            s.bind(5, r.gitRef)
            s.bind(6, r.servicesDeployed)
            s.bind(7, r.healthChecks)
            s.bind(8, r.triggeredBy)
            s.bind(9, r.mode)
            s.bind(10, r.currentPhase)
            s.bind(11, r.startedAt)
            s.bind(12, r.finishedAt)
            s.bind(13, r.durationMs)
            s.bind(14, r.previousStableID)
            s.bind(15, r.rolledBackTo)
            s.bind(16, r.failureReason)
            s.bind(17, r.markedBadReason)
            s.bind(18, r.markedBadBy)
            s.bind(19, r.requestPosition)
            s.bind(20, r.lastPosition)
            s.bind(21, r.commitTime)
            s.bind(22, r.manualRollback)
            s.bind(23, r.rolledBackBy)
            s.bind(24, r.approval)
            try s.run()
        }
    }

    public func upsert(artifact a: ArtifactRow) throws {
        try database.withStatement(writes.artifact) { s in
            s.bind(1, a.name)
            s.bind(2, a.deploymentID)
            s.bind(3, a.environment)
            s.bind(4, a.phase)
            s.bind(5, a.sha256)
            s.bind(6, a.size)
            s.bind(7, a.retentionDays)
            s.bind(8, a.storedAt)
            s.bind(9, a.expiresAt)
            s.bind(10, a.prunedAt)
            s.bind(11, a.storedPosition)
            try s.run()
        }
    }

    public func markPruned(artifact name: String, at time: String, position: Int64) throws {
        try database.withStatement(writes.markPruned) { s in
            s.bind(1, time)
            s.bind(2, name)
            s.bind(3, position)
            try s.run()
        }
    }

    public func setActive(environment: String, deploymentID: String?, at time: String) throws {
        try database.withStatement(writes.setActive) { s in
            s.bind(1, environment)
            s.bind(2, deploymentID)
            s.bind(3, time)
            try s.run()
        }
    }

    public func setPosition(_ position: Int64) throws {
        try database.withStatement(writes.setPosition) { s in
            s.bind(1, position)
            try s.run()
        }
    }

    public func removeAll() throws {
        let p = prefix
        try database.execute("DELETE FROM \(p)deployments; DELETE FROM \(p)artifacts; DELETE FROM \(p)environments; UPDATE \(p)projection_state SET position = 0")
    }

    /// The secondary indexes set aside during a replay, with the statements that make them.
    private var setAside: [(name: String, sql: String)] = []

    /// A replay into the ledger's own tables drops their secondary indexes and makes them again
    /// at the end (`endReplay`), from the very statements that made them: building an index
    /// from sorted rows once costs less than updating it for every row. The primary keys stay,
    /// so replacing a row still finds it. All of it runs in the rebuild's transaction.
    public func beginReplay() throws {
        guard prefix.isEmpty else { return }
        setAside = try database.withStatement(
            """
            SELECT name, sql FROM main.sqlite_master
            WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ('deployments', 'artifacts', 'environments') ORDER BY name
            """
        ) { s in
            var found: [(String, String)] = []
            while try s.step() { found.append((s.string(0), s.string(1))) }
            return found
        }
        for index in setAside { try database.execute("DROP INDEX main.\"\(index.name.replacingOccurrences(of: "\"", with: "\"\""))\"") }
    }

    public func endReplay() throws {
        let indexes = setAside
        setAside = []
        for index in indexes { try database.execute(index.sql) }
    }

    // MARK: Reading

    public func record(_ id: String) throws -> DeploymentRecord? {
        try database.withStatement("SELECT \(Self.recordColumns) FROM \(prefix)deployments WHERE deployment_id = ?") { s in
            s.bind(1, id)
            return try s.step() ? Self.record(s) : nil
        }
    }

    public func forEachRecord(_ filter: RecordFilter, newestFirst: Bool, limit: Int?, _ body: (DeploymentRecord) throws -> Void) throws {
        var conditions: [String] = []
        if filter.environment != nil { conditions.append("environment = ?1") }
        if filter.status != nil { conditions.append("status = ?2") }
        if filter.since != nil { conditions.append("started_at >= ?3") }
        if filter.until != nil { conditions.append("started_at < ?4") }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let sql = "SELECT \(Self.recordColumns) FROM \(prefix)deployments \(whereClause) ORDER BY request_position \(newestFirst ? "DESC" : "ASC") LIMIT ?5"
        try database.inReadTransaction {
            try database.withStatement(sql) { s in
                if let v = filter.environment { s.bind(1, v) }
                if let v = filter.status { s.bind(2, v) }
                if let v = filter.since { s.bind(3, v) }
                if let v = filter.until { s.bind(4, v) }
                s.bind(5, Int64(limit ?? -1))
                while try s.step() { try body(Self.record(s)) }
            }
        }
    }

    public func records(environment: String, requestedAfter position: Int64) throws -> [DeploymentRecord] {
        try database.withStatement(
            """
            SELECT \(Self.recordColumns) FROM \(prefix)deployments
            WHERE environment = ? AND request_position > ? ORDER BY request_position DESC
            """
        ) { s in
            s.bind(1, environment)
            s.bind(2, position)
            var out: [DeploymentRecord] = []
            while try s.step() { out.append(Self.record(s)) }
            return out
        }
    }

    public func artifacts(_ filter: ArtifactFilter) throws -> [ArtifactRow] {
        var conditions: [String] = []
        if filter.environment != nil { conditions.append("environment = ?1") }
        if filter.deploymentID != nil { conditions.append("deployment_id = ?2") }
        if filter.expiring != nil { conditions.append("pruned_at IS NULL AND expires_at > ?3 AND expires_at <= ?4") }
        if filter.expiredAt != nil { conditions.append("pruned_at IS NULL AND expires_at <= ?5") }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        return try database.withStatement(
            """
            SELECT name, deployment_id, environment, phase, sha256, size, retention_days, stored_at, expires_at, pruned_at, stored_position
            FROM \(prefix)artifacts \(whereClause) ORDER BY expires_at, name
            """
        ) { s in
            if let v = filter.environment { s.bind(1, v) }
            if let v = filter.deploymentID { s.bind(2, v) }
            if let v = filter.expiring { s.bind(3, v.after); s.bind(4, v.through) }
            if let v = filter.expiredAt { s.bind(5, v) }
            var out: [ArtifactRow] = []
            while try s.step() {
                out.append(
                    ArtifactRow(
                        name: s.string(0), deploymentID: s.string(1), environment: s.string(2), phase: s.string(3),
                        sha256: s.string(4), size: s.int64(5), retentionDays: s.int(6), storedAt: s.string(7),
                        expiresAt: s.string(8), prunedAt: s.optionalString(9), storedPosition: s.int64(10)))
            }
            return out
        }
    }

    public func artifactOwner(name: String) throws -> String? {
        try database.withStatement("SELECT deployment_id FROM \(prefix)artifacts WHERE name = ?") { s in
            s.bind(1, name)
            return try s.step() ? s.string(0) : nil
        }
    }

    public func activeDeployments(environment: String?) throws -> [DeploymentRecord] {
        let columns = Self.recordColumns.split(separator: ",").map { "d." + $0.trimmingCharacters(in: .whitespacesAndNewlines) }.joined(separator: ", ")
        return try database.withStatement(
            """
            SELECT \(columns)
            FROM \(prefix)environments e JOIN \(prefix)deployments d ON d.deployment_id = e.active_deployment_id
            WHERE e.active_deployment_id IS NOT NULL AND (?1 IS NULL OR e.name = ?1) ORDER BY e.name
            """
        ) { s in
            s.bind(1, environment)
            var out: [DeploymentRecord] = []
            while try s.step() { out.append(Self.record(s)) }
            return out
        }
    }

    // MARK: Verifying

    /// Temporary copies of the tables (`temp.replay_*`), made from the tables' own definitions:
    /// they work on a read-only connection too.
    public func makeReplica() throws -> ProjectionStore {
        for name in Self.tables {
            let ddl: String = try database.withStatement("SELECT sql FROM main.sqlite_master WHERE type = 'table' AND name = ?") { s in
                s.bind(1, name)
                guard try s.step() else { throw EventStoreError.invalidEvent("the ledger has no \(name) table") }
                return s.string(0)
            }
            let head = "CREATE TABLE \(name)"
            guard ddl.hasPrefix(head) else { throw EventStoreError.invalidEvent("the \(name) table was altered: its definition no longer starts \(head)") }
            try database.execute("DROP TABLE IF EXISTS temp.replay_\(name)")
            try database.execute("CREATE TEMP TABLE replay_\(name)" + ddl.dropFirst(head.count))
        }
        try database.execute("INSERT INTO temp.replay_projection_state (name, position) VALUES ('all', 0)")
        return SQLiteProjectionStore(database: database, prefix: "temp.replay_")
    }

    public func discardReplica(_ replica: ProjectionStore) {
        for name in Self.tables { try? database.execute("DROP TABLE IF EXISTS temp.replay_\(name)") }
    }

    public func firstDifference(from replica: ProjectionStore) throws -> ProjectionDifference? {
        guard let other = replica as? SQLiteProjectionStore else { preconditionFailure("a replica of another backend") }
        for (table, key) in Self.compared {
            if let difference = try firstDifference(table: table, key: key, mine: "main.\(table)", theirs: "\(other.prefix)\(table)") {
                return difference
            }
        }
        return nil
    }

    private func firstDifference(table: String, key: String, mine: String, theirs: String) throws -> ProjectionDifference? {
        let value: String? = try database.withStatement(
            """
            SELECT min(k) FROM (
                SELECT \(key) AS k FROM (SELECT * FROM \(mine) EXCEPT SELECT * FROM \(theirs))
                UNION ALL
                SELECT \(key) AS k FROM (SELECT * FROM \(theirs) EXCEPT SELECT * FROM \(mine)))
            """
        ) { s in
            try s.step()
            return s.optionalString(0)
        }
        guard let value else { return nil }
        func row(_ qualified: String) throws -> [(String, String?)]? {
            try database.withStatement("SELECT * FROM \(qualified) WHERE \(key) = ?") { s in
                s.bind(1, value)
                guard try s.step() else { return nil }
                return (0..<s.columnCount).map { (s.columnName($0), s.optionalString($0)) }
            }
        }
        return ProjectionDifference(table: table, key: key, value: value, stored: try row(mine), replayed: try row(theirs))
    }
}

extension Ledger {
    /// A ledger on a SQLite event store, its projection tables on the same connection.
    public convenience init(
        store: SQLiteEventStore, clock: @escaping () -> Date = Date.init,
        textFilter: @escaping @Sendable (String) -> String = { $0 }
    ) {
        self.init(
            store: store, projections: SQLiteProjectionStore(database: store.database), clock: clock, textFilter: textFilter,
            scratch: { clock in Ledger(store: try SQLiteEventStore(path: ":memory:", mode: .createOrUpgrade, clock: clock), clock: clock) })
    }
}

extension Queries {
    public init(store: SQLiteEventStore) {
        self.init(store: store, projections: SQLiteProjectionStore(database: store.database))
    }
}
