import EventStore

/// A deployment a rollback may land on, as the events say at one moment.
public struct StableVersion: Sendable, Equatable {
    public var deploymentID: String
    public var gitSHA: String
    /// Its stream's version when it was found stable: a rollback onto it is recorded on
    /// condition that the stream is still there (nobody marked it bad in between).
    public var streamVersion: Int64
}

extension Ledger {
    /// The newest deployment of `environment` that succeeded and was not marked bad, decided
    /// from the hash-chained events alone.
    ///
    /// Walks the environment's lock stream backwards: every deployment releases its environment
    /// in the same transaction as its last event, and a release as `success` is confirmed by
    /// folding that deployment's own stream. The projection tables, which a person can edit,
    /// play no part, and a ledger of years answers after reading a few events.
    public func lastStable(environment: String) throws -> StableVersion? {
        try Self.require(environment, as: .environment)
        var found: StableVersion?
        try store.forEachEventBackwards(of: Self.stream(environment: environment)) { event in
            guard case .environmentReleased(let id, let status)? = try DeploymentEvent.decode(event), status == "success" else { return true }
            let state = try load(id)
            guard let request = state.request, request.environment == environment,
                state.status == .success, state.markedBad == nil
            else { return true }
            found = StableVersion(deploymentID: id, gitSHA: request.gitSHA, streamVersion: state.version)
            return false
        }
        return found
    }

    /// The record of the last stable deployment: chosen from the events by `lastStable`, described
    /// by its projection row.
    public func lastStableRecord(environment: String) throws -> DeploymentRecord? {
        guard let stable = try lastStable(environment: environment) else { return nil }
        guard let record = try Queries(ledger: self).record(stable.deploymentID) else {
            throw LedgerError.mismatch(
                """
                the events name \(stable.deploymentID) the last stable deployment of \(environment), but the deployments table \
                has no row for it: run `shiplog verify`, then `shiplog rebuild`
                """)
        }
        return record
    }

    /// The running deployment of `environment` whose rollback is restoring `target` now, if any.
    public func rollbackInProgress(onto target: String, environment: String) throws -> String? {
        guard let active = try activeDeployment(environment: environment) else { return nil }
        let state = try load(active)
        return state.steps[.rollback]?.running == true && state.rollbackTargetID == target ? active : nil
    }

    /// Starts attempt `attempt` of the rollback of `id`, onto the environment's last stable
    /// version as the events say now — not as they said when the deployment began.
    ///
    /// `RollbackStarted` is appended on condition that the target's stream has not moved since
    /// it was found stable, so a `mark-bad` racing the rollback either lands first (and the
    /// next stable version is chosen) or after the rollback began (and the runner says so).
    /// With no stable version left, the deployment fails, saying why.
    @discardableResult
    public func beginRollback(_ id: String, attempt: Int) throws -> DeploymentState {
        for _ in 0..<Self.maxRetries {
            let state = try load(id)
            guard let request = state.request else { throw LedgerError.notFound("no deployment \(id) in the ledger; `shiplog history` lists them") }
            if let step = state.steps[.rollback], step.running, step.attempts >= attempt { return state }
            // A manual rollback restores the release it was asked for, while that is still stable.
            if let manual = request.manualRollback, try stableVersion(of: manual.targetID) == nil {
                let why = Self.whyNotStable(try load(manual.targetID)) ?? "is no longer stable"
                return try execute(.finish(.failed(reason: "\(manual.targetID), the release this manual rollback restores, \(why); nothing was restored")), on: id).state
            }
            let chosen = try request.manualRollback.map { try stableVersion(of: $0.targetID) } ?? lastStable(environment: request.environment)
            guard let target = chosen else {
                let was = state.rollbackTargetID.map { " (\($0), its rollback target when it began, was marked bad)" } ?? ""
                return try execute(.finish(.failed(reason: "\(state.failureSummary); no stable version of \(request.environment) to roll back to\(was)")), on: id).state
            }
            let decided: [DeploymentEvent]
            do {
                decided = try state.decide(.startRollback(targetID: target.deploymentID, targetSHA: target.gitSHA, attempt: attempt))
            } catch { throw LedgerError.refused(error.message) }
            if decided.isEmpty { return state }
            do {
                try append([
                    StreamAppend(stream: Self.stream(deployment: id), expected: .exactly(state.version), events: decided.map(newEvent)),
                    StreamAppend(stream: Self.stream(deployment: target.deploymentID), expected: .exactly(target.streamVersion), events: []),
                ])
                return try load(id)
            } catch EventStoreError.wrongExpectedVersion {
                continue
            }
        }
        throw LedgerError.refused("deployment \(id) is being changed by another writer; retry")
    }

    /// Why the version `target` restored is no longer stable, when it was marked bad (or
    /// otherwise stopped being stable) after the rollback onto it began; nil while it is stable.
    public func rollbackTargetWarning(_ target: String) throws -> String? {
        let state = try load(target)
        if let bad = state.markedBad { return "\(target) was marked bad by \(bad.by) while the rollback restored it: \(bad.reason)" }
        if state.status != .success { return "\(target) is no longer a successful deployment" }
        return nil
    }
}
