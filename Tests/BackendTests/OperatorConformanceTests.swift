import EventStore
import Foundation
import Ledger
import PostgresClient
import PostgresStore
import SQLiteStore
import ShiplogTestSupport
import Testing

/// What operators do between deployments, the same on both backends: a manual rollback and the
/// release it retires, approvals, and kept logs checked against their digests — in the
/// projection tables, after a rebuild, and through `verify`.
@Suite("Both backends: manual rollbacks, approvals, kept logs")
struct OperatorConformanceTests {
    /// A recorded deployment of `n` that succeeded.
    static func success(_ t: BackendLedger, _ n: Int) throws -> String {
        t.clock.advance(60)
        let id = try #require(
            try t.ledger.request(environment: "staging", gitSHA: sha(n), gitRef: "main", services: ["api"], triggeredBy: "ci", mode: .record).id)
        try t.ledger.execute(.completeStep(.deploy, succeeded: true, reason: nil), on: id)
        try t.ledger.execute(.finish(.succeeded), on: id)
        return id
    }

    @Test(arguments: Backend.allCases)
    func aManualRollbackRetiresTheReleaseItReplacedInTheTablesAndAfterARebuild(backend: Backend) throws {
        let t = try BackendLedger(backend)
        let a = try Self.success(t, 1)
        let b = try Self.success(t, 2)
        t.clock.advance(60)
        let id = try #require(
            try t.ledger.requestManualRollback(environment: "staging", to: nil, reason: "checkout errors", by: "oncall", services: ["api"], checks: []).id)
        try t.ledger.beginRollback(id, attempt: 1)
        try t.ledger.execute(.completeStep(.rollback, succeeded: true, reason: nil), on: id)
        try t.ledger.execute(.finish(.succeeded), on: id)

        let queries = Queries(ledger: t.ledger)
        #expect(try queries.record(id)?.isManualRollback == true)
        #expect(try queries.record(id)?.manualRollback?.contains(#""replaces":"\#(b)""#) == true)
        let replaced = try #require(try queries.record(b))
        #expect(replaced.status == "rolled_back" && replaced.rolledBackTo == a && replaced.rolledBackBy?.contains(id) == true)
        #expect(try t.ledger.lastStable(environment: "staging")?.deploymentID == id)
        #expect(try t.ledger.verifyProjections() == nil)
        let before = try [a, b, id].map { try queries.record($0) }
        try t.ledger.rebuild()
        #expect(try [a, b, id].map { try queries.record($0) } == before)
        #expect(try t.ledger.verifyProjections() == nil)
        // An export with these events imports into a fresh ledger of the other backend under the same rules.
        let other = try BackendLedger(backend == .sqlite ? .postgres : .sqlite)
        try other.ledger.importEvents(try t.events())
        #expect(try Queries(ledger: other.ledger).record(b)?.status == "rolled_back")
    }

    @Test(arguments: Backend.allCases)
    func approvalsAreFoldedFromTheStreamAndRecordedWithWhoAndWhen(backend: Backend) throws {
        let t = try BackendLedger(backend)
        let id = try #require(
            try t.ledger.request(environment: "qa", gitSHA: sha(3), gitRef: "main", services: ["api"], triggeredBy: "ci", mode: .run, phases: [.deploy]).id)
        let gate = ApprovalGate(before: .deploy, required: 2, approvers: ["alice", "bob"], timeoutSeconds: 600)
        try t.ledger.execute(.requestApproval(gate), on: id)
        t.clock.advance(5)
        try t.ledger.execute(.approve(by: "alice", comment: "ok", at: Timestamp.format(t.clock.now)), on: id)
        #expect(throws: LedgerError.self) { try t.ledger.execute(.approve(by: "alice", comment: nil, at: Timestamp.format(t.clock.now)), on: id) }
        #expect(throws: LedgerError.self) { try t.ledger.execute(.startStep(.deploy, attempt: 1), on: id) }
        try t.ledger.execute(.approve(by: "bob", comment: nil, at: Timestamp.format(t.clock.now)), on: id)
        try t.ledger.execute(.startStep(.deploy, attempt: 1), on: id)
        let approval = try #require(try Queries(ledger: t.ledger).record(id)?.approval)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(approval.utf8)) as? [String: Any])
        #expect(object["state"] as? String == "approved")
        #expect((object["approvals"] as? [[String: Any]])?.map { $0["by"] as? String } == ["alice", "bob"])
        try t.ledger.rebuild()
        #expect(try t.ledger.verifyProjections() == nil)
    }

    @Test(arguments: Backend.allCases)
    func keptLogsReadBackOnlyWhenTheirBytesMatchTheirEvent(backend: Backend) throws {
        let t = try BackendLedger(backend)
        let id = try Self.success(t, 4)
        let bytes = Array(String(repeating: "migrating\n", count: 200_000).utf8)  // more than one chunk
        let artifact = try t.ledger.storeArtifact(name: "migration-logs-\(id)", phase: "migrate", bytes: bytes, deploymentID: id, in: t.blobs)
        let kept = try t.ledger.keptArtifacts(of: id)
        #expect(kept.map(\.name) == ["migration-logs-\(id)"] && kept.first?.prunedAt == nil)
        var read: [UInt8] = []
        #expect(try t.ledger.readArtifact(artifact, from: t.blobs) { read += $0 } == .intact)
        #expect(read == bytes)
        // Someone with access to the store changes the bytes.
        switch backend {
        case .sqlite:
            try Data("forged\n".utf8).write(to: URL(fileURLWithPath: (t.blobs as! ArtifactStore).path(for: artifact.sha256)))
        case .postgres:
            try t.sql("UPDATE artifact_chunks SET bytes = convert_to('forged', 'UTF8') WHERE sha256 = '\(artifact.sha256)' AND chunk = 0")
        }
        guard case .altered(let actual, _) = try t.ledger.readArtifact(artifact, from: t.blobs, { _ in }) else {
            Issue.record("altered bytes were read as intact")
            return
        }
        #expect(actual != artifact.sha256)
    }
}
