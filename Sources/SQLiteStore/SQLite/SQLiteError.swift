import EventStore
import CSQLite
import Foundation

/// A failing SQLite result code, with the message and the SQL that produced it.
///
/// Bound values are never part of it: they may carry secrets. It stays inside the
/// EventStore module; `EventStoreError` is what callers see.
struct SQLiteError: Error, CustomStringConvertible {
    /// The extended result code.
    let code: Int32
    let message: String
    let sql: String?
    /// The operating-system error behind an I/O failure (ENOSPC, EFBIG…), 0 when none.
    var systemErrno: Int32 = 0

    var primaryCode: Int32 { code & 0xFF }

    var description: String {
        let base = "SQLite error \(code): \(message)"
        return sql.map { "\(base) (while running: \($0))" } ?? base
    }

    var isBusy: Bool { primaryCode == SQLITE_BUSY || primaryCode == SQLITE_LOCKED }
    /// SQLITE_FULL, or an I/O error whose cause is a full disk, quota or file-size limit — including
    /// growing the shared-memory file (SQLITE_IOERR_SHMSIZE) and EFBIG on a write (SQLITE_IOERR_WRITE).
    var isFull: Bool {
        primaryCode == SQLITE_FULL || code == 778 || code == 4874
            || (primaryCode == SQLITE_IOERR && (systemErrno == ENOSPC || systemErrno == EFBIG || systemErrno == EDQUOT))
    }
    var isReadOnly: Bool { primaryCode == SQLITE_READONLY || primaryCode == SQLITE_CANTOPEN && message.contains("read") }
    var isNotADatabase: Bool { primaryCode == SQLITE_NOTADB }
    var isCorrupt: Bool { primaryCode == SQLITE_CORRUPT }
    var isConstraint: Bool { primaryCode == SQLITE_CONSTRAINT }
}
