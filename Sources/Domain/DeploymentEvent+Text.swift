extension DeploymentEvent {
    /// The event with `transform` applied to every free-text field: what a person or a process
    /// wrote (refs, who, reasons, errors, details, check targets), which may carry a secret.
    ///
    /// Identifiers, names, digests, hashes, times and numbers are left as they are: they are
    /// keys other events and projections refer to, and are never free text. So is the pipeline
    /// file's path: `resume` opens that very file. The ledger passes
    /// every event it appends through this with its text filter (see `Ledger.textFilter`).
    public func mapText(_ transform: (String) -> String) -> DeploymentEvent {
        switch self {
        case .deploymentRequested(var request):
            request.gitRef = transform(request.gitRef)
            request.triggeredBy = transform(request.triggeredBy)
            if let reason = request.manualRollback?.reason { request.manualRollback?.reason = transform(reason) }
            return .deploymentRequested(request)
        case .stepSucceeded(let phase, let detail):
            return .stepSucceeded(phase, detail: detail.map(transform))
        case .stepFailed(let phase, let reason):
            return .stepFailed(phase, reason: transform(reason))
        case .healthCheckAttempted(var attempt):
            attempt.target = transform(attempt.target)
            attempt.error = attempt.error.map(transform)
            attempt.body = attempt.body.map(transform)
            return .healthCheckAttempted(attempt)
        case .serviceUnhealthy(let check, let attempts, let reason, let round):
            return .serviceUnhealthy(check: check, attempts: attempts, reason: transform(reason), round: round)
        case .notificationFailed(let channel, let attempts, let error):
            return .notificationFailed(channel: channel, attempts: attempts, error: transform(error))
        case .deploymentFailed(let reason, let phase):
            return .deploymentFailed(reason: transform(reason), phase: phase)
        case .deploymentRolledBack(let targetID, let targetSHA, let reason):
            return .deploymentRolledBack(targetID: targetID, targetSHA: targetSHA, reason: reason.map(transform))
        case .deploymentAbandoned(let reason, let by):
            return .deploymentAbandoned(reason: transform(reason), by: transform(by))
        case .deploymentMarkedBad(let reason, let by):
            return .deploymentMarkedBad(reason: transform(reason), by: transform(by))
        case .approvalGranted(let by, let comment):
            return .approvalGranted(by: by, comment: comment.map(transform))
        case .approvalRejected(let by, let reason):
            return .approvalRejected(by: by, reason: transform(reason))
        case .deploymentRolledBackManually(let rollbackID, let targetID, let targetSHA, let reason, let by):
            return .deploymentRolledBackManually(rollbackID: rollbackID, targetID: targetID, targetSHA: targetSHA, reason: transform(reason), by: transform(by))
        case .environmentUnlocked(let deploymentID, let reason, let by):
            return .environmentUnlocked(deploymentID: deploymentID, reason: transform(reason), by: transform(by))
        case .stepStarted, .serviceDeployed, .stabilizationWaitStarted, .stabilizationWaitFinished, .serviceHealthy,
            .healthChecksPassed, .healthChecksFailed, .rollbackStarted, .notificationSent, .artifactStored,
            .deploymentSucceeded, .approvalRequested, .approvalTimedOut, .environmentLocked, .environmentReleased, .artifactPruned:
            return self
        }
    }
}
