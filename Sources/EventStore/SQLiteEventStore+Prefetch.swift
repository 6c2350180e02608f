import CSQLite
import Foundation

extension SQLiteEventStore {
    /// Every event from `position` through `last`, in order: each is read, and handed to
    /// `transform`, on a second thread with its own read connection, while `body` gets the events
    /// and their results on the calling thread. Two cores then share a replay: the reading thread
    /// builds rows and decodes them while this one folds and writes.
    ///
    /// The reading connection sees the committed ledger: events appended in a transaction the
    /// caller holds open are not seen (a rebuild, which only rewrites projections, holds one).
    /// An in-memory ledger, a single core or a short range runs both on the calling thread.
    /// An error thrown by `transform` reaches the caller after every event before it.
    public func forEachEvent<T: Sendable>(from position: Int64 = 1, through last: Int64 = .max,
                                          prefetching transform: @escaping @Sendable (RecordedEvent) throws -> T,
                                          _ body: (RecordedEvent, T) throws -> Void) throws {
        guard try worthPrefetching(from: position, through: last) else {
            try forEachEventHere(from: position, through: last) { event in try body(event, try transform(event)) }
            return
        }
        let channel = BatchChannel<(RecordedEvent, T)>(capacity: 8)
        let path = self.path, options = readOptions
        let reader = Thread {
            defer { channel.readerExited() }
            do {
                let database = try Self.openReadOnly(path, options: options)
                try database.inReadTransaction {
                    try database.withStatement("SELECT \(Self.columns) FROM events WHERE position >= ? AND position <= ? ORDER BY position") { s in
                        s.bind(1, position)
                        s.bind(2, last)
                        let interner = TextInterner()
                        var batch: [(RecordedEvent, T)] = []
                        batch.reserveCapacity(channel.batchSize)
                        while try s.step() {
                            let event = Self.row(s, interner)
                            do {
                                batch.append((event, try transform(event)))
                            } catch {
                                // The events before this one are still delivered, then the error.
                                _ = channel.put(batch)
                                throw error
                            }
                            if batch.count == channel.batchSize {
                                guard channel.put(batch) else { return }
                                batch.removeAll(keepingCapacity: true)
                            }
                        }
                        if !batch.isEmpty { _ = channel.put(batch) }
                    }
                }
                channel.finish(nil)
            } catch let error as SQLiteError {
                channel.finish(EventStoreError(error, path: path))
            } catch {
                channel.finish(error)
            }
        }
        reader.stackSize = 1 << 20
        reader.start()
        defer {
            channel.cancel()
            channel.waitForReader()
        }
        while let batch = try channel.take() {
            for (event, value) in batch { try body(event, value) }
        }
    }

    /// True when a scan is long enough to pay for a second connection and can have one.
    func worthPrefetching(from position: Int64, through last: Int64) throws -> Bool {
        guard path != ":memory:", ProcessInfo.processInfo.activeProcessorCount > 1 else { return false }
        let head = try currentHead().position
        return min(head, last) - max(position, 1) + 1 >= prefetchThreshold
    }

    /// The same scan on the calling thread's connection, in one read snapshot.
    func forEachEventHere(from position: Int64, through last: Int64, _ body: (RecordedEvent) throws -> Void) throws {
        try database.inReadTransaction {
            try database.withStatement("SELECT \(Self.columns) FROM events WHERE position >= ? AND position <= ? ORDER BY position") { s in
                s.bind(1, position)
                s.bind(2, last)
                let interner = TextInterner()
                while try s.step() { try body(Self.row(s, interner)) }
            }
        }
    }
}

/// Batches from a reading thread to the thread that consumes them, at most `capacity` waiting,
/// so memory stays bounded however far the reader could run ahead.
final class BatchChannel<Element>: @unchecked Sendable {
    let capacity: Int
    let batchSize = 256
    private let condition = NSCondition()
    private var batches: [[Element]] = []
    private var finished = false
    private var failure: (any Error)?
    private var cancelled = false
    private var readerDone = false

    init(capacity: Int) { self.capacity = capacity }

    /// Reader side: waits for room; false once the consumer has stopped.
    func put(_ batch: [Element]) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while batches.count >= capacity && !cancelled { condition.wait() }
        if cancelled { return false }
        batches.append(batch)
        condition.broadcast()
        return true
    }

    /// Reader side: no more batches; `error`, if any, is thrown after the last one.
    func finish(_ error: (any Error)?) {
        condition.lock()
        finished = true
        failure = error
        condition.broadcast()
        condition.unlock()
    }

    /// Reader side: the thread has released its connection.
    func readerExited() {
        condition.lock()
        readerDone = true
        condition.broadcast()
        condition.unlock()
    }

    /// Consumer side: the next batch, nil after the last; the reader's error once its batches are taken.
    func take() throws -> [Element]? {
        condition.lock()
        defer { condition.unlock() }
        while batches.isEmpty && !finished && !readerDone { condition.wait() }
        if !batches.isEmpty {
            condition.broadcast()
            return batches.removeFirst()
        }
        if let failure { throw failure }
        return nil
    }

    /// Consumer side: stop the reader (the consumer is done, or failed).
    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }

    func waitForReader() {
        condition.lock()
        while !readerDone { condition.wait() }
        condition.unlock()
    }
}
