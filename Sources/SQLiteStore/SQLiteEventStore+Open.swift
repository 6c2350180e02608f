import EventStore
import Foundation
import ShiplogFiles
import ShiplogMigrations

/// Opening a ledger file: refusing unusable paths, creating a new ledger atomically, migrating.
extension SQLiteEventStore {
    // MARK: Opening

    /// Refuses, before anything is opened or created, a ledger path that SQLite would hang on
    /// or write beside: a FIFO (opening it waits for a writer forever), a device such as
    /// /dev/null (SQLite would create /dev/null-journal), a directory or a socket; and a
    /// `-wal`, `-shm` or `-journal` beside the ledger that is not a regular file (a planted
    /// symbolic link would have SQLite write through it, or fail obscurely).
    static func checkLedgerPath(_ path: String) throws {
        let kind = FileSystem.kind(of: path)
        switch kind {
        case .regular:
            break
        case .missing:
            if FileSystem.kind(of: path, followSymlinks: false) == .symbolicLink {
                throw EventStoreError.unusablePath(path: path, detail: "it is a symbolic link to a file that does not exist; point --db at the ledger file itself")
            }
        case .directory:
            throw EventStoreError.unusablePath(path: path, detail: "it is a directory, not a ledger file; point --db at a file inside it, such as \(path)/ledger.db")
        default:
            throw EventStoreError.unusablePath(path: path, detail: "it is \(kind.phrase), not a ledger file; point --db at a regular file (nothing was created)")
        }
        for suffix in ["-wal", "-shm", "-journal"] {
            let companion = FileSystem.kind(of: path + suffix, followSymlinks: false)
            if companion != .missing && companion != .regular {
                throw EventStoreError.unusablePath(
                    path: path, detail: "\(path + suffix) is \(companion.phrase), where SQLite keeps its own \(suffix.dropFirst()) file; remove it (nothing was written)")
            }
        }
    }

    /// Creates an empty file with mode 0600 at an unpredictable name beside `path` (creating
    /// missing directories with mode 0700); returns its path.
    static func createPrivateFile(besides path: String) throws -> String {
        let directory = FileSystem.directory(of: path)
        do {
            try FileSystem.createMissingDirectories(directory)
        } catch {
            throw EventStoreError.cannotOpen(path: path, detail: "cannot create directory \(directory): \(error.reason)")
        }
        do {
            let (fd, temp) = try FileSystem.createTemporary(in: directory, prefix: FileSystem.name(of: path) + ".new-")
            close(fd)
            return temp
        } catch {
            let err = error.code
            if err == EACCES || err == EROFS || err == EPERM {
                throw EventStoreError.readOnly(path: path, detail: "cannot create the file: \(reason(err))")
            }
            if error.isNoSpace { throw EventStoreError.diskFull(path: path) }
            throw EventStoreError.cannotOpen(path: path, detail: error.reason)
        }
    }

    /// A read-only connection; failures are `EventStoreError`s. A WAL ledger in a directory this
    /// process cannot write has no way to create its shared-memory file; when no writer is active
    /// (no `-wal` file) it is opened as immutable instead, which needs neither.
    static func openReadOnly(_ path: String, options: Database.Options) throws -> Database {
        do {
            do {
                let db = try Database(path: path, options: options)
                // Opening is lazy: touch the schema so a missing -shm shows up here.
                try db.execute("SELECT count(*) FROM sqlite_master")
                return db
            } catch let error as SQLiteError {
                throw EventStoreError(error, path: path)
            }
        } catch let error as EventStoreError where error.isUnopenable && !FileManager.default.fileExists(atPath: path + "-wal") {
            do {
                return try Database(path: path, options: options, immutable: true)
            } catch let error as SQLiteError {
                throw EventStoreError(error, path: path)
            }
        }
    }

    static func reason(_ err: Int32) -> String { FileSystem.message(err) }

    static func appliedMigrations(_ db: Database) throws -> [(version: Int, name: String, checksum: String)] {
        guard try db.tableExists("schema_migrations") else { return [] }
        return try db.withStatement("SELECT version, name, checksum FROM schema_migrations ORDER BY version") { s in
            var rows: [(Int, String, String)] = []
            while try s.step() { rows.append((s.int(0), s.string(1), s.string(2))) }
            return rows
        }
    }

    static func checkSchema(_ db: Database, path: String, allowPending: Bool, allowEmpty: Bool) throws {
        let applied = try appliedMigrations(db)
        if applied.isEmpty {
            // An empty file (just created, or created by someone else) is a new ledger.
            let hasTables = try db.withStatement("SELECT count(*) FROM sqlite_master") { s in
                try s.step(); return s.int(0) > 0
            }
            if hasTables { throw EventStoreError.notADatabase(path: path) }
            if !allowEmpty { throw EventStoreError.notInitialized(path: path) }
            return
        }
        try SchemaRules.check(
            applied: applied, known: Migrations.all.map { ($0.version, $0.name, $0.sql, $0.formerChecksums) }, location: path,
            allowPending: allowPending)
    }

    func migrate() throws {
        try Self.migrate(database, path: path, clock: clock)
    }

    static func migrate(_ database: Database, path: String, clock: () -> Date) throws {
        try checkSchema(database, path: path, allowPending: true, allowEmpty: true)
        for file in Migrations.all {
            try database.inTransaction {
                // Re-read inside the write lock: another process may have migrated meanwhile.
                let applied = try appliedMigrations(database)
                if applied.contains(where: { $0.version == file.version }) { return }
                try database.execute(file.sql)
                try database.withStatement("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)") { s in
                    s.bind(1, file.version)
                    s.bind(2, file.name)
                    s.bind(3, HashChain.sha256Hex(file.sql))
                    s.bind(4, Timestamp.format(clock()))
                    try s.run()
                }
            }
        }
    }

    /// Creates a new ledger whole, or not at all: built and migrated under a private name,
    /// then linked into place. A process that loses the race for the name opens the winner's
    /// ledger; no process ever sees a half-made file at `path`.
    static func createAtomically(at path: String, options: Database.Options, clock: () -> Date) throws {
        let temp = try createPrivateFile(besides: path)
        defer {
            unlink(temp)
            unlink(temp + "-wal")
            unlink(temp + "-shm")
        }
        do {
            // Closed at the end of this scope: the last connection checkpoints and removes its WAL.
            let database = try Database(path: temp, options: options)
            try migrate(database, path: path, clock: clock)
        } catch let e as SQLiteError {
            throw EventStoreError(e, path: path)
        }
        if link(temp, path) != 0 {
            let err = errno
            if err == EEXIST { return }
            // A file system without hard links: rename, which is atomic but may replace a racing winner's empty start.
            if (err == EPERM || err == EOPNOTSUPP) && !FileManager.default.fileExists(atPath: path) && rename(temp, path) == 0 { return }
            if err == ENOSPC || err == EDQUOT { throw EventStoreError.diskFull(path: path) }
            throw EventStoreError.cannotOpen(path: path, detail: reason(err))
        }
    }
}
