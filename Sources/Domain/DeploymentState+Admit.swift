import ShiplogCore

/// The invariants of a recorded history: what any event may follow, whoever wrote it.
///
/// `decide` produces events only through these rules' front door, but a ledger also receives
/// events it did not decide: an import file can carry a hash chain that is valid and events the
/// domain would never produce (a success after a failed health check, a rollback onto a failed
/// release, a lock for a deployment that does not exist). Every append and every import passes
/// each event through `admit` before it is projected, so both paths obey one set of rules.
///
/// Pure: other deployments are looked up through `lookup`, which answers with their state as of
/// the event being admitted (never later).
extension DeploymentState {
    /// Refuses `event` when it cannot follow this state on the stream of deployment `id`.
    ///
    /// `time` is the event's `recorded_at`, for the rules about time (an approval after its
    /// gate's deadline); nil skips them.
    public func admit(
        _ event: DeploymentEvent, deploymentID id: String, at time: String? = nil,
        lookup: (String) throws -> DeploymentState?
    ) throws(DomainError) {
        try event.validateIdentifiers()
        guard let request else {
            guard case .deploymentRequested(let r) = event else {
                throw DomainError("\(event.typeName) on deployment-\(id) comes before its DeploymentRequested")
            }
            guard r.deploymentID == id else {
                throw DomainError("stream deployment-\(id) holds the request of another deployment (\(Identifier.quoted(r.deploymentID)))")
            }
            guard r.gitSHA.hasPrefix(String(id.drop { $0 != "-" }.dropFirst())) else {
                throw DomainError("deployment id \(id) does not carry the first hex digits of its git sha \(r.gitSHA)")
            }
            if let commit = r.commitTime, Timestamp.parse(commit).map(Timestamp.format) != commit {
                throw DomainError(
                    "deployment \(id) carries commit_time \(Identifier.quoted(commit)); a commit time is UTC with milliseconds, as the ledger writes times (2024-11-19T10:30:00.000Z)")
            }
            if let stable = r.previousStableID {
                try Self.requireStable(
                    stable, sha: r.previousStableSHA, environment: r.environment, for: id,
                    what: "its previous stable version", lookup: lookup)
            }
            if let manual = r.manualRollback { try Self.admitManualRollbackRequest(r, manual, id: id, lookup: lookup) }
            return
        }
        if isFinished {
            switch event {
            case .deploymentMarkedBad:
                guard markedBad == nil else { throw DomainError("deployment \(id) is already marked bad") }
                return
            case .artifactStored(let a):
                try admitArtifact(a, id: id)
                return
            case .notificationSent, .notificationFailed:
                return
            case .deploymentRolledBackManually(let rollbackID, let targetID, let targetSHA, _, _):
                try admitReplacement(rollbackID, targetID: targetID, targetSHA: targetSHA, id: id, lookup: lookup)
                return
            default:
                throw DomainError("\(event.typeName) follows the end of deployment \(id), which finished as \(status!.rawValue)")
            }
        }
        if let manual = request.manualRollback { try admitManualRollbackEvent(event, id: id, manual: manual) }
        try admitApproval(event, id: id, at: time)
        switch event {
        case .deploymentRequested:
            throw DomainError("deployment \(id) is requested twice")
        case .deploymentRolledBackManually:
            throw DomainError("deployment \(id) is replaced by a manual rollback while it is still \(currentPhase)")
        case .deploymentMarkedBad:
            throw DomainError("deployment \(id) is marked bad before it finished")
        case .deploymentSucceeded:
            if let running = runningStep { throw DomainError("deployment \(id) succeeds while \(running) is still running") }
            if hasFailure { throw DomainError("deployment \(id) succeeds after a failure (\(failureSummary))") }
            if let approval, !approval.isOpen { throw DomainError("deployment \(id) succeeds without its approval (\(approval.summary))") }
        case .deploymentFailed:
            if let running = runningStep { throw DomainError("deployment \(id) fails while \(running) is still running") }
        case .deploymentRolledBack(let targetID, let targetSHA, _):
            guard steps[.rollback]?.succeeded == true else {
                throw DomainError("deployment \(id) is rolled back without a successful rollback step")
            }
            guard rollbackTargetID == targetID, rollbackTargetSHA == targetSHA else {
                throw DomainError("deployment \(id) is rolled back to \(Identifier.quoted(targetID)), not to the target its rollback restored (\(rollbackTargetID ?? "none"))")
            }
        case .rollbackStarted(let targetID, let targetSHA, _):
            guard hasFailure || isManualRollback else { throw DomainError("deployment \(id) starts a rollback although nothing failed") }
            guard targetID != id else { throw DomainError("deployment \(id) rolls back onto itself") }
            try Self.requireStable(
                targetID, sha: targetSHA, environment: request.environment, for: id,
                what: "its rollback target", lookup: lookup)
        case .artifactStored(let a):
            try admitArtifact(a, id: id)
        case .environmentLocked, .environmentReleased, .environmentUnlocked, .artifactPruned:
            throw DomainError("\(event.typeName) belongs to an environment or artifact stream, not to deployment-\(id)")
        default:
            break
        }
    }

