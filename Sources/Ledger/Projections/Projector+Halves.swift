import EventStore
import Foundation

/// How a replay divides its work between threads.
public enum ReplaySplit: Sendable, Equatable {
    /// Two halves at once when the ledger holds at least `automaticThreshold` events, the
    /// store has a second connection and the machine a second core; one pass otherwise.
    case automatic
    /// One pass, in position order.
    case never
    /// The second half starts after this position, whatever the ledger's length (a test chooses
    /// its seam; a position outside the ledger means one pass).
    case after(Int64)

    /// Below this many events, a second thread and connection cost more than they save.
    public static let automaticThreshold: Int64 = 20_000

    /// The first half's share of the events: it also writes every row, the second half's too.
    static let firstHalfShare = 0.4

    /// The last position of the first half, or nil for one pass over `1...last`.
    func seam(last: Int64) -> Int64? {
        switch self {
        case .never: return nil
        case .after(let position): return position >= 1 && position < last ? position : nil
        case .automatic:
            guard last >= Self.automaticThreshold, ProcessInfo.processInfo.activeProcessorCount > 1 else { return nil }
            return Int64(Double(last) * Self.firstHalfShare)
        }
    }
}

extension Projector {
    /// Replays `1...seam` on this thread and `seam+1...last` at the same time on a second
    /// thread with a connection of its own (`EventStore.concurrentReader`); returns the events read.
    ///
    /// Each half folds its events as a replay in order does. The second half cannot write to
    /// the tables (this thread's transaction owns them): it hands its rows over (`SecondHalf`),
    /// and this thread writes them between its own batches. Order does not matter for rows:
    /// a row from an earlier event never replaces one from a later event (`ProjectionWrites`).
    /// A deployment the second half meets mid-way is folded from its earlier events, read on
    /// that connection, so its row is whole; the first half's partial row for it loses to that one.
    /// What does depend on order waits until the first half is done: the second half's prunes
    /// (the artifact may be stored in the first half, not written yet) and the environments'
    /// holders (the second half's are later). The tables end up exactly as one pass leaves them.
    ///
    /// An error stops both halves; the first half's is thrown before the second's, as one pass
    /// would meet it first. A second connection that cannot be opened is no error: this thread
    /// then replays the rest itself. Memory stays bounded as in one pass: rows wait only until this
    /// thread's next batch, and at most `maxHeldPrunes` prunes are held.
    static func replayInHalves(
        events: any EventStore, reader: @escaping @Sendable () throws -> any EventStore, into tables: any ProjectionStore,
        seam: Int64, last: Int64, maxHeldPrunes: Int, secondHalfFirst: Bool, progress: ((Int64) -> Void)?
    ) throws -> Int64 {
        let second = SecondHalf(maxHeldPrunes: maxHeldPrunes)
        let thread = Thread {
            let events: any EventStore
            do { events = try reader() } catch {
                second.finish(.failure(SecondHalf.Unavailable(reason: error)))
                return
            }
            do {
                let projector = Projector(events: events, tables: second, cacheStreams: true)
                let count = try projector.replay(events, from: seam + 1, through: last) { count in try second.read(count) }
                second.finish(.success(count))
            } catch {
                second.finish(.failure(error))
            }
        }
        thread.stackSize = 1 << 20
        thread.start()

        var held: [SecondHalf.Write] = []
        func write(_ writes: [SecondHalf.Write], holdingPrunes: Bool) throws {
            for w in writes {
                switch w {
                case .deployment(let row): try tables.upsert(deployment: row)
                case .artifact(let row): try tables.upsert(artifact: row)
                case .pruned(let name, let time, let position):
                    if holdingPrunes { held.append(w) } else { try tables.markPruned(artifact: name, at: time, position: position) }
                }
            }
        }

        let first = Projector(events: events, tables: tables, cacheStreams: true)
        let firstCount: Int64
        do {
            if secondHalfFirst {
                // Tests: every row of the second half lands before the first half's, the order
                // a slow first half comes closest to.
                second.waitUntilFinishedOrHolding()
                try write(second.take(), holdingPrunes: true)
            }
            firstCount = try first.replay(events, from: 1, through: seam) { count in
                try write(second.take(), holdingPrunes: true)
                if count % 10_000 == 0 { progress?(count + second.readSoFar) }
            }
            // Every artifact of the first half is written: the held prunes find theirs.
            try write(held, holdingPrunes: false)
            held = []
            second.firstHalfEnded()
        } catch {
            second.cancel()
            _ = second.waitUntilFinished()
            throw error
        }
        while true {
            let (writes, result) = second.waitForWrites()
            do { try write(writes, holdingPrunes: false) } catch {
                second.cancel()
                _ = second.waitUntilFinished()
                throw error
            }
            guard let result else {
                progress?(firstCount + second.readSoFar)
                continue
            }
            let secondCount: Int64
            do { secondCount = try result.get() } catch is SecondHalf.Unavailable {
                // No second connection after all (it could not be opened): this thread goes on
                // past the seam, as one pass would.
                let rest = try first.replay(events, from: seam + 1, through: last) { count in
                    if count % 10_000 == 0 { progress?(firstCount + count) }
                }
                progress?(firstCount + rest)
                return firstCount + rest
            }
            for (environment, holder) in second.environments.sorted(by: { $0.key < $1.key }) {
                try tables.setActive(environment: environment, deploymentID: holder.id, at: holder.time)
            }
            progress?(firstCount + secondCount)
            return firstCount + secondCount
        }
    }
}

