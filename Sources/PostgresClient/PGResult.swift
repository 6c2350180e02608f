import CLibPQ
import Foundation

/// The rows of one successful statement, in libpq's text format. Owns its `PGresult`.
///
/// Row and column indexes start at 0; an index out of range is a programming error and traps,
/// like an array subscript.
public final class PGResult {
    let handle: OpaquePointer
    /// The redacted URL of the server the rows came from, for errors.
    private let server: String

    init(_ handle: OpaquePointer, server: String) {
        self.handle = handle
        self.server = server
    }

    deinit {
        PQclear(handle)
    }

    public var rowCount: Int { Int(PQntuples(handle)) }
    public var columnCount: Int { Int(PQnfields(handle)) }

    /// The columns' names, as the statement's select list or RETURNING clause gave them.
    public var columnNames: [String] {
        (0..<columnCount).map { String(cString: PQfname(handle, Int32($0))) }
    }

    /// The index of the column called `name`, or nil.
    public func columnIndex(_ name: String) -> Int? {
        guard let index = columnNames.firstIndex(of: name) else { return nil }
        return index
    }

    /// Rows an INSERT, UPDATE or DELETE changed (0 for other statements).
    public var rowsAffected: Int {
        Int(String(cString: PQcmdTuples(handle))) ?? 0
    }

    /// The value as text, or nil for SQL NULL.
    public func string(_ row: Int, _ column: Int) -> String? {
        checkBounds(row, column)
        if PQgetisnull(handle, Int32(row), Int32(column)) != 0 { return nil }
        return String(cString: PQgetvalue(handle, Int32(row), Int32(column)))
    }

    /// The value as a 64-bit integer, or nil for SQL NULL. Throws when the column is not an integer.
    public func int64(_ row: Int, _ column: Int) throws -> Int64? {
        guard let text = string(row, column) else { return nil }
        guard let value = Int64(text) else { throw notA("an integer", row, column) }
        return value
    }

    /// The value of a boolean column (`t` or `f`), or nil for SQL NULL.
    public func bool(_ row: Int, _ column: Int) throws -> Bool? {
        switch string(row, column) {
        case nil: return nil
        case "t": return true
        case "f": return false
        default: throw notA("a boolean", row, column)
        }
    }

    private func checkBounds(_ row: Int, _ column: Int) {
        precondition(row >= 0 && row < rowCount, "row \(row) out of range 0..<\(rowCount)")
        precondition(column >= 0 && column < columnCount, "column \(column) out of range 0..<\(columnCount)")
    }

    /// The value itself is not repeated: a column may hold anything, secrets included.
    private func notA(_ what: String, _ row: Int, _ column: Int) -> PostgresError {
        PostgresError(
            kind: .other, message: "column \(columnNames[column]) of row \(row) is not \(what)",
            server: server)
    }
}
