import ShiplogCore
import Foundation

/// What a pipeline consists of, as far as deciding the next step needs to know.
public struct DeploymentPlan: Sendable, Equatable {
    /// The command phases the pipeline has, among preflight, migrate, build, image, deploy, smoke, rollback.
    public var phases: [Phase]
    /// The health checks, by name.
    public var checks: [String]
    public var stabilizeSeconds: Double
    public var policy: HealthPolicy
    /// Steps whose interruption by a crash fails the deployment instead of running them again.
    public var failOnInterrupt: Set<Phase>
    public var notify: Bool
    /// The approval gate the pipeline puts before a phase, if any.
    public var approval: ApprovalGate?

    public init(
        phases: [Phase], checks: [String], stabilizeSeconds: Double, policy: HealthPolicy,
        failOnInterrupt: Set<Phase> = [], notify: Bool = false, approval: ApprovalGate? = nil
    ) {
        self.phases = phases
        self.checks = checks
        self.stabilizeSeconds = stabilizeSeconds
        self.policy = policy
        self.failOnInterrupt = failOnInterrupt
        self.notify = notify
        self.approval = approval
    }
}

/// The one thing a runner must do next: an effect as a value.
public enum NextStep: Sendable, Equatable {
    /// Run a command step (start it first); `attempt` > 1 after an interruption.
    case runStep(Phase, attempt: Int)
    /// A step was interrupted and the pipeline says not to run it again: record it failed.
    case failInterrupted(Phase)
    /// Start the stabilization wait (`until` nil) or sleep until it ends.
    case stabilize(until: String?)
    /// Probe these checks once each, concurrently.
    case probe([String], round: HealthRound)
    /// Sleep until the retry interval has passed.
    case wait(until: String)
    /// Roll back to the target (attempt > 1 after an interruption).
    case rollback(targetID: String, targetSHA: String, attempt: Int)
    case finish(FinishOutcome)
    /// Record that the approval gate is reached (`ApprovalRequested`), before the gated phase.
    case requestApproval(ApprovalGate)
    /// Wait for approvals, polling the ledger, at most until the gate's deadline.
    case awaitApproval(until: String)
    /// The deadline passed without enough approvals: record the timeout, which fails the deployment.
    case expireApproval
    /// Write the deployment record artifact.
    case storeRecord
    case notify
    /// Nothing left to do.
    case done
}

extension DeploymentState {
    /// Decides the next step from the events alone: the same state always gives the same step,
    /// which is what makes a killed runner resumable.
    public func next(plan: DeploymentPlan, now: Date) -> NextStep {
        guard let request else { return .done }
        if isFinished {
            if artifacts[Phase.recordArtifactName(deploymentID: request.deploymentID)] == nil { return .storeRecord }
            if plan.notify && notified == nil { return .notify }
            return .done
        }
        if let running = runningStep {
            let attempts = steps[running]?.attempts ?? 1
            if plan.failOnInterrupt.contains(running) { return .failInterrupted(running) }
            if running == .rollback, let target = rollbackTarget {
                return .rollback(targetID: target.id, targetSHA: target.sha, attempt: attempts + 1)
            }
            return .runStep(running, attempt: attempts + 1)
        }
        if isManualRollback { return nextOfManualRollback(plan: plan, now: now) }
        // A check judged unhealthy while others are still being probed: the round ends first, then its aggregate decides.
        let deployRoundOpen =
            firstStepFailure == nil && healthPassed[.deploy] == nil
            && plan.checks.contains { checks[.deploy]?[$0]?.verdict == nil }
        if hasFailure && !deployRoundOpen {
            let afterDeploy = healthFailed || steps[.smoke]?.failure != nil
            guard afterDeploy, plan.phases.contains(.rollback) else {
                return .finish(.failed(reason: failureSummary))
            }
            let rollback = steps[.rollback] ?? Step()
            if let failure = rollback.failure { return .finish(.failed(reason: "\(failureSummary); rollback failed: \(failure)")) }
            if !rollback.succeeded {
                guard let target = rollbackTarget else {
                    return .finish(.failed(reason: "\(failureSummary); no stable version of \(request.environment) to roll back to"))
                }
                return .rollback(targetID: target.id, targetSHA: target.sha, attempt: rollback.attempts + 1)
            }
            if !plan.checks.isEmpty, healthPassed[.rollback] == nil {
                return probeOrWait(round: .rollback, plan: plan, now: now)
            }
            if healthPassed[.rollback] == false {
                return .finish(.failed(reason: "\(failureSummary); the restored version failed its health checks"))
            }
            return .finish(.rolledBack)
        }
        for phase in [Phase.preflight, .migrate, .build, .image, .deploy] where plan.phases.contains(phase) {
            if steps[phase]?.succeeded != true {
                if let gate = approvalStep(before: phase, plan: plan, now: now) { return gate }
                return .runStep(phase, attempt: (steps[phase]?.attempts ?? 0) + 1)
            }
        }
        if plan.stabilizeSeconds > 0 && (!plan.checks.isEmpty || plan.phases.contains(.smoke)) {
            if stabilizationUntil == nil { return .stabilize(until: nil) }
            if !stabilized { return .stabilize(until: stabilizationUntil) }
        }
        if !plan.checks.isEmpty, healthPassed[.deploy] == nil {
            return probeOrWait(round: .deploy, plan: plan, now: now)
        }
        if plan.phases.contains(.smoke), steps[.smoke]?.succeeded != true {
            return .runStep(.smoke, attempt: (steps[.smoke]?.attempts ?? 0) + 1)
        }
        return .finish(.succeeded)
    }

    func probeOrWait(round: HealthRound, plan: DeploymentPlan, now: Date) -> NextStep {
        let current = checks[round] ?? [:]
        let pending = plan.checks.filter { current[$0]?.verdict == nil }
        // Every check has a verdict but the round has none: probing nothing records the aggregate.
        if pending.isEmpty { return .probe([], round: round) }
        let ready = pending.filter { name in
            guard let last = current[name]?.lastAttemptAt.flatMap(Timestamp.parse) else { return true }
            return now.timeIntervalSince(last) >= plan.policy.interval
        }
        if !ready.isEmpty { return .probe(ready, round: round) }
        let earliest = pending.compactMap { current[$0]?.lastAttemptAt.flatMap(Timestamp.parse) }.min() ?? now
        return .wait(until: Timestamp.format(earliest.addingTimeInterval(plan.policy.interval)))
    }
}