/// The second half of a replay in halves: what its projector writes, held for the thread that
/// owns the tables. Every member is guarded by `condition`.
final class SecondHalf: ProjectionWrites, @unchecked Sendable {
    enum Write {
        case deployment(DeploymentRecord)
        case artifact(ArtifactRow)
        case pruned(name: String, time: String, position: Int64)
    }

    /// By default, at most this many prunes wait for the first half to end; the second half
    /// waits beyond.
    static let maxHeldPrunes = 100_000

    let maxHeldPrunes: Int

    private let condition = NSCondition()
    private var writes: [Write] = []
    private var heldPrunes = 0
    private var waitingToHold = false
    private var firstHalfDone = false
    private var cancelled = false
    private var result: Result<Int64, any Error>?
    private var read: Int64 = 0
    private var holders: [String: (id: String?, time: String)] = [:]

    struct Cancelled: Error {}

    /// The second half's connection could not be opened: it read and wrote nothing.
    struct Unavailable: Error {
        let reason: any Error
    }

    init(maxHeldPrunes: Int) { self.maxHeldPrunes = maxHeldPrunes }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        condition.lock()
        defer { condition.unlock() }
        return try body()
    }

    // MARK: The second half's thread

    func upsert(deployment row: DeploymentRecord) throws { try hand(.deployment(row)) }
    func upsert(artifact row: ArtifactRow) throws { try hand(.artifact(row)) }

    func markPruned(artifact name: String, at time: String, position: Int64) throws {
        try locked {
            while !firstHalfDone, heldPrunes >= maxHeldPrunes, !cancelled {
                waitingToHold = true
                condition.broadcast()
                condition.wait()
            }
            waitingToHold = false
            if !firstHalfDone { heldPrunes += 1 }
            try handLocked(.pruned(name: name, time: time, position: position))
        }
    }

    /// The last holder of each environment wins: the first half's thread writes them at the end.
    func setActive(environment: String, deploymentID: String?, at time: String) throws {
        locked { holders[environment] = (deploymentID, time) }
    }

    /// The first half's thread records the position, once both halves are in.
    func setPosition(_ position: Int64) throws {}

    /// Records how far the second half has read; throws once the first half has failed.
    func read(_ count: Int64) throws {
        try locked {
            read = count
            if cancelled { throw Cancelled() }
        }
    }

    func finish(_ outcome: Result<Int64, any Error>) {
        locked {
            result = outcome
            condition.broadcast()
        }
    }

    private func hand(_ write: Write) throws { try locked { try handLocked(write) } }

    private func handLocked(_ write: Write) throws {
        if cancelled { throw Cancelled() }
        writes.append(write)
        condition.broadcast()
    }

    // MARK: The first half's thread

    /// The writes handed over since the last call, in the order they were made.
    func take() -> [Write] {
        locked {
            let taken = writes
            writes = []
            return taken
        }
    }

    var readSoFar: Int64 { locked { read } }

    var environments: [String: (id: String?, time: String)] { locked { holders } }

    /// From now on prunes are written as they come.
    func firstHalfEnded() {
        locked {
            firstHalfDone = true
            heldPrunes = 0
            condition.broadcast()
        }
    }

    /// Waits for writes or the end; returns the writes, and the outcome once the second half
    /// has ended and every write it made is returned.
    func waitForWrites() -> ([Write], Result<Int64, any Error>?) {
        locked {
            while writes.isEmpty, result == nil { condition.wait() }
            let taken = writes
            writes = []
            return (taken, result)
        }
    }

    func cancel() {
        locked {
            cancelled = true
            condition.broadcast()
        }
    }

    /// Waits until the second half has ended or waits for room to hold a prune.
    func waitUntilFinishedOrHolding() {
        locked { while result == nil, !waitingToHold { condition.wait() } }
    }

    func waitUntilFinished() -> Result<Int64, any Error> {
        locked {
            while result == nil { condition.wait() }
            return result!
        }
    }
}
