import EventStore
import Foundation
import Ledger

/// Progress lines for what operators do between deployments: approval gates, the wait for an
/// environment's lock, manual rollbacks.
extension RunnerOutput {
    func startedManualRollback(id: String, state: DeploymentState) {
        guard style == .text, let r = state.request, let m = r.manualRollback else { return }
        line("▶ \(id): manual rollback of \(r.environment) to \(m.targetID) (\(m.targetSHA.prefix(12))), asked by \(r.triggeredBy): \(m.reason)")
        line(m.replaces.map { "  replacing \($0), which becomes rolled back once this succeeds" } ?? "  replacing no successful release")
    }

    func awaitingApproval(id: String, approval: ApprovalProgress) {
        guard style == .text else { return }
        line("⏸ waiting for approval before \(approval.gate.before.rawValue): \(approval.summary), until \(approval.deadline)")
    }

    func waitingForLock(environment: String, holder: String, phase: String, remaining: Double) {
        guard style == .text else { return }
        line("⏳ \(environment) is held by \(holder) (\(phase)); waiting up to \(Int(remaining.rounded(.up))) s for it to end")
    }

    /// The lines of the recorded events this file is about; nothing for any other event.
    func operatorEvent(_ event: DeploymentEvent, stream: String) {
        let id = Identifier.deploymentID(inStream: stream) ?? "ID"
        switch event {
        case .approvalRequested(let gate):
            let who = gate.approvers.isEmpty ? "anyone" : gate.approvers.joined(separator: ", ")
            line("⏸ \(gate.before.rawValue) needs \(gate.required) approval\(gate.required == 1 ? "" : "s") (from \(who))")
            line("  approve: shiplog approve \(id) --by NAME [--comment TEXT]")
            line("  reject:  shiplog reject \(id) --by NAME --reason TEXT")
        case .approvalGranted(let by, _): line("  ✓ approved by \(by)")
        case .approvalRejected(let by, let reason): line("  ✗ rejected by \(by): \(reason)")
        case .approvalTimedOut(let deadline): line("  ✗ not approved before \(deadline)")
        case .deploymentRolledBackManually(let rollbackID, _, _, _, _): line("  ↩ \(id) is rolled back: \(rollbackID) replaced it")
        default: break
        }
    }
}
