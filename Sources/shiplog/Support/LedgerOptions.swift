import SQLiteStore
import ArgumentParser
import EventStore
import Foundation

/// `--db` and friends, shared by every command that touches the ledger.
struct LedgerOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The ledger file.", discussion: "Default: $SHIPLOG_DB, else .shiplog/ledger.db", valueName: "path"))
    var db: String?

    @Option(name: .customLong("busy-timeout"), help: ArgumentHelp("Milliseconds to wait for another writer's lock, 0 to \(Self.maximumBusyTimeoutMs) (default: $SHIPLOG_BUSY_TIMEOUT_MS, else 5000).", valueName: "ms"))
    var busyTimeoutMs: Int32?

    /// The longest busy timeout accepted: one hour. Longer is a mistake (a lost digit, seconds
    /// given as milliseconds), not a wish to wait a day for a lock.
    static let maximumBusyTimeoutMs: Int32 = 3_600_000

    func validate() throws {
        if let busyTimeoutMs, !(0...Self.maximumBusyTimeoutMs).contains(busyTimeoutMs) {
            throw ValidationError("--busy-timeout must be 0 to \(Self.maximumBusyTimeoutMs) milliseconds; got \(busyTimeoutMs)")
        }
    }

    /// The ledger path this invocation uses.
    var path: String {
        if let db { return db }
        if let env = ProcessInfo.processInfo.environment["SHIPLOG_DB"], !env.isEmpty { return env }
        return ".shiplog/ledger.db"
    }

    /// How to open the ledger: `--busy-timeout`, else `$SHIPLOG_BUSY_TIMEOUT_MS`, else the default.
    /// A variable that is set but is not a whole number of milliseconds in range is refused
    /// (exit 64), never silently replaced by the default.
    func options(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Database.Options {
        var options = Database.Options()
        if let busyTimeoutMs {
            options.busyTimeoutMs = busyTimeoutMs
        } else if let text = environment["SHIPLOG_BUSY_TIMEOUT_MS"], !text.isEmpty {
            guard text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), text.utf8.count <= 10,
                  let ms = Int64(text), ms <= Int64(Self.maximumBusyTimeoutMs) else {
                throw Failure("SHIPLOG_BUSY_TIMEOUT_MS must be a whole number of milliseconds from 0 to \(Self.maximumBusyTimeoutMs) (such as 5000); got \(text.debugDescription). Fix or unset it.",
                              code: Exit.usage)
            }
            options.busyTimeoutMs = Int32(ms)
        }
        return options
    }

    /// Opens the ledger; queries pass `.existing` so a mistyped path is not silently created.
    func open(_ mode: SQLiteEventStore.OpenMode = .createOrUpgrade) throws -> SQLiteEventStore {
        try SQLiteEventStore(path: path, mode: mode, options: options())
    }
}
