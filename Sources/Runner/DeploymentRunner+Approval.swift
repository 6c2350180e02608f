import EventStore
import Foundation
import Ledger

extension DeploymentRunner {
    /// How often a waiting runner reads the ledger again.
    static let pollSeconds = 1.0

    /// Waits at the approval gate until it opens, a rejection ends the deployment, or the
    /// deadline passes, reading the ledger every second: approvals arrive from `shiplog approve`
    /// on any machine that shares it. Returns the deployment as the events leave it then.
    ///
    /// SIGINT or SIGTERM ends the wait at once with `RunnerInterrupted`: nothing is recorded, the
    /// deployment keeps waiting, and the runner's claim is released on the way out, so
    /// `shiplog resume ID` continues it (no `unlock` needed).
    func awaitApproval(until deadline: String, state: DeploymentState) throws -> DeploymentState {
        let id = state.id!
        Interruption.install()
        var shown = -1
        var current = state
        while true {
            guard let approval = current.approval, approval.isPending, !current.isFinished else { return current }
            if approval.grants.count != shown {
                output.awaitingApproval(id: id, approval: approval)
                shown = approval.grants.count
            }
            let remaining = (Timestamp.parse(deadline) ?? ledger.clock()).timeIntervalSince(ledger.clock())
            if remaining <= 0 { return current }
            if Interruption.sleep(seconds: min(Self.pollSeconds, remaining)) {
                throw RunnerInterrupted(signal: Interruption.signal ?? SIGTERM, deploymentID: id, activity: "the wait for approval")
            }
            current = try ledger.load(id)
        }
    }

    /// The outcome of a runner that does not wait at the gate: the deployment waits (exit 7).
    func waitingOutcome(_ state: DeploymentState) -> DeploymentOutcome {
        let id = state.id!
        let summary = state.approval.map { "\($0.summary), until \($0.deadline)" } ?? "approval requested"
        return DeploymentOutcome(
            deploymentID: id, status: .running,
            reason: "waits for approval (\(summary)); approve with `shiplog approve \(id) --by NAME`, then continue it with `shiplog resume \(id)`")
    }
}
