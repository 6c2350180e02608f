import ShiplogCore
import Foundation

/// Everything that can happen to a deployment or an environment, in the past tense.
///
/// Each case is stored as one event: its `typeName`, a schema version, and a JSON object
/// of snake_case fields (docs/EVENTS.md lists them). Times are not part of the payload: the
/// ledger's `recorded_at` is the time of every fact.
public enum DeploymentEvent: Sendable, Equatable {
    // Deployment stream: deployment-<id>
    // Boxed: a request is several times larger than any other payload, and every event would
    // otherwise be as large (copied and destroyed by every reader at that size).
    indirect case deploymentRequested(DeploymentRequest)
    case stepStarted(Phase, attempt: Int)
    case stepSucceeded(Phase, detail: String?)
    case stepFailed(Phase, reason: String)
    case serviceDeployed(service: String)
    case stabilizationWaitStarted(seconds: Double, until: String)
    case stabilizationWaitFinished
    case healthCheckAttempted(HealthAttempt)
    case serviceHealthy(check: String, attempts: Int, round: HealthRound)
    case serviceUnhealthy(check: String, attempts: Int, reason: String, round: HealthRound)
    case healthChecksPassed(round: HealthRound)
    case healthChecksFailed(round: HealthRound, failed: [String])
    case rollbackStarted(targetID: String, targetSHA: String, attempt: Int)
    case notificationSent(channel: String, attempts: Int)
    case notificationFailed(channel: String, attempts: Int, error: String)
    case artifactStored(Artifact)
    case deploymentSucceeded
    case deploymentFailed(reason: String, phase: Phase?)
    /// `reason`: what failed, so a rolled-back record says why it was rolled back (nil in
    /// events written before it was kept).
    case deploymentRolledBack(targetID: String, targetSHA: String, reason: String? = nil)
    case deploymentAbandoned(reason: String, by: String)
    case deploymentMarkedBad(reason: String, by: String)
    /// The gate before `gate.before` was reached: the runner waits for approvals.
    case approvalRequested(ApprovalGate)
    /// One person approved (at most once each, only among the gate's approvers).
    case approvalGranted(by: String, comment: String?)
    /// One person rejected: the deployment fails without running the gated phase.
    case approvalRejected(by: String, reason: String)
    /// Nobody approved enough before the deadline.
    case approvalTimedOut(deadline: String)
    /// A finished, successful release was replaced by the manual rollback `rollbackID`, which
    /// restored `targetID`: it is rolled back now, and never a rollback target again.
    case deploymentRolledBackManually(rollbackID: String, targetID: String, targetSHA: String, reason: String, by: String)
    // Environment stream: environment-<name>
    case environmentLocked(deploymentID: String)
    case environmentReleased(deploymentID: String, status: String)
    case environmentUnlocked(deploymentID: String, reason: String, by: String)
    // Artifact stream: artifact-<name>
    case artifactPruned(name: String, sha256: String, deploymentID: String)
}

/// What a deployment was asked to ship.
public struct DeploymentRequest: Sendable, Equatable, Codable {
    public var deploymentID: String
    public var environment: String
    public var gitSHA: String
    public var gitRef: String
    public var services: [String]
    public var triggeredBy: String
    /// Who drives the deployment.
    public var mode: DeploymentMode
    /// The phases the pipeline has, in order; empty for recorded deployments (any subset).
    public var phases: [Phase]
    /// The health checks the pipeline runs, by name.
    public var checks: [String]
    /// The last stable deployment of the environment when this one was requested.
    public var previousStableID: String?
    public var previousStableSHA: String?
    /// The pipeline file `shiplog deploy` ran, as an absolute path, and the SHA-256 of its
    /// bytes: `resume` runs the same file, and refuses one that changed since.
    public var pipelinePath: String?
    public var pipelineSHA256: String?
    /// When the commit was made (its committer time, as the ledger writes times), if known:
    /// `deploy`/`record begin --commit-time`, or read with git where the runner has the
    /// repository. The lead time for changes is measured from it.
    public var commitTime: String?
    /// Present exactly when this deployment is a manual rollback (`shiplog rollback`): what it
    /// restores, what it replaces and why. `triggeredBy` is who asked for it.
    public var manualRollback: ManualRollback?

