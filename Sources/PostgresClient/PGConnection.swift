import CLibPQ
import Foundation

/// One PostgreSQL session through libpq: the only type in Shiplog that holds a `PGconn*`.
///
/// Synchronous, like the SQLite layer: every call blocks until the server answers. Used from
/// one thread at a time. Every failure passes through `PostgresError`, which classifies it
/// and keeps bound values and the password out of its text.
///
/// A lost connection is not re-established behind the caller's back: the session's
/// transaction and advisory locks died with it, and only the caller knows whether it may go on.
public final class PGConnection {
    /// The URL or connection string with any password replaced by `***`: how messages name the server.
    public let server: String
    private var handle: OpaquePointer?
    private var savepointDepth = 0
    /// Server-side prepared statements by SQL text (see `query(_:_:)`).
    private var prepared: [String: String] = [:]
    private var preparedCount = 0
    /// Past this many distinct SQL texts, further ones run unprepared: a caller building SQL
    /// dynamically must not grow the server's memory without bound.
    static let preparedLimit = 256

    /// Connects to `url`: a `postgres://` or `postgresql://` URI or a `key=value` connection
    /// string. libpq reads what the URL leaves out from its environment (`PGHOST`,
    /// `PGPASSWORD`, …) and the password from `~/.pgpass`; `sslmode`, `sslrootcert` and the
    /// other libpq parameters work as documented for libpq.
    ///
    /// - Parameter applicationName: shown in `pg_stat_activity`; overrides one in the URL.
    public init(url: String, applicationName: String = "shiplog") throws {
        server = Self.redacted(url: url)
        // Later entries override earlier ones, including what `dbname` expands to, so the
        // connect timeout is only a default while the client encoding is always UTF-8.
        let parameters: [(String, String)] = [
            ("connect_timeout", "10"),
            ("dbname", url),
            ("application_name", applicationName),
            ("client_encoding", "UTF8"),
        ]
        // Both arrays end with NULL, as PQconnectdbParams expects.
        let connection = Self.withCStrings(parameters.map(\.0) + [nil]) { keywords in
            Self.withCStrings(parameters.map(\.1) + [nil]) { values in
                PQconnectdbParams(keywords, values, 1)
            }
        }
        guard let connection, PQstatus(connection) == CONNECTION_OK else {
            let error = PostgresError.connectionFailed(connection, url: url)
            if let connection { PQfinish(connection) }
            throw error
        }
        handle = connection
        shiplog_pq_silence_notices(connection)
    }

    deinit {
        if let handle { PQfinish(handle) }
    }

    /// Ends the session (the server releases its advisory locks and rolls back an open
    /// transaction). Later calls throw `.connectionLost`.
    public func close() {
        if let handle { PQfinish(handle) }
        handle = nil
        prepared.removeAll()
        savepointDepth = 0
    }

    /// The server process serving this session (what `pg_terminate_backend` takes), or 0 when closed.
    public var backendPID: Int32 {
        handle.map { PQbackendPID($0) } ?? 0
    }

    /// True inside a transaction block, including one a failed statement aborted.
    public var isInTransaction: Bool {
        guard let handle else { return false }
        switch PQtransactionStatus(handle) {
        case PQTRANS_INTRANS, PQTRANS_INERROR, PQTRANS_ACTIVE: return true
        default: return false
        }
    }

    /// Runs `sql`, one or more statements without parameters. Values never go in `sql`
    /// (the text appears in errors): use `query(_:_:)` for anything that takes a value.
    public func execute(_ sql: String) throws {
        let connection = try open(sql: sql)
        _ = try check(PQexec(connection, sql), sql: sql, parameters: [])
    }

