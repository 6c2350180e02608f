import EventStore
import CSQLite
import Foundation

/// One SQLite connection: the only type in Shiplog that holds a `sqlite3*`.
///
/// Used from one isolation domain at a time; not shared across threads. Every result
/// code passes through `check(_:sql:)`, prepared statements are cached by SQL text, and
/// writes run in `BEGIN IMMEDIATE` so two processes never interleave.
public final class Database {
    public let path: String
    let handle: OpaquePointer
    private var statements: [String: Statement] = [:]
    /// The statements used last, newest first.
    private var recent: [Statement] = []

    private func remember(_ statement: Statement) {
        if recent.count == 8 { recent.removeLast() }
        recent.insert(statement, at: 0)
    }
    private var transactionDepth = 0

    /// How a connection is opened.
    public struct Options: Sendable {
        public var readOnly = false
        /// How long a writer waits for another process's write lock before giving up.
        public var busyTimeoutMs: Int32 = 5_000
        /// FULL: an acknowledged append survives power loss. NORMAL trades that for speed.
        public var synchronousFull = true
        public init() {}
    }

    /// - Parameter immutable: open a file nobody writes, without locks or shared memory.
    init(path: String, options: Options, immutable: Bool = false) throws {
        self.path = path
        var db: OpaquePointer?
        var flags =
            (options.readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE))
            | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        var name = path
        if immutable {
            flags |= SQLITE_OPEN_URI
            let escaped = path.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "?", with: "%3f")
                .replacingOccurrences(of: "#", with: "%23")
            name = "file:\(escaped)?immutable=1"
        }
        let rc = sqlite3_open_v2(name, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(code: rc, message: message, sql: nil)
        }
        self.handle = db
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, options.busyTimeoutMs)
        // No writable_schema or other raw-page tricks through this connection.
        _ = shiplog_sqlite_db_config_int(db, SQLITE_DBCONFIG_DEFENSIVE, 1)
        if !options.readOnly {
            try execute("PRAGMA journal_mode=WAL")
            try execute(options.synchronousFull ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL")
        }
        try execute("PRAGMA foreign_keys=ON")
    }

    deinit {
        recent.removeAll()
        statements.removeAll()
        sqlite3_close_v2(handle)
    }

    /// Turns a result code into a thrown `SQLiteError`; the one choke point for failures.
    @discardableResult
    func check(_ rc: Int32, sql: String? = nil) throws -> Int32 {
        switch rc {
        case SQLITE_OK, SQLITE_ROW, SQLITE_DONE: return rc
        default:
            throw SQLiteError(
                code: rc, message: String(cString: sqlite3_errmsg(handle)), sql: sql,
                systemErrno: sqlite3_system_errno(handle))
        }
    }

    /// Runs one or more statements that return no rows.
    public func execute(_ sql: String) throws {
        do {
            try check(sqlite3_exec(handle, sql, nil, nil, nil), sql: sql)
        } catch let error as SQLiteError {
            throw EventStoreError(error, path: path)
        }
    }

    /// A prepared statement for `sql`, cached by its text and reset before use.
    public func withStatement<T>(_ sql: String, _ body: (Statement) throws -> T) throws -> T {
        let statement: Statement
        if let index = recent.firstIndex(where: { $0.sql == sql }) {
            // The few statements a loop alternates between: compared, not hashed (SQL text is long).
            statement = recent[index]
        } else if let cached = statements[sql] {
            statement = cached
            remember(cached)
        } else {
            do {
                statement = try Statement(database: self, sql: sql)
            } catch let error as SQLiteError {
                throw EventStoreError(error, path: path)
            }
            statements[sql] = statement
            remember(statement)
        }
        defer { statement.reset() }
        do {
            return try body(statement)
        } catch let error as SQLiteError {
            throw EventStoreError(error, path: path)
        }
    }

    /// Runs `body` in a `BEGIN IMMEDIATE` transaction: committed if it returns, rolled back if it throws.
    /// Nested calls join the outer transaction.
    public func inTransaction<T>(_ body: () throws -> T) throws -> T {
        if transactionDepth > 0 {
            transactionDepth += 1
            defer { transactionDepth -= 1 }
            return try body()
        }
        // Prepared once, like any statement: `execute` would parse the text again on every append.
        try withStatement("BEGIN IMMEDIATE") { try $0.run() }
        transactionDepth = 1
        defer { transactionDepth = 0 }
        let result: T
        do {
            result = try body()
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
        do {
            try withStatement("COMMIT") { try $0.run() }
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
        return result
    }

    /// Runs `body` inside one read transaction, so every query sees the same snapshot.
    public func inReadTransaction<T>(_ body: () throws -> T) throws -> T {
        if transactionDepth > 0 { return try body() }
        try execute("BEGIN DEFERRED")
        transactionDepth = 1
        defer {
            transactionDepth = 0
            try? execute("COMMIT")
        }
        return try body()
    }

    /// True when the table exists in the main schema.
    public func tableExists(_ name: String) throws -> Bool {
        try withStatement("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?") { s in
            s.bind(1, name)
            return try s.step()
        }
    }

    /// Rows changed by the last statement.
    public var changes: Int { Int(sqlite3_changes(handle)) }
}
