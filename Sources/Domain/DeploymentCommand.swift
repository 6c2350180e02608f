/// What a runner, a recording pipeline or a person asks of a deployment, in the imperative.
public enum DeploymentCommand: Sendable, Equatable {
    /// Begin a command step (the runner, before it starts the process).
    case startStep(Phase, attempt: Int)
    /// Record a step's outcome. Recording pipelines may report outcomes without a start.
    case completeStep(Phase, succeeded: Bool, reason: String?)
    case startStabilization(seconds: Double, until: String)
    case finishStabilization
    /// Record one round of probes; verdicts follow from the policy.
    case recordHealthAttempts([HealthAttempt], policy: HealthPolicy, now: String)
    /// Record a check's verdict reported by another pipeline.
    case recordHealthVerdict(check: String, healthy: Bool, attempts: Int, reason: String?)
    case startRollback(targetID: String, targetSHA: String, attempt: Int)
    case recordNotification(sent: Bool, attempts: Int, error: String?)
    case storeArtifact(Artifact)
    case finish(FinishOutcome)
    case abandon(reason: String, by: String)
    case markBad(reason: String, by: String)
    /// Open the approval gate the pipeline puts before a phase (the runner, on reaching it).
    case requestApproval(ApprovalGate)
    /// One approval by `by`, at `at` (the time, as a value: the domain has no clock).
    case approve(by: String, comment: String?, at: String)
    /// A rejection: the deployment fails before the gated phase runs.
    case reject(by: String, reason: String, at: String)
    /// The gate's deadline has passed without enough approvals (`at` is now).
    case expireApproval(at: String)
    /// Record on this finished release that the manual rollback `rollbackID` replaced it.
    case recordManualRollback(rollbackID: String, targetID: String, targetSHA: String, reason: String, by: String)
}

/// How a deployment ends.
public enum FinishOutcome: Sendable, Equatable {
    case succeeded
    case failed(reason: String)
    case rolledBack
}

/// How health checks are judged.
public struct HealthPolicy: Sendable, Equatable, Codable {
    /// Attempts per service (the staging workflow: 5).
    public var retries: Int
    /// Seconds between attempts (the staging workflow: 10).
    public var interval: Double
    /// Seconds from a service's first attempt after which it is unhealthy (the staging workflow: 300).
    public var totalTimeout: Double
    /// Checks whose failure does not fail the deployment.
    public var nonCritical: Set<String>

    public init(retries: Int = 5, interval: Double = 10, totalTimeout: Double = 300, nonCritical: Set<String> = []) {
        self.retries = retries
        self.interval = interval
        self.totalTimeout = totalTimeout
        self.nonCritical = nonCritical
    }
}

/// A command the deployment refuses, saying where it stands and what it accepts next.
public struct DomainError: Error, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
