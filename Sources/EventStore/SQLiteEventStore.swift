import Foundation
import ShiplogFiles
import ShiplogMigrations

/// The event store on one SQLite file, in WAL mode, hash-chained and append-only.
public final class SQLiteEventStore: EventStore {
    /// How to treat the file on open.
    public enum OpenMode: Sendable {
        /// Create the file if missing and apply pending migrations.
        case createOrUpgrade
        /// The ledger must exist; pending migrations are applied.
        case existing
        /// The ledger must exist and is only read (no WAL switch, no migration).
        case readOnly
    }

    public let path: String
    /// The connection, shared with the projections so they commit in the append's transaction.
    public let database: Database
    private let clock: () -> Date
    private let hasher = HashChain()
    /// How a second, reading connection opens this file (`verify` checks half the chain on it).
    let readOptions: Database.Options
    /// Ledgers of at least this many events are verified in two halves at once (see `verify`);
    /// for shorter ones a second thread and connection cost more than they save.
    public var verifyInHalvesThreshold: Int64 = 20_000

    /// Opens (and, per `mode`, creates or upgrades) the ledger at `path`.
    ///
    /// A ledger whose schema is newer than this binary, or whose applied migrations do not
    /// match the embedded ones, is refused before anything is written to it.
    public init(path: String, mode: OpenMode = .createOrUpgrade, options: Database.Options = .init(),
                clock: @escaping () -> Date = Date.init) throws {
        self.path = path
        self.clock = clock
        var readOptions = options
        readOptions.readOnly = true
        self.readOptions = readOptions
        if path != ":memory:" { try Self.checkLedgerPath(path) }
        let exists = FileSystem.kind(of: path) != .missing
        if path == ":memory:" {
            // A private scratch ledger, for answering questions as of an earlier position.
        } else if !exists {
            guard mode == .createOrUpgrade else { throw EventStoreError.notInitialized(path: path) }
            try Self.createAtomically(at: path, options: options, clock: clock)
        } else {
            // Inspect with a read-only connection first: a newer or foreign file is refused untouched.
            var readOptions = options
            readOptions.readOnly = true
            let probe = try Self.openReadOnly(path, options: readOptions)
            try Self.checkSchema(probe, path: path, allowPending: mode != .readOnly, allowEmpty: mode == .createOrUpgrade)
        }
        do {
            if mode == .readOnly {
                var readOptions = options
                readOptions.readOnly = true
                database = try Self.openReadOnly(path, options: readOptions)
            } else {
                database = try Database(path: path, options: options)
            }
        } catch let e as SQLiteError {
            throw EventStoreError(e, path: path)
        }
        if mode != .readOnly {
            try migrate()
        }
    }

