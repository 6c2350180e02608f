import EventStore
import Foundation
import ShiplogFiles
import ShiplogMigrations

/// Reading: streams, pages, replays.
extension SQLiteEventStore {
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
        let (column, value): (String, Int64) =
            switch limit {
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
        try scanRange(from: position, through: last, data: true) { event, _ in try body(event) }
    }

    /// `forEachEvent` with each row's data as the bytes SQLite holds (`data` left empty).
    public func forEachEvent(from position: Int64, through last: Int64, dataBytes body: (RecordedEvent, UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        try scanRange(from: position, through: last, data: false) { event, data in try body(event, data.bindMemory(to: UInt8.self)) }
    }

    /// Steps `rangeScan` over positions `position...last` in one read snapshot and hands each
    /// row's event (its data a string only if `data`) and data bytes to `body`. A range of
    /// `readAheadThreshold` events or more is stepped on a second thread (`ReadAhead`).
    private func scanRange(
        from position: Int64, through last: Int64, data: Bool, _ body: (RecordedEvent, UnsafeRawBufferPointer) throws -> Void
    ) throws {
        try database.inReadTransaction {
            let interner = TextInterner()
            func emit<Row: RowColumns>(_ row: Row) throws {
                let event = Self.row(row, interner, data: data)
                try body(event, data ? UnsafeRawBufferPointer(start: nil, count: 0) : row.textBytes(6))
            }
            var next = position
            if let ahead = try readAhead(from: position, through: last) {
                defer { ahead.stop() }
                while let batch = ahead.next() {
                    for index in 0..<batch.count { try emit(batch.row(index)) }
                    next = batch.row(batch.count - 1).int64(0) + 1
                    ahead.recycle(batch)
                }
                if ahead.readWholeRange { return }
            }
            try database.withStatement(Self.rangeScan) { s in
                s.bind(1, next)
                s.bind(2, last)
                while try s.step() { try emit(s) }
            }
        }
    }

    /// A reader a batch ahead of this scan, on a connection of its own, when the range is long
    /// enough to be worth a thread, the machine has a second core and the file a second connection.
    /// It reads the range as far as this snapshot's head, and only if the event there carries
    /// the same hash on its connection: the same ledger, and every event of the range committed
    /// (events are never changed, so both snapshots hold the same rows).
    private func readAhead(from position: Int64, through last: Int64) throws -> ReadAhead? {
        // Positions start at 1; any range is taken as given (no arithmetic can overflow on it).
        let first = max(position, 1)
        guard path != ":memory:", ProcessInfo.processInfo.activeProcessorCount > 1, last >= first,
            readAheadThreshold <= 1 || last - first >= readAheadThreshold - 1
        else { return nil }
        let head = try currentHead()
        let end = min(last, head.position)
        guard end >= first, readAheadThreshold <= 1 || end - first >= readAheadThreshold - 1 else { return nil }
        let hash =
            end == head.position
            ? head.hash
            : try database.withStatement(Self.hashAt) { s in
                s.bind(1, end)
                return try s.step() ? s.string(0) : ""
            }
        let path = self.path, options = readOptions
        readAheadsStarted += 1
        return ReadAhead.start(
            integers: Self.columnsAreIntegers, sql: Self.rangeScan, from: first, through: end,
            open: { try Self.openReadOnly(path, options: options) },
            check: { database in
                try database.withStatement(Self.hashAt) { s in
                    s.bind(1, end)
                    return try s.step() && s.string(0) == hash
                }
            })
    }

    static let hashAt = "SELECT hash FROM events WHERE position = ?"

    /// Every column (`columns`) of the events from one position through another, in order.
    static let rangeScan = "SELECT \(columns) FROM events WHERE position >= ? AND position <= ? ORDER BY position"

    /// Like `forEachEvent`, for a replay into projections, which reads what each event says and
    /// not how it is identified or chained: `eventID`, `metadata` and `hash` are left empty, so a
    /// rebuild does not read and copy them for every event.
    public func forEachEventForReplay(from position: Int64 = 1, through last: Int64 = .max, _ body: (RecordedEvent) throws -> Void) throws {
        try forEachEventForReplay(from: position, through: last) { (event: RecordedEvent, data: UnsafeBufferPointer<UInt8>) in
            var event = event
            event.data = String(decoding: data, as: UTF8.self)
            try body(event)
        }
    }

    /// The replay scan with each row's data as the bytes SQLite holds, without a string made of it.
    public func forEachEventForReplay(
        from position: Int64 = 1, through last: Int64 = .max, dataBytes body: (RecordedEvent, UnsafeBufferPointer<UInt8>) throws -> Void
    ) throws {
        try database.inReadTransaction {
            try database.withStatement(Self.replayScan) { s in
                s.bind(1, position)
                s.bind(2, last)
                let interner = TextInterner()
                while try s.step() {
                    let event = RecordedEvent(
                        position: s.int64(0), eventID: "", stream: interner.stream(s.textBytes(1)), version: s.int64(2),
                        type: s.string(3, interning: interner), schema: s.int(4), data: "", metadata: "",
                        recordedAt: s.string(6), hash: "")
                    try s.withBytes(5) { data in try body(event, data.bindMemory(to: UInt8.self)) }
                }
            }
        }
    }

    /// What a replay reads of each event, in position order from one position through another.
    static let replayScan = "SELECT position, stream, version, type, schema, data, recorded_at FROM events WHERE position >= ? AND position <= ? ORDER BY position"

    /// A read-only connection to the same file, opened by the thread that reads on it.
    public func concurrentReader() -> (@Sendable () throws -> any EventStore)? {
        guard path != ":memory:" else { return nil }
        let path = self.path, options = readOptions
        return { try SQLiteEventStore(path: path, mode: .readOnly, options: options) }
    }

    public func head() throws -> Head { try currentHead() }

    /// The `events` columns in `RecordedEvent` order, for projections that read streams themselves.
    public static var columnList: String { columns }

    /// A `RecordedEvent` from a row selected with `columnList`.
    public static func decodeRow(_ s: Statement) -> RecordedEvent { row(s) }

    static let columns = "position, event_id, stream, version, type, schema, data, metadata, recorded_at, hash"

    static func row(_ s: Statement) -> RecordedEvent {
        RecordedEvent(
            position: s.int64(0), eventID: s.string(1), stream: s.string(2), version: s.int64(3), type: s.string(4),
            schema: s.int(5), data: s.string(6), metadata: s.string(7), recordedAt: s.string(8), hash: s.string(9))
    }

    /// Which of `columns` are integers.
    static let columnsAreIntegers = [true, false, false, true, false, true, false, false, false, false]

    /// A row of a scan: stream, type and metadata, which repeat, come from `interner`; the id, time
    /// and hash are held inline (`InlineText`), without a string each.
    /// With `data: false`, the event's `data` is left empty (the caller reads the column's bytes).
    static func row<Row: RowColumns>(_ s: Row, _ interner: TextInterner, data: Bool = true) -> RecordedEvent {
        RecordedEvent(
            position: s.int64(0), eventID: InlineText(utf8: s.textBytes(1)), stream: interner.stream(s.textBytes(2)), version: s.int64(3),
            type: interner.text(s.textBytes(4)), schema: Int(s.int64(5)), data: data ? String(decoding: s.textBytes(6), as: UTF8.self) : "",
            metadata: interner.metadata(s.textBytes(7)), recordedAt: InlineText(utf8: s.textBytes(8)), hash: InlineText(utf8: s.textBytes(9)))
    }
}
