/// What a manual rollback (`shiplog rollback`) was asked to do: restore an earlier stable
/// release, replacing the one the environment runs now.
///
/// Carried by the rollback's own `DeploymentRequested` (`manual_rollback`): the deployment is a
/// manual rollback exactly when its request has this field. It runs only the pipeline's
/// rollback step and its health checks; when it succeeds, the release it replaced is recorded as
/// rolled back (`DeploymentRolledBackManually` on that release's stream), so it is never a
/// rollback target again.
public struct ManualRollback: Sendable, Equatable, Codable {
    /// The deployment whose release is restored, and its git sha.
    public var targetID: String
    public var targetSHA: String
    /// The successful deployment the environment ran when the rollback was requested, which it
    /// replaces; nil when the environment ran no successful release (its last one failed).
    public var replaces: String?
    /// Why, as the operator said.
    public var reason: String

    public init(targetID: String, targetSHA: String, replaces: String?, reason: String) {
        self.targetID = targetID
        self.targetSHA = targetSHA
        self.replaces = replaces
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case targetID = "target_deployment_id", targetSHA = "target_sha", replaces, reason
    }
}

/// A release a manual rollback replaced, as its own stream records it.
public struct ManualRollbackMark: Sendable, Equatable {
    /// The manual rollback's deployment id.
    public var rollbackID: String
    public var reason: String
    public var by: String
    public var at: String
}
