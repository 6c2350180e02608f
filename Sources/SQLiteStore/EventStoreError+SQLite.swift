import EventStore

extension EventStoreError {
    /// Translates a SQLite failure into the error a caller can act on: the one place where
    /// a SQLite result code becomes an `EventStoreError`.
    init(_ error: SQLiteError, path: String) {
        if error.isBusy {
            self = .locked(path: path)
        } else if error.isFull {
            self = .diskFull(path: path)
        } else if error.isNotADatabase {
            self = .notADatabase(path: path)
        } else if error.isCorrupt {
            self = .corrupt(path: path, detail: error.message)
        } else if error.isReadOnly {
            self = .readOnly(path: path, detail: error.message)
        } else if error.primaryCode == 14 /* SQLITE_CANTOPEN */ {
            self = .cannotOpen(path: path, detail: error.message)
        } else {
            self = .sqlite(path: path, code: error.code, message: error.message)
        }
    }
}
