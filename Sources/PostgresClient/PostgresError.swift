import CLibPQ
import Foundation

/// Every failure of a PostgreSQL call, classified once.
///
/// What libpq reports becomes an error only in `init(result:connection:sql:parameters:server:)`
/// (a failed call) and `connectionFailed(_:url:)` (a failed connection attempt), so the rules
/// live in one place:
///
/// - the message is the server's primary message, never its DETAIL (which quotes row values)
///   or the values bound to `$1…$n` (they may be secrets): any bound value found in the
///   message is replaced with `***`;
/// - the server is named by its redacted URL, and the password the connection used never
///   appears, whether it came from the URL, `PGPASSWORD` or `~/.pgpass`;
/// - the SQL text is kept, so a reader can tell which statement failed.
public struct PostgresError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, in the terms a caller decides on.
    public enum Kind: Sendable, Equatable {
        /// No session was established: unreachable host, refused or failed authentication
        /// (SQLSTATE class 28), unknown database.
        case connectionFailed
        /// The session ended under the call: the server closed the socket, shut down
        /// (57P01, 57P02) or terminated the backend (`pg_terminate_backend`), or a class 08 error.
        /// Session state (transaction, advisory locks, prepared statements) is gone with it.
        case connectionLost
        /// `lock_timeout` expired while waiting for a lock (55P03).
        case lockTimeout
        /// A unique or primary-key constraint refused the row (23505).
        case uniqueViolation(constraint: String)
        /// A CHECK constraint refused the row (23514).
        case checkViolation(constraint: String)
        /// A PL/pgSQL `RAISE EXCEPTION` (P0001), e.g. a trigger refusing an UPDATE; the
        /// message is the trigger's own.
        case raised
        /// A write in a read-only transaction or on a hot standby (25006).
        case readOnly
        /// The server ran out of disk space (53100).
        case diskFull
        /// Anything else: see `sqlState` and `message`.
        case other
    }

    public let kind: Kind
    /// The five-character SQLSTATE, when the server sent one.
    public let sqlState: String?
    /// What the server or libpq said, with secrets removed.
    public let message: String
    /// The statement that failed, when there was one (its text only, never its parameters).
    public let sql: String?
    /// The server, as `PGConnection.redacted(url:)` writes it.
    public let server: String

    public init(kind: Kind, sqlState: String? = nil, message: String, sql: String? = nil, server: String) {
        self.kind = kind
        self.sqlState = sqlState
        self.message = message
        self.sql = sql
        self.server = server
    }

    public var description: String {
        var text = "PostgreSQL at \(server): \(message)"
        if let sqlState { text += " (SQLSTATE \(sqlState))" }
        if let sql { text += "; statement: \(Self.abbreviated(sql))" }
        if let advice { text += ". \(advice)" }
        return text
    }

    /// What to do about it, for the kinds where there is something to say.
    public var advice: String? {
        switch kind {
        case .connectionFailed:
            return "Check the URL (host, port, database, user, sslmode), that the server is running, and the password (in the URL, PGPASSWORD or ~/.pgpass)"
        case .connectionLost:
            return "The connection to the server was lost; nothing after the last commit was kept. Run the command again once the server is reachable"
        case .lockTimeout:
            return "Another session held the lock longer than lock_timeout; run the command again when it is done"
        case .readOnly:
            return "The server or transaction is read-only; point the URL at the primary"
        case .diskFull:
            return "The server's disk is full; free space on the server"
        default:
            return nil
        }
    }

    /// The class of kinds a SQLSTATE belongs to (see the PostgreSQL manual, "Error Codes").
    static func kind(sqlState: String?, constraint: String?) -> Kind {
        guard let sqlState else { return .other }
        switch sqlState {
        case "55P03": return .lockTimeout
        case "23505": return .uniqueViolation(constraint: constraint ?? "")
        case "23514": return .checkViolation(constraint: constraint ?? "")
        case "P0001": return .raised
        case "25006": return .readOnly
        case "53100": return .diskFull
        case "57P01", "57P02": return .connectionLost
        case "28P01", "28000": return .connectionFailed
        default:
            if sqlState.hasPrefix("08") { return .connectionLost }
            if sqlState.hasPrefix("28") { return .connectionFailed }
            return .other
        }
    }

    /// The error of a failed call on an open connection. `result` is nil when libpq could not
    /// even produce a result (out of memory, or the socket failed mid-call).
    init(result: OpaquePointer?, connection: OpaquePointer?, sql: String?, parameters: [String?], server: String) {
        let state = result.flatMap { shiplog_pq_result_sqlstate($0) }.map { String(cString: $0) }
        let constraint = result.flatMap { shiplog_pq_result_constraint_name($0) }.map { String(cString: $0) }
        var text = result.flatMap { shiplog_pq_result_primary_message($0) }.map { String(cString: $0) }
        if text == nil || text?.isEmpty == true {
            text = connection.map { String(cString: PQerrorMessage($0)) }
        }
        var kind = Self.kind(sqlState: state, constraint: constraint)
        // An error without a SQLSTATE comes from libpq, not the server: typically a socket the
        // server closed. When the failure was on sending, libpq has not read the end of the
        // stream yet and still calls the connection OK; one non-blocking read lets it see it.
        if let connection, state == nil, PQstatus(connection) == CONNECTION_OK {
            _ = PQconsumeInput(connection)
        }
        // Whatever the SQLSTATE, a connection that is no longer usable means the session is gone.
        if connection == nil || PQstatus(connection) == CONNECTION_BAD { kind = .connectionLost }
        let secrets = parameters.compactMap { $0 } + Self.password(of: connection)
        self.init(
            kind: kind, sqlState: state,
            message: Self.scrub(Self.tidy(text ?? "unknown error"), secrets: secrets),
            sql: sql, server: server)
    }

    /// The error of a connection attempt that did not produce a usable session.
    static func connectionFailed(_ connection: OpaquePointer?, url: String) -> PostgresError {
        var text = connection.map { tidy(String(cString: PQerrorMessage($0))) } ?? "libpq could not allocate a connection"
        if let connection {
            if PQconnectionNeedsPassword(connection) != 0 {
                text += " (the server asks for a password and none was given)"
            } else if PQconnectionUsedPassword(connection) != 0 && text.contains("password") {
                text += " (the server refused the password)"
            }
        }
        let secrets = password(of: connection) + PGConnection.passwords(in: url)
        return PostgresError(
            kind: .connectionFailed, message: "cannot connect: " + scrub(text, secrets: secrets),
            server: PGConnection.redacted(url: url))
    }

    /// The password libpq used or would use for this connection (from the URL, PGPASSWORD or
    /// ~/.pgpass), so it can be removed from any message.
    static func password(of connection: OpaquePointer?) -> [String] {
        guard let connection, let pass = PQpass(connection) else { return [] }
        let value = String(cString: pass)
        return value.isEmpty ? [] : [value]
    }

    /// `text` with every occurrence of each secret replaced by `***`. Secrets shorter than four
    /// characters are replaced only where the server quotes them (`"ab"`), so a one-character
    /// parameter does not shred every word of the message.
    static func scrub(_ text: String, secrets: [String]) -> String {
        var text = text
        for secret in Set(secrets).sorted(by: { $0.count > $1.count }) where !secret.isEmpty {
            if secret.count >= 4 {
                text = text.replacingOccurrences(of: secret, with: "***")
            } else {
                text = text.replacingOccurrences(of: "\"\(secret)\"", with: "\"***\"")
            }
        }
        return text
    }

    /// libpq's messages end with a newline and may span lines; one line reads better in an error.
    private static func tidy(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.joined(separator: "; ")
    }

    private static func abbreviated(_ sql: String) -> String {
        let oneLine = sql.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return oneLine.count > 200 ? String(oneLine.prefix(200)) + "…" : oneLine
    }
}
