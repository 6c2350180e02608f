import EventStore

/// One deployment as the staging workflow's record shows it, plus what an auditor also needs.
public struct DeploymentRecord: Sendable, Equatable {
    public var deploymentID: String
    public var environment: String
    public var status: String
    public var gitSHA: String
    public var gitRef: String
    public var servicesDeployed: String   // JSON array text
    public var healthChecks: String       // JSON object text
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

    /// The staging workflow's `timestamp`: when the record was completed, else when it began.
    public var timestamp: String { finishedAt ?? startedAt }
    public var rollbackAvailable: Bool { previousStableID != nil }

    /// The record as JSON: first exactly the staging workflow's fields in the staging workflow's order, then the audit fields.
    public var json: String {
        JSONText.object([
            ("timestamp", JSONText.quote(seedTimestamp)),
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
            ("marked_bad", markedBadReason.map { JSONText.object([("reason", JSONText.quote($0)), ("by", JSONText.quote(markedBadBy ?? ""))]) } ?? "null"),
        ])
    }

    /// The staging workflow writes whole seconds: `2024-11-19T10:30:00Z`.
    var seedTimestamp: String {
        let t = timestamp
        guard t.count == 24, t.hasSuffix("Z") else { return t }
        return String(t.prefix(19)) + "Z"
    }

    static let columns = """
        deployment_id, environment, status, git_sha, git_ref, services_deployed, health_checks, triggered_by, mode, current_phase,
        started_at, finished_at, duration_ms, previous_stable_id, rolled_back_to, failure_reason, marked_bad_reason, marked_bad_by, request_position
        """

    init(_ s: Statement) {
        deploymentID = s.string(0)
        environment = s.string(1)
        status = s.string(2)
        gitSHA = s.string(3)
        gitRef = s.string(4)
        servicesDeployed = s.string(5)
        healthChecks = s.string(6)
        triggeredBy = s.string(7)
        mode = s.string(8)
        currentPhase = s.string(9)
        startedAt = s.string(10)
        finishedAt = s.optionalString(11)
        durationMs = s.optionalInt64(12)
        previousStableID = s.optionalString(13)
        rolledBackTo = s.optionalString(14)
        failureReason = s.optionalString(15)
        markedBadReason = s.optionalString(16)
        markedBadBy = s.optionalString(17)
        requestPosition = s.int64(18)
    }
}

/// One stored artifact and its retention state at a given time.
public struct ArtifactRecord: Sendable, Equatable {
    public enum State: String, Sendable { case retained, expiringSoon = "expiring_soon", expired, pruned }

    public var name: String
    public var deploymentID: String
    public var environment: String
    public var phase: String
    public var sha256: String
    public var size: Int64
    public var retentionDays: Int
    public var storedAt: String
    public var expiresAt: String
    public var prunedAt: String?
    public var state: State

    public var json: String {
        JSONText.object([
            ("name", JSONText.quote(name)), ("deployment_id", JSONText.quote(deploymentID)),
            ("environment", JSONText.quote(environment)), ("phase", JSONText.quote(phase)),
            ("sha256", JSONText.quote(sha256)), ("size", String(size)), ("retention_days", String(retentionDays)),
            ("stored_at", JSONText.quote(storedAt)), ("expires_at", JSONText.quote(expiresAt)),
            ("pruned_at", prunedAt.map(JSONText.quote) ?? "null"), ("state", JSONText.quote(state.rawValue)),
        ])
    }
}
