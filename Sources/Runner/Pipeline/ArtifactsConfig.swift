/// Where a deployment's logs and record are kept, and for how long.
public struct ArtifactsConfig: Sendable, Equatable {
    /// `deployment-logs`, the staging workflow's `DEPLOYMENT_LOG_DIR`.
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
}
