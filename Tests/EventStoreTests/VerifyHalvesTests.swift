import SQLiteStore
import EventStore
import Foundation
import ShiplogTestSupport
import Testing

/// A long ledger is verified in two halves at once; whatever was altered, and wherever, the
/// report must be the one a single pass gives: the same first break, head and count.
@Suite("Verify in two halves")
struct VerifyHalvesTests {
    static let dropTriggers = "DROP TRIGGER events_are_immutable; DROP TRIGGER events_are_permanent;"

    /// 200 events on five interleaved streams; the halves meet between positions 100 and 101.
    func makeLedger() throws -> (TestLedger, [RecordedEvent]) {
        let ledger = try TestLedger()
        let store = try ledger.open()
        for batch in 0..<20 {
            try store.append((0..<10).map { event(batch * 10 + $0) }, to: "stream-\(batch % 5)", expected: .any)
        }
        return (ledger, try allEvents(store))
    }

    func reports(_ ledger: TestLedger, expect: Head? = nil) throws -> (single: VerifyReport, halves: VerifyReport) {
        let store = try ledger.open(.readOnly)
        store.verifyInHalvesThreshold = .max
        let single = try store.verify(expect: expect, progress: nil)
        store.verifyInHalvesThreshold = 0
        let halves = try store.verify(expect: expect, progress: nil)
        return (single, halves)
    }

    @Test func anIntactLedgerAndEveryKeptDigest() throws {
        let (ledger, events) = try makeLedger()
        let (single, halves) = try reports(ledger)
        #expect(single.isIntact && single.eventsChecked == 200)
        #expect(halves == single)
        for position in [1, 50, 100, 101, 150, 200] {
            let kept = Head(position: Int64(position), hash: events[position - 1].hash)
            let (a, b) = try reports(ledger, expect: kept)
            #expect(a.isIntact, "expect \(kept)")
            #expect(b == a, "expect \(kept)")
            let wrong = Head(position: Int64(position), hash: String(repeating: "ab", count: 32))
            let (c, d) = try reports(ledger, expect: wrong)
            #expect(!c.isIntact, "expect \(wrong)")
            #expect(d == c, "expect \(wrong)")
        }
        let beyond = Head(position: 250, hash: String(repeating: "cd", count: 32))
        let (e, f) = try reports(ledger, expect: beyond)
        #expect(!e.isIntact)
        #expect(f == e)
    }

    @Test(arguments: [
        "UPDATE events SET data = '{\"x\":1}' WHERE position = %d;",
        "DELETE FROM events WHERE position = %d;",
        "DELETE FROM events WHERE position >= %d AND position < %d + 3;",
        "UPDATE events SET version = 999 WHERE position = %d;",
        "UPDATE events SET stream = 'elsewhere' WHERE position = %d;",
        "UPDATE events SET hash = 'nothex' WHERE position = %d;",
    ])
    func anAlterationAnywhereGivesTheSameReport(sql: String) throws {
        for position in [1, 2, 50, 99, 100, 101, 102, 106, 150, 199, 200] {
            let (ledger, events) = try makeLedger()
            try ledger.sql(Self.dropTriggers + sql.replacingOccurrences(of: "%d", with: String(position)))
            let (single, halves) = try reports(ledger)
            #expect(halves == single, "\(sql) at \(position)")
            let kept = Head(position: 150, hash: events[149].hash)
            let (a, b) = try reports(ledger, expect: kept)
            #expect(b == a, "\(sql) at \(position), expecting \(kept)")
        }
    }
}
