import SQLiteStore
import EventStore
import Foundation
import Ledger
import Testing

@Suite("Export and import of events")
struct ExportImportTests {
    /// A ledger with a bit of everything: run and recorded deployments, every ending, artifacts, a prune,
    /// text that needs escaping, and a custom stream.
    func busyLedger() throws -> TestLedger {
        let t = try TestLedger()
        try t.record(.success, n: 1)
        try t.run(sha: sha(2), script: Script(unhealthyAttempts: ["auth_service": .max]))
        try t.run(sha: sha(3), script: Script(failing: [.migrate: "migration \"0042_add_index\" failed:\n\tduplicate key — é ✓"]))
        try t.record(.markedBad, environment: "production", n: 4)
        try t.record(.abandoned, n: 5)
        let last = try t.run(sha: sha(6), script: Script(unhealthyAttempts: ["api_gateway": 2], crashOnce: [.build]))
        try t.ledger.storeArtifact(
            name: "extra.log", phase: "deploy", bytes: Array("short-lived\n".utf8), deploymentID: last.id!,
            retentionDays: 1, in: t.artifacts)
        t.clock.advance(2 * day)
        _ = try t.ledger.prune(now: t.clock.now, dryRun: false, in: t.artifacts)
        try t.store.append(
            [NewEvent(type: "ReleaseApproved", data: #"{"by":"alice"}"#, metadata: #"{"source":"integration"}"#)],
            to: "approvals", expected: .noStream)
        t.clock.advance(60)
        _ = try t.ledger.request(
            environment: "staging", gitSHA: sha(7), gitRef: "refs/tags/v1.2.3", services: workflowServices,
            triggeredBy: "bob", mode: .record)
        return t
    }

    @Test func everyJSONLineImportedIntoAnEmptyLedgerGivesIdenticalLinesAndProjections() throws {
        let t = try busyLedger()
        let lines = try t.events().map(\.jsonLine)
        #expect(lines.count > 50)

        let decoder = JSONDecoder()
        let decoded = try lines.map { try decoder.decode(RecordedEvent.self, from: Data($0.utf8)) }
        #expect(decoded == (try t.events()))

        let copy = try t.sibling("imported.db")
        try copy.ledger.importEvents(decoded)
        #expect(try allEvents(copy.store).map(\.jsonLine) == lines)
        #expect(try copy.store.head() == t.store.head())
        #expect(try copy.store.verify(expect: t.store.head(), progress: nil).isIntact)

        // The raw append of the custom stream bypassed the projector in the source; compare after a rebuild.
        try t.ledger.rebuild()
        #expect(try dumpProjections(copy.store) == dumpProjections(t.store))
        try copy.ledger.rebuild()
        #expect(try dumpProjections(copy.store) == dumpProjections(t.store))
    }

    @Test func anImportInBatchesGivesTheSameAsOneBatch() throws {
        let t = try busyLedger()
        try t.ledger.rebuild()
        let events = try t.events()
        let copy = try t.sibling("batched.db")
        try copy.store.database.inTransaction {
            let importing = copy.ledger.makeImport()
            var start = 0
            var size = 1
            while start < events.count {
                let end = min(events.count, start + size)
                try importing.load(Array(events[start..<end]))
                start = end
                size = size * 2 + 1
            }
            try importing.finish()
        }
        #expect(try dumpProjections(copy.store) == dumpProjections(t.store))
    }

    @Test func anAlteredOrMisorderedImportIsRefusedWhole() throws {
        let t = try busyLedger()
        let events = try t.events()
        var altered = events
        altered[10].recordedAt = "2030-01-01T00:00:00.000Z"
        let copy = try t.sibling("refused.db")
        #expect(throws: (any Error).self) { try copy.ledger.importEvents(altered) }
        #expect(try copy.store.head().position == 0)
        #expect(try dumpProjections(copy.store) == ["projection_state: 'all'|0"])
        #expect(throws: (any Error).self) { try copy.ledger.importEvents(Array(events.dropFirst())) }
        #expect(try copy.store.head().position == 0)
    }
}
