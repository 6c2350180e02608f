import EventStore
import Foundation
import Ledger
import Testing

/// Events of a deployment whose plan has an approval gate before deploy, up to the gate.
func throughImage(_ plan: DeploymentPlan) -> [DeploymentEvent] {
    var events = [runRequest(plan: plan, previousStable: previousStable)]
    for phase in plan.phases where phase < .deploy {
        events += [.stepStarted(phase, attempt: 1), .stepSucceeded(phase, detail: nil)]
    }
    return events
}

/// The approval gate, decided from the deployment's own events: given / when / then, and the
/// rules an import must obey too.
@Suite("Decider: approval gates")
struct ApprovalGateTests {
    static let gate = ApprovalGate(before: .deploy, required: 2, approvers: ["alice", "bob", "carol"], timeoutSeconds: 3_600)
    static let plan = workflowPlan(approval: gate)

    /// Reached the gate: `ApprovalRequested` recorded at the test clock's time.
    static func atTheGate() throws -> Given {
        var given = Given(throughImage(plan))
        #expect(given.state.next(plan: plan, now: given.clock.now) == .requestApproval(gate))
        #expect(try given.when(.requestApproval(gate)) == [.approvalRequested(gate)])
        return given
    }

    @Test func theGateStandsBeforeItsPhaseAndWaitsUntilTheDeadline() throws {
        let given = try Self.atTheGate()
        let approval = try #require(given.state.approval)
        let requested = try #require(Timestamp.parse(approval.requestedAt))
        #expect(approval.deadline == ts(requested.addingTimeInterval(3_600)), "the timeout runs from ApprovalRequested's time")
        #expect(given.state.next(plan: Self.plan, now: given.clock.now) == .awaitApproval(until: approval.deadline))
        #expect(given.state.currentPhase == "waiting for approval")
        let refusal = try #require(given.refusal(.startStep(.deploy, attempt: 1)))
        #expect(refusal.message.contains("waits for approval"), "\(refusal)")
        #expect(given.refusal(.finish(.succeeded)) != nil)
    }

    @Test func distinctApprovalsOpenTheGateAndASecondByTheSameNameIsRefused() throws {
        var given = try Self.atTheGate()
        #expect(try given.when(.approve(by: "alice", comment: "reviewed", at: ts(given.clock.now))) == [.approvalGranted(by: "alice", comment: "reviewed")])
        let twice = try #require(given.refusal(.approve(by: "alice", comment: nil, at: ts(given.clock.now))))
        #expect(twice.message.contains("alice already approved"), "\(twice)")
        #expect(given.state.next(plan: Self.plan, now: given.clock.now) == .awaitApproval(until: given.state.approval!.deadline))
        _ = try given.when(.approve(by: "bob", comment: nil, at: ts(given.clock.now)))
        #expect(given.state.approval?.isOpen == true)
        #expect(given.state.next(plan: Self.plan, now: given.clock.now) == .runStep(.deploy, attempt: 1))
        #expect(given.refusal(.approve(by: "carol", comment: nil, at: ts(given.clock.now))) != nil, "an open gate takes no more approvals")
        #expect(given.refusal(.reject(by: "carol", reason: "late", at: ts(given.clock.now))) != nil, "nor a rejection")
    }

    @Test func aNameOutsideTheApproversIsRefused() throws {
        let given = try Self.atTheGate()
        let refusal = try #require(given.refusal(.approve(by: "mallory", comment: nil, at: ts(given.clock.now))))
        #expect(refusal.message.contains("not among the approvers"), "\(refusal)")
        #expect(given.refusal(.reject(by: "mallory", reason: "x", at: ts(given.clock.now))) != nil)
        #expect(given.refusal(.approve(by: "alice ", comment: nil, at: ts(given.clock.now))) != nil, "names are compared exactly")
    }

    @Test func aRejectionFailsTheDeploymentBeforeTheGatedPhaseWithoutARollback() throws {
        var given = try Self.atTheGate()
        let events = try given.when(.reject(by: "carol", reason: "drops a column v41 reads", at: ts(given.clock.now)))
        #expect(events == [.approvalRejected(by: "carol", reason: "drops a column v41 reads"), .deploymentFailed(reason: "approval rejected by carol: drops a column v41 reads", phase: nil)])
        #expect(given.state.status == .failed)
        #expect(given.state.steps[.deploy] == nil && given.state.steps[.rollback] == nil)
        #expect(given.state.approval?.failure == "approval rejected by carol: drops a column v41 reads")
        #expect(given.state.next(plan: Self.plan, now: given.clock.now) == .storeRecord)
    }

    @Test func afterTheDeadlineApprovalsAreRefusedAndTheRunnerRecordsTheTimeout() throws {
        var given = try Self.atTheGate()
        let deadline = try #require(given.state.approval.flatMap { Timestamp.parse($0.deadline) })
        #expect(given.refusal(.expireApproval(at: ts(deadline.addingTimeInterval(-1)))) != nil, "not before the deadline")
        let late = try #require(given.refusal(.approve(by: "alice", comment: nil, at: ts(deadline.addingTimeInterval(1)))))
        #expect(late.message.contains("closed"), "\(late)")
        #expect(given.state.next(plan: Self.plan, now: deadline) == .expireApproval)
        let events = try given.when(.expireApproval(at: ts(deadline)))
        #expect(events.first == .approvalTimedOut(deadline: ts(deadline)))
        #expect(given.state.status == .failed)
        #expect(given.state.failureReason?.contains("0 of 2 approvals") == true, "\(given.state.failureReason ?? "")")
    }

