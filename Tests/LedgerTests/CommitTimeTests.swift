import EventStore
import Foundation
import Ledger
import SQLiteStore
import Testing

/// `DeploymentRequested`'s optional `commit_time`: written only when known, read from events
/// written before it existed, projected into the deployments table, refused in a form other
/// than the ledger's own, and carried through an export and import.
@Suite("The commit time of a deployment request")
struct CommitTimeTests {
    static let committed = "2024-11-19T08:30:00.000Z"

    static func request(commitTime: String?) -> DeploymentRequest {
        DeploymentRequest(
            deploymentID: "1732010400-abc123def456", environment: "staging", gitSHA: "abc123def4567890", gitRef: "main",
            services: ["api"], triggeredBy: "ci", mode: .record, commitTime: commitTime)
    }

    static func recorded(_ event: DeploymentEvent) -> RecordedEvent {
        let made = event.makeNewEvent()
        return RecordedEvent(
            position: 1, eventID: "e", stream: "deployment-1732010400-abc123def456", version: 1, type: made.type, schema: made.schema,
            data: made.data, metadata: made.metadata, recordedAt: "2024-11-19T10:00:00.000Z", hash: "")
    }

    @Test func theFieldIsWrittenOnlyWhenKnownAndReadBackEitherWay() throws {
        let without = Self.recorded(.deploymentRequested(Self.request(commitTime: nil)))
        #expect(!without.data.contains("commit_time"), "a request without a commit time writes the bytes it always wrote")
        #expect(try DeploymentEvent.decode(without) == .deploymentRequested(Self.request(commitTime: nil)))
        let with = Self.recorded(.deploymentRequested(Self.request(commitTime: Self.committed)))
        #expect(with.data.contains(#""commit_time":"2024-11-19T08:30:00.000Z""#))
        #expect(try DeploymentEvent.decode(with) == .deploymentRequested(Self.request(commitTime: Self.committed)))
        let notText = RecordedEvent(
            position: 1, eventID: "e", stream: with.stream, version: 1, type: with.type, schema: with.schema,
            data: with.data.replacingOccurrences(of: #""2024-11-19T08:30:00.000Z""#, with: "42"), metadata: "{}", recordedAt: with.recordedAt, hash: "")
        #expect(throws: EventDecodingError.self) { try DeploymentEvent.decode(notText) }
    }

    @Test func onlyTheLedgersOwnTimeFormIsAdmitted() throws {
        for bad in ["2024-11-19T08:30:00Z", "2024-11-19", "yesterday", "2024-11-19T10:30:00.000+02:00"] {
            #expect(throws: DomainError.self, "\(bad)") {
                try DeploymentState().admit(.deploymentRequested(Self.request(commitTime: bad)), deploymentID: "1732010400-abc123def456") { _ in nil }
            }
        }
        try DeploymentState().admit(.deploymentRequested(Self.request(commitTime: Self.committed)), deploymentID: "1732010400-abc123def456") { _ in nil }
    }

    @Test func theProjectionCarriesItThroughRebuildVerifyExportAndImport() throws {
        let t = try TestLedger()
        let with = try #require(
            try t.ledger.request(
                environment: "staging", gitSHA: sha(1), gitRef: "main", services: ["api"], triggeredBy: "ci", mode: .record,
                commitTime: Self.committed
            ).id)
        try t.ledger.execute(.completeStep(.deploy, succeeded: true, reason: nil), on: with)
        try t.ledger.execute(.finish(.succeeded), on: with)
        let without = try #require(try t.ledger.request(environment: "staging", gitSHA: sha(2), gitRef: "main", services: [], triggeredBy: "ci", mode: .record).id)
        #expect(try t.queries.record(with)?.commitTime == Self.committed)
        #expect(try t.queries.record(without)?.commitTime == nil)
        #expect(try t.queries.record(with)?.json.contains(#""commit_time":"2024-11-19T08:30:00.000Z""#) == true)

        let before = try dumpProjections(t.store)
        try t.ledger.rebuild()
        #expect(try dumpProjections(t.store) == before)
        #expect(try t.ledger.verifyProjections() == nil)

        let copy = try t.sibling("imported.db")
        try copy.ledger.importEvents(try t.events())
        #expect(try Queries(store: copy.store).record(with)?.commitTime == Self.committed)
        #expect(try dumpProjections(copy.store) == before)
    }
}
