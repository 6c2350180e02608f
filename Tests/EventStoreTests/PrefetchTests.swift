import EventStore
import Foundation
import ShiplogTestSupport
import Testing

/// Long scans read on a second thread and connection; they must give exactly what a scan on
/// the calling thread gives, stop cleanly, and report errors after the events before them.
@Suite("Reading: scans on a second thread")
struct PrefetchTests {
    struct Stop: Error, Equatable {}

    /// 3,000 events over 30 streams, with the threshold lowered so every scan prefetches.
    func ledger() throws -> (TestLedger, SQLiteEventStore) {
        let ledger = try TestLedger()
        let store = try ledger.open()
        for batch in 0..<30 {
            try store.append((0..<100).map { event(batch * 100 + $0) }, to: "stream-\(batch % 30)", expected: .any)
        }
        store.prefetchThreshold = 0
        return (ledger, store)
    }

    @Test func aPrefetchedScanGivesEveryEventInOrder() throws {
        let (directory, store) = try ledger()
        let expected = try allEvents(store)
        var seen: [RecordedEvent] = []
        try store.forEachEvent { seen.append($0) }
        #expect(seen == expected)

        var ranged: [RecordedEvent] = []
        try store.forEachEvent(from: 1_001, through: 2_500) { ranged.append($0) }
        #expect(ranged == Array(expected[1_000..<2_500]))

        var transformed: [(RecordedEvent, Int)] = []
        try store.forEachEvent(prefetching: { $0.data.utf8.count }) { transformed.append(($0, $1)) }
        #expect(transformed.map(\.0) == expected)
        #expect(transformed.map(\.1) == expected.map(\.data.utf8.count))
        withExtendedLifetime(directory) {}
    }

    @Test func anErrorFromTheTransformArrivesAfterTheEventsBeforeIt() throws {
        let (directory, store) = try ledger()
        var seen: [Int64] = []
        #expect(throws: Stop.self) {
            try store.forEachEvent(prefetching: { event in
                if event.position == 1_234 { throw Stop() }
                return event.position
            }) { _, position in seen.append(position) }
        }
        #expect(seen == Array(1...1_233))
        withExtendedLifetime(directory) {}
    }

    @Test func aBodyThatStopsEarlyEndsTheScanAndTheReader() throws {
        let (directory, store) = try ledger()
        var seen = 0
        #expect(throws: Stop.self) {
            try store.forEachEvent { _ in
                seen += 1
                if seen == 10 { throw Stop() }
            }
        }
        #expect(seen == 10)
        // The reader has let go: the ledger still takes appends and scans.
        try store.append([event(9_999)], to: "after", expected: .noStream)
        var count = 0
        try store.forEachEvent { _ in count += 1 }
        #expect(count == 3_001)
        withExtendedLifetime(directory) {}
    }

    @Test func insideATransactionTheScanStaysOnTheCallersConnection() throws {
        let (directory, store) = try ledger()
        // Events appended in the caller's open transaction are seen by a plain scan.
        try store.database.inTransaction {
            try store.append([event(10_000)], to: "inside", expected: .noStream)
            var last: RecordedEvent?
            try store.forEachEvent { last = $0 }
            #expect(last?.stream == "inside")
        }
        withExtendedLifetime(directory) {}
    }

    @Test func anInMemoryLedgerScansOnTheCallingThread() throws {
        let store = try SQLiteEventStore(path: ":memory:")
        store.prefetchThreshold = 0
        try store.append((0..<50).map { event($0) }, to: "s", expected: .noStream)
        var seen: [Int64] = []
        try store.forEachEvent(prefetching: { $0.position }) { seen.append($1) }
        #expect(seen == Array(1...50))
    }
}
