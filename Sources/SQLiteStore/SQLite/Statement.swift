import EventStore
import CSQLite

/// A prepared statement owned by a `Database`, reused across calls.
///
/// Binding indexes start at 1 and column indexes at 0, as in SQLite.
public final class Statement {
    let handle: OpaquePointer
    unowned let database: Database
    let sql: String

    init(database: Database, sql: String) throws {
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(database.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else {
            throw SQLiteError(code: rc, message: String(cString: sqlite3_errmsg(database.handle)), sql: sql)
        }
        self.handle = stmt
        self.database = database
        self.sql = sql
    }

    /// Text bound since the last reset, copied here and bound without SQLite copying it again
    /// (SQLITE_STATIC): an append binds six texts per event, and SQLite's own copies each cost
    /// an allocation behind its memory mutex. Chunks are never moved, so a bound pointer stays
    /// valid until `reset`, which clears the bindings before the bytes are reused.
    // Touched several times per bound text; one statement is used by one thread at a time
    // (see `Database`), so the accesses need no run-time exclusivity checks.
    @exclusivity(unchecked) private var chunks: [UnsafeMutableRawPointer] = []
    @exclusivity(unchecked) private var chunkUsed = 0
    private static let chunkSize = 16_384

    deinit {
        sqlite3_finalize(handle)
        for chunk in chunks { chunk.deallocate() }
    }

    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        if chunks.count > 1 {
            for chunk in chunks.dropFirst() { chunk.deallocate() }
            chunks.removeSubrange(1...)
        }
        chunkUsed = 0
    }

    /// Room for `count` bytes that stays put until `reset`. `chunks[0]` is the chunk being
    /// filled (kept across resets); the rest are full chunks and oversized texts, freed at reset.
    private func room(_ count: Int) -> UnsafeMutableRawPointer {
        if chunks.isEmpty {
            chunks.append(UnsafeMutableRawPointer.allocate(byteCount: Self.chunkSize, alignment: 8))
            chunkUsed = 0
        }
        if count > Self.chunkSize {
            let own = UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 8)
            chunks.append(own)
            return own
        }
        if chunkUsed + count > Self.chunkSize {
            chunks.append(chunks[0])
            chunks[0] = UnsafeMutableRawPointer.allocate(byteCount: Self.chunkSize, alignment: 8)
            chunkUsed = 0
        }
        let at = chunks[0] + chunkUsed
        chunkUsed += count
        return at
    }

    public func bind(_ index: Int32, _ value: Int64) {
        sqlite3_bind_int64(handle, index, value)
    }

    public func bind(_ index: Int32, _ value: Int) {
        sqlite3_bind_int64(handle, index, Int64(value))
    }

    public func bind(_ index: Int32, _ value: Double) {
        sqlite3_bind_double(handle, index, value)
    }

    public func bind(_ index: Int32, _ value: String) {
        // With its length, from the string's own bytes copied once into this statement's chunks:
        // passing a String where C wants a pointer would first copy it into a new
        // NUL-terminated array, and SQLITE_TRANSIENT would have SQLite copy it again.
        var value = value
        value.withUTF8 { bytes in
            guard let source = bytes.baseAddress, bytes.count > 0 else {
                sqlite3_bind_text(handle, index, "", 0, shiplog_sqlite_transient())
                return
            }
            let copy = room(bytes.count)
            copy.copyMemory(from: source, byteCount: bytes.count)
            sqlite3_bind_text(handle, index, copy.assumingMemoryBound(to: CChar.self), Int32(bytes.count), nil)
        }
    }

    public func bind(_ index: Int32, _ value: String?) {
        if let value { bind(index, value) } else { sqlite3_bind_null(handle, index) }
    }

    public func bind(_ index: Int32, _ value: Int64?) {
        if let value { bind(index, value) } else { sqlite3_bind_null(handle, index) }
    }

    public func bind(_ index: Int32, _ value: Bool) {
        sqlite3_bind_int64(handle, index, value ? 1 : 0)
    }

    /// Advances to the next row; false when the statement is done.
    @discardableResult
    public func step() throws -> Bool {
        let rc = sqlite3_step(handle)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        throw EventStoreError(
            SQLiteError(
                code: rc, message: String(cString: sqlite3_errmsg(database.handle)), sql: sql,
                systemErrno: sqlite3_system_errno(database.handle)),
            path: database.path)
    }

    /// Runs a statement that returns no rows.
    public func run() throws { _ = try step() }

    public var columnCount: Int32 { sqlite3_column_count(handle) }
    public func columnName(_ column: Int32) -> String { sqlite3_column_name(handle, column).map { String(cString: $0) } ?? "?" }
    public func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
    public func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(handle, column)) }
    public func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }
    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    public func string(_ column: Int32) -> String {
        String(decoding: textBytes(column), as: UTF8.self)
    }

    /// The column as text, shared with earlier rows that held the same text.
    func string(_ column: Int32, interning interner: TextInterner) -> String {
        interner.text(textBytes(column))
    }

    /// The column's bytes as text (empty for NULL), valid until the next step or reset.
    ///
    /// Through the column's value: one call into the statement instead of two (`sqlite3_column_text`
    /// and `sqlite3_column_bytes` each take the connection's lock and redo its error bookkeeping).
    /// A value read this way is "unprotected" (no lock held), which makes no difference on a
    /// connection without a lock: every `Database` is opened `SQLITE_OPEN_NOMUTEX` and used by one
    /// thread at a time.
    func textBytes(_ column: Int32) -> UnsafeRawBufferPointer {
        let value = sqlite3_column_value(handle, column)
        guard let text = sqlite3_value_text(value) else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: text, count: Int(sqlite3_value_bytes(value)))
    }

    /// The column as text shared with earlier rows, with a hash of its bytes.
    func keyedString(_ column: Int32, interning interner: TextInterner) -> (text: String, hash: UInt32) {
        interner.keyed(textBytes(column))
    }

    public func optionalString(_ column: Int32) -> String? {
        isNull(column) ? nil : string(column)
    }

    public func optionalInt64(_ column: Int32) -> Int64? {
        isNull(column) ? nil : int64(column)
    }

    /// The column's bytes, valid only until the next step or reset; for hashing without copies.
    public func withBytes<T>(_ column: Int32, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        let pointer = sqlite3_column_blob(handle, column)
        let count = Int(sqlite3_column_bytes(handle, column))
        return try body(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}
