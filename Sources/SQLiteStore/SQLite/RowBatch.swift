import CSQLite

/// The columns of one row of a query, by index from 0, wherever the row is held: a `Statement`
/// on it, or a copy in a `RowBatch`. What a reader makes of a row is written once, against this.
protocol RowColumns {
    func int64(_ column: Int32) -> Int64
    /// The column's bytes as text (empty for NULL), valid until the row moves on.
    func textBytes(_ column: Int32) -> UnsafeRawBufferPointer
}

extension Statement: RowColumns {}

/// Rows of one query copied out of SQLite, for a thread other than the one that stepped them:
/// each integer column's value and each text column's bytes, side by side in one buffer that
/// grows as needed and is reused batch after batch, so a row costs no allocation.
///
/// Owned by one thread at a time; it changes hands under a lock (see `ReadAhead`).
final class RowBatch: @unchecked Sendable {
    /// Which columns are integers (the rest are read as text), as given at creation; never freed
    /// while the batch lives.
    private let integers: UnsafeMutableBufferPointer<Bool>
    private let columns: Int
    // One thread at a time fills or reads a batch, column after column: no run-time exclusivity checks.
    /// Per row and column: an integer's value, or a text's offset in `bytes` and its length.
    private let slots: UnsafeMutablePointer<Int64>
    private let rowCapacity: Int
    @exclusivity(unchecked) private var bytes: UnsafeMutableRawPointer
    @exclusivity(unchecked) private var byteCapacity: Int
    @exclusivity(unchecked) private var used = 0
    @exclusivity(unchecked) private(set) var count = 0

    /// `integers[c]` says whether column `c` is read with `sqlite3_column_int64`.
    init(integers: [Bool], rows: Int, bytes: Int) {
        self.integers = .allocate(capacity: integers.count)
        _ = self.integers.initialize(from: integers)
        columns = integers.count
        rowCapacity = max(rows, 1)
        slots = .allocate(capacity: rowCapacity * columns * 2)
        byteCapacity = max(bytes, 64)
        self.bytes = .allocate(byteCount: byteCapacity, alignment: 16)
    }

    deinit {
        integers.deallocate()
        slots.deallocate()
        bytes.deallocate()
    }

    /// Whether the batch has taken as many rows, or as many bytes, as it was made for.
    func isFull(bytes limit: Int) -> Bool { count == rowCapacity || used >= limit }

    func removeAll() {
        count = 0
        used = 0
    }

    /// Copies the row `statement` is on.
    func append(_ statement: Statement) {
        let row = slots + count * columns * 2
        var used = self.used
        for c in 0..<columns {
            let column = Int32(truncatingIfNeeded: c)
            if integers[c] {
                row[2 * c] = statement.int64(column)
                continue
            }
            let text = statement.textBytes(column)
            let length = text.count
            if used + length > byteCapacity { grow(to: used + length, keeping: used) }
            if let base = text.baseAddress, length > 0 { (bytes + used).copyMemory(from: base, byteCount: length) }
            row[2 * c] = Int64(used)
            row[2 * c + 1] = Int64(length)
            used += length
        }
        self.used = used
        count += 1
    }

    /// Room for `needed` bytes, the first `kept` copied over.
    private func grow(to needed: Int, keeping kept: Int) {
        var capacity = byteCapacity
        while capacity < needed { capacity *= 2 }
        let larger = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        larger.copyMemory(from: bytes, byteCount: kept)
        bytes.deallocate()
        bytes = larger
        byteCapacity = capacity
    }

    /// Row `index` (below `count`), valid until the batch is emptied.
    func row(_ index: Int) -> Row {
        Row(slots: UnsafePointer(slots + index * columns * 2), bytes: UnsafeRawPointer(bytes))
    }

    struct Row: RowColumns {
        let slots: UnsafePointer<Int64>
        let bytes: UnsafeRawPointer

        func int64(_ column: Int32) -> Int64 { slots[2 * Int(column)] }

        func textBytes(_ column: Int32) -> UnsafeRawBufferPointer {
            let c = 2 * Int(column)
            return UnsafeRawBufferPointer(start: bytes + Int(slots[c]), count: Int(slots[c + 1]))
        }
    }
}
