import EventStore

/// One deployment as the staging workflow's record shows it, plus what an auditor also needs.
public struct DeploymentRecord: Sendable, Equatable {
    public var deploymentID: String
    public var environment: String
    public var status: String
    public var gitSHA: String
    public var gitRef: String
    public var servicesDeployed: String  // JSON array text
    public var healthChecks: String  // JSON object text
    public var triggeredBy: String
    public var mode: String
    public var currentPhase: String
    public var startedAt: String
    public var finishedAt: String?
    public var durationMs: Int64?
    public var previousStableID: String?
    public var rolledBackTo: String?
    public var failureReason: String?
    public var markedBadReason: String?
    public var markedBadBy: String?
    public var requestPosition: Int64
    /// The position of the deployment's last event the row reflects.
    public var lastPosition: Int64
    /// When the deployed commit was made, if its request carries it (`--commit-time`, or git).
    public var commitTime: String?
    /// JSON object text when this deployment is a manual rollback (`shiplog rollback`):
    /// `{"target", "target_sha", "replaces", "reason", "requested_by"}`; nil otherwise.
    public var manualRollback: String?
    /// JSON object text when a manual rollback replaced this release:
    /// `{"deployment_id", "reason", "by", "at"}`; nil otherwise.
    public var rolledBackBy: String?
    /// JSON object text of the approval gate, once requested: who approved, when, who rejected.
    public var approval: String?

    public init(
        deploymentID: String, environment: String, status: String, gitSHA: String, gitRef: String, servicesDeployed: String,
        healthChecks: String, triggeredBy: String, mode: String, currentPhase: String, startedAt: String, finishedAt: String?,
        durationMs: Int64?, previousStableID: String?, rolledBackTo: String?, failureReason: String?, markedBadReason: String?,
        markedBadBy: String?, requestPosition: Int64, lastPosition: Int64, commitTime: String? = nil, manualRollback: String? = nil, rolledBackBy: String? = nil,
        approval: String? = nil
    ) {
        self.deploymentID = deploymentID
        self.environment = environment
        self.status = status
        self.gitSHA = gitSHA
        self.gitRef = gitRef
        self.servicesDeployed = servicesDeployed
        self.healthChecks = healthChecks
        self.triggeredBy = triggeredBy
        self.mode = mode
        self.currentPhase = currentPhase
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.durationMs = durationMs
        self.previousStableID = previousStableID
        self.rolledBackTo = rolledBackTo
        self.failureReason = failureReason
        self.markedBadReason = markedBadReason
        self.markedBadBy = markedBadBy
        self.requestPosition = requestPosition
        self.lastPosition = lastPosition
        self.commitTime = commitTime
        self.manualRollback = manualRollback
        self.rolledBackBy = rolledBackBy
        self.approval = approval
    }

    /// True for a manual rollback: a restoration of an earlier release, not a change.
    public var isManualRollback: Bool { manualRollback != nil }

    /// The staging workflow's `timestamp`: when the record was completed, else when it began.
    public var timestamp: String { finishedAt ?? startedAt }
    public var rollbackAvailable: Bool { previousStableID != nil }

    /// The record as JSON: first exactly the staging workflow's fields in the staging workflow's order, then the audit fields.
    public var json: String {
        JSONText.object([
            ("timestamp", JSONText.quote(recordTimestamp)),
            ("deployment_id", JSONText.quote(deploymentID)),
            ("environment", JSONText.quote(environment)),
            ("status", JSONText.quote(status)),
            ("git_sha", JSONText.quote(gitSHA)),
            ("git_ref", JSONText.quote(gitRef)),
            ("services_deployed", servicesDeployed),
            ("health_checks", healthChecks),
            ("rollback_available", rollbackAvailable ? "true" : "false"),
            ("started_at", JSONText.quote(startedAt)),
            ("finished_at", finishedAt.map(JSONText.quote) ?? "null"),
            ("duration_ms", durationMs.map { String($0) } ?? "null"),
            ("rollback_target", previousStableID.map(JSONText.quote) ?? "null"),
            ("rolled_back_to", rolledBackTo.map(JSONText.quote) ?? "null"),
            ("triggered_by", JSONText.quote(triggeredBy)),
            ("failure_reason", failureReason.map(JSONText.quote) ?? "null"),
            ("commit_time", commitTime.map(JSONText.quote) ?? "null"),
            ("marked_bad", markedBadReason.map { JSONText.object([("reason", JSONText.quote($0)), ("by", JSONText.quote(markedBadBy ?? ""))]) } ?? "null"),
            ("manual_rollback", manualRollback ?? "null"),
            ("rolled_back_by", rolledBackBy ?? "null"),
            ("approval", approval ?? "null"),
        ])
    }

    /// The staging workflow writes whole seconds: `2024-11-19T10:30:00Z`.
    var recordTimestamp: String {
        let t = timestamp
        guard t.count == 24, t.hasSuffix("Z") else { return t }
        return String(t.prefix(19)) + "Z"
    }
}

/// One stored artifact and its retention state at a given time: its projection row's fields
/// (`name`, `sha256`, `expiresAt`…) read through, and the state.
@dynamicMemberLookup
public struct ArtifactRecord: Sendable, Equatable {
    public enum State: String, Sendable { case retained, expiringSoon = "expiring_soon", expired, pruned }

    public var row: ArtifactRow
    public var state: State

    public init(row: ArtifactRow, state: State) {
        self.row = row
        self.state = state
    }

    public subscript<T>(dynamicMember keyPath: KeyPath<ArtifactRow, T>) -> T { row[keyPath: keyPath] }

    public var json: String {
        let r = row
        return JSONText.object([
            ("name", JSONText.quote(r.name)), ("deployment_id", JSONText.quote(r.deploymentID)),
            ("environment", JSONText.quote(r.environment)), ("phase", JSONText.quote(r.phase)),
            ("sha256", JSONText.quote(r.sha256)), ("size", String(r.size)), ("retention_days", String(r.retentionDays)),
            ("stored_at", JSONText.quote(r.storedAt)), ("expires_at", JSONText.quote(r.expiresAt)),
            ("pruned_at", r.prunedAt.map(JSONText.quote) ?? "null"), ("state", JSONText.quote(state.rawValue)),
        ])
    }
}