    /// The schema version the file is at.
    public func schemaVersion() throws -> Int {
        try Self.appliedMigrations(database).last?.version ?? 0
    }

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
                throw EventStoreError.unusablePath(path: path, detail: "\(path + suffix) is \(companion.phrase), where SQLite keeps its own \(suffix.dropFirst()) file; remove it (nothing was written)")
            }
        }
    }

    /// Creates an empty file with mode 0600 at an unpredictable name beside `path` (creating
    /// missing directories with mode 0700); returns its path.
    private static func createPrivateFile(besides path: String) throws -> String {
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

    static func reason(_ err: Int32) -> String { String(cString: strerror(err)).lowercased() }

    private static func appliedMigrations(_ db: Database) throws -> [(version: Int, name: String, checksum: String)] {
        guard try db.tableExists("schema_migrations") else { return [] }
        return try db.withStatement("SELECT version, name, checksum FROM schema_migrations ORDER BY version") { s in
            var rows: [(Int, String, String)] = []
            while try s.step() { rows.append((s.int(0), s.string(1), s.string(2))) }
            return rows
        }
    }

    private static func checkSchema(_ db: Database, path: String, allowPending: Bool, allowEmpty: Bool) throws {
        let applied = try appliedMigrations(db)
        if applied.isEmpty {
            // An empty file (just created, or created by someone else) is a new ledger.
            let hasTables = try db.withStatement("SELECT count(*) FROM sqlite_master") { s in try s.step(); return s.int(0) > 0 }
            if hasTables { throw EventStoreError.notADatabase(path: path) }
            if !allowEmpty { throw EventStoreError.notInitialized(path: path) }
            return
        }
        let known = Migrations.all
        if let newest = applied.last, newest.version > Migrations.latestVersion {
            throw EventStoreError.newerSchema(path: path, found: newest.version, supported: Migrations.latestVersion)
        }
        for row in applied {
            guard let file = known.first(where: { $0.version == row.version }),
                  HashChain.sha256Hex(file.sql) == row.checksum else {
                throw EventStoreError.migrationChecksumMismatch(path: path, version: row.version, name: row.name)
            }
        }
        if !allowPending, applied.count < known.count {
            throw EventStoreError.cannotOpen(path: path, detail: "its schema (version \(applied.last!.version)) is older than this shiplog's (\(Migrations.latestVersion)); run `shiplog init` to upgrade it")
        }
    }

    /// Applies every pending migration, each in one transaction with its `schema_migrations` row.
    private func migrate() throws {
        try Self.migrate(database, path: path, clock: clock)
    }

    private static func migrate(_ database: Database, path: String, clock: () -> Date) throws {
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
    private static func createAtomically(at path: String, options: Database.Options, clock: () -> Date) throws {
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

    // MARK: Appending

    @discardableResult
    public func append(_ events: [NewEvent], to stream: String, expected: ExpectedVersion) throws -> AppendResult {
        try append([StreamAppend(stream: stream, expected: expected, events: events)])[0]
    }

    @discardableResult
    public func append(_ batches: [StreamAppend]) throws -> [AppendResult] {
        try append(batches, within: { _ in })
    }

    /// Appends, then runs `project` with the newly recorded events inside the same transaction:
    /// the projections commit with the events or not at all.
    @discardableResult
    public func append(_ batches: [StreamAppend], within project: ([RecordedEvent]) throws -> Void) throws -> [AppendResult] {
        // One id, one event: a UUID in capitals is the same event as in lower case.
        let batches = batches.map { batch in
            var batch = batch
            if batch.events.contains(where: { $0.id.utf8.contains { $0 >= 0x41 && $0 <= 0x5A } }) {
                batch.events = batch.events.map { var e = $0; e.id = e.id.lowercased(); return e }
            }
            return batch
        }
        for batch in batches { try Self.validate(batch) }
        guard batches.contains(where: { !$0.events.isEmpty }) else {
            throw EventStoreError.invalidEvent("no events to append (a batch without events is only a condition on another stream's version)")
        }
        return try database.inTransaction {
            var head = try currentHead()
            var previous = Hex.decode(head.hash) ?? HashChain.genesis
            var results: [AppendResult] = []
            var recorded: [RecordedEvent] = []
            let now = Timestamp.format(clock())
            for batch in batches {
                let current = try streamVersion(batch.stream)
                if batch.events.isEmpty {
                    // A condition: the stream must still be where the caller saw it; nothing is written to it.
                    let fits = switch batch.expected {
                    case .any: true
                    case .noStream: current == nil
                    case .exactly(let v): current == v
                    }
                    guard fits else { throw EventStoreError.wrongExpectedVersion(stream: batch.stream, expected: batch.expected, actual: current) }
                    results.append(AppendResult(stream: batch.stream, firstPosition: head.position + 1, lastPosition: head.position,
                                                streamVersion: current ?? 0, wasAlreadyCommitted: false))
                    continue
                }
                if let replay = try alreadyCommitted(batch, current: current, firstIDOnly: true) {
                    results.append(replay)
                    continue
                }
                let fits: Bool
                switch batch.expected {
                case .any: fits = true
                case .noStream: fits = current == nil
                case .exactly(let v): fits = current == v
                }
                if !fits {
                    // A batch that overlaps recorded ids is a conflict first, as when every id is checked.
                    _ = try alreadyCommitted(batch, current: current)
                    throw EventStoreError.wrongExpectedVersion(stream: batch.stream, expected: batch.expected, actual: current)
                }
                var version = current ?? 0
                let first = head.position + 1
                for event in batch.events {
                    version += 1
                    let position = head.position + 1
                    let digest = hasher.hash(previous: previous, position: position, eventID: event.id, stream: batch.stream,
                                             version: version, type: event.type, schema: event.schema, data: event.data,
                                             metadata: event.metadata, recordedAt: now)
                    let hex = Hex.encode(digest)
                    try insert(RecordedEvent(position: position, eventID: event.id, stream: batch.stream, version: version,
                                             type: event.type, schema: event.schema, data: event.data, metadata: event.metadata,
                                             recordedAt: now, hash: hex), into: &recorded)
                    previous = digest
                    head = Head(position: position, hash: hex)
                }
                results.append(AppendResult(stream: batch.stream, firstPosition: first, lastPosition: head.position,
                                            streamVersion: version, wasAlreadyCommitted: false))
            }
            if !recorded.isEmpty { try project(recorded) }
            return results
        }
    }

    private static func validate(_ batch: StreamAppend) throws {
        guard !batch.stream.isEmpty else { throw EventStoreError.invalidEvent("the stream name is empty") }
        var ids = Set<String>()
        for event in batch.events {
            guard !event.type.isEmpty else { throw EventStoreError.invalidEvent("an event type is empty") }
            guard event.schema >= 1 else { throw EventStoreError.invalidEvent("schema version must be 1 or more") }
            guard UUIDv7.isWellFormed(event.id) else { throw EventStoreError.invalidEvent("event id \(event.id) is not a UUID") }
            // Ids arrive lowercased (see `append`).
            guard batch.events.count == 1 || ids.insert(event.id).inserted else {
                throw EventStoreError.invalidEvent("event id \(event.id) appears twice in one batch")
            }
        }
    }

    private func insert(_ event: RecordedEvent, into recorded: inout [RecordedEvent]) throws {
        do {
            try database.withStatement("""
                INSERT INTO events (position, event_id, stream, version, type, schema, data, metadata, recorded_at, hash)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """) { s in
                s.bind(1, event.position)
                s.bind(2, event.eventID)
                s.bind(3, event.stream)
                s.bind(4, event.version)
                s.bind(5, event.type)
                s.bind(6, event.schema)
                s.bind(7, event.data)
                s.bind(8, event.metadata)
                s.bind(9, event.recordedAt)
                s.bind(10, event.hash)
                try s.run()
            }
        } catch EventStoreError.sqlite(_, let code, let message) where code & 0xFF == 19 /* SQLITE_CONSTRAINT */ {
            if message.contains("event_id") {
                throw EventStoreError.idempotencyConflict(stream: event.stream, detail: "event id \(event.eventID) is already recorded elsewhere in the ledger")
            }
            throw EventStoreError.invalidEvent("event \(event.eventID) (\(event.type)) was refused by the ledger: \(message) (data and metadata must be JSON objects)")
        }
        recorded.append(event)
    }

    /// EventStoreDB's idempotency rules: the whole batch already committed, in order, right after
    /// the expected version → the original result; part of it committed → a conflict.
    ///
    /// With `firstIDOnly`, a batch whose first id is new is taken as new without looking up the
    /// others: one of them already recorded still refuses the batch, at its insert (the unique
    /// `event_id` index), with nothing written.
    private func alreadyCommitted(_ batch: StreamAppend, current: Int64?, firstIDOnly: Bool = false) throws -> AppendResult? {
        if firstIDOnly, let first = batch.events.first {
            let recorded = try database.withStatement("SELECT 1 FROM events WHERE event_id = ?") { s in
                s.bind(1, first.id)
                return try s.step()
            }
            if !recorded { return nil }
        }
        var found: [(position: Int64, stream: String, version: Int64)?] = []
        for event in batch.events {
            found.append(try database.withStatement("SELECT position, stream, version FROM events WHERE event_id = ?") { s in
                s.bind(1, event.id)
                return try s.step() ? (s.int64(0), s.string(1), s.int64(2)) : nil
            })
        }
        let committed = found.compactMap { $0 }
        if committed.isEmpty { return nil }
        guard committed.count == found.count else {
            throw EventStoreError.idempotencyConflict(stream: batch.stream, detail: "\(committed.count) of the batch's \(found.count) event ids are already recorded")
        }
        let startVersion: Int64
        switch batch.expected {
        case .noStream: startVersion = 1
        case .exactly(let v): startVersion = v + 1
        case .any: startVersion = committed[0].version
        }
        for (offset, row) in committed.enumerated() {
            guard row.stream == batch.stream, row.version == startVersion + Int64(offset),
                  offset == 0 || row.position > committed[offset - 1].position else {
                throw EventStoreError.idempotencyConflict(stream: batch.stream, detail: "the batch's ids are recorded, but not in this order right after version \(startVersion - 1) of \(batch.stream)")
            }
        }
        return AppendResult(stream: batch.stream, firstPosition: committed.first!.position, lastPosition: committed.last!.position,
                            streamVersion: committed.last!.version, wasAlreadyCommitted: true)
    }

    private func streamVersion(_ stream: String) throws -> Int64? {
        try database.withStatement("SELECT max(version) FROM events WHERE stream = ?") { s in
            s.bind(1, stream)
            try s.step()
            return s.optionalInt64(0)
        }
    }

    func currentHead() throws -> Head {
        try database.withStatement("SELECT position, hash FROM events ORDER BY position DESC LIMIT 1") { s in
            try s.step() ? Head(position: s.int64(0), hash: s.string(1)) : Head(position: 0, hash: HashChain.genesisHex)
        }
    }

    // MARK: Importing

    /// Loads events exactly as another ledger recorded them (positions, times and hashes kept),
    /// checking each against the chain first. Only appends right after the current head.
    public func importRecorded(_ events: [RecordedEvent], within project: ([RecordedEvent]) throws -> Void = { _ in }) throws {
        try database.inTransaction {
            var head = try currentHead()
            var previous = Hex.decode(head.hash) ?? HashChain.genesis
            var recorded: [RecordedEvent] = []
            recorded.reserveCapacity(events.count)
            for event in events {
                guard event.position == head.position + 1 else {
                    throw EventStoreError.invalidEvent("position \(event.position) does not follow \(head.position): the import is missing events or out of order")
                }
                let digest = hasher.hash(previous: previous, position: event.position, eventID: event.eventID, stream: event.stream,
                                         version: event.version, type: event.type, schema: event.schema, data: event.data,
                                         metadata: event.metadata, recordedAt: event.recordedAt)
                guard Hex.encode(digest) == event.hash else {
                    throw EventStoreError.invalidEvent("hash mismatch at position \(event.position): the import file was altered or damaged")
                }
                try Self.validateImported(event)
                let expectedVersion = (try streamVersion(event.stream) ?? 0) + 1
                guard event.version == expectedVersion else {
                    throw EventStoreError.invalidEvent("position \(event.position): stream \(event.stream) version \(event.version) where \(expectedVersion) was expected")
                }
                try insert(event, into: &recorded)
                previous = digest
                head = Head(position: event.position, hash: event.hash)
            }
            try project(recorded)
        }
    }

    /// An imported event must be one this store could have written: a valid chain is not enough,
    /// since anyone can compute a chain over events Shiplog would refuse.
    static func validateImported(_ event: RecordedEvent) throws {
        let at = "position \(event.position)"
        guard !event.stream.isEmpty, !event.type.isEmpty else { throw EventStoreError.invalidEvent("\(at): empty stream or type") }
        guard event.schema >= 1 else { throw EventStoreError.invalidEvent("\(at): schema version must be 1 or more") }
        guard UUIDv7.isWellFormed(event.eventID), event.eventID == event.eventID.lowercased() else {
            throw EventStoreError.invalidEvent("\(at): event id \(event.eventID) is not a lowercase UUID")
        }
        guard let time = Timestamp.parse(event.recordedAt), Timestamp.format(time) == event.recordedAt else {
            throw EventStoreError.invalidEvent("\(at): recorded_at \(event.recordedAt) is not a UTC time with milliseconds")
        }
    }

    // MARK: Reading

    public func readStream(_ stream: String, from version: Int64 = 1) throws -> [RecordedEvent] {
        try database.withStatement("SELECT \(Self.columns) FROM events WHERE stream = ? AND version >= ? ORDER BY version") { s in
            s.bind(1, stream)
            s.bind(2, version)
            var out: [RecordedEvent] = []
            let interner = TextInterner()
            while try s.step() { out.append(Self.row(s, interner)) }
            return out
        }
    }

    public var location: String { path }

    public func readStream(_ stream: String, below limit: StreamLimit) throws -> [RecordedEvent] {
        let (column, value): (String, Int64) = switch limit {
        case .version(let v): ("version", v)
        case .position(let p): ("position", p)
        }
        return try database.withStatement("SELECT \(Self.columns) FROM events WHERE stream = ? AND \(column) < ? ORDER BY version") { s in
            s.bind(1, stream)
            s.bind(2, value)
            var out: [RecordedEvent] = []
            while try s.step() { out.append(Self.row(s)) }
            return out
        }
    }

    public func lastEvent(of stream: String, belowVersion version: Int64) throws -> RecordedEvent? {
        try database.withStatement("SELECT \(Self.columns) FROM events WHERE stream = ? AND version < ? ORDER BY version DESC LIMIT 1") { s in
            s.bind(1, stream)
            s.bind(2, version)
            return try s.step() ? Self.row(s) : nil
        }
    }

    /// The type list is spelled into the SQL text, so that SQLite can match it with the partial
    /// index of migrations/0003_artifact_facts.sql.
    public func forEachEvent(ofTypes types: [String], _ body: (RecordedEvent) throws -> Void) throws {
        let list = types.map { "'" + $0.replacingOccurrences(of: "'", with: "''") + "'" }.joined(separator: ", ")
        try database.withStatement("SELECT \(Self.columns) FROM events WHERE type IN (\(list)) ORDER BY position") { s in
            while try s.step() { try body(Self.row(s)) }
        }
    }

    public func position(atOrBefore time: String) throws -> Int64 {
        try database.withStatement("SELECT coalesce(max(position), 0) FROM events WHERE recorded_at <= ?") { s in
            s.bind(1, time)
            try s.step()
            return s.int64(0)
        }
    }

    public func inTransaction<T>(_ body: () throws -> T) throws -> T { try database.inTransaction(body) }
    public func inReadTransaction<T>(_ body: () throws -> T) throws -> T { try database.inReadTransaction(body) }

    /// The event at `position`, if the ledger reaches it.
    public func event(at position: Int64) throws -> RecordedEvent? {
        try database.withStatement("SELECT \(Self.columns) FROM events WHERE position = ?") { s in
            s.bind(1, position)
            return try s.step() ? Self.row(s) : nil
        }
    }

    /// The events of `stream`, newest first, until `body` returns false. Streamed: a long stream
    /// is never loaded whole.
    public func forEachEventBackwards(of stream: String, _ body: (RecordedEvent) throws -> Bool) throws {
        try database.withStatement("SELECT \(Self.columns) FROM events WHERE stream = ? ORDER BY version DESC") { s in
            s.bind(1, stream)
            while try s.step() {
                if try !body(Self.row(s)) { return }
            }
        }
    }

    public func lastEvent(of stream: String) throws -> RecordedEvent? {
        try database.withStatement("SELECT \(Self.columns) FROM events WHERE stream = ? ORDER BY version DESC LIMIT 1") { s in
            s.bind(1, stream)
            return try s.step() ? Self.row(s) : nil
        }
    }

    public func readAll(from position: Int64 = 1, pageSize: Int = 1_000) -> EventPages {
        let interner = TextInterner()
        return EventPages(from: position, pageSize: pageSize) { [database] from, limit in
            try database.withStatement("SELECT \(Self.columns) FROM events WHERE position >= ? ORDER BY position LIMIT ?") { s in
                s.bind(1, from)
                s.bind(2, limit)
                var out: [RecordedEvent] = []
                out.reserveCapacity(limit)
                while try s.step() { out.append(Self.row(s, interner)) }
                return out
            }
        }
    }

    /// Calls `body` for every event from `position` on, in one read snapshot, without building pages.
    public func forEachEvent(from position: Int64 = 1, through last: Int64 = .max, _ body: (RecordedEvent) throws -> Void) throws {
        try database.inReadTransaction {
            try database.withStatement("SELECT \(Self.columns) FROM events WHERE position >= ? AND position <= ? ORDER BY position") { s in
                s.bind(1, position)
                s.bind(2, last)
                let interner = TextInterner()
                while try s.step() { try body(Self.row(s, interner)) }
            }
        }
    }

    /// Like `forEachEvent`, for a replay into projections, which reads what each event says and
    /// not how it is identified or chained: `eventID`, `metadata` and `hash` are left empty, so a
    /// rebuild does not read and copy them for every event.
    public func forEachEventForReplay(from position: Int64 = 1, _ body: (RecordedEvent) throws -> Void) throws {
        try database.inReadTransaction {
            try database.withStatement("""
                SELECT position, stream, version, type, schema, data, recorded_at FROM events WHERE position >= ? ORDER BY position
                """) { s in
                s.bind(1, position)
                let interner = TextInterner()
                while try s.step() {
                    try body(RecordedEvent(position: s.int64(0), eventID: "", stream: s.string(1, interning: interner), version: s.int64(2),
                                           type: s.string(3, interning: interner), schema: s.int(4), data: s.string(5), metadata: "",
                                           recordedAt: s.string(6), hash: ""))
                }
            }
        }
    }

    public func head() throws -> Head { try currentHead() }

    /// The `events` columns in `RecordedEvent` order, for projections that read streams themselves.
    public static var columnList: String { columns }

    /// A `RecordedEvent` from a row selected with `columnList`.
    public static func decodeRow(_ s: Statement) -> RecordedEvent { row(s) }

    static let columns = "position, event_id, stream, version, type, schema, data, metadata, recorded_at, hash"

    static func row(_ s: Statement) -> RecordedEvent {
        RecordedEvent(position: s.int64(0), eventID: s.string(1), stream: s.string(2), version: s.int64(3), type: s.string(4),
                      schema: s.int(5), data: s.string(6), metadata: s.string(7), recordedAt: s.string(8), hash: s.string(9))
    }

    /// A row of a scan: stream and type, which repeat, come from `interner`.
    static func row(_ s: Statement, _ interner: TextInterner) -> RecordedEvent {
        RecordedEvent(position: s.int64(0), eventID: s.string(1), stream: s.string(2, interning: interner), version: s.int64(3),
                      type: s.string(4, interning: interner), schema: s.int(5), data: s.string(6), metadata: s.string(7),
                      recordedAt: s.string(8), hash: s.string(9))
    }
}
