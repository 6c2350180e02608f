import Foundation

/// Where a deployment's logs and record are kept, and for how long.
public struct ArtifactsConfig: Sendable, Equatable {
    /// `deployment-logs`, the seed's `DEPLOYMENT_LOG_DIR`.
    public static let defaultDir = "deployment-logs"
    /// 365 days.
    public static let defaultRetentionDays = 365

    /// The log directory; relative paths are relative to the pipeline file's directory.
    public var dir: String
    /// How many days artifacts are kept.
    public var retentionDays: Int

    public init(dir: String = defaultDir, retentionDays: Int = defaultRetentionDays) {
        self.dir = dir
        self.retentionDays = retentionDays
    }

    /// The artifacts a deployment leaves in `dir`, one set per deployment id.
    public enum Artifact: String, Sendable, CaseIterable {
        /// `migration-logs-{id}`: the output of the migrate phase.
        case migrationLogs = "migration-logs-{id}"
        /// `build-{id}.log`: the output of the build phase.
        case buildLog = "build-{id}.log"
        /// `docker-build-{id}.log`: the output of the image phase.
        case dockerBuildLog = "docker-build-{id}.log"
        /// `deployment-{id}.log`: the output of the deploy phase.
        case deploymentLog = "deployment-{id}.log"
        /// `deployment-logs-{id}`: the build and deployment logs together.
        case deploymentLogs = "deployment-logs-{id}"
        /// `health-check-logs-{id}`: every attempt of every health check, and the smoke tests.
        case healthCheckLogs = "health-check-logs-{id}"
        /// `rollback-logs-{id}`: the rollback and its verification.
        case rollbackLogs = "rollback-logs-{id}"
        /// `deployment-record-{id}`: the deployment record.
        case deploymentRecord = "deployment-record-{id}"

        /// The artifact's name for one deployment.
        public func name(deploymentID: String) -> String {
            rawValue.replacingOccurrences(of: "{id}", with: deploymentID)
        }
    }
}