    private func admitArtifact(_ a: Artifact, id: String) throws(DomainError) {
        if let existing = artifacts[a.name], existing.sha256 != a.sha256 {
            throw DomainError("artifact \(a.name) of \(id) is stored twice with different digests")
        }
        guard a.size >= 0, a.retentionDays >= 1 else {
            throw DomainError("artifact \(a.name) of \(id) has a negative size or a retention under one day")
        }
    }

    /// A rollback may only land on a deployment of the same environment that succeeded and was
    /// not marked bad at that moment.
    static func requireStable(
        _ target: String, sha: String?, environment: String, for id: String, what: String,
        lookup: (String) throws -> DeploymentState?
    ) throws(DomainError) {
        let state: DeploymentState?
        do { state = try lookup(target) } catch { throw DomainError("cannot read \(target), \(what): \(error)") }
        guard let state, let r = state.request else {
            throw DomainError("deployment \(id) names \(Identifier.quoted(target)) as \(what), but no such deployment precedes it")
        }
        guard r.environment == environment else {
            throw DomainError("deployment \(id) names \(target) of environment \(r.environment) as \(what); it deploys \(environment)")
        }
        guard state.status == .success, state.markedBad == nil else {
            let why = state.markedBad != nil ? "was marked bad" : "ended as \(state.status?.rawValue ?? "running")"
            throw DomainError("deployment \(id) names \(target) as \(what), but \(target) \(why): a rollback never lands on it")
        }
        if let sha, sha != r.gitSHA {
            throw DomainError("deployment \(id) names \(target) with git sha \(sha) as \(what); \(target) deployed \(r.gitSHA)")
        }
    }
}

/// The rules of an `environment-<name>` stream: one holder at a time, taken by a running
/// deployment of that environment and given back by the same deployment once it finished.
public enum EnvironmentRules {
    public static func admit(
        _ event: DeploymentEvent, environment name: String, holder: String?,
        lookup: (String) throws -> DeploymentState?
    ) throws(DomainError) {
        try event.validateIdentifiers()
        func state(_ id: String) throws(DomainError) -> DeploymentState {
            let found: DeploymentState?
            do { found = try lookup(id) } catch { throw DomainError("cannot read deployment \(id): \(error)") }
            guard let found, found.exists else {
                throw DomainError("environment \(name) names deployment \(Identifier.quoted(id)), which does not exist")
            }
            return found
        }
        switch event {
        case .environmentLocked(let id):
            if let holder { throw DomainError("environment \(name) is locked by \(id) while \(holder) holds it") }
            let s = try state(id)
            guard s.request?.environment == name else {
                throw DomainError("environment \(name) is locked by \(id), a deployment of \(s.request?.environment ?? "?")")
            }
            guard !s.isFinished else { throw DomainError("environment \(name) is locked by \(id), which already finished") }
        case .environmentReleased(let id, let status):
            guard holder == id else { throw DomainError("environment \(name) is released by \(id), which does not hold it") }
            let s = try state(id)
            guard s.isFinished, s.status != .abandoned, s.status?.rawValue == status else {
                throw DomainError("environment \(name) is released as \(Identifier.quoted(status)) by \(id), which is \(s.status?.rawValue ?? "running")")
            }
        case .environmentUnlocked(let id, _, _):
            guard holder == id else { throw DomainError("environment \(name) is unlocked from \(id), which does not hold it") }
            guard try state(id).status == .abandoned else {
                throw DomainError("environment \(name) is unlocked from \(id), which was not abandoned")
            }
        default:
            throw DomainError("\(event.typeName) does not belong to environment-\(name)")
        }
    }