    /// Runs one statement with `$1…$n` bound to `parameters` (text format, nil is NULL; the
    /// server infers each type from its use) and returns its rows.
    ///
    /// Each distinct SQL text is prepared once per session (`PQprepare`), then only bound and
    /// executed (`PQexecPrepared`): a short INSERT on loopback takes about 40% less time than
    /// sending its text each time (`PQexecParams`), which makes the server parse and plan it again. Do not `DEALLOCATE` or `DISCARD` through
    /// `execute`: this cache would then name statements the server forgot.
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) throws -> PGResult {
        try query(sql, parameters, mayPrepareAgain: true)
    }

    private func query(_ sql: String, _ parameters: [String?], mayPrepareAgain: Bool) throws -> PGResult {
        let connection = try open(sql: sql)
        if let position = parameters.firstIndex(where: { $0?.utf8.contains(0) == true }) {
            throw PostgresError(
                kind: .other, message: "parameter $\(position + 1) contains a NUL character, which PostgreSQL text cannot hold",
                sql: sql, server: server)
        }
        guard let name = try statementName(for: sql, connection: connection) else {
            let result = Self.withCStrings(parameters) { values in
                PQexecParams(connection, sql, Int32(parameters.count), nil, values, nil, nil, 0)
            }
            return try check(result, sql: sql, parameters: parameters)
        }
        let wasInTransaction = isInTransaction
        do {
            let result = Self.withCStrings(parameters) { values in
                PQexecPrepared(connection, name, Int32(parameters.count), values, nil, nil, 0)
            }
            return try check(result, sql: sql, parameters: parameters)
        } catch let error as PostgresError where error.sqlState == "0A000" || error.sqlState == "26000" {
            // The statement went stale (a migration changed the columns it returns) or the
            // server no longer has it: prepare it afresh. Outside a transaction nothing was
            // done yet, so it runs once more; inside one the transaction is already aborted.
            prepared[sql] = nil
            if wasInTransaction || !mayPrepareAgain { throw error }
            return try query(sql, parameters, mayPrepareAgain: false)
        }
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    /// Called inside a transaction (also one begun with `execute("BEGIN")`), it runs in a
    /// SAVEPOINT instead, so a nested failure undoes only the nested work.
    ///
    /// A body that catches a failed statement and returns normally does not get a silent
    /// rollback: PostgreSQL answers COMMIT of an aborted transaction with ROLLBACK, so this
    /// throws instead.
    @discardableResult
    public func inTransaction<T>(_ body: () throws -> T) throws -> T {
        if isInTransaction {
            savepointDepth += 1
            defer { savepointDepth -= 1 }
            let savepoint = "shiplog_savepoint_\(savepointDepth)"
            try execute("SAVEPOINT \(savepoint)")
            let result: T
            do {
                result = try body()
            } catch {
                try? execute("ROLLBACK TO SAVEPOINT \(savepoint)")
                try? execute("RELEASE SAVEPOINT \(savepoint)")
                throw error
            }
            try execute("RELEASE SAVEPOINT \(savepoint)")
            return result
        }
        try execute("BEGIN")
        // Whatever fails from here on — the body, a swallowed statement error, COMMIT — ends in ROLLBACK.
        do {
            let result = try body()
            if let handle, PQtransactionStatus(handle) == PQTRANS_INERROR {
                throw PostgresError(
                    kind: .other, message: "a statement failed inside the transaction and its error was not passed on; the transaction was rolled back",
                    sql: "COMMIT", server: server)
            }
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    // MARK: - Locks

    /// Takes the session-level advisory lock `key` if no other session holds it, without
    /// waiting. The server releases it on `advisoryUnlock(key:)` or when this session ends
    /// for any reason, including the process being killed.
    public func tryAdvisoryLock(key: Int64) throws -> Bool {
        try query("SELECT pg_try_advisory_lock($1::bigint)", [String(key)]).bool(0, 0) ?? false
    }

    /// Releases one hold of the advisory lock `key`; false when this session did not hold it.
    @discardableResult
    public func advisoryUnlock(key: Int64) throws -> Bool {
        try query("SELECT pg_advisory_unlock($1::bigint)", [String(key)]).bool(0, 0) ?? false
    }

    /// How long any later statement of this session waits for a lock before failing with
    /// `.lockTimeout`; 0 waits forever (PostgreSQL's default).
    public func setLockTimeout(milliseconds: Int) throws {
        precondition(milliseconds >= 0, "a lock timeout is not negative")
        try execute("SET lock_timeout = \(milliseconds)")
    }

    // MARK: - Internals

    private func open(sql: String) throws -> OpaquePointer {
        guard let handle else {
            throw PostgresError(kind: .connectionLost, message: "the connection was closed", sql: sql, server: server)
        }
        return handle
    }

    /// Turns a libpq result into rows or a thrown `PostgresError`: the one place a call's outcome is judged.
    private func check(_ result: OpaquePointer?, sql: String, parameters: [String?]) throws -> PGResult {
        if let result {
            switch PQresultStatus(result) {
            case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
                return PGResult(result, server: server)
            default:
                break
            }
        }
        let error = PostgresError(result: result, connection: handle, sql: sql, parameters: parameters, server: server)
        if let result { PQclear(result) }
        if error.kind == .connectionLost { prepared.removeAll() }
        throw error
    }

    /// The server-side name of `sql`, prepared now if needed; nil past `preparedLimit`.
    private func statementName(for sql: String, connection: OpaquePointer) throws -> String? {
        if let name = prepared[sql] { return name }
        guard prepared.count < Self.preparedLimit else { return nil }
        preparedCount += 1
        let name = "shiplog_\(preparedCount)"
        _ = try check(PQprepare(connection, name, sql, 0, nil), sql: sql, parameters: [])
        prepared[sql] = name
        return name
    }

    /// Calls `body` with a C array of C strings (NULL for nil) that lives for the call.
    private static func withCStrings<T>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> T) -> T {
        let copies: [UnsafeMutablePointer<CChar>?] = strings.map { $0.map { strdup($0)! } }
        defer { copies.forEach { free($0) } }
        let pointers = copies.map { UnsafePointer($0) }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}
