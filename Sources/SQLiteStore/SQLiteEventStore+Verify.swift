import EventStore
import Foundation

extension SQLiteEventStore {
    /// Recomputes the chain over every event, in one read snapshot, hashing straight from
    /// SQLite's column buffers so a ledger of millions of events streams through in constant memory.
    ///
    /// A long ledger is checked in two halves at once, on two threads with a connection each:
    /// every event's hash is recomputed from the previous event's stored hash, so the second half
    /// starts from the stored hash before it; the report is the one a single pass would give (the
    /// first break in position order, and the chain as verified up to it).
    ///
    /// - Parameters:
    ///   - expect: a head kept from earlier; the event at its position must still carry its hash.
    ///   - progress: called with the position reached, every 10,000 events (checked in two
    ///     halves at once, twice the first half's position: both halves go at one pace).
    public func verify(expect: Head? = nil, progress: ((Int64) -> Void)? = nil) throws -> VerifyReport {
        try database.inReadTransaction {
            // Position 0 is the empty ledger: only the genesis hash describes it.
            if let expect, expect.position == 0, expect.hash != HashChain.genesisHex {
                return VerifyReport(
                    head: Head(position: 0, hash: HashChain.genesisHex), eventsChecked: 0,
                    problem: .expectationFailed(position: 0, expected: expect.hash, found: HashChain.genesisHex))
            }
            let last = try currentHead().position
            guard path != ":memory:", ProcessInfo.processInfo.activeProcessorCount > 1, last >= max(verifyInHalvesThreshold, 2) else {
                var scan = ChainScan(from: 1, previous: HashChain.genesis, expect: expect, tracksFirstVersions: false)
                try scan.run(database, through: .max, progress: progress)
                return scan.report(offset: 0, expect: expect)
            }
            return try verifyInHalves(through: last, expect: expect, progress: progress)
        }
    }

    private func verifyInHalves(through last: Int64, expect: Head?, progress: ((Int64) -> Void)?) throws -> VerifyReport {
        let middle = last / 2
        // The second half chains from the stored hash before it; if that event is gone or
        // altered, the first half reports it, and the second half's result is not used.
        let seam = try database.withStatement("SELECT hash FROM events WHERE position = ?") { s in
            s.bind(1, middle)
            return try s.step() ? s.string(0) : nil
        }
        let seamHash = seam.flatMap(Hex.decode).flatMap { $0.count == 32 ? $0 : nil } ?? HashChain.genesis

        let path = self.path, options = readOptions
        let box = ScanBox()
        let thread = Thread {
            var scan = ChainScan(from: middle + 1, previous: seamHash, expect: expect, tracksFirstVersions: true)
            do {
                let database = try Self.openReadOnly(path, options: options)
                try database.inReadTransaction {
                    try scan.run(database, through: last, progress: nil)
                }
                box.finish(.success(scan))
            } catch {
                box.finish(.failure(error))
            }
        }
        thread.stackSize = 1 << 20
        thread.start()
        var first = ChainScan(from: 1, previous: HashChain.genesis, expect: expect, tracksFirstVersions: false)
        // The halves go at one pace: the first's position, doubled, is how far both have come.
        let both = progress.map { report in { (position: Int64) in report(min(last, position * 2)) } }
        let firstResult = Result { try first.run(database, through: middle, progress: both) }
        let second = try box.wait().get()
        try firstResult.get()

        // Each half alone is a pass over its events; joined, the first break in position order wins.
        if first.problem != nil { return first.report(offset: 0, expect: expect) }
        if first.expectedPosition <= middle {
            // The first half ended early: its next event is the second half's first.
            return VerifyReport(
                head: first.verifiedHead, eventsChecked: first.checked,
                problem: .missingPosition(expected: first.expectedPosition, found: second.firstPosition ?? last))
        }
        // A stream's first event in the second half must follow its last in the first.
        var seamProblem: (position: Int64, problem: VerifyReport.Problem)?
        for (key, seen) in second.firstVersions {
            let stream = key.name
            let expected = (first.versions[key] ?? 0) + 1
            guard seen.version != expected, seen.position <= (second.problem?.position ?? .max),
                seen.position < (seamProblem?.position ?? .max)
            else { continue }
            seamProblem = (seen.position, .versionOutOfOrder(position: seen.position, stream: stream, expected: expected, found: seen.version))
        }
        if let seamProblem {
            let before = seamProblem.position - 1
            let hash =
                before == middle
                ? Hex.encode(first.previous)
                : try database.withStatement("SELECT hash FROM events WHERE position = ?") { s in
                    s.bind(1, before)
                    return try s.step() ? s.string(0) : HashChain.genesisHex
                }
            return VerifyReport(head: Head(position: before, hash: hash), eventsChecked: before, problem: seamProblem.problem)
        }
        var report = second.report(offset: first.checked, expect: nil)
        if let expect, report.problem == nil, !(first.expectationMet || second.expectationMet) {
            report.problem = .expectationFailed(position: expect.position, expected: expect.hash, found: nil)
        }
        return report
    }
}

