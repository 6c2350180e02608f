extension DeploymentEvent {
    /// The stored type name.
    public var typeName: String {
        switch self {
        case .deploymentRequested: "DeploymentRequested"
        case .stepStarted(let p, _): p.eventTypes.started
        case .stepSucceeded(let p, _): p.eventTypes.succeeded
        case .stepFailed(let p, _): p.eventTypes.failed
        case .serviceDeployed: "ServiceDeployed"
        case .stabilizationWaitStarted: "StabilizationWaitStarted"
        case .stabilizationWaitFinished: "StabilizationWaitFinished"
        case .healthCheckAttempted: "HealthCheckAttempted"
        case .serviceHealthy: "ServiceHealthy"
        case .serviceUnhealthy: "ServiceUnhealthy"
        case .healthChecksPassed: "HealthChecksPassed"
        case .healthChecksFailed: "HealthChecksFailed"
        case .rollbackStarted: "RollbackStarted"
        case .notificationSent: "NotificationSent"
        case .notificationFailed: "NotificationFailed"
        case .artifactStored: "ArtifactStored"
        case .deploymentSucceeded: "DeploymentSucceeded"
        case .deploymentFailed: "DeploymentFailed"
        case .deploymentRolledBack: "DeploymentRolledBack"
        case .deploymentAbandoned: "DeploymentAbandoned"
        case .deploymentMarkedBad: "DeploymentMarkedBad"
        case .approvalRequested: "ApprovalRequested"
        case .approvalGranted: "ApprovalGranted"
        case .approvalRejected: "ApprovalRejected"
        case .approvalTimedOut: "ApprovalTimedOut"
        case .deploymentRolledBackManually: "DeploymentRolledBackManually"
        case .environmentLocked: "EnvironmentLocked"
        case .environmentReleased: "EnvironmentReleased"
        case .environmentUnlocked: "EnvironmentUnlocked"
        case .artifactPruned: "ArtifactPruned"
        }
    }
}
