import Foundation
import ShiplogCore

/// The approval gate, decided from the deployment's own events: the count of approvals is a
/// fold of its stream, so every runner and every machine sharing the ledger sees the same gate,
/// and a second approval by one name, or one by a name outside the gate's approvers, is refused
/// here (and by `admit` for an import), not only by the command line.
extension DeploymentState {
    func decideApproval(_ command: DeploymentCommand) throws(DomainError) -> [DeploymentEvent] {
        let id = request?.deploymentID ?? "?"
        switch command {
        case .requestApproval(let gate):
            if approval != nil { return [] }
            if isManualRollback { throw DomainError("deployment \(id) is a manual rollback: it has no approval gate") }
            if let problem = gate.problem { throw DomainError("the approval gate of \(id) cannot be met: \(problem)") }
            if let running = runningStep { throw DomainError("\(running) is still running in \(id); record its outcome first") }
            if let furthest = furthestPhase, furthest >= gate.before {
                throw DomainError("deployment \(id) is past \(furthest) already; an approval gate before \(gate.before) comes too late")
            }
            if hasFailure { throw DomainError("deployment \(id) already failed (\(failureSummary)); nothing is left to approve") }
            return [.approvalRequested(gate)]

        case .approve(let by, let comment, let at):
            let approval = try pendingApproval(id, doing: "approved")
            try requireApprover(by, approval.gate, id)
            if let earlier = approval.grants.first(where: { $0.by == by }) {
                throw DomainError(
                    "\(by) already approved \(id) at \(earlier.at); \(approval.gate.required) distinct approvals are required (\(approval.summary) so far)")
            }
            if at > approval.deadline {
                throw DomainError("the approval window of \(id) closed at \(approval.deadline); an approval after it does not count")
            }
            return [.approvalGranted(by: by, comment: comment)]

        case .reject(let by, let reason, _):
            let approval = try pendingApproval(id, doing: "rejected")
            try requireApprover(by, approval.gate, id)
            return [
                .approvalRejected(by: by, reason: reason),
                .deploymentFailed(reason: "approval rejected by \(by): \(reason)", phase: nil),
            ]

        case .expireApproval(let at):
            let approval = try pendingApproval(id, doing: "timed out")
            guard at >= approval.deadline else {
                throw DomainError("the approval window of \(id) is open until \(approval.deadline)")
            }
            var ended = approval
            ended.timedOutAt = at
            return [.approvalTimedOut(deadline: approval.deadline), .deploymentFailed(reason: ended.failure ?? "not approved in time", phase: nil)]

        default:
            preconditionFailure("not an approval command: \(command)")
        }
    }

    /// The gate, when it still takes approvals and rejections.
    private func pendingApproval(_ id: String, doing what: String) throws(DomainError) -> ApprovalProgress {
        guard let approval else {
            throw DomainError("deployment \(id) does not wait for approval: its pipeline has no approval gate, or has not reached it")
        }
        if approval.isOpen { throw DomainError("deployment \(id) is approved already (\(approval.summary)); it cannot be \(what) now") }
        if let failure = approval.failure { throw DomainError("deployment \(id) ended at its approval gate: \(failure)") }
        return approval
    }

    private func requireApprover(_ name: String, _ gate: ApprovalGate, _ id: String) throws(DomainError) {
        try Identifier.validate(name, as: .approver)
        guard gate.admits(name) else {
            throw DomainError("\(name) is not among the approvers of \(id) (\(gate.approvers.joined(separator: ", "))); ask one of them")
        }
    }

    /// The step the gate asks of a runner about to run `phase`, or nil when the gate lets it run.
    func approvalStep(before phase: Phase, plan: DeploymentPlan, now: Date) -> NextStep? {
        guard let gate = approval?.gate ?? plan.approval, phase >= gate.before else { return nil }
        guard let approval else { return .requestApproval(gate) }
        if approval.isOpen { return nil }
        if let failure = approval.failure { return .finish(.failed(reason: failure)) }
        if let deadline = Timestamp.parse(approval.deadline), now >= deadline { return .expireApproval }
        return .awaitApproval(until: approval.deadline)
    }

    /// Admission of an approval event, and of any event of a gated phase while the gate is shut.
    func admitApproval(_ event: DeploymentEvent, id: String, at time: String?) throws(DomainError) {
        switch event {
        case .approvalRequested(let gate):
            if approval != nil { throw DomainError("deployment \(id) requests approval twice") }
            if isManualRollback { throw DomainError("deployment \(id) is a manual rollback; it has no approval gate") }
            if let problem = gate.problem { throw DomainError("the approval gate of \(id) cannot be met: \(problem)") }
            if let furthest = furthestPhase, furthest >= gate.before {
                throw DomainError("deployment \(id) requests approval before \(gate.before) after it reached \(furthest)")
            }
            if let running = runningStep, running >= gate.before {
                throw DomainError("deployment \(id) requests approval before \(gate.before) while \(running) runs")
            }
        case .approvalGranted(let by, _):
            let approval = try pendingApproval(id, doing: "approved")
            try requireApprover(by, approval.gate, id)
            if approval.grants.contains(where: { $0.by == by }) { throw DomainError("\(by) approves \(id) a second time; approvals are distinct") }
            if let time, time > approval.deadline {
                throw DomainError("deployment \(id) is approved at \(time), after its approval window closed (\(approval.deadline))")
            }
        case .approvalRejected(let by, _):
            let approval = try pendingApproval(id, doing: "rejected")
            try requireApprover(by, approval.gate, id)
        case .approvalTimedOut:
            let approval = try pendingApproval(id, doing: "timed out")
            if let time, time < approval.deadline {
                throw DomainError("the approval of \(id) times out at \(time), before its deadline (\(approval.deadline))")
            }
        default:
            guard let approval, !approval.isOpen, let phase = event.phase, phase >= approval.gate.before, phase != .rollback else { return }
            throw DomainError("\(event.typeName) on deployment-\(id) comes before the approval of \(phase) (\(approval.summary))")
        }
    }
}

extension DeploymentEvent {
    /// The phase an event belongs to, for the rules that gate phases; nil for events outside one.
    var phase: Phase? {
        switch self {
        case .stepStarted(let p, _), .stepSucceeded(let p, _), .stepFailed(let p, _): p
        case .serviceDeployed: .deploy
        case .stabilizationWaitStarted, .stabilizationWaitFinished: .health
        case .healthCheckAttempted(let a): a.round == .deploy ? .health : .rollback
        case .serviceHealthy(_, _, let round), .serviceUnhealthy(_, _, _, let round), .healthChecksPassed(let round),
            .healthChecksFailed(let round, _):
            round == .deploy ? .health : .rollback
        case .rollbackStarted: .rollback
        default: nil
        }
    }
}