/// One pass of the chain over consecutive positions, from `from` (whose previous hash is given).
struct ChainScan: Sendable {
    var expectedPosition: Int64
    /// The last verified digest: the hash before `from` until an event is verified.
    var previous: [UInt8]
    let expect: Head?
    /// Each stream's last version seen.
    var versions: [StreamKey: Int64] = [:]
    /// For a pass that does not start at position 1: each stream's first (position, version),
    /// checked against the earlier part once it is known.
    var firstVersions: [StreamKey: (position: Int64, version: Int64)] = [:]
    let tracksFirstVersions: Bool
    var firstPosition: Int64?
    var checked: Int64 = 0
    var problem: VerifyReport.Problem?
    /// The report's head when `problem` is set.
    var problemHead: Head?
    var expectationMet: Bool

    init(from: Int64, previous: [UInt8], expect: Head?, tracksFirstVersions: Bool) {
        expectedPosition = from
        self.previous = previous
        self.expect = expect
        self.tracksFirstVersions = tracksFirstVersions
        expectationMet = expect == nil || expect!.position == 0
    }

    /// The last intact head; its hash is encoded only when reported.
    var verifiedHead: Head {
        Head(position: expectedPosition - 1, hash: expectedPosition == 1 ? HashChain.genesisHex : Hex.encode(previous))
    }

    mutating func run(_ database: Database, through last: Int64, progress: ((Int64) -> Void)?) throws {
        let chain = HashChain()
        let interner = TextInterner()
        let canonical = CanonicalBytes()
        var digest = [UInt8](repeating: 0, count: 32)
        try database.withStatement(SQLiteEventStore.rangeScan) { s in
            s.bind(1, expectedPosition)
            s.bind(2, last)
            while try s.step() {
                let position = s.int64(0)
                if firstPosition == nil { firstPosition = position }
                if position != expectedPosition {
                    fail(.missingPosition(expected: expectedPosition, found: position))
                    return
                }
                let (stream, hash) = s.keyedString(2, interning: interner)
                let version = s.int64(3)
                // One lookup: the version before this one, and this one recorded in its place.
                if let before = versions.updateValue(version, forKey: StreamKey(name: stream, hash: hash)) {
                    if version != before + 1 {
                        fail(.versionOutOfOrder(position: position, stream: stream, expected: before + 1, found: version))
                        return
                    }
                } else if tracksFirstVersions {
                    firstVersions[StreamKey(name: stream, hash: hash)] = (position, version)
                } else if version != 1 {
                    fail(.versionOutOfOrder(position: position, stream: stream, expected: 1, found: version))
                    return
                }

                // The canonical bytes of docs/HASH-CHAIN.md, gathered and hashed in one call.
                canonical.removeAll()
                previous.withUnsafeBytes { canonical.append($0) }
                canonical.appendInteger(UInt64(bitPattern: position))
                s.withBytes(1) { canonical.appendField($0) }
                s.withBytes(2) { canonical.appendField($0) }
                canonical.appendInteger(UInt64(bitPattern: version))
                s.withBytes(4) { canonical.appendField($0) }
                canonical.appendInteger(UInt64(bitPattern: s.int64(5)))
                s.withBytes(6) { canonical.appendField($0) }
                s.withBytes(7) { canonical.appendField($0) }
                s.withBytes(8) { canonical.appendField($0) }
                digest.withUnsafeMutableBufferPointer { chain.hashCanonical(canonical.bytes, into: $0) }

                guard s.withBytes(9, { Hex.equals(digest, $0) }) else {
                    fail(.hashMismatch(position: position, stored: s.string(9), computed: Hex.encode(digest)))
                    return
                }
                if let expect, expect.position == position {
                    guard s.withBytes(9, { Hex.equals(Hex.decode(expect.hash) ?? [], $0) }) else {
                        let stored = s.string(9)
                        problem = .expectationFailed(position: position, expected: expect.hash, found: stored)
                        problemHead = Head(position: position, hash: stored)
                        checked += 1
                        return
                    }
                    expectationMet = true
                }
                swap(&previous, &digest)
                checked += 1
                expectedPosition += 1
                if checked % 10_000 == 0 { progress?(position) }
            }
        }
    }

    private mutating func fail(_ found: VerifyReport.Problem) {
        problem = found
        problemHead = verifiedHead
    }

    /// The pass as a report; `offset` events were verified before it.
    func report(offset: Int64, expect: Head?) -> VerifyReport {
        if let problem { return VerifyReport(head: problemHead ?? verifiedHead, eventsChecked: offset + checked, problem: problem) }
        if let expect, !expectationMet {
            return VerifyReport(
                head: verifiedHead, eventsChecked: offset + checked,
                problem: .expectationFailed(position: expect.position, expected: expect.hash, found: nil))
        }
        return VerifyReport(head: verifiedHead, eventsChecked: offset + checked, problem: nil)
    }
}

/// A stream name keyed by the hash its bytes were read with: hashing it again for every event
/// would cost more than the rest of the bookkeeping.
struct StreamKey: Hashable, Sendable {
    let name: String
    let hash: UInt32

    func hash(into hasher: inout Hasher) { hasher.combine(hash) }
    static func == (a: StreamKey, b: StreamKey) -> Bool { a.hash == b.hash && a.name == b.name }
}

/// The second half's outcome, handed to the thread that waits for it.
private final class ScanBox: @unchecked Sendable {
    private let condition = NSCondition()
    private var result: Result<ChainScan, any Error>?

    func finish(_ result: Result<ChainScan, any Error>) {
        condition.lock()
        self.result = result
        condition.broadcast()
        condition.unlock()
    }

    func wait() -> Result<ChainScan, any Error> {
        condition.lock()
        defer { condition.unlock() }
        while result == nil { condition.wait() }
        return result!
    }
}
