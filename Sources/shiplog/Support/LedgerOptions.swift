import ArgumentParser
import EventStore
import Foundation

/// `--db` and friends, shared by every command that touches the ledger.
struct LedgerOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The ledger file.", discussion: "Default: $SHIPLOG_DB, else .shiplog/ledger.db", valueName: "path"))
    var db: String?

    @Option(name: .customLong("busy-timeout"), help: ArgumentHelp("Milliseconds to wait for another writer's lock (default: $SHIPLOG_BUSY_TIMEOUT_MS, else 5000).", valueName: "ms"))
    var busyTimeoutMs: Int32?

    /// The ledger path this invocation uses.
    var path: String {
        if let db { return db }
        if let env = ProcessInfo.processInfo.environment["SHIPLOG_DB"], !env.isEmpty { return env }
        return ".shiplog/ledger.db"
    }

    var options: Database.Options {
        var options = Database.Options()
        if let busyTimeoutMs { options.busyTimeoutMs = busyTimeoutMs }
        else if let env = ProcessInfo.processInfo.environment["SHIPLOG_BUSY_TIMEOUT_MS"], let ms = Int32(env) { options.busyTimeoutMs = ms }
        return options
    }

    /// Opens the ledger; queries pass `.existing` so a mistyped path is not silently created.
    func open(_ mode: SQLiteEventStore.OpenMode = .createOrUpgrade) throws -> SQLiteEventStore {
        try SQLiteEventStore(path: path, mode: mode, options: options)
    }
}
