import Foundation

/// A manual rollback (`shiplog rollback`) is a deployment of its own whose request names the
/// release it restores: it runs the pipeline's rollback step with that release's version, then
/// the health checks (the rollback round), and succeeds or fails. Nothing else of the pipeline
/// runs, and it is never rolled back itself.
extension DeploymentState {
    /// The next step of a manual rollback, once no step is running.
    func nextOfManualRollback(plan: DeploymentPlan, now: Date) -> NextStep {
        let step = steps[.rollback] ?? Step()
        if let failure = step.failure { return .finish(.failed(reason: "the rollback step failed: \(failure)")) }
        if !step.succeeded {
            guard let target = rollbackTarget else { return .finish(.failed(reason: "the manual rollback names no release to restore")) }
            return .rollback(targetID: target.id, targetSHA: target.sha, attempt: step.attempts + 1)
        }
        if !plan.checks.isEmpty, healthPassed[.rollback] == nil { return probeOrWait(round: .rollback, plan: plan, now: now) }
        if healthPassed[.rollback] == false {
            let target = rollbackTarget?.id ?? "the target"
            return .finish(.failed(reason: "\(target) was restored, but it failed its health checks; the environment may be broken"))
        }
        return .finish(.succeeded)
    }

    /// A manual rollback succeeds once its release is restored and, when it has checks, they passed.
    func decideManualRollbackSuccess() throws(DomainError) -> [DeploymentEvent] {
        let id = request?.deploymentID ?? "?"
        if let failure = steps[.rollback]?.failure { throw DomainError("the manual rollback \(id) failed (\(failure)); finish it as failed") }
        guard steps[.rollback]?.succeeded == true else {
            throw DomainError("the manual rollback \(id) has not restored its release yet; \(acceptsNext)")
        }
        let unhealthy = unhealthyBeforeVerdict(round: .rollback)
        if healthPassed[.rollback] == false || !unhealthy.isEmpty {
            throw DomainError("the manual rollback \(id) cannot succeed: the restored release failed its health checks; finish it as failed")
        }
        if !(request?.checks.isEmpty ?? true), healthPassed[.rollback] != true {
            throw DomainError("the manual rollback \(id) cannot succeed before its health checks pass")
        }
        return [.deploymentSucceeded]
    }

    /// Admission of a manual rollback's request: it restores a stable release of its environment,
    /// deploys that release's sha, and replaces a finished release other than its target.
    static func admitManualRollbackRequest(
        _ r: DeploymentRequest, _ manual: ManualRollback, id: String, lookup: (String) throws -> DeploymentState?
    ) throws(DomainError) {
        guard manual.targetID != id else { throw DomainError("deployment \(id) rolls back onto itself") }
        try requireStable(
            manual.targetID, sha: manual.targetSHA, environment: r.environment, for: id, what: "the release its manual rollback restores",
            lookup: lookup)
        guard r.gitSHA == manual.targetSHA else {
            throw DomainError("the manual rollback \(id) deploys \(r.gitSHA), not the sha of the release it restores (\(manual.targetSHA))")
        }
        guard r.phases.isEmpty || r.phases == [.rollback] else {
            throw DomainError("the manual rollback \(id) plans \(r.phases.map(\.rawValue).joined(separator: ", ")); it runs only its rollback step")
        }
        guard let replaced = manual.replaces else { return }
        guard replaced != manual.targetID, replaced != id else {
            throw DomainError("the manual rollback \(id) replaces \(replaced), the release it restores")
        }
        let state: DeploymentState?
        do { state = try lookup(replaced) } catch { throw DomainError("cannot read \(replaced), which \(id) replaces: \(error)") }
        guard let state, state.request?.environment == r.environment, state.isFinished else {
            throw DomainError("the manual rollback \(id) replaces \(Identifier.quoted(replaced)), which is no finished deployment of \(r.environment)")
        }
    }

    /// Admission of an event on a manual rollback's own stream: only its rollback step and the
    /// health checks after it, and an end as success only once that step succeeded.
    func admitManualRollbackEvent(_ event: DeploymentEvent, id: String, manual: ManualRollback) throws(DomainError) {
        switch event {
        case .approvalRequested:
            throw DomainError("deployment \(id) is a manual rollback; it has no approval gate")
        case .rollbackStarted(let targetID, let targetSHA, _):
            guard targetID == manual.targetID, targetSHA == manual.targetSHA else {
                throw DomainError("the manual rollback \(id) restores \(manual.targetID), not \(Identifier.quoted(targetID))")
            }
        case .deploymentSucceeded:
            guard steps[.rollback]?.succeeded == true else {
                throw DomainError("the manual rollback \(id) succeeds without a successful rollback step")
            }
            if healthPassed[.rollback] == false || !unhealthyBeforeVerdict(round: .rollback).isEmpty {
                throw DomainError("the manual rollback \(id) succeeds although the restored release failed its health checks")
            }
        case .deploymentRolledBack:
            throw DomainError("the manual rollback \(id) ends as rolled back; it ends as success or failed")
        default:
            if let phase = event.phase, phase != .rollback {
                throw DomainError("\(event.typeName) on deployment-\(id): a manual rollback runs only its rollback step and the checks after it")
            }
        }
    }

    /// Admission of `DeploymentRolledBackManually` on this finished release: the manual
    /// rollback it names exists, replaced exactly this release, and has succeeded.
    func admitReplacement(
        _ rollbackID: String, targetID: String, targetSHA: String, id: String, lookup: (String) throws -> DeploymentState?
    ) throws(DomainError) {
        guard status == .success, rolledBackManually == nil else {
            throw DomainError("deployment \(id) is replaced by a manual rollback although it ended as \(status?.rawValue ?? "running")")
        }
        let found: DeploymentState?
        do { found = try lookup(rollbackID) } catch { throw DomainError("cannot read \(rollbackID): \(error)") }
        guard let found, let manual = found.request?.manualRollback, manual.replaces == id,
            found.request?.environment == request?.environment
        else {
            throw DomainError("deployment \(id) is rolled back by \(Identifier.quoted(rollbackID)), which is no manual rollback replacing it")
        }
        guard found.status == .success else {
            throw DomainError("deployment \(id) is rolled back by \(rollbackID), which \(found.status == .running ? "has not succeeded yet" : "ended as \(found.status!.rawValue)")")
        }
        guard manual.targetID == targetID, manual.targetSHA == targetSHA else {
            throw DomainError("deployment \(id) is rolled back to \(Identifier.quoted(targetID)), but \(rollbackID) restored \(manual.targetID)")
        }
    }
}
