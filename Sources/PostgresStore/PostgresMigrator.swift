import EventStore
import Foundation
import PostgresClient
import ShiplogMigrations

/// Brings a PostgreSQL database to the schema of migrations/postgres/, each file in one
/// transaction with its `schema_migrations` row; a database newer than this binary, or whose
/// applied files differ from the embedded ones, is refused before anything is written.
struct PostgresMigrator {
    let connection: PGConnection
    var clock: () -> Date = Date.init

    /// Serializes migrators: two runners opening a fresh database at once apply each file once.
    static let lockKey: Int64 = 0x5348_4950_4C4F_4701  // "SHIPLOG" + 1

    static var known: [SchemaRules.Migration] { Migrations.postgres.map { ($0.version, $0.name, $0.sql, $0.formerChecksums) } }

    func applied() throws -> [(version: Int, name: String, checksum: String)] {
        let exists = try tableExists("schema_migrations")
        guard exists else { return [] }
        let r = try connection.query("SELECT version, name, checksum FROM schema_migrations ORDER BY version")
        return try (0..<r.rowCount).map { (Int(try r.int64($0, 0) ?? 0), r.string($0, 1) ?? "", r.string($0, 2) ?? "") }
    }

    /// Whether `name` is a table of the current schema, read from the catalog at each call.
    func tableExists(_ name: String) throws -> Bool {
        (try connection.query(
            "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = $1",
            [name]
        ).int64(0, 0) ?? 0) > 0
    }

    func prepare(mode: PostgresEventStore.OpenMode) throws {
        do {
            // Runners opening a fresh database at once: one migrates, the others wait and find it done.
            if mode != .readOnly {
                try connection.query("SELECT pg_advisory_lock($1)", [String(Self.lockKey)])
            }
            defer { if mode != .readOnly { _ = try? connection.query("SELECT pg_advisory_unlock($1)", [String(Self.lockKey)]) } }
            let location = connection.server
            let rows = try applied()
            if rows.isEmpty {
                let foreign = try tableExists("events")
                if foreign { throw EventStoreError.notADatabase(path: location) }
                if mode != .createOrUpgrade { throw EventStoreError.notInitialized(path: location) }
            } else {
                try SchemaRules.check(applied: rows, known: Self.known, location: location, allowPending: mode != .readOnly)
            }
            if mode == .readOnly { return }
            for file in Migrations.postgres where !rows.contains(where: { $0.version == file.version }) {
                try connection.inTransaction {
                    try connection.execute(file.sql)
                    try connection.query(
                        "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)",
                        [String(file.version), file.name, HashChain.sha256Hex(file.sql), Timestamp.format(clock())])
                }
            }
        } catch let error as PostgresError {
            throw EventStoreError(error)
        }
    }
}
