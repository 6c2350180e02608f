import EventStore
import Foundation
import PostgresClient
import ShiplogMigrations

/// The event store on a PostgreSQL server, shared by every runner that reaches it: the same
/// guarantees as the SQLite ledger, by the same rules.
///
/// - One global, gapless position and one hash chain, with commit order equal to position
///   order: an append locks the single row of `ledger_head` (`FOR UPDATE`) for its whole
///   transaction, so appenders are serialized and nobody ever sees position 2 before 1. A writer
///   stuck behind another longer than `lock_timeout` gets `EventStoreError.locked` (exit 75).
/// - Expected versions per stream (`UNIQUE (stream, version)`) and EventStoreDB's idempotency
///   rules, checked exactly as on SQLite.
/// - Events are immutable: triggers refuse UPDATE, DELETE and TRUNCATE.
public final class PostgresEventStore: EventStore {
    public enum OpenMode: Sendable {
        /// Apply pending migrations (creating the schema in an empty database).
        case createOrUpgrade
        /// The schema must exist; pending migrations are applied.
        case existing
        /// Only read: nothing is migrated.
        case readOnly
    }

    /// The session; shared with the projection store so projections commit with the events.
    public let connection: PGConnection
    let clock: () -> Date
    let hasher = HashChain()

    /// The server, without its password: how messages name the ledger.
    public var location: String { connection.server }

    /// Connects to `url` and, per `mode`, migrates the schema.
    ///
    /// - Parameter lockTimeoutMs: how long an append waits for another writer before failing
    ///   with `EventStoreError.locked`.
    public init(
        url: String, mode: OpenMode = .createOrUpgrade, lockTimeoutMs: Int = 5_000,
        clock: @escaping () -> Date = Date.init
    ) throws {
        self.clock = clock
        do {
            connection = try PGConnection(url: url)
            try connection.setLockTimeout(milliseconds: lockTimeoutMs)
        } catch let error as PostgresError {
            throw EventStoreError(error)
        }
        try PostgresMigrator(connection: connection).prepare(mode: mode)
    }

    // MARK: Transactions

    public func inTransaction<T>(_ body: () throws -> T) throws -> T {
        try pg { try connection.inTransaction(body) }
    }

    /// A repeatable-read snapshot (a plain transaction when one is already open).
    public func inReadTransaction<T>(_ body: () throws -> T) throws -> T {
        if connection.isInTransaction { return try body() }
        return try pg {
            try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            do {
                let result = try body()
                try connection.execute("COMMIT")
                return result
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
        }
    }

    // MARK: Rows

    static let columns = "position, event_id, stream, version, type, schema, data, metadata, recorded_at, hash"

    static func events(_ r: PGResult) throws -> [RecordedEvent] {
        try (0..<r.rowCount).map { try event(r, $0) }
    }

    static func event(_ r: PGResult, _ row: Int) throws -> RecordedEvent {
        RecordedEvent(
            position: try r.int64(row, 0) ?? 0, eventID: r.string(row, 1) ?? "", stream: r.string(row, 2) ?? "",
            version: try r.int64(row, 3) ?? 0, type: r.string(row, 4) ?? "", schema: Int(try r.int64(row, 5) ?? 0),
            data: r.string(row, 6) ?? "", metadata: r.string(row, 7) ?? "", recordedAt: r.string(row, 8) ?? "",
            hash: r.string(row, 9) ?? "")
    }

    func currentHead() throws -> Head {
        let r = try connection.query("SELECT position, hash FROM ledger_head")
        guard r.rowCount == 1 else { throw EventStoreError.notInitialized(path: location) }
        return Head(position: try r.int64(0, 0) ?? 0, hash: r.string(0, 1) ?? HashChain.genesisHex)
    }

    public func head() throws -> Head { try pg { try currentHead() } }

    public func schemaVersion() throws -> Int {
        try pg { Int(try connection.query("SELECT coalesce(max(version), 0) FROM schema_migrations").int64(0, 0) ?? 0) }
    }
}
