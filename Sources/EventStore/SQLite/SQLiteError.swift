import CSQLite

/// A failing SQLite result code, with the message and the SQL that produced it.
///
/// Bound values are never part of it: they may carry secrets. It stays inside the
/// EventStore module; `EventStoreError` is what callers see.
struct SQLiteError: Error, CustomStringConvertible {
    /// The extended result code.
    let code: Int32
    let message: String
    let sql: String?

    var primaryCode: Int32 { code & 0xFF }

    var description: String {
        let base = "SQLite error \(code): \(message)"
        return sql.map { "\(base) (while running: \($0))" } ?? base
    }

    var isBusy: Bool { primaryCode == SQLITE_BUSY || primaryCode == SQLITE_LOCKED }
    var isFull: Bool { primaryCode == SQLITE_FULL || code == 778 /* SQLITE_IOERR_WRITE: EFBIG past a file-size limit */ }
    var isReadOnly: Bool { primaryCode == SQLITE_READONLY || primaryCode == SQLITE_CANTOPEN && message.contains("read") }
    var isNotADatabase: Bool { primaryCode == SQLITE_NOTADB }
    var isCorrupt: Bool { primaryCode == SQLITE_CORRUPT }
    var isConstraint: Bool { primaryCode == SQLITE_CONSTRAINT }
}
