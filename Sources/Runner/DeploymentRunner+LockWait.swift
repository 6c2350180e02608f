import EventStore
import Foundation
import Ledger

extension DeploymentRunner {
    /// Records a new deployment of `sha`, taking the environment's lock. With `lockWait`, a
    /// deployment already active in the environment is waited for (reading the ledger every
    /// second, a progress line naming it) instead of refused, at most `lockWait` seconds.
    ///
    /// - Throws: `LedgerError.refused` when the environment is still held after the wait;
    ///   `RunnerInterrupted` (no deployment id: nothing was started) on SIGINT or SIGTERM.
    func requestDeployment(sha: String, ref: String, triggeredBy: String, commitTime: String?) throws -> DeploymentState {
        let environment = pipeline.environment
        let started = ledger.clock()
        var announced: (id: String, phase: String)?
        while true {
            do {
                return try ledger.request(
                    environment: environment, gitSHA: sha, gitRef: ref, services: pipeline.services,
                    triggeredBy: triggeredBy, mode: .run, phases: plan.phases, checks: plan.checks,
                    pipeline: pipeline.source, commitTime: commitTime)
            } catch LedgerError.refused(let message) {
                guard let lockWait, let active = try ledger.activeDeployment(environment: environment) else {
                    throw LedgerError.refused(message)
                }
                Interruption.install()
                let waited = ledger.clock().timeIntervalSince(started)
                if waited >= lockWait {
                    throw LedgerError.refused(
                        "environment \(environment) is still held by \(active) after waiting \(PipelineSyntax.format(.milliseconds(Int64(lockWait * 1000)))); nothing was started. \(message)"
                    )
                }
                let phase = try ledger.load(active).currentPhase
                if announced?.id != active || announced?.phase != phase {
                    output.waitingForLock(environment: environment, holder: active, phase: phase, remaining: lockWait - waited)
                    announced = (active, phase)
                }
                if Interruption.sleep(seconds: min(Self.pollSeconds, lockWait - waited)) {
                    throw RunnerInterrupted(
                        signal: Interruption.signal ?? SIGTERM, deploymentID: nil,
                        activity: "the wait for environment \(environment), held by \(active)")
                }
            }
        }
    }

    /// Seconds in a duration written as the pipeline file writes them (`90s`, `10m`, `1h30m`, `45`).
    public static func seconds(parsing text: String) -> Double? {
        PipelineSyntax.parseDuration(text).map(seconds)
    }
}
