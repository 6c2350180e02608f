import EventStore
import Foundation
import Ledger
import PostgresClient
import PostgresStore
import SQLiteStore

/// Where the benchmark's ledgers live and how they are opened: SQLite files in the scratch
/// directory (the default), or databases on a PostgreSQL cluster (`tools/bench --backend
/// postgres` starts a throwaway one with tools/pg and passes its base URL).
protocol BenchBackend: AnyObject {
    /// `SQLite`, `PostgreSQL 15.18`: for the report.
    var description: String { get }
    /// A new, empty ledger: a file path or a database URL.
    func fresh(_ name: String) throws -> String
    /// Removes what `fresh` made.
    func remove(_ location: String)
    func open(_ location: String, mode: BenchOpenMode) throws -> any EventStore
    /// The ledger around `store`, its projections on the same connection.
    func ledger(on store: any EventStore) -> Ledger
    /// The C baseline's arguments for an append workload on the fresh ledger `location`.
    func baselineAppend(_ location: String, events: Int, perTransaction: Int) -> (program: String, arguments: [String])
    /// The C baseline that reads every row of `location` and decodes nothing (a ceiling).
    func baselineRead(_ location: String) -> (program: String, arguments: [String])
}

enum BenchOpenMode {
    case create, existing, readOnly
}

/// The backend's own target where it differs from SQLite's (issue 5); nil where the figure has none.
enum Targets {
    /// SQLite ledgers in tmpfs (`tools/bench --tmpfs`): no fsync to wait for, so the ratios
    /// compare CPU per event, and the targets are those of the CPU-bound table.
    static let tmpfs: [String: Figure.Target] = [
        "append_single_durable": .ratioAtLeast(0.9),
        "append_deployment_batch": .ratioAtLeast(0.8),
        "append_bulk_import": .ratioAtLeast(0.8),
        "read_all_decode": .ratioAtLeast(0.6),
        "rebuild": .atLeast(500_000),
    ]

    static let postgres: [String: Figure.Target] = [
        "append_single_durable": .ratioAtLeast(0.8),
        "append_deployment_batch": .ratioAtLeast(0.5),
        "append_concurrent": .atLeast(1),
        "read_all_decode": .atLeast(300_000),
        "last_stable_in_process": .atMost(2),
        "rss_rebuild": .atMost(64), "rss_verify": .atMost(64), "rss_export_records": .atMost(64), "rss_export_events": .atMost(64),
    ]
}

final class SQLiteBackend: BenchBackend {
    let scratch: Scratch
    let baseline: String
    let schema: String
    /// Verify, read and rebuild on one thread (`--one-thread`).
    let oneThread: Bool

    init(scratch: Scratch, baseline: String, schema: String, oneThread: Bool) {
        self.scratch = scratch
        self.baseline = baseline
        self.schema = schema
        self.oneThread = oneThread
    }

    let description = "SQLite"

    func fresh(_ name: String) throws -> String { scratch.file(name + ".db") }

    func remove(_ location: String) {
        for suffix in ["", "-wal", "-shm", "-journal"] { unlink(location + suffix) }
    }

    func open(_ location: String, mode: BenchOpenMode) throws -> any EventStore {
        let sqliteMode: SQLiteEventStore.OpenMode =
            switch mode {
            case .create: .createOrUpgrade
            case .existing: .existing
            case .readOnly: .readOnly
            }
        let store = try SQLiteEventStore(path: location, mode: sqliteMode)
        if oneThread {
            store.verifyInHalvesThreshold = .max
            store.readAheadThreshold = .max
        }
        return store
    }

    func ledger(on store: any EventStore) -> Ledger {
        let ledger = Ledger(store: store as! SQLiteEventStore)
        if oneThread { ledger.replaySplit = .never }
        return ledger
    }

    func baselineAppend(_ location: String, events: Int, perTransaction: Int) -> (program: String, arguments: [String]) {
        (baseline, ["append", "--schema", schema, "--db", location, "--events", String(events), "--per-tx", String(perTransaction)])
    }

    func baselineRead(_ location: String) -> (program: String, arguments: [String]) { (baseline, ["read", "--db", location]) }
}

/// Databases on one PostgreSQL cluster: each ledger its own database, created with
/// `CREATE DATABASE` through the cluster's `postgres` database and dropped afterwards.
final class PostgresBackend: BenchBackend {
    /// The cluster's URL without a database name (tools/pg writes it to DIR/url).
    let baseURL: String
    let baseline: String
    let schema: String
    let admin: PGConnection
    let description: String
    private var created: [String: String] = [:]

    init(baseURL: String, baseline: String, schema: String) throws {
        self.baseURL = baseURL
        self.baseline = baseline
        self.schema = schema
        do {
            admin = try PGConnection(url: Self.url(baseURL, database: "postgres"), applicationName: "shiplog-bench")
            description = "PostgreSQL " + (try admin.query("SHOW server_version").string(0, 0) ?? "?")
        } catch {
            throw BenchError("cannot reach the PostgreSQL cluster at \(PGConnection.redacted(url: baseURL)): \(error)")
        }
    }

    /// libpq takes `dbname` as a query parameter of the URI.
    static func url(_ base: String, database: String) -> String {
        base + (base.contains("?") ? "&" : "?") + "dbname=" + database
    }

    func fresh(_ name: String) throws -> String {
        let database = "bench_" + String(name.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
        try admin.execute("DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
        try admin.execute("CREATE DATABASE \(database)")
        let url = Self.url(baseURL, database: database)
        created[url] = database
        return url
    }

    func remove(_ location: String) {
        guard let database = created.removeValue(forKey: location) else { return }
        try? admin.execute("DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
    }

    func open(_ location: String, mode: BenchOpenMode) throws -> any EventStore {
        let pgMode: PostgresEventStore.OpenMode =
            switch mode {
            case .create: .createOrUpgrade
            case .existing: .existing
            case .readOnly: .readOnly
            }
        return try PostgresEventStore(url: location, mode: pgMode)
    }

    func ledger(on store: any EventStore) -> Ledger {
        Ledger(store: store as! PostgresEventStore) { clock in
            Ledger(store: try SQLiteEventStore(path: ":memory:", mode: .createOrUpgrade, clock: clock), clock: clock)
        }
    }

    func baselineAppend(_ location: String, events: Int, perTransaction: Int) -> (program: String, arguments: [String]) {
        (baseline, ["append", "--schema", schema, "--db", location, "--events", String(events), "--per-tx", String(perTransaction)])
    }

    func baselineRead(_ location: String) -> (program: String, arguments: [String]) { (baseline, ["read", "--db", location]) }
}
