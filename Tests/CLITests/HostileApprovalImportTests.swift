import EventStore
import Foundation
import ShiplogTestSupport
import Testing

/// Crafted imports about approval gates and manual rollbacks: a valid chain, histories the
/// domain would refuse to decide. Each is refused naming its line; the valid history imports.
@Suite("Hostile imports: approval gates and manual rollbacks")
struct HostileApprovalImportTests {
    typealias Hostile = HostileImportTests
    static let id = "1800000000-fffffff66666"
    static let stream = "deployment-\(id)"

    /// The good export, then a run-mode deployment of qa waiting at a gate of 2 among alice and bob.
    static func gated() throws -> (events: [RecordedEvent], stable: String) {
        let (_, events, stable, _) = try Hostile.goodExport()
        var rows = events
        let request =
            #"{"deployment_id":"\#(id)","environment":"qa","git_sha":"fffffff6666666","git_ref":"main","services":["api-gateway"],"triggered_by":"ci","mode":"run","phases":["deploy"],"checks":[]}"#
        rows.append(Hostile.event("DeploymentRequested", request, on: stream, in: rows))
        rows.append(Hostile.event("EnvironmentLocked", #"{"deployment_id":"\#(id)"}"#, on: "environment-qa", in: rows))
        rows.append(Hostile.event("ApprovalRequested", #"{"before":"deploy","required":2,"approvers":["alice","bob"],"timeout_seconds":3600}"#, on: stream, in: rows))
        return (rows, stable)
    }

    static func granted(_ by: String, _ rows: [RecordedEvent]) -> RecordedEvent {
        Hostile.event("ApprovalGranted", #"{"by":"\#(by)"}"#, on: stream, in: rows)
    }

    @Test func twoDistinctApprovalsThenTheDeployImport() throws {
        var (rows, _) = try Self.gated()
        rows.append(Self.granted("alice", rows))
        rows.append(Self.granted("bob", rows))
        rows.append(Hostile.event("DeployStarted", #"{"phase":"deploy","attempt":1}"#, on: Self.stream, in: rows))
        let (out, target) = try Hostile.importing(rows)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(target.head() == rows.count)
    }

    @Test func aSecondApprovalByTheSameNameIsRefused() throws {
        var (rows, _) = try Self.gated()
        rows.append(Self.granted("alice", rows))
        rows.append(Self.granted("alice", rows))
        try Hostile.expectRefused(rows, line: rows.count, mentioning: ["alice approves", "a second time"])
    }

    @Test func anApprovalByANameOutsideTheApproversIsRefused() throws {
        var (rows, _) = try Self.gated()
        rows.append(Self.granted("mallory", rows))
        try Hostile.expectRefused(rows, line: rows.count, mentioning: ["mallory is not among the approvers"])
    }

    @Test func theGatedPhaseBeforeEnoughApprovalsIsRefused() throws {
        var (rows, _) = try Self.gated()
        rows.append(Self.granted("alice", rows))
        rows.append(Hostile.event("DeployStarted", #"{"phase":"deploy","attempt":1}"#, on: Self.stream, in: rows))
        try Hostile.expectRefused(rows, line: rows.count, mentioning: ["comes before the approval of deploy"])
    }

    @Test func aReleaseRolledBackByNoManualRollbackIsRefused() throws {
        let (_, events, stable, _) = try Hostile.goodExport()
        let forged =
            events + [
                Hostile.event(
                    "DeploymentRolledBackManually",
                    #"{"status":"rolled_back","rolled_back_by":"1800000000-eeeeeee55555","rollback_to":"\#(stable)","rollback_sha":"aaaaaaa1111111","reason":"x","by":"y"}"#,
                    on: "deployment-\(stable)", in: events)
            ]
        try Hostile.expectRefused(forged, line: forged.count, mentioning: ["no manual rollback replacing it"])
    }
}
