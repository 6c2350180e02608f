import SQLiteStore
import EventStore
import Foundation
import ShiplogTestSupport
import Testing

@Suite("Reading: pages, streams, head")
struct ReadingTests {
    @Test func readAllPagesOverEveryEventInOrder() throws {
        let ledger = try TestLedger()
        let store = try ledger.open()
        var ids: [String] = []
        // 2,500 events in batches of 50, spread over five streams.
        for batch in 0..<50 {
            let events = (0..<50).map { event(batch * 50 + $0) }
            try store.append(events, to: "stream-\(batch % 5)", expected: .any)
            ids += events.map(\.id)
        }

        var pages = store.readAll(from: 1, pageSize: 100)
        var seen: [RecordedEvent] = []
        while let next = try pages.next() { seen.append(next) }
        #expect(seen.count == 2_500)
        #expect(seen.map(\.position) == Array(1...2_500))
        #expect(seen.map(\.eventID) == ids)
        #expect(try pages.next() == nil, "an exhausted page reader must stay exhausted")

        // Page sizes that do not divide the ledger, and starting points inside it.
        for (from, pageSize) in [(1, 7), (2_401, 100), (2_450, 1_000), (0, 333)] as [(Int64, Int)] {
            var reader = store.readAll(from: from, pageSize: pageSize)
            var positions: [Int64] = []
            while let next = try reader.next() { positions.append(next.position) }
            #expect(positions == Array(max(from, 1)...2_500), "from \(from), pages of \(pageSize)")
        }
        var past = store.readAll(from: 2_501, pageSize: 100)
        #expect(try past.next() == nil)
    }

    @Test func readStreamReturnsOneStreamFromAVersion() throws {
        let ledger = try TestLedger()
        let store = try ledger.open()
        for n in 1...10 {
            try store.append([event(n)], to: n % 2 == 0 ? "even" : "odd", expected: .any)
        }
        let even = try store.readStream("even", from: 1)
        #expect(even.map(\.version) == [1, 2, 3, 4, 5])
        #expect(even.map(\.position) == [2, 4, 6, 8, 10])
        #expect(even.allSatisfy { $0.stream == "even" })

        let fromThree = try store.readStream("even", from: 3)
        #expect(fromThree.map(\.version) == [3, 4, 5])
        #expect(fromThree == Array(even.dropFirst(2)))
        #expect(try store.readStream("even", from: 6).isEmpty)
        #expect(try store.readStream("missing", from: 1).isEmpty)
        #expect(try store.lastEvent(of: "odd")?.position == 9)
        #expect(try store.lastEvent(of: "odd")?.version == 5)
        #expect(try store.lastEvent(of: "missing") == nil)
    }

    @Test func headOfAnEmptyAndOfAFilledLedger() throws {
        let ledger = try TestLedger()
        let store = try ledger.open()
        let empty = try store.head()
        #expect(empty == Head(position: 0, hash: HashChain.genesisHex))
        #expect(empty.description == "0:" + String(repeating: "0", count: 64))
        let report = try store.verify(expect: nil, progress: nil)
        #expect(report.isIntact)
        #expect(report.eventsChecked == 0)
        #expect(report.head == empty)

        try store.append([event(1), event(2)], to: "s", expected: .noStream)
        try store.append([event(3)], to: "t", expected: .noStream)
        let head = try store.head()
        let last = try #require(try store.lastEvent(of: "t"))
        #expect(head == Head(position: 3, hash: last.hash))
        #expect(try store.verify(expect: nil, progress: nil).head == head)
        #expect(Head(parsing: head.description) == head)
    }
}
