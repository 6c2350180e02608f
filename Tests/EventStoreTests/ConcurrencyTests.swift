import SQLiteStore
import EventStore
import Foundation
import ShiplogTestSupport
import Testing

/// Several `shiplog` processes appending to one ledger at once.
@Suite("Concurrent writers", .serialized)
struct ConcurrencyTests {
    static let writers = 4
    static let appendsPerWriter = 250

    /// One acknowledged append, as `shiplog debug append-loop` printed it.
    struct Acknowledged: Hashable {
        var position: Int64
        var eventID: String
    }

    static func parse(_ stdout: String) -> [Acknowledged] {
        stdout.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 2, let position = Int64(parts[0]) else { return nil }
            return Acknowledged(position: position, eventID: String(parts[1]))
        }
    }

    /// Starts one writer per entry of `streams` at once, waits for all, and checks the ledger.
    func run(streams: [String], mode: String, initialize: Bool) throws {
        let ledger = try TestLedger()
        if initialize {
            let created = ledger.shiplog(["init"])
            try #require(created.status == 0, "\(created.stderr)")
        } else {
            // One `init` per writer, all at once: one ledger comes out, and every init sees it.
            let inits = try streams.map { _ in try ChildProcess(ShiplogBinary.url, ["init", "--db", ledger.path]) }
            for child in inits {
                let (status, _, stderr) = child.wait()
                try #require(status == 0, "\(stderr)")
            }
        }
        let children = try streams.map { stream in
            try ChildProcess(
                ShiplogBinary.url,
                [
                    "debug", "append-loop", "--db", ledger.path, "--stream", stream,
                    "--count", String(Self.appendsPerWriter), "--mode", mode,
                ])
        }
        var acknowledged: [Acknowledged] = []
        for (index, child) in children.enumerated() {
            let (status, stdout, stderr) = child.wait()
            #expect(status == 0, "writer \(index) on \(streams[index]): \(stderr)")
            let lines = Self.parse(stdout)
            #expect(lines.count == Self.appendsPerWriter, "writer \(index) acknowledged \(lines.count) appends")
            acknowledged += lines
        }
        let total = Self.writers * Self.appendsPerWriter
        #expect(acknowledged.map(\.position).sorted() == Array(1...Int64(total)), "each position acknowledged exactly once")

        let store = try ledger.open(.existing)
        let events = try allEvents(store, pageSize: 100)
        #expect(events.count == total)
        #expect(events.map(\.position) == Array(1...Int64(total)), "positions are gapless")
        let byPosition = Dictionary(uniqueKeysWithValues: events.map { ($0.position, $0.eventID) })
        for ack in acknowledged where byPosition[ack.position] != ack.eventID {
            Issue.record("position \(ack.position) holds \(byPosition[ack.position] ?? "nothing"), but \(ack.eventID) was acknowledged there")
        }
        #expect(Set(events.map(\.eventID)).count == total, "no event recorded twice")

        for stream in Set(streams) {
            let versions = events.filter { $0.stream == stream }.map(\.version)
            let expected = Self.appendsPerWriter * streams.filter { $0 == stream }.count
            #expect(versions == Array(1...Int64(expected)), "stream \(stream): versions are gapless and in position order")
            #expect(try store.readStream(stream, from: 1).map(\.version) == Array(1...Int64(expected)))
        }
        // Each writer's own events keep its order.
        var lastN: [String: Int] = [:]
        for e in events {
            let data = try #require(try JSONSerialization.jsonObject(with: Data(e.data.utf8)) as? [String: Any])
            let writer = "\(data["writer"] ?? "?")", n = (data["n"] as? NSNumber)?.intValue ?? -1
            #expect(n == (lastN[writer] ?? 0) + 1, "writer \(writer) at position \(e.position)")
            lastN[writer] = n
        }

        let report = try store.verify(expect: nil, progress: nil)
        #expect(report.isIntact, "\(String(describing: report.problem))")
        #expect(report.eventsChecked == Int64(total))
        let verified = ledger.shiplog(["verify"])
        #expect(verified.status == 0, "\(verified.stderr)")
        #expect(verified.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == report.head.description)
        #expect(report.head.position == Int64(total))
    }

    @Test(.timeLimit(.minutes(3)))
    func fourWritersShareOneStreamWithExpectedVersions() throws {
        try run(streams: Array(repeating: "shared", count: Self.writers), mode: "shared", initialize: true)
    }

    @Test(.timeLimit(.minutes(3)))
    func fourWritersOnFourStreams() throws {
        try run(streams: (1...Self.writers).map { "writer-\($0)" }, mode: "any", initialize: true)
    }

    @Test(.timeLimit(.minutes(3)))
    func fourInitsAtOnceMakeOneLedgerForFourWriters() throws {
        try run(streams: (1...Self.writers).map { "writer-\($0)" }, mode: "shared", initialize: false)
    }
}

/// A writer killed with SIGKILL at a random moment, again and again, on one ledger.
@Suite("Crashes", .serialized)
struct CrashTests {
    @Test(.timeLimit(.minutes(3)))
    func aKilledWriterLosesNoAcknowledgedEvent() throws {
        let ledger = try TestLedger()
        let created = ledger.shiplog(["init"])
        try #require(created.status == 0, "\(created.stderr)")
        var acknowledged: [ConcurrencyTests.Acknowledged] = []
        var rng = SystemRandomNumberGenerator()
        let runs = 20
        for run in 1...runs {
            let child = try ChildProcess(
                ShiplogBinary.url,
                [
                    "debug", "append-loop", "--db", ledger.path, "--stream", "crash",
                    "--count", "1000000", "--payload-bytes", "2000",
                ])
            usleep(UInt32.random(in: 50_000...400_000, using: &rng))
            child.signal(SIGKILL)
            let (status, stdout, stderr) = child.wait()
            #expect(status == 128 + SIGKILL, "run \(run): the writer ended on its own (\(status)): \(stderr)")
            // A line is written with one write(2) after the append returned; a cut line cannot be acknowledged.
            let complete = stdout.lastIndex(of: "\n").map { String(stdout[...$0]) } ?? ""
            let lines = ConcurrencyTests.parse(complete)
            acknowledged += lines

            let store = try ledger.open(.existing)
            let report = try store.verify(expect: nil, progress: nil)
            #expect(report.isIntact, "run \(run): \(String(describing: report.problem))")
            for ack in lines {
                var reader = store.readAll(from: ack.position, pageSize: 1)
                let recorded = try reader.next()
                #expect(recorded?.eventID == ack.eventID, "run \(run): acknowledged \(ack.eventID) at \(ack.position) is gone")
            }
        }
        #expect(!acknowledged.isEmpty, "no append was acknowledged in \(runs) runs: the kill came too early every time")

        let store = try ledger.open(.existing)
        let events = try allEvents(store)
        let recorded = Set(events.map(\.eventID))
        let lost = acknowledged.filter { !recorded.contains($0.eventID) }
        #expect(lost.isEmpty, "\(lost.count) acknowledged events are missing")
        // At most one append per kill can have committed without being acknowledged.
        #expect(events.count >= acknowledged.count)
        #expect(events.count <= acknowledged.count + runs)
        #expect(events.map(\.version) == (0..<events.count).map { Int64($0 + 1) })
        let verified = ledger.shiplog(["verify"])
        #expect(verified.status == 0, "\(verified.stderr)")
    }
}