    public init(
        deploymentID: String, environment: String, gitSHA: String, gitRef: String, services: [String],
        triggeredBy: String, mode: DeploymentMode, phases: [Phase] = [], checks: [String] = [],
        previousStableID: String? = nil, previousStableSHA: String? = nil,
        pipelinePath: String? = nil, pipelineSHA256: String? = nil, commitTime: String? = nil, manualRollback: ManualRollback? = nil
    ) {
        self.deploymentID = deploymentID
        self.environment = environment
        self.gitSHA = gitSHA
        self.gitRef = gitRef
        self.services = services
        self.triggeredBy = triggeredBy
        self.mode = mode
        self.phases = phases
        self.checks = checks
        self.previousStableID = previousStableID
        self.previousStableSHA = previousStableSHA
        self.pipelinePath = pipelinePath
        self.pipelineSHA256 = pipelineSHA256
        self.commitTime = commitTime
        self.manualRollback = manualRollback
    }

    enum CodingKeys: String, CodingKey {
        case deploymentID = "deployment_id", environment, gitSHA = "git_sha", gitRef = "git_ref", services
        case triggeredBy = "triggered_by", mode, phases, checks
        case previousStableID = "previous_stable_id", previousStableSHA = "previous_stable_sha"
        case pipelinePath = "pipeline_path", pipelineSHA256 = "pipeline_sha256"
        case commitTime = "commit_time"
        case manualRollback = "manual_rollback"
    }

    /// `{unix-seconds}-{first 12 hex digits of the sha}`, the staging workflow's deployment id format.
    public static func makeID(at date: Date, sha: String) -> String {
        "\(Int64(date.timeIntervalSince1970))-\(sha.lowercased().prefix(12))"
    }
}

/// Who drives a deployment: `shiplog deploy` (`run`), or another pipeline reporting its phases
/// with `shiplog record` (`record`).
public enum DeploymentMode: String, Sendable, Codable, Equatable, CaseIterable {
    case run, record
}

/// Which health-check pass: after the deploy, or after restoring the previous version.
public enum HealthRound: String, Sendable, Codable, CaseIterable { case deploy, rollback }

/// One try of one health check.
public struct HealthAttempt: Sendable, Equatable, Codable {
    public var check: String
    /// The URL or command checked. Never carries a secret: URLs are redacted before they get here.
    public var target: String
    public var attempt: Int
    public var round: HealthRound
    public var httpStatus: Int?
    public var latencyMs: Int
    public var error: String?
    public var healthy: Bool
    /// The start of an unhealthy answer's body, redacted and at most 512 bytes of UTF-8 (an
    /// ellipsis marks a cut); nil for a healthy answer, a command check, or an event written
    /// before it existed.
    public var body: String?

    public init(
        check: String, target: String, attempt: Int, round: HealthRound, httpStatus: Int?, latencyMs: Int, error: String?, healthy: Bool,
        body: String? = nil
    ) {
        self.check = check
        self.target = target
        self.attempt = attempt
        self.round = round
        self.httpStatus = httpStatus
        self.latencyMs = latencyMs
        self.error = error
        self.healthy = healthy
        self.body = body
    }

    enum CodingKeys: String, CodingKey {
        case check = "service", target, attempt, round, httpStatus = "http_status", latencyMs = "latency_ms", error, healthy, body
    }
}

/// A log or record file kept for its retention period, stored by content.
public struct Artifact: Sendable, Equatable, Codable {
    public var name: String
    public var phase: String
    public var sha256: String
    public var size: Int64
    public var retentionDays: Int

    public init(name: String, phase: String, sha256: String, size: Int64, retentionDays: Int) {
        self.name = name
        self.phase = phase
        self.sha256 = sha256
        self.size = size
        self.retentionDays = retentionDays
    }

    enum CodingKeys: String, CodingKey {
        case name, phase, sha256, size, retentionDays = "retention_days"
    }
}