    @Test func aGateWithoutApproversTakesAnyoneOnce() throws {
        let open = ApprovalGate(before: .migrate, required: 1, timeoutSeconds: 60)
        let plan = workflowPlan(approval: open)
        var given = Given([runRequest(plan: plan)])
        #expect(given.state.next(plan: plan, now: given.clock.now) == .runStep(.preflight, attempt: 1))
        _ = try given.when(.startStep(.preflight, attempt: 1))
        _ = try given.when(.completeStep(.preflight, succeeded: true, reason: nil))
        #expect(given.state.next(plan: plan, now: given.clock.now) == .requestApproval(open))
        _ = try given.when(.requestApproval(open))
        #expect(given.refusal(.startStep(.migrate, attempt: 1)) != nil)
        _ = try given.when(.approve(by: "anyone-at-all", comment: nil, at: ts(given.clock.now)))
        #expect(given.state.next(plan: plan, now: given.clock.now) == .runStep(.migrate, attempt: 1))
    }

    @Test func aGateThatCannotBeMetIsRefused() throws {
        let given = Given(throughImage(Self.plan))
        for gate in [
            ApprovalGate(before: .deploy, required: 3, approvers: ["alice", "bob"], timeoutSeconds: 60),
            ApprovalGate(before: .deploy, required: 0, timeoutSeconds: 60),
            ApprovalGate(before: .smoke, required: 1, timeoutSeconds: 60),
            ApprovalGate(before: .deploy, required: 1, timeoutSeconds: 0),
        ] {
            #expect(given.refusal(.requestApproval(gate)) != nil, "\(gate)")
        }
    }

    @Test func theWholeRunWithApprovalsDrivenByNext() throws {
        var sim = Given([runRequest(plan: Self.plan)]).simulation(Self.plan)
        let steps = try sim.run()
        #expect(sim.state.status == .success)
        #expect(steps.filter { $0 == .requestApproval(Self.gate) }.count == 1)
        #expect(sim.state.approval?.grants.map(\.by) == ["alice", "bob"])
        let gateAt = try #require(steps.firstIndex(of: .requestApproval(Self.gate)))
        let deployAt = try #require(steps.firstIndex(of: .runStep(.deploy, attempt: 1)))
        #expect(gateAt < deployAt && steps[..<gateAt].contains(.runStep(.image, attempt: 1)))
    }
}

/// What an import may carry about approval gates: the same rules as `decide`, for events it
/// did not decide.
@Suite("Admission: approval gates")
struct ApprovalAdmissionTests {
    static let id = "1732010400-abc123def456"

    func admit(_ state: DeploymentState, _ event: DeploymentEvent, at time: String? = nil) -> DomainError? {
        do {
            try state.admit(event, deploymentID: Self.id, at: time) { _ in nil }
            return nil
        } catch {
            return error
        }
    }

    @Test func aSecondApprovalByOneNameAnUnknownApproverAndALateOneAreRefused() throws {
        var given = try ApprovalGateTests.atTheGate()
        let now = ts(given.clock.now)
        #expect(admit(given.state, .approvalGranted(by: "alice", comment: nil), at: now) == nil)
        #expect(admit(given.state, .approvalGranted(by: "mallory", comment: nil), at: now)?.message.contains("not among the approvers") == true)
        given.apply([.approvalGranted(by: "alice", comment: nil)])
        #expect(admit(given.state, .approvalGranted(by: "alice", comment: nil), at: now)?.message.contains("second time") == true)
        let deadline = try #require(given.state.approval).deadline
        let late = ts(Timestamp.parse(deadline)!.addingTimeInterval(1))
        #expect(admit(given.state, .approvalGranted(by: "bob", comment: nil), at: late)?.message.contains("after its approval window closed") == true)
        #expect(admit(given.state, .approvalTimedOut(deadline: deadline), at: now) != nil, "a timeout before the deadline")
        #expect(admit(given.state, .approvalTimedOut(deadline: deadline), at: late) == nil)
    }

    @Test func theGatedPhaseCannotRunWhileTheGateIsShut() throws {
        var given = try ApprovalGateTests.atTheGate()
        #expect(admit(given.state, .stepStarted(.deploy, attempt: 1))?.message.contains("comes before the approval") == true)
        #expect(admit(given.state, .serviceDeployed(service: "api-gateway")) != nil)
        #expect(admit(given.state, .deploymentSucceeded) != nil)
        #expect(admit(given.state, .deploymentFailed(reason: "given up", phase: nil)) == nil, "failing is always possible")
        given.apply([.approvalGranted(by: "alice", comment: nil), .approvalGranted(by: "bob", comment: nil)])
        #expect(admit(given.state, .stepStarted(.deploy, attempt: 1)) == nil)
        #expect(admit(given.state, .approvalRequested(ApprovalGateTests.gate)) != nil, "one gate per deployment")
    }
}
