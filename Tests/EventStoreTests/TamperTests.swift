import SQLiteStore
import EventStore
import Foundation
import ShiplogTestSupport
import Testing

/// Someone with the sqlite3 shell alters the ledger; `verify` (the store's and the CLI's) must say where.
@Suite("Tampering through the sqlite3 shell")
struct TamperTests {
    static let dropTriggers = "DROP TRIGGER events_are_immutable; DROP TRIGGER events_are_permanent;"

    /// A ledger of ten events on two streams, every `data` different, and the digest `verify` printed.
    func makeLedger() throws -> (ledger: TestLedger, events: [RecordedEvent], digest: String) {
        let ledger = try TestLedger()
        let events: [RecordedEvent]
        do {
            let store = try ledger.open()
            for n in 1...10 {
                try store.append([event(n)], to: n % 3 == 0 ? "b" : "a", expected: .any)
            }
            events = try allEvents(store)
        }
        let verified = ledger.shiplog(["verify"])
        try #require(verified.status == 0, "a fresh ledger must verify: \(verified.stderr)")
        let digest = verified.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(digest == "10:\(events[9].hash)")
        return (ledger, events, digest)
    }

    /// `shiplog verify --json` must fail with exit 3 and name `position`; the text form must too.
    func expectCLIFailure(
        _ ledger: TestLedger, at position: Int64, saying phrase: String, expect: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let extra = expect.map { ["--expect", $0] } ?? []
        let text = ledger.shiplog(["verify"] + extra)
        #expect(text.status == 3, "verify exit status; stderr: \(text.stderr)", sourceLocation: sourceLocation)
        #expect(text.stderr.contains(phrase), "\(text.stderr)", sourceLocation: sourceLocation)

        let json = ledger.shiplog(["verify", "--json"] + extra)
        #expect(json.status == 3, sourceLocation: sourceLocation)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any],
            "verify --json printed \(json.stdout)", sourceLocation: sourceLocation)
        #expect(object["ok"] as? Bool == false, sourceLocation: sourceLocation)
        #expect((object["bad_position"] as? NSNumber)?.int64Value == position, sourceLocation: sourceLocation)
    }

    func storeReport(_ ledger: TestLedger, expect: Head? = nil) throws -> VerifyReport {
        try ledger.open(.readOnly).verify(expect: expect, progress: nil)
    }

    @Test func changedDataIsNamedByPosition() throws {
        let (ledger, events, _) = try makeLedger()
        try ledger.sql(Self.dropTriggers + #"UPDATE events SET data = '{"n":4,"tampered":true}' WHERE position = 4;"#)

        let report = try storeReport(ledger)
        guard case .hashMismatch(let position, let stored, _)? = report.problem else {
            Issue.record("changed data gave \(String(describing: report.problem))")
            return
        }
        #expect(position == 4)
        #expect(stored == events[3].hash)
        #expect(report.head == Head(position: 3, hash: events[2].hash), "the chain is intact up to the event before")
        try expectCLIFailure(ledger, at: 4, saying: "at position 4:")
    }

    @Test func aDeletedRowIsAMissingPosition() throws {
        let (ledger, _, _) = try makeLedger()
        try ledger.sql(Self.dropTriggers + "DELETE FROM events WHERE position = 6;")

        #expect(try storeReport(ledger).problem == .missingPosition(expected: 6, found: 7))
        try expectCLIFailure(ledger, at: 6, saying: "missing position 6")
    }

    @Test func twoSwappedRowsNameTheLowerPosition() throws {
        let (ledger, _, _) = try makeLedger()
        try ledger.sql(
            Self.dropTriggers + """
                CREATE TEMP TABLE original AS SELECT position, data FROM events WHERE position IN (3, 8);
                UPDATE events SET data = (SELECT data FROM original WHERE original.position = 11 - events.position)
                WHERE position IN (3, 8);
                """)
        let swapped = try ledger.sql("SELECT data FROM events WHERE position IN (3, 8) ORDER BY position;")
        #expect(swapped == "{\"n\":8}\n{\"n\":3}\n")

        let report = try storeReport(ledger)
        guard case .hashMismatch(let position, _, _)? = report.problem else {
            Issue.record("swapped rows gave \(String(describing: report.problem))")
            return
        }
        #expect(position == 3)
        try expectCLIFailure(ledger, at: 3, saying: "at position 3:")
    }

    @Test func aRewrittenLastEventWithARecomputedHashFailsOnlyAgainstAKeptDigest() throws {
        let (ledger, events, digest) = try makeLedger()
        let last = events[9], previous = events[8]
        let forged = #"{"n":10,"forged":true}"#
        let hash = Hex.encode(
            HashChain().hash(
                previous: try #require(Hex.decode(previous.hash)), position: last.position,
                eventID: last.eventID, stream: last.stream, version: last.version, type: last.type,
                schema: last.schema, data: forged, metadata: last.metadata, recordedAt: last.recordedAt))
        try ledger.sql(Self.dropTriggers + "UPDATE events SET data = '\(forged)', hash = '\(hash)' WHERE position = 10;")

        // The chain itself is consistent again…
        let plain = ledger.shiplog(["verify"])
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(plain.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "10:\(hash)")
        #expect(try storeReport(ledger).isIntact)

        // …but not with the digest kept before the change.
        let kept = try #require(Head(parsing: digest))
        #expect(try storeReport(ledger, expect: kept).problem == .expectationFailed(position: 10, expected: last.hash, found: hash))
        try expectCLIFailure(ledger, at: 10, saying: "position 10", expect: digest)

        // A digest from before the forged event still holds.
        let earlier = ledger.shiplog(["verify", "--expect", "9:\(previous.hash)"])
        #expect(earlier.status == 0, "\(earlier.stderr)")
    }

    @Test func aKeptDigestAtPositionZeroMustBeTheGenesis() throws {
        let (ledger, _, _) = try makeLedger()
        let genesis = ledger.shiplog(["verify", "--expect", "0:\(HashChain.genesisHex)"])
        #expect(genesis.status == 0, "\(genesis.stderr)")

        let forged = Head(position: 0, hash: String(repeating: "f", count: 64))
        let report = try storeReport(ledger, expect: forged)
        let result = ledger.shiplog(["verify", "--expect", forged.description])
        #expect(report.problem?.position == 0)
        #expect(result.status == 3, "\(result.stderr)")
    }

    @Test func aForgedRowAppendedBehindTheStoreIsCaught() throws {
        let (ledger, events, _) = try makeLedger()
        let bogus = String(repeating: "ab", count: 32)
        try ledger.sql(
            """
            INSERT INTO events (position, event_id, stream, version, type, schema, data, metadata, recorded_at, hash)
            VALUES (11, '\(UUIDv7.make())', 'a', 8, 'Forged', 1, '{}', '{}', '\(events[9].recordedAt)', '\(bogus)');
            """)
        #expect(try storeReport(ledger).problem?.position == 11)
        try expectCLIFailure(ledger, at: 11, saying: "position 11")
    }

    @Test func withTheTriggersInPlaceUpdateAndDeleteFailAndChangeNothing() throws {
        let (ledger, _, digest) = try makeLedger()
        let dump = "SELECT * FROM events ORDER BY position;"
        let before = try ledger.sql(dump)

        let update = sqlite3(ledger.path, #"UPDATE events SET data = '{"n":0}' WHERE position = 2;"#)
        #expect(update.status != 0)
        #expect(update.stderr.contains("events are immutable"), "\(update.stderr)")
        let delete = sqlite3(ledger.path, "DELETE FROM events WHERE position = 10;")
        #expect(delete.status != 0)
        #expect(delete.stderr.contains("events are permanent"), "\(delete.stderr)")
        let wipe = sqlite3(ledger.path, "DELETE FROM events;")
        #expect(wipe.status != 0)

        #expect(try ledger.sql(dump) == before)
        let verified = ledger.shiplog(["verify", "--expect", digest])
        #expect(verified.status == 0, "\(verified.stderr)")

        // The store's own connection is held to the same rule.
        let store = try ledger.open()
        #expect(throws: EventStoreError.self) { try store.database.execute("UPDATE events SET type = 'X' WHERE position = 1") }
        #expect(throws: EventStoreError.self) { try store.database.execute("DELETE FROM events WHERE position = 1") }
        #expect(try ledger.sql(dump) == before)
    }
}
