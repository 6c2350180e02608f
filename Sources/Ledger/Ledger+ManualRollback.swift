import EventStore

/// What an environment runs now, as the events say: the release of its last deployment that
/// changed it.
public struct RunningRelease: Sendable, Equatable {
    /// The deployment whose release runs (after an automatic rollback: the release it restored),
    /// or the failed deployment that left the environment in an unknown state.
    public var deploymentID: String
    public var gitSHA: String
    /// `success` for a release that runs as deployed; `failed` or `abandoned` for one that
    /// changed the environment and did not finish well.
    public var status: DeploymentState.Status
}

extension Ledger {
    /// What `environment` runs now, and the newest stable release older than it that a manual
    /// rollback would restore (one with another git sha than what runs), from the events alone.
    ///
    /// Walks the environment's lock stream backwards, as `lastStable` does. The first finished
    /// deployment that changed the environment says what runs: a success runs its own release; one
    /// rolled back automatically runs the release its rollback restored; a failed or abandoned one
    /// that reached migrate, deploy or rollback left the environment as it was then. Deployments
    /// that failed before changing anything are passed over.
    public func releases(of environment: String) throws -> (running: RunningRelease?, previousStable: StableVersion?) {
        try Self.require(environment, as: .environment)
        var running: RunningRelease?
        var passing: String?
        var previous: StableVersion?
        try store.forEachEventBackwards(of: Self.stream(environment: environment)) { event in
            let id: String
            switch try DeploymentEvent.decode(event) {
            case .environmentReleased(let released, _)?: id = released
            case .environmentUnlocked(let unlocked, _, _)?: id = unlocked
            default: return true
            }
            let state = try load(id)
            guard let request = state.request, request.environment == environment else { return true }
            guard let current = running else {
                switch state.status {
                case .success?:
                    running = RunningRelease(deploymentID: id, gitSHA: request.gitSHA, status: .success)
                case .rolledBack? where state.rolledBackManually == nil:
                    // An automatic rollback: the environment runs the release it restored, older than this one.
                    guard let target = state.rollbackTargetID, let restored = try load(target).request else { return true }
                    running = RunningRelease(deploymentID: target, gitSHA: restored.gitSHA, status: .success)
                    passing = target
                case .failed?, .abandoned?:
                    if state.changedEnvironment { running = RunningRelease(deploymentID: id, gitSHA: request.gitSHA, status: state.status!) }
                default:
                    break
                }
                return true
            }
            if let target = passing {
                if id == target { passing = nil }
                return true
            }
            // Restoring the very version that runs would change nothing: look further back.
            let runningSHA = current.status == .success ? current.gitSHA : nil
            guard state.status == .success, state.markedBad == nil, request.gitSHA != runningSHA else { return true }
            previous = StableVersion(deploymentID: id, gitSHA: request.gitSHA, streamVersion: state.version)
            return false
        }
        return (running, previous)
    }

    /// Records a manual rollback of `environment` and takes its lock: a deployment of its own,
    /// restoring `requested` (or, without it, the newest stable release older than the one that
    /// runs), whose success will record the release it replaces as rolled back.
    ///
    /// - Throws: `LedgerError.refused` while the environment has an active deployment, or for a
    ///   target that failed, was rolled back, was marked bad, belongs to another environment or
    ///   runs now; `LedgerError.notFound` for an unknown target, or when no stable release older
    ///   than the running one exists.
    @discardableResult
    public func requestManualRollback(
        environment: String, to requested: String?, reason: String, by: String, services: [String], checks: [String],
        pipeline: (path: String, sha256: String)? = nil
    ) throws -> DeploymentState {
        try Self.require(environment, as: .environment)
        if let requested { try Self.require(requested, as: .deploymentID) }
        var seconds = clock()
        for _ in 0..<Self.maxRetries {
            let lock = try environmentLock(environment)
            if let active = lock.active { throw try activeRefusal(active, environment: environment) }
            let (running, previous) = try releases(of: environment)
            let target = try requested.map { try requireRollbackTarget($0, environment: environment, running: running) } ?? previous
            guard let target else {
                let runs = running.map { "\($0.deploymentID) (\($0.gitSHA.prefix(12)))" } ?? "no release yet"
                throw LedgerError.notFound(
                    "no stable release of \(environment) older than what runs now (\(runs)) to roll back to; `shiplog last-stable --env \(environment) --explain` shows why")
            }
            guard let targetRequest = try load(target.deploymentID).request else { throw LedgerError.notFound("no deployment \(target.deploymentID)") }
            let manual = ManualRollback(
                targetID: target.deploymentID, targetSHA: target.gitSHA,
                replaces: running.flatMap { $0.status == .success && $0.deploymentID != target.deploymentID ? $0.deploymentID : nil },
                reason: reason)
            let id = DeploymentRequest.makeID(at: seconds, sha: target.gitSHA)
            let request = DeploymentRequest(
                deploymentID: id, environment: environment, gitSHA: target.gitSHA, gitRef: targetRequest.gitRef, services: services,
                triggeredBy: by, mode: .run, phases: [.rollback], checks: checks, previousStableID: target.deploymentID,
                previousStableSHA: target.gitSHA, pipelinePath: pipeline?.path, pipelineSHA256: pipeline?.sha256, manualRollback: manual)
            // On condition that the target's stream has not moved: a mark-bad racing this request
            // either lands first (and the target is chosen again) or after (and the runner says so).
            let unmoved = StreamAppend(stream: Self.stream(deployment: target.deploymentID), expected: .exactly(target.streamVersion), events: [])
            do {
                return try appendRequest(request, lockVersion: lock.version, conditions: [unmoved])
            } catch EventStoreError.wrongExpectedVersion(let stream, _, _) {
                if stream == Self.stream(deployment: id) { seconds = seconds.addingTimeInterval(1) }
                continue
            }
        }
        throw LedgerError.refused("too many concurrent writers on environment \(environment); retry")
    }

