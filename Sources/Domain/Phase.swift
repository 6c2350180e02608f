/// The phases of the staging workflow, in the order a deployment passes through them.
///
/// `health` covers the stabilization wait and the service checks; `rollback` runs only
/// when a critical check or the smoke tests fail.
public enum Phase: String, Sendable, Codable, CaseIterable, Comparable {
    case preflight, migrate, build, image, deploy, health, smoke, rollback

    public static func < (a: Phase, b: Phase) -> Bool { a.order < b.order }

    var order: Int { Phase.allCases.firstIndex(of: self)! }

    /// Phases a pipeline runs as a command, with the events that record them.
    public var eventTypes: (started: String, succeeded: String, failed: String) {
        switch self {
        case .preflight: ("StatusChecksStarted", "StatusChecksVerified", "StatusChecksFailed")
        case .migrate: ("MigrationStarted", "MigrationSucceeded", "MigrationFailed")
        case .build: ("BuildStarted", "BuildSucceeded", "BuildFailed")
        case .image: ("ImageBuildStarted", "ImagePushed", "ImageBuildFailed")
        case .deploy: ("DeployStarted", "ServiceDeployed", "DeployFailed")
        case .health: ("StabilizationWaitStarted", "HealthChecksPassed", "HealthChecksFailed")
        case .smoke: ("SmokeTestsStarted", "SmokeTestsPassed", "SmokeTestsFailed")
        case .rollback: ("RollbackStarted", "RollbackSucceeded", "RollbackFailed")
        }
    }

    /// The staging workflow's artifact name for this phase's log.
    public func logArtifactName(deploymentID id: String) -> String {
        switch self {
        case .preflight: "preflight-\(id).log"
        case .migrate: "migration-logs-\(id)"
        case .build: "build-\(id).log"
        case .image: "docker-build-\(id).log"
        case .deploy: "deployment-\(id).log"
        case .health, .smoke: "health-check-logs-\(id)"
        case .rollback: "rollback-logs-\(id)"
        }
    }

    /// The staging workflow's name for the deployment record artifact.
    public static func recordArtifactName(deploymentID id: String) -> String { "deployment-record-\(id)" }
}
