import Foundation

/// A long scan's rows stepped on a second thread, on a read-only connection of its own, and
/// handed over in batches to the thread that makes events of them: SQLite's stepping and column
/// reads (two fifths of a scan's work) run beside the making and decoding of events instead of
/// before each one.
///
/// Only plain bytes cross threads (`RowBatch`, under this lock); every string, event and
/// reference count stays on the scanning thread. The reader stops at the first error of its
/// own (a file it cannot open, a snapshot that is not the scan's, a step that fails) and the
/// scanning thread reads the rest itself, on its own connection: whatever the reader does,
/// the scan delivers exactly the rows and errors a scan on one thread would.
final class ReadAhead: @unchecked Sendable {
    /// Rows and bytes per batch, and how many batches go round: the reader keeps up to three
    /// batches ahead of the scan, each of 256 rows or about 192 KiB, whichever comes first.
    static let rowsPerBatch = 256
    static let bytesPerBatch = 192 * 1024
    static let batches = 4

    private let condition = NSCondition()
    // Guarded by `condition`.
    private var empty: [RowBatch]
    private var filled: [RowBatch] = []
    /// The reader will hand over nothing more.
    private var ended = false
    /// It read every row of its range.
    private var complete = false
    /// The scan wants nothing more.
    private var cancelled = false
    /// The reader's thread has not returned.
    private var running = true

    private init(integers: [Bool]) {
        empty = (0..<Self.batches).map { _ in RowBatch(integers: integers, rows: Self.rowsPerBatch, bytes: Self.bytesPerBatch + 16 * 1024) }
    }

    /// Starts a thread that opens `open`'s connection, checks with `check` that it sees the
    /// scan's ledger, and steps `sql` (bound to `from` and `through`) to its end.
    /// - Parameter integers: which of the query's columns are integers (the rest are text).
    static func start(
        integers: [Bool], sql: String, from: Int64, through: Int64,
        open: @escaping @Sendable () throws -> Database, check: @escaping @Sendable (Database) throws -> Bool
    ) -> ReadAhead {
        let ahead = ReadAhead(integers: integers)
        let thread = Thread { ahead.read(sql: sql, from: from, through: through, open: open, check: check) }
        thread.stackSize = 1 << 20
        thread.start()
        return ahead
    }

    // MARK: The reader's side

    private func read(
        sql: String, from: Int64, through: Int64, open: () throws -> Database, check: (Database) throws -> Bool
    ) {
        var current: RowBatch?
        var stepped = false
        do {
            let database = try open()
            try database.inReadTransaction {
                guard try check(database) else { return }
                try database.withStatement(sql) { s in
                    s.bind(1, from)
                    s.bind(2, through)
                    guard let first = take() else { return }
                    current = first
                    while let batch = current, try s.step() {
                        batch.append(s)
                        if batch.isFull(bytes: Self.bytesPerBatch) {
                            hand(batch)
                            current = take()
                        }
                    }
                    stepped = current != nil
                }
            }
        } catch {
            // The scan reads on from the last row handed over, on its own connection.
        }
        if let current, current.count > 0 { hand(current) }
        condition.lock()
        ended = true
        complete = stepped
        running = false
        condition.broadcast()
        condition.unlock()
    }

    /// An empty batch to fill, or nil once the scan is cancelled.
    private func take() -> RowBatch? {
        condition.lock()
        defer { condition.unlock() }
        while empty.isEmpty, !cancelled { condition.wait() }
        return cancelled ? nil : empty.removeLast()
    }

    private func hand(_ batch: RowBatch) {
        condition.lock()
        filled.append(batch)
        condition.broadcast()
        condition.unlock()
    }

    // MARK: The scan's side

    /// The next batch in row order, nil when the reader has handed over everything it read.
    func next() -> RowBatch? {
        condition.lock()
        defer { condition.unlock() }
        while filled.isEmpty, !ended { condition.wait() }
        return filled.isEmpty ? nil : filled.removeFirst()
    }

    /// Gives a batch whose rows are done with back to the reader.
    func recycle(_ batch: RowBatch) {
        batch.removeAll()
        condition.lock()
        empty.append(batch)
        condition.broadcast()
        condition.unlock()
    }

    /// Whether the reader read its whole range (after `next` returned nil); if not, the scan
    /// reads on from the row after the last one handed over.
    var readWholeRange: Bool {
        condition.lock()
        defer { condition.unlock() }
        return complete
    }

    /// Stops the reader and waits until its thread has closed its connection and returned.
    func stop() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        while running { condition.wait() }
        condition.unlock()
    }
}