    /// `id` as the target of a manual rollback of `environment`: a stable release that does not run now.
    func requireRollbackTarget(_ id: String, environment: String, running: RunningRelease?) throws -> StableVersion {
        let state = try load(id)
        guard let request = state.request else {
            throw LedgerError.notFound("no deployment \(id) in the ledger; `shiplog history --env \(environment)` lists them")
        }
        guard request.environment == environment else {
            throw LedgerError.refused("\(id) deployed environment \(request.environment), not \(environment); roll \(environment) back to one of its own releases")
        }
        if let why = Self.whyNotStable(state) {
            throw LedgerError.refused("\(id) \(why): a rollback never lands on it; `shiplog last-stable --env \(environment) --explain` lists the stable releases")
        }
        if let running, running.deploymentID == id {
            throw LedgerError.refused("\(id) is what \(environment) runs now; name an older release with --to")
        }
        return StableVersion(deploymentID: id, gitSHA: request.gitSHA, streamVersion: state.version)
    }

    /// Why a deployment is no rollback target, in words; nil when it is one.
    static func whyNotStable(_ state: DeploymentState) -> String? {
        if let mark = state.rolledBackManually { return "was rolled back by the manual rollback \(mark.rollbackID) (\(mark.reason))" }
        if let bad = state.markedBad { return "was marked bad by \(bad.by): \(bad.reason)" }
        switch state.status {
        case .success?: return nil
        case .failed?: return "failed: \(state.failureReason ?? "no reason recorded")"
        case .rolledBack?: return "failed and was rolled back to \(state.rollbackTargetID ?? "?")"
        case .abandoned?: return "was abandoned: \(state.failureReason ?? "")"
        default: return "has not finished (\(state.currentPhase))"
        }
    }

    /// The target of a manual rollback as the events say now, while it is still stable.
    func stableVersion(of id: String) throws -> StableVersion? {
        let state = try load(id)
        guard let request = state.request, Self.whyNotStable(state) == nil else { return nil }
        return StableVersion(deploymentID: id, gitSHA: request.gitSHA, streamVersion: state.version)
    }

    /// When `decided` ends a manual rollback as a success: the release it replaced, recorded as
    /// rolled back, at that release's stream version (appended in the same transaction).
    func replacementBatch(_ decided: [DeploymentEvent], of state: DeploymentState) throws -> StreamAppend? {
        guard decided.contains(.deploymentSucceeded), let request = state.request, let manual = request.manualRollback,
            let replaced = manual.replaces
        else { return nil }
        let release = try load(replaced)
        // A release that did not end as a success is no rollback target already: nothing to record.
        guard release.status == .success || release.rolledBackManually != nil else { return nil }
        let events: [DeploymentEvent]
        do {
            events = try release.decide(
                .recordManualRollback(
                    rollbackID: request.deploymentID, targetID: manual.targetID, targetSHA: manual.targetSHA, reason: manual.reason,
                    by: request.triggeredBy))
        } catch { throw LedgerError.refused(error.message) }
        if events.isEmpty { return nil }
        return StreamAppend(stream: Self.stream(deployment: replaced), expected: .exactly(release.version), events: events.map(newEvent))
    }
}

extension DeploymentState {
    /// True once a step that touches the environment began: migrations, the deploy, a rollback.
    var changedEnvironment: Bool {
        steps[.migrate] != nil || steps[.deploy] != nil || steps[.rollback] != nil || !servicesDeployed.isEmpty
    }
}
