import ArgumentParser
import EventStore
import Foundation
import Ledger
import PostgresStore
import Runner
import SQLiteStore

/// `--db` and friends, shared by every command that touches the ledger.
struct LedgerOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The ledger: a SQLite file, or a postgres:// or postgresql:// URL shared by many runners.",
            discussion: "Default: $SHIPLOG_DB, else the pipeline file's ledger: key, else .shiplog/ledger.db beside the pipeline file (shiplog.yml here for commands that take none)",
            valueName: "path|url"))
    var db: String?

    @Option(
        name: .customLong("busy-timeout"),
        help: ArgumentHelp("Milliseconds to wait for another writer's lock, 0 to \(Self.maximumBusyTimeoutMs) (default: $SHIPLOG_BUSY_TIMEOUT_MS, else 5000).", valueName: "ms"))
    var busyTimeoutMs: Int32?

    /// The longest busy timeout accepted: one hour. Longer is a mistake (a lost digit, seconds
    /// given as milliseconds), not a wish to wait a day for a lock.
    static let maximumBusyTimeoutMs: Int32 = 3_600_000

    func validate() throws {
        if let busyTimeoutMs, !(0...Self.maximumBusyTimeoutMs).contains(busyTimeoutMs) {
            throw ValidationError("--busy-timeout must be 0 to \(Self.maximumBusyTimeoutMs) milliseconds; got \(busyTimeoutMs)")
        }
    }

    /// Where this command's ledger is (see `LedgerLocation`); a command that runs a pipeline
    /// passes it, so its `ledger:` key or the default beside it counts.
    func location(pipeline: Pipeline? = nil) throws -> LedgerLocation {
        try LedgerLocation.resolve(option: db, environment: ProcessInfo.processInfo.environment, pipeline: pipeline)
    }

    /// Where the ledger is for a command that names a pipeline file it does not run (`init --config`).
    func location(pipelineFile: String) throws -> LedgerLocation {
        try LedgerLocation.resolve(option: db, environment: ProcessInfo.processInfo.environment, pipelineFile: pipelineFile)
    }

    /// The ledger path this invocation uses, for commands without a pipeline of their own; the
    /// same answer `open` found (a pipeline file that cannot be read fails `open` first).
    var path: String { (try? location().path) ?? Pipeline.defaultLedger }

    /// How to open the ledger: `--busy-timeout`, else `$SHIPLOG_BUSY_TIMEOUT_MS`, else the default.
    /// A variable that is set but is not a whole number of milliseconds in range is refused
    /// (exit 64), never silently replaced by the default.
    func options(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Database.Options {
        var options = Database.Options()
        if let busyTimeoutMs {
            options.busyTimeoutMs = busyTimeoutMs
        } else if let text = environment["SHIPLOG_BUSY_TIMEOUT_MS"], !text.isEmpty {
            guard text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), text.utf8.count <= 10,
                let ms = Int64(text), ms <= Int64(Self.maximumBusyTimeoutMs)
            else {
                throw Failure(
                    "SHIPLOG_BUSY_TIMEOUT_MS must be a whole number of milliseconds from 0 to \(Self.maximumBusyTimeoutMs) (such as 5000); got \(text.debugDescription). Fix or unset it.",
                    code: Exit.usage)
            }
            options.busyTimeoutMs = Int32(ms)
        }
        return options
    }

    /// How a command opens the ledger.
    enum OpenMode {
        /// Create the ledger if missing and apply pending migrations: `init` only, so no other
        /// command leaves a new ledger where a mistyped path or the wrong directory pointed.
        case createOrUpgrade
        /// The ledger must exist; pending migrations are applied.
        case existing
        /// The ledger must exist and is only read.
        case readOnly
    }

    /// True when the ledger is a PostgreSQL server rather than a SQLite file.
    var isServer: Bool { Self.isServerURL(path) }

    static func isServerURL(_ text: String) -> Bool { Pipeline.isServerURL(text) }

    /// Opens the event store of an existing ledger; only `init` passes `.createOrUpgrade`.
    func open(_ mode: OpenMode = .existing, pipeline: Pipeline? = nil) throws -> any EventStore {
        try open(mode, at: try location(pipeline: pipeline))
    }

    /// Opens the event store at `location`; a missing ledger file is refused, saying where it was
    /// looked for, unless `mode` creates it.
    func open(_ mode: OpenMode, at location: LedgerLocation) throws -> any EventStore {
        let path = location.path
        if mode != .createOrUpgrade { try location.requireExisting() }
        if location.isServer {
            let pgMode: PostgresEventStore.OpenMode =
                switch mode {
                case .createOrUpgrade: .createOrUpgrade
                case .existing: .existing
                case .readOnly: .readOnly
                }
            return try PostgresEventStore(url: path, mode: pgMode, lockTimeoutMs: Int(try options().busyTimeoutMs))
        }
        let sqliteMode: SQLiteEventStore.OpenMode =
            switch mode {
            case .createOrUpgrade: .createOrUpgrade
            case .existing: .existing
            case .readOnly: .readOnly
            }
        return try SQLiteEventStore(path: path, mode: sqliteMode, options: options())
    }

    /// Opens the ledger: the event store with its projection store, whatever the backend.
    func ledger(_ mode: OpenMode = .existing, textFilter: @escaping @Sendable (String) -> String = { $0 }) throws -> Ledger {
        Self.ledger(on: try open(mode), textFilter: textFilter)
    }

    /// The ledger at `location`, opened as `mode`.
    func ledger(_ mode: OpenMode, at location: LedgerLocation, textFilter: @escaping @Sendable (String) -> String = { $0 }) throws -> Ledger {
        Self.ledger(on: try open(mode, at: location), textFilter: textFilter)
    }

    /// Where artifact bytes live: files beside a SQLite ledger, the database of a PostgreSQL one.
    static func blobs(for store: any EventStore, ledgerPath: String) -> any ArtifactBlobs {
        if let pg = store as? PostgresEventStore { return PostgresArtifactBlobs(store: pg) }
        return ArtifactStore(besideLedger: ledgerPath)
    }

    /// How runners claim a deployment: a lock file beside a SQLite ledger; a session-level
    /// advisory lock on a PostgreSQL server, which every runner sharing the ledger sees.
    static func claims(for store: any EventStore, ledgerPath: String) -> any RunnerClaims {
        if store is PostgresEventStore { return PostgresRunnerClaims(url: ledgerPath) }
        return FileRunnerClaims(besideLedger: ledgerPath)
    }

    /// A ledger around an opened store; `asOf` always replays into a private SQLite ledger in memory.
    static func ledger(on store: any EventStore, textFilter: @escaping @Sendable (String) -> String = { $0 }) -> Ledger {
        let scratch: (@escaping () -> Date) throws -> Ledger = { clock in
            Ledger(store: try SQLiteEventStore(path: ":memory:", mode: .createOrUpgrade, clock: clock), clock: clock)
        }
        if let pg = store as? PostgresEventStore {
            return Ledger(store: pg, textFilter: textFilter, scratch: scratch)
        }
        return Ledger(store: store as! SQLiteEventStore, textFilter: textFilter)
    }
}
