import SQLiteStore
import EventStore
import Foundation
import ShiplogTestSupport
import Testing

/// Expected versions and EventStoreDB's idempotency rules, one test per row of the table.
@Suite("Appends: expected versions and idempotency")
struct AppendTests {
    @Test func appendRecordsEveryFieldAndChainsPositions() throws {
        let ledger = try TestLedger()
        let store = try ledger.open()
        let a = event(1, type: "Opened", metadata: #"{"actor":"test"}"#)
        let b = NewEvent(type: "Changed", schema: 3, data: #"{"text":"é \"quoted\""}"#)
        let result = try store.append([a, b], to: "s", expected: .noStream)
        #expect(result == AppendResult(stream: "s", firstPosition: 1, lastPosition: 2, streamVersion: 2, wasAlreadyCommitted: false))

        let recorded = try allEvents(store)
        try #require(recorded.count == 2)
        #expect(recorded.map(\.eventID) == [a.id, b.id])
        #expect(recorded.map(\.position) == [1, 2])
        #expect(recorded.map(\.version) == [1, 2])
        #expect(recorded.map(\.stream) == ["s", "s"])
        #expect(recorded.map(\.type) == ["Opened", "Changed"])
        #expect(recorded.map(\.schema) == [1, 3])
        #expect(recorded.map(\.data) == [a.data, b.data])
        #expect(recorded.map(\.metadata) == [#"{"actor":"test"}"#, "{}"])
        for e in recorded {
            #expect(Timestamp.parse(e.recordedAt) != nil, "recorded_at \(e.recordedAt) is not ISO 8601")
            #expect(e.recordedAt.count == "2026-11-26T15:35:00.123Z".count)
        }
        let first = HashChain().hash(
            previous: HashChain.genesis, position: 1, eventID: a.id, stream: "s", version: 1,
            type: "Opened", schema: 1, data: a.data, metadata: a.metadata, recordedAt: recorded[0].recordedAt)
        #expect(recorded[0].hash == Hex.encode(first))
        let second = HashChain().hash(
            previous: first, position: 2, eventID: b.id, stream: "s", version: 2,
            type: "Changed", schema: 3, data: b.data, metadata: "{}", recordedAt: recorded[1].recordedAt)
        #expect(recorded[1].hash == Hex.encode(second))
        #expect(try store.head() == Head(position: 2, hash: Hex.encode(second)))
    }

    @Test func sameIDsAtNoStreamReturnTheOriginalResult() throws {
        let ledger = try TestLedger()
        let store = try ledger.open()
        try store.append([event(0)], to: "other", expected: .noStream)
        let batch = [event(1), event(2)]
        let original = try store.append(batch, to: "s", expected: .noStream)
        #expect(original == AppendResult(stream: "s", firstPosition: 2, lastPosition: 3, streamVersion: 2, wasAlreadyCommitted: false))
        // Other writers move on before the retry arrives.
        try store.append([event(3)], to: "other", expected: .exactly(1))
        try store.append([event(4)], to: "s", expected: .exactly(2))
        let head = try store.head()

        let retried = try store.append(batch, to: "s", expected: .noStream)
        #expect(retried == AppendResult(stream: "s", firstPosition: 2, lastPosition: 3, streamVersion: 2, wasAlreadyCommitted: true))
        #expect(try store.head() == head)
        #expect(try allEvents(store).count == 5)
    }

    @Test func sameIDsAtTheSameExactVersionReturnTheOriginalResult() throws {
        let ledger = try TestLedger()
        let store = try ledger.open()
        try store.append([event(1), event(2)], to: "s", expected: .noStream)
        let batch = [event(3), event(4), event(5)]
        let original = try store.append(batch, to: "s", expected: .exactly(2))
        #expect(original == AppendResult(stream: "s", firstPosition: 3, lastPosition: 5, streamVersion: 5, wasAlreadyCommitted: false))
        let head = try store.head()

        let retried = try store.append(batch, to: "s", expected: .exactly(2))
        #expect(retried == AppendResult(stream: "s", firstPosition: 3, lastPosition: 5, streamVersion: 5, wasAlreadyCommitted: true))
        #expect(try store.head() == head)
        #expect(try store.readStream("s", from: 3).map(\.eventID) == batch.map(\.id))
    }

    @Test func sameIDsAtADifferentExpectedVersionAreRefused() throws {
        let ledger = try TestLedger()
        let store = try ledger.open()
        let opening = [event(1), event(2)]
        try store.append(opening, to: "s", expected: .noStream)
        let later = [event(3)]
        try store.append(later, to: "s", expected: .exactly(2))
        let head = try store.head()

        let retries: [([NewEvent], ExpectedVersion)] = [
            (opening, .exactly(1)), (opening, .exactly(2)), (opening, .exactly(7)),
            (later, .noStream), (later, .exactly(1)), (later, .exactly(3)),
        ]
        for (batch, expected) in retries {
            let error = storeError { try store.append(batch, to: "s", expected: expected) }
            switch error {
            case .idempotencyConflict(let stream, _)?, .wrongExpectedVersion(let stream, _, _)?:
                #expect(stream == "s")
            default:
                Issue.record("retry at \(expected) gave \(String(describing: error)), not a refusal")
            }
        }
        #expect(try store.head() == head)
    }

    @Test func aPartlyCommittedBatchIsAConflictAndWritesNothing() throws {
        let ledger = try TestLedger()
        let store = try ledger.open()
        let a = event(1), b = event(2), c = event(3)
        try store.append([a, b], to: "s", expected: .noStream)
        let head = try store.head()

        for (batch, expected) in [([a, b, c], ExpectedVersion.noStream), ([c, a], .exactly(2)), ([a, c], .any), ([b, a], .noStream)] {
            let error = storeError { try store.append(batch, to: "s", expected: expected) }
            guard case .idempotencyConflict(let stream, _)? = error else {
                Issue.record("\(batch.count) events at \(expected): \(String(describing: error)), not idempotencyConflict")
                continue
            }
            #expect(stream == "s")
        }
        #expect(try store.head() == head)
        #expect(try !allEvents(store).contains { $0.eventID == c.id })
    }

    @Test func wrongExpectedVersionCarriesTheActualVersionAndWritesNothing() throws {
        let ledger = try TestLedger()
        let store = try ledger.open()
        try store.append([event(1), event(2), event(3)], to: "s", expected: .noStream)
        let head = try store.head()
        let fresh = event(9)

        #expect(throws: EventStoreError.wrongExpectedVersion(stream: "s", expected: .exactly(1), actual: 3)) {
            try store.append([fresh], to: "s", expected: .exactly(1))
        }
        #expect(throws: EventStoreError.wrongExpectedVersion(stream: "s", expected: .exactly(4), actual: 3)) {
            try store.append([fresh], to: "s", expected: .exactly(4))
        }
        #expect(throws: EventStoreError.wrongExpectedVersion(stream: "s", expected: .noStream, actual: 3)) {
            try store.append([fresh], to: "s", expected: .noStream)
        }
        #expect(throws: EventStoreError.wrongExpectedVersion(stream: "new", expected: .exactly(1), actual: nil)) {
            try store.append([fresh], to: "new", expected: .exactly(1))
        }
        #expect(try store.head() == head)
        #expect(try store.lastEvent(of: "new") == nil)
        #expect(try !allEvents(store).contains { $0.eventID == fresh.id })
        // The same event then goes in at the right version.
        #expect(try store.append([fresh], to: "s", expected: .exactly(3)).streamVersion == 4)
    }

    @Test func aRetriedAnyBatchWritesNoDuplicates() throws {
        let ledger = try TestLedger()
        let store = try ledger.open()
        try store.append([event(0)], to: "s", expected: .any)
        let batch = [event(1), event(2)]
        let original = try store.append(batch, to: "s", expected: .any)
        #expect(original == AppendResult(stream: "s", firstPosition: 2, lastPosition: 3, streamVersion: 3, wasAlreadyCommitted: false))

        // Retried at once, as after a lost acknowledgement.
        let retried = try store.append(batch, to: "s", expected: .any)
        #expect(retried == AppendResult(stream: "s", firstPosition: 2, lastPosition: 3, streamVersion: 3, wasAlreadyCommitted: true))
        #expect(try store.head().position == 3)

        // Retried after the stream moved on: `.any` promises no original result, but never a duplicate.
        try store.append([event(3)], to: "s", expected: .any)
        let head = try store.head()
        do {
            let late = try store.append(batch, to: "s", expected: .any)
            #expect(late.wasAlreadyCommitted)
            #expect(late.firstPosition == 2)
        } catch EventStoreError.idempotencyConflict {
            // Refused as a duplicate: allowed.
        }
        #expect(try store.head() == head)

        // The same ids sent to another stream are never recorded twice.
        let error = storeError { try store.append(batch, to: "elsewhere", expected: .any) }
        guard case .idempotencyConflict? = error else {
            Issue.record("ids recorded in s, sent to another stream: \(String(describing: error))")
            return
        }
        #expect(try store.head() == head)
    }

    @Test func duplicateIDsWithinOneBatchAreRefused() throws {
        let ledger = try TestLedger()
        let store = try ledger.open()
        let a = event(1)
        var shouting = event(2, id: a.id.uppercased())
        shouting.type = "Shouted"

        for batch in [[a, a], [a, event(3), shouting]] {
            let error = storeError { try store.append(batch, to: "s", expected: .noStream) }
            guard case .invalidEvent(let detail)? = error else {
                Issue.record("a batch repeating an id gave \(String(describing: error))")
                continue
            }
            #expect(detail.contains("twice"))
        }
        // The same id in two streams of one multi-stream append.
        let error = storeError {
            try store.append([
                StreamAppend(stream: "s", expected: .noStream, events: [a]),
                StreamAppend(stream: "t", expected: .noStream, events: [a]),
            ])
        }
        #expect(error != nil)
        #expect(try store.head().position == 0)
    }

    @Test func anIDInAnotherLetterCaseIsTheSameEvent() throws {
        let ledger = try TestLedger()
        let store = try ledger.open()
        let lower = event(1)
        let upper = NewEvent(id: lower.id.uppercased(), type: lower.type, data: lower.data)
        try store.append([upper], to: "s", expected: .any)
        let retried = try store.append([lower], to: "s", expected: .any)
        #expect(retried.wasAlreadyCommitted)
        #expect(try store.head().position == 1)
    }

    @Test func aMultiStreamAppendIsAllOrNothing() throws {
        let ledger = try TestLedger()
        let store = try ledger.open()
        try store.append([event(0)], to: "a", expected: .noStream)
        let head = try store.head()
        let first = event(1), second = event(2)

        #expect(throws: EventStoreError.wrongExpectedVersion(stream: "b", expected: .exactly(5), actual: nil)) {
            try store.append([
                StreamAppend(stream: "a", expected: .exactly(1), events: [first]),
                StreamAppend(stream: "b", expected: .exactly(5), events: [second]),
            ])
        }
        #expect(try store.head() == head)
        #expect(try store.readStream("a", from: 1).count == 1)

        // A malformed event in the second batch also takes the first one down with it.
        let malformed = NewEvent(type: "Bad", data: "[1, 2]")
        let error = storeError {
            try store.append([
                StreamAppend(stream: "a", expected: .exactly(1), events: [first]),
                StreamAppend(stream: "b", expected: .noStream, events: [malformed]),
            ])
        }
        guard case .invalidEvent? = error else {
            Issue.record("data that is not a JSON object gave \(String(describing: error))")
            return
        }
        #expect(try store.head() == head)

        // Both commit together, and a retry of the whole call returns both original results.
        let batches = [
            StreamAppend(stream: "a", expected: .exactly(1), events: [first]),
            StreamAppend(stream: "b", expected: .noStream, events: [second]),
        ]
        let results = try store.append(batches)
        #expect(results.map(\.firstPosition) == [2, 3])
        #expect(results.map(\.wasAlreadyCommitted) == [false, false])
        let retried = try store.append(batches)
        #expect(retried.map(\.firstPosition) == [2, 3])
        #expect(retried.map(\.streamVersion) == [2, 1])
        #expect(retried.map(\.wasAlreadyCommitted) == [true, true])
        #expect(try store.head().position == 3)
        #expect(try store.verify(expect: nil, progress: nil).isIntact)
    }

    @Test func malformedEventsAreRefusedBeforeAnythingIsWritten() throws {
        let ledger = try TestLedger()
        let store = try ledger.open()
        let cases: [(String, NewEvent)] = [
            ("empty stream", event(1)),
            ("data is an array", NewEvent(type: "T", data: "[]")),
            ("data is not JSON", NewEvent(type: "T", data: "{nope")),
            ("metadata is a string", NewEvent(type: "T", data: "{}", metadata: #""text""#)),
            ("empty type", NewEvent(type: "", data: "{}")),
            ("schema 0", NewEvent(type: "T", schema: 0, data: "{}")),
            ("id is not a UUID", NewEvent(id: "not-a-uuid", type: "T", data: "{}")),
        ]
        for (label, bad) in cases {
            let stream = label == "empty stream" ? "" : "s"
            let error = storeError { try store.append([bad], to: stream, expected: .any) }
            guard case .invalidEvent? = error else {
                Issue.record("\(label): \(String(describing: error)), not invalidEvent")
                continue
            }
        }
        #expect(throws: EventStoreError.self) { try store.append([], to: "s", expected: .any) }
        #expect(try store.head().position == 0)
    }
}
