import Foundation

/// Everything that can go wrong with the ledger, each saying what failed, where, and what to do.
public enum EventStoreError: Error, Equatable, CustomStringConvertible {
    /// The stream is not at the version the append expected; nothing was written.
    case wrongExpectedVersion(stream: String, expected: ExpectedVersion, actual: Int64?)
    /// A retried batch overlaps committed events only in part; nothing was written.
    case idempotencyConflict(stream: String, detail: String)
    /// The file exists but is not a SQLite database.
    case notADatabase(path: String)
    /// SQLite found the file damaged.
    case corrupt(path: String, detail: String)
    /// Another process held the write lock past the busy timeout.
    case locked(path: String)
    /// The file or its directory cannot be written.
    case readOnly(path: String, detail: String)
    /// The disk (or quota, or file-size limit) is full.
    case diskFull(path: String)
    /// The ledger was written by a newer Shiplog.
    case newerSchema(path: String, found: Int, supported: Int)
    /// An applied migration's file differs from the one this binary carries.
    case migrationChecksumMismatch(path: String, version: Int, name: String)
    /// The ledger has no schema yet: `shiplog init` creates it.
    case notInitialized(path: String)
    /// The file cannot be opened at all.
    case cannotOpen(path: String, detail: String)
    /// The path names something that is not a ledger file (a FIFO, a device, a directory), or
    /// SQLite's own files beside it are not regular files; refused before anything is opened.
    case unusablePath(path: String, detail: String)
    /// An event handed to the store is malformed (not a JSON object, empty type…).
    case invalidEvent(String)
    /// Any other SQLite failure.
    case sqlite(path: String, code: Int32, message: String)
    /// Any other failure of a database server (PostgreSQL), with what it said.
    case server(location: String, detail: String)

    public var description: String {
        switch self {
        case .wrongExpectedVersion(let stream, let expected, let actual):
            let found = actual.map { "is at version \($0)" } ?? "does not exist"
            return "stream \(stream) \(found), but the append expected \(expected); nothing was written. Reload the stream and decide again."
        case .idempotencyConflict(let stream, let detail):
            return "append to \(stream) refused: \(detail); nothing was written. A retry must resend exactly the original batch at the original expected version."
        case .notADatabase(let path):
            return "\(path) is not a Shiplog ledger (not a SQLite database). Check --db or SHIPLOG_DB; to start a new ledger, point at a new file and run `shiplog init`."
        case .corrupt(let path, let detail):
            return "\(path) is damaged (\(detail)). Do not write to it: copy it aside, restore the last backup, or recover with `sqlite3 \(path) .recover`, then run `shiplog verify`."
        case .locked(let path):
            return "\(path) is locked by another process past the busy timeout. Retry when the other writer has finished, or raise SHIPLOG_BUSY_TIMEOUT_MS."
        case .readOnly(let path, let detail):
            return "\(path) cannot be written (\(detail)). Check the permissions of the file and its directory, or point --db at a writable location."
        case .diskFull(let path):
            return "no space left to write \(path); nothing partial was recorded. Free disk space and retry."
        case .newerSchema(let path, let found, let supported):
            return "\(path) has schema version \(found), newer than this shiplog understands (\(supported)). Upgrade shiplog; the file was not changed."
        case .migrationChecksumMismatch(let path, let version, let name):
            return
                "\(path) recorded migration \(version) (\(name)) with a different checksum than this shiplog carries. The migration was edited after release, or the ledger was altered; the file was not changed."
        case .notInitialized(let path):
            return "\(path) is not initialized. Run `shiplog init --db \(path)` first."
        case .cannotOpen(let path, let detail):
            return "cannot open \(path): \(detail). Check that the directory exists and is writable."
        case .unusablePath(let path, let detail):
            return "cannot use \(path) as a ledger: \(detail)"
        case .invalidEvent(let detail):
            return "invalid event: \(detail)"
        case .server(let location, let detail):
            return "\(location): \(detail)"
        case .sqlite(let path, let code, let message):
            return "\(path): SQLite error \(code): \(message)"
        }
    }

    /// Read-only or cannot-open: what a read-only directory does to a WAL ledger's shared memory.
    public var isUnopenable: Bool {
        switch self {
        case .readOnly, .cannotOpen: true
        default: false
        }
    }
}