    /// The rule of an `artifact-<name>` stream: a prune names an artifact a deployment stored.
    public static func admitPrune(
        _ event: DeploymentEvent, stream artifact: String,
        lookup: (String) throws -> DeploymentState?
    ) throws(DomainError) {
        try event.validateIdentifiers()
        guard case .artifactPruned(let name, let sha, let id) = event else {
            throw DomainError("\(event.typeName) does not belong to artifact-\(artifact)")
        }
        guard name == artifact else { throw DomainError("artifact-\(artifact) records the prune of another artifact (\(name))") }
        let found: DeploymentState?
        do { found = try lookup(id) } catch { throw DomainError("cannot read deployment \(id): \(error)") }
        guard found?.artifacts[name]?.sha256 == sha else {
            throw DomainError("artifact \(name) is pruned, but deployment \(id) never stored it with digest \(sha)")
        }
    }
}

extension DeploymentEvent {
    /// Every identifier the event carries has the form `Identifier` requires.
    public func validateIdentifiers() throws(DomainError) {
        switch self {
        case .deploymentRequested(let r):
            try Identifier.validate(r.deploymentID, as: .deploymentID)
            try Identifier.validate(r.environment, as: .environment)
            try Identifier.validate(r.gitSHA, as: .gitSHA)
            for s in r.services { try Identifier.validate(s, as: .service) }
            for c in r.checks { try Identifier.validate(c, as: .check) }
            if let id = r.previousStableID { try Identifier.validate(id, as: .deploymentID) }
            if let sha = r.previousStableSHA { try Identifier.validate(sha, as: .gitSHA) }
            if let digest = r.pipelineSHA256 { try Identifier.validate(digest, as: .digest) }
            if let manual = r.manualRollback {
                try Identifier.validate(manual.targetID, as: .deploymentID)
                try Identifier.validate(manual.targetSHA, as: .gitSHA)
                if let replaced = manual.replaces { try Identifier.validate(replaced, as: .deploymentID) }
            }
        case .serviceDeployed(let service):
            try Identifier.validate(service, as: .service)
        case .healthCheckAttempted(let a):
            try Identifier.validate(a.check, as: .check)
        case .serviceHealthy(let check, _, _), .serviceUnhealthy(let check, _, _, _):
            try Identifier.validate(check, as: .check)
        case .healthChecksFailed(_, let failed):
            for c in failed { try Identifier.validate(c, as: .check) }
        case .rollbackStarted(let id, let sha, _), .deploymentRolledBack(let id, let sha, _):
            try Identifier.validate(id, as: .deploymentID)
            try Identifier.validate(sha, as: .gitSHA)
        case .deploymentRolledBackManually(let rollbackID, let targetID, let targetSHA, _, _):
            try Identifier.validate(rollbackID, as: .deploymentID)
            try Identifier.validate(targetID, as: .deploymentID)
            try Identifier.validate(targetSHA, as: .gitSHA)
        case .approvalRequested(let gate):
            for name in gate.approvers { try Identifier.validate(name, as: .approver) }
        case .approvalGranted(let by, _), .approvalRejected(let by, _):
            try Identifier.validate(by, as: .approver)
        case .artifactStored(let a):
            try Identifier.validate(a.name, as: .artifactName)
            try Identifier.validate(a.sha256, as: .digest)
        case .environmentLocked(let id), .environmentReleased(let id, _), .environmentUnlocked(let id, _, _):
            try Identifier.validate(id, as: .deploymentID)
        case .artifactPruned(let name, let sha, let id):
            try Identifier.validate(name, as: .artifactName)
            try Identifier.validate(sha, as: .digest)
            try Identifier.validate(id, as: .deploymentID)
        default:
            break
        }
    }
}
