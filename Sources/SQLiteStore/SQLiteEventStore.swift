import EventStore
import Foundation
import ShiplogFiles
import ShiplogMigrations

/// The event store on one SQLite file, in WAL mode, hash-chained and append-only.
public final class SQLiteEventStore: EventStore {
    /// How to treat the file on open.
    public enum OpenMode: Sendable {
        /// Create the file if missing and apply pending migrations.
        case createOrUpgrade
        /// The ledger must exist; pending migrations are applied.
        case existing
        /// The ledger must exist and is only read (no WAL switch, no migration).
        case readOnly
    }

    public let path: String
    /// The connection, shared with the projections so they commit in the append's transaction.
    public let database: Database
    let clock: () -> Date
    let hasher = HashChain()
    /// How a second, reading connection opens this file (`verify` checks half the chain on it).
    let readOptions: Database.Options
    /// Ledgers of at least this many events are verified in two halves at once (see `verify`);
    /// for shorter ones a second thread and connection cost more than they save.
    public var verifyInHalvesThreshold: Int64 = 20_000
    /// Scans (`forEachEvent`) of at least this many events step their rows on a second thread,
    /// a batch ahead (see `ReadAhead`); for shorter ones the thread and connection cost more than they save.
    public var readAheadThreshold: Int64 = 20_000
    /// How many scans started a reader ahead of them (for tests).
    var readAheadsStarted = 0

    /// Opens (and, per `mode`, creates or upgrades) the ledger at `path`.
    ///
    /// A ledger whose schema is newer than this binary, or whose applied migrations do not
    /// match the embedded ones, is refused before anything is written to it.
    public init(
        path: String, mode: OpenMode = .createOrUpgrade, options: Database.Options = .init(),
        clock: @escaping () -> Date = Date.init
    ) throws {
        self.path = path
        self.clock = clock
        var readOptions = options
        readOptions.readOnly = true
        self.readOptions = readOptions
        if path != ":memory:" { try Self.checkLedgerPath(path) }
        let exists = FileSystem.kind(of: path) != .missing
        if path == ":memory:" {
            // A private scratch ledger, for answering questions as of an earlier position.
        } else if !exists {
            guard mode == .createOrUpgrade else { throw EventStoreError.notInitialized(path: path) }
            try Self.createAtomically(at: path, options: options, clock: clock)
        } else {
            // Inspect with a read-only connection first: a newer or foreign file is refused untouched.
            var readOptions = options
            readOptions.readOnly = true
            let probe = try Self.openReadOnly(path, options: readOptions)
            try Self.checkSchema(probe, path: path, allowPending: mode != .readOnly, allowEmpty: mode == .createOrUpgrade)
        }
        do {
            if mode == .readOnly {
                var readOptions = options
                readOptions.readOnly = true
                database = try Self.openReadOnly(path, options: readOptions)
            } else {
                database = try Database(path: path, options: options)
            }
        } catch let e as SQLiteError {
            throw EventStoreError(e, path: path)
        }
        if mode != .readOnly {
            try migrate()
        }
    }

    /// The schema version the file is at.
    public func schemaVersion() throws -> Int {
        try Self.appliedMigrations(database).last?.version ?? 0
    }
}
