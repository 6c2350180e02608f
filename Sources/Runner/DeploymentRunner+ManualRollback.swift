import EventStore
import Foundation
import Ledger

extension DeploymentRunner {
    /// Rolls the pipeline's environment back by hand: a deployment of its own that runs the
    /// pipeline's rollback step with `SHIPLOG_ROLLBACK_VERSION` set to the restored release, then
    /// the health checks, then notifies; `resume` continues it after a crash.
    ///
    /// Without `target`, it restores the newest stable release older than the one that runs now
    /// (`Ledger.releases(of:)`). When it succeeds, the release it replaced is recorded as rolled
    /// back, in the same append.
    public func rollBackManually(to target: String?, reason: String, by: String) throws -> DeploymentOutcome {
        guard pipeline.rollback != nil else {
            throw LedgerError.invalid(
                "\(pipeline.sourceFile) has no rollback step: a manual rollback runs it with SHIPLOG_ROLLBACK_VERSION set to the release it restores; add `rollback: { run: … }`"
            )
        }
        try prepareLogDirectory()
        let state = try ledger.requestManualRollback(
            environment: pipeline.environment, to: target, reason: reason, by: by, services: pipeline.services, checks: plan.checks,
            pipeline: pipeline.source)
        output.startedManualRollback(id: state.id!, state: state)
        return try drive(state.id!)
    }
}
