import EventStore
import Foundation
import SeededRandom
import ShiplogTestSupport
import Testing

@testable import SQLiteStore

/// A long scan steps its rows on a second thread, a batch ahead; whatever that reader meets, a
/// scan must deliver exactly the events and errors a scan on one thread delivers.
@Suite("Scans read ahead")
struct ReadAheadTests {
    /// 1,500 events on seven streams, payloads from 10 bytes to 400 KiB (larger than a batch's
    /// bytes), text outside ASCII, metadata that repeats and that does not.
    func makeLedger() throws -> TestLedger {
        let ledger = try TestLedger()
        let store = try ledger.open()
        var random = SeededRNG(seed: 14)
        var n = 0
        while n < 1_500 {
            let count = Int.random(in: 1...40, using: &random)
            let events = (0..<count).map { k -> NewEvent in
                let size = k == 0 && n % 7 == 3 ? 400_000 : Int.random(in: 0...300, using: &random)
                let text = String(repeating: "ü", count: size / 2) + String(repeating: "x", count: size % 2)
                let metadata = n % 3 == 0 ? #"{"runner":"ci-\#(n)","trace":"\#(UUIDv7.make())"}"# : #"{"runner":"shared-runner-of-the-team"}"#
                return NewEvent(type: k.isMultiple(of: 2) ? "Tested" : "AnotherLongerTypeName", data: #"{"n":\#(n + k),"text":"\#(text)"}"#, metadata: metadata)
            }
            try store.append(events, to: "stream-\(Int.random(in: 0..<7, using: &random))", expected: .any)
            n += count
        }
        return ledger
    }

    func scan(_ store: SQLiteEventStore, _ from: Int64, _ through: Int64) throws -> [RecordedEvent] {
        var out: [RecordedEvent] = []
        try store.forEachEvent(from: from, through: through) { out.append($0) }
        return out
    }

    func scanBytes(_ store: SQLiteEventStore, _ from: Int64, _ through: Int64) throws -> [RecordedEvent] {
        var out: [RecordedEvent] = []
        try store.forEachEvent(from: from, through: through) { (event: RecordedEvent, data: UnsafeBufferPointer<UInt8>) in
            #expect(event.data.isEmpty)
            var event = event
            event.data = String(decoding: data, as: UTF8.self)
            out.append(event)
        }
        return out
    }

    @Test func everyRangeReadsTheSameEventsAheadAsOnOneThread() throws {
        let ledger = try makeLedger()
        let store = try ledger.open(.readOnly)
        let all = try allEvents(store)
        let last = all.last!.position
        #expect(all.contains { $0.data.utf8.count > ReadAhead.bytesPerBatch })
        let ranges: [(Int64, Int64)] = [(1, .max), (1, last), (2, last - 1), (1, 1), (257, 513), (700, 1_400), (last, .max), (last + 1, .max), (10, 5), (0, 300), (.min, .max), (.min, 0)]
        for (from, through) in ranges {
            store.readAheadThreshold = .max
            let started = store.readAheadsStarted
            let one = try scan(store, from, through)
            let oneBytes = try scanBytes(store, from, through)
            #expect(store.readAheadsStarted == started)
            store.readAheadThreshold = 0
            let ahead = try scan(store, from, through)
            let aheadBytes = try scanBytes(store, from, through)
            #expect(store.readAheadsStarted == started + (through >= max(from, 1) && from <= last ? 2 : 0), "\(from)...\(through)")
            let expected = Array(all.filter { $0.position >= from && $0.position <= through })
            #expect(one == expected, "\(from)...\(through)")
            #expect(oneBytes == expected, "\(from)...\(through)")
            #expect(ahead == expected, "\(from)...\(through)")
            #expect(aheadBytes == expected, "\(from)...\(through)")
        }
    }

    @Test func theScanUsesItsOwnConnectionWhileTheReaderSteps() throws {
        let ledger = try makeLedger()
        let store = try ledger.open()
        store.readAheadThreshold = 0
        var seen = 0
        try store.forEachEvent(from: 1, through: .max) { event in
            // A reader of the scan's own connection meanwhile (a projection reading a stream).
            if event.position.isMultiple(of: 100) {
                let stream = try store.readStream(event.stream)
                #expect(stream.contains { $0.position == event.position })
            }
            seen += 1
        }
        #expect(seen == (try allEvents(store)).count)
        #expect(store.readAheadsStarted == 1)
    }

    @Test func aScanThatStopsEndsItsReaderAndReleasesItsSnapshot() throws {
        let ledger = try makeLedger()
        let store = try ledger.open()
        store.readAheadThreshold = 0
        struct Enough: Error {}
        for stop in [1, 255, 256, 700, 1_499] {
            var seen = 0
            #expect(throws: Enough.self) {
                try store.forEachEvent(from: 1, through: .max) { _ in
                    seen += 1
                    if seen == stop { throw Enough() }
                }
            }
            #expect(seen == stop)
            // A snapshot still held on the reader's connection would keep the checkpoint from
            // truncating the log (busy = 1).
            try store.append([event(stop)], to: "after-\(stop)", expected: .noStream)
            let busy = try store.database.withStatement("PRAGMA wal_checkpoint(TRUNCATE)") { s in
                try s.step()
                return s.int64(0)
            }
            #expect(busy == 0, "stopped at \(stop)")
        }
        #expect(try scan(store, 1, .max).count == (try allEvents(store)).count)
    }

    @Test func eventsNotYetCommittedAreReadOnTheScansConnection() throws {
        let ledger = try makeLedger()
        let store = try ledger.open()
        store.readAheadThreshold = 0
        let before = try allEvents(store).count
        let new = (0..<300).map { event(10_000 + $0) }
        let inside = try store.inTransaction {
            let appended = try store.append(new, to: "uncommitted", expected: .noStream)
            #expect(appended.lastPosition == Int64(before + 300))
            return try scan(store, 1, .max)
        }
        // The reader's connection cannot see them: it must hand the range back, not end early.
        #expect(inside.count == before + 300)
        #expect(Array(inside.suffix(300)).map(\.eventID) == new.map(\.id))
        #expect(store.readAheadsStarted == 1)
    }

    @Test func aCorruptPageGivesTheSameEventsThenTheSameError() throws {
        let ledger = try makeLedger()
        try ledger.sql("PRAGMA wal_checkpoint(TRUNCATE);")
        let page = try #require(
            Int(
                try ledger.sql("SELECT pageno FROM dbstat WHERE name = 'events' AND pagetype = 'leaf' ORDER BY pageno LIMIT 1 OFFSET 40;")
                    .trimmingCharacters(in: .whitespacesAndNewlines)))
        let pageSize = try #require(Int(try ledger.sql("PRAGMA page_size;").trimmingCharacters(in: .whitespacesAndNewlines)))
        let file = try #require(FileHandle(forUpdatingAtPath: ledger.path))
        try file.seek(toOffset: UInt64((page - 1) * pageSize))
        try file.write(contentsOf: Data(repeating: 0xA5, count: pageSize))
        try file.close()

        func outcome(threshold: Int64) throws -> (events: [RecordedEvent], error: EventStoreError?) {
            let store = try ledger.open(.readOnly)
            store.readAheadThreshold = threshold
            var events: [RecordedEvent] = []
            let error = storeError { try store.forEachEvent(from: 1, through: .max) { events.append($0) } }
            #expect(store.readAheadsStarted == (threshold == 0 ? 1 : 0))
            return (events, error)
        }
        let one = try outcome(threshold: .max)
        let ahead = try outcome(threshold: 0)
        guard case .corrupt? = one.error else {
            Issue.record("expected the ledger to read as corrupt, got \(String(describing: one.error))")
            return
        }
        #expect(one.events.count > 0)
        #expect(ahead.events == one.events)
        #expect(ahead.error.map { "\($0)" } == one.error.map { "\($0)" })
    }
}
