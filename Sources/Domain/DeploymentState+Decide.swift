import ShiplogCore

extension DeploymentState {
    /// The events a command produces, or a refusal. Pure: deciding the same command again
    /// after applying its events yields no new events or a refusal, never a duplicate.
    public func decide(_ command: DeploymentCommand) throws(DomainError) -> [DeploymentEvent] {
        guard let request else { throw DomainError("no such deployment") }
        let id = request.deploymentID

        switch command {
        case .markBad(let reason, let by):
            guard isFinished else { throw DomainError("deployment \(id) is still \(currentPhase); mark it bad after it finishes, or end it with `shiplog unlock`") }
            guard markedBad == nil else { return [] }
            return [.deploymentMarkedBad(reason: reason, by: by)]
        case .recordManualRollback(let rollbackID, let targetID, let targetSHA, let reason, let by):
            guard isFinished else {
                throw DomainError("deployment \(id) is still \(currentPhase); a manual rollback replaces only a finished release")
            }
            if rolledBackManually?.rollbackID == rollbackID { return [] }
            guard status == .success, rolledBackManually == nil else {
                throw DomainError("deployment \(id) ended as \(status!.rawValue); a manual rollback replaces only a successful release")
            }
            return [.deploymentRolledBackManually(rollbackID: rollbackID, targetID: targetID, targetSHA: targetSHA, reason: reason, by: by)]
        case .storeArtifact(let artifact):
            if let existing = artifacts[artifact.name] {
                if existing == artifact { return [] }
                throw DomainError("artifact \(artifact.name) is already stored for \(id) with another digest; artifacts are immutable")
            }
            return [.artifactStored(artifact)]
        case .recordNotification(let sent, let attempts, let error):
            // Delivered once is enough; a failure already recorded is not recorded again (a later success is).
            if notified == true || (notified == false && !sent) { return [] }
            return [
                sent
                    ? .notificationSent(channel: "slack", attempts: attempts)
                    : .notificationFailed(channel: "slack", attempts: attempts, error: error ?? "unknown error")
            ]
        default:
            break
        }

        guard !isFinished else {
            throw DomainError("deployment \(id) already finished as \(status!.rawValue); it accepts only mark-bad, artifacts and notifications now")
        }

        switch command {
        case .startStep(let phase, let attempt):
            guard phase != .rollback, phase != .health else { throw DomainError("\(phase) is not started as a plain step") }
            try checkCanRun(phase)
            let step = steps[phase] ?? Step()
            if step.running && step.attempts >= attempt { return [] }
            guard attempt == step.attempts + 1 else { throw DomainError("\(phase) attempt \(attempt) out of order: \(step.attempts) attempts recorded") }
            return [.stepStarted(phase, attempt: attempt)]

        case .completeStep(let phase, let succeeded, let reason):
            guard phase != .health else { throw DomainError("health is recorded per service with `record health`") }
            let step = steps[phase] ?? Step()
            if step.succeeded || step.failure != nil {
                throw DomainError("\(phase) already \(step.succeeded ? "succeeded" : "failed") for \(id); \(acceptsNext)")
            }
            if !step.running { try checkCanRun(phase) }
            if phase == .rollback && rollbackTarget == nil {
                throw DomainError("there is no stable version of \(request.environment) to roll back to; finish the deployment as failed")
            }
            var events: [DeploymentEvent] = []
            if phase == .rollback, !step.running, let target = rollbackTarget {
                events.append(.rollbackStarted(targetID: target.id, targetSHA: target.sha, attempt: step.attempts + 1))
            }
            if !succeeded {
                events.append(.stepFailed(phase, reason: reason ?? "failed"))
            } else if phase == .deploy {
                events += request.services.map { .serviceDeployed(service: $0) }
                if request.services.isEmpty { events.append(.serviceDeployed(service: request.environment)) }
            } else {
                events.append(.stepSucceeded(phase, detail: nil))
            }
            return events

        case .startStabilization(let seconds, let until):
            if stabilizationUntil != nil { return [] }
            try checkCanRun(.health)
            return [.stabilizationWaitStarted(seconds: seconds, until: until)]

        case .finishStabilization:
            guard stabilizationUntil != nil else { throw DomainError("no stabilization wait was started for \(id)") }
            return stabilized ? [] : [.stabilizationWaitFinished]

        case .recordHealthAttempts(let attempts, let policy, let now):
            let round: HealthRound = steps[.rollback]?.succeeded == true ? .rollback : .deploy
            if round == .deploy { try checkCanRun(.health) }
            guard healthPassed[round] == nil else { throw DomainError("health checks of \(id) were already judged; \(acceptsNext)") }
            var events: [DeploymentEvent] = []
            var next = self
            for var a in attempts {
                a.round = round
                if next.checks[round]?[a.check]?.verdict != nil { continue }
                let previous = next.checks[round]?[a.check]?.attempts ?? 0
                // An attempt whose number is already recorded is a retried command: never record it twice.
                if a.attempt >= 1 && a.attempt <= previous { continue }
                a.attempt = previous + 1
                let e = DeploymentEvent.healthCheckAttempted(a)
                events.append(e)
                next.evolve(e, at: now)
                let c = next.checks[round]![a.check]!
                let elapsed = Timestamp.parse(now).flatMap { n in c.firstAttemptAt.flatMap(Timestamp.parse).map { n.timeIntervalSince($0) } } ?? 0
                var verdict: DeploymentEvent?
                if a.healthy {
                    verdict = .serviceHealthy(check: a.check, attempts: c.attempts, round: round)
                } else if c.attempts >= policy.retries || elapsed + policy.interval > policy.totalTimeout {
                    let why = a.error ?? a.httpStatus.map { "HTTP \($0)" } ?? "unhealthy"
                    verdict = .serviceUnhealthy(check: a.check, attempts: c.attempts, reason: why, round: round)
                }
                if let verdict {
                    events.append(verdict)
                    next.evolve(verdict, at: now)
                }
            }
            events += next.healthVerdict(round: round, checks: request.checks, nonCritical: policy.nonCritical)
            return events

        case .recordHealthVerdict(let check, let healthy, let attempts, let reason):
            let round: HealthRound = steps[.rollback]?.succeeded == true ? .rollback : .deploy
            if round == .deploy { try checkCanRun(.health) }
            if !request.checks.isEmpty, !request.checks.contains(check) {
                throw DomainError("the pipeline of \(id) has no health check \(check); its checks are \(request.checks.joined(separator: ", "))")
            }
            if checks[round]?[check]?.verdict != nil { throw DomainError("\(check) already has a verdict for \(id)") }
            let verdict: DeploymentEvent =
                healthy
                ? .serviceHealthy(check: check, attempts: attempts, round: round)
                : .serviceUnhealthy(check: check, attempts: attempts, reason: reason ?? "unhealthy", round: round)
            // A recorded pipeline that named its checks gets the aggregate once each has its
            // verdict, counting every unhealthy check (recording knows no criticality); a run's
            // aggregate is judged by its next probe round, with the pipeline's non-critical checks.
            guard request.mode == .record, !request.checks.isEmpty else { return [verdict] }
            var next = self
            next.evolve(verdict, at: "")
            return [verdict] + next.healthVerdict(round: round, checks: request.checks, nonCritical: [])

        case .startRollback(let targetID, let targetSHA, let attempt):
            let step = steps[.rollback] ?? Step()
            guard !step.succeeded, step.failure == nil else { throw DomainError("the rollback of \(id) already finished") }
            try checkCanRun(.rollback)
            if let manual = request.manualRollback, manual.targetID != targetID || manual.targetSHA != targetSHA {
                throw DomainError("deployment \(id) is a manual rollback to \(manual.targetID); it restores nothing else")
            }
            if step.running && step.attempts >= attempt { return [] }
            return [.rollbackStarted(targetID: targetID, targetSHA: targetSHA, attempt: attempt)]

        case .finish(let outcome):
            if let running = runningStep { throw DomainError("\(running) is still running in \(id); record its outcome first") }
            switch outcome {
            case .succeeded:
                if let approval, !approval.isOpen {
                    throw DomainError("deployment \(id) cannot succeed: \(approval.failure ?? "it waits for approval (\(approval.summary))")")
                }
                if isManualRollback { return try decideManualRollbackSuccess() }
                if hasFailure { throw DomainError("deployment \(id) cannot succeed: \(failureSummary); finish it as failed or rolled-back") }
                if steps[.deploy]?.succeeded != true && !(request.mode == .record && request.phases.isEmpty && furthestPhase != nil) {
                    throw DomainError("deployment \(id) has not deployed anything yet; \(acceptsNext)")
                }
                // A pipeline with a plan succeeds only once every planned phase and its health checks did.
                if let missing = request.phases.first(where: { $0 != .rollback && steps[$0]?.succeeded != true }) {
                    throw DomainError("deployment \(id) cannot succeed before its \(missing) phase succeeds; \(acceptsNext)")
                }
                if !request.phases.isEmpty, !request.checks.isEmpty, healthPassed[.deploy] != true {
                    throw DomainError("deployment \(id) cannot succeed before its health checks pass; \(acceptsNext)")
                }
                return [.deploymentSucceeded]
            case .failed(let reason):
                return [.deploymentFailed(reason: reason, phase: failedPhase ?? firstFailedPhase)]
            case .rolledBack:
                if isManualRollback {
                    throw DomainError("deployment \(id) is a manual rollback: it ends as success, or failed; it is not rolled back itself")
                }
                guard steps[.rollback]?.succeeded == true, let target = rollbackTarget else {
                    throw DomainError("deployment \(id) has no successful rollback recorded; record `phase rollback --status succeeded` first, or finish as failed")
                }
                let unhealthy = unhealthyBeforeVerdict(round: .rollback)
                if healthPassed[.rollback] == false || !unhealthy.isEmpty {
                    throw DomainError(
                        "deployment \(id) cannot be rolled back: the restored version failed its health checks\(unhealthy.isEmpty ? "" : " (\(unhealthy.joined(separator: ", ")))"); finish it as failed"
                    )
                }
                return [.deploymentRolledBack(targetID: target.id, targetSHA: target.sha, reason: failureSummary)]
            }

        case .abandon(let reason, let by):
            return [.deploymentAbandoned(reason: reason, by: by)]

        case .requestApproval, .approve, .reject, .expireApproval:
            return try decideApproval(command)

        case .markBad, .storeArtifact, .recordNotification, .recordManualRollback:
            return []
        }
    }

    /// The aggregate result once every check of the round has a verdict.
    func healthVerdict(round: HealthRound, checks names: [String], nonCritical: Set<String>) -> [DeploymentEvent] {
        guard healthPassed[round] == nil else { return [] }
        let current = checks[round] ?? [:]
        let all = names.isEmpty ? Array(current.keys) : names
        guard !all.isEmpty, all.allSatisfy({ current[$0]?.verdict != nil }) else { return [] }
        let failed = all.filter { current[$0]?.verdict == false && !nonCritical.contains($0) }.sorted()
        return [failed.isEmpty ? .healthChecksPassed(round: round) : .healthChecksFailed(round: round, failed: failed)]
    }

    /// Refuses a phase while another step runs, one that comes before a phase already reached,
    /// one whose planned predecessors have not succeeded, and one that follows a failure.
    func checkCanRun(_ phase: Phase) throws(DomainError) {
        let id = request?.deploymentID ?? "?"
        if let running = runningStep, running != phase {
            throw DomainError("\(running) is still running in \(id); record its outcome first")
        }
        let plan = request?.phases ?? []
        if !plan.isEmpty, !plan.contains(phase), phase != .health {
            throw DomainError("the pipeline of \(id) has no \(phase) phase")
        }
        if phase == .rollback {
            guard hasFailure || isManualRollback else {
                throw DomainError("nothing failed in \(id): a rollback follows a failed health check or smoke test; \(acceptsNext)")
            }
            return
        }
        if isManualRollback {
            throw DomainError("deployment \(id) is a manual rollback: it runs only the rollback step and its health checks, not \(phase)")
        }
        // While the deploy round has no aggregate verdict, its other checks may still be recorded.
        let failed = phase == .health ? firstStepFailure != nil || healthPassed[.deploy] == false : hasFailure
        if failed { throw DomainError("deployment \(id) already failed (\(failureSummary)); it accepts a rollback or finish --status failed now") }
        if phase == .health, steps[.deploy]?.succeeded != true {
            throw DomainError("health checks of \(id) follow its deploy phase, which has not succeeded; \(acceptsNext)")
        }
        if let furthest = furthestPhase, phase < furthest || (phase == furthest && phase != .health) {
            throw DomainError("\(phase) cannot follow \(furthest) in \(id): phases run in the order preflight, migrate, build, image, deploy, health, smoke; \(acceptsNext)")
        }
        if let approval, !approval.isOpen, phase >= approval.gate.before {
            throw DomainError(
                "\(phase) of \(id) waits for approval (\(approval.summary)): `shiplog approve \(id) --by NAME`, or `shiplog reject \(id) --by NAME --reason TEXT`")
        }
        if let missing = plan.first(where: { $0 < phase && $0 != .rollback && steps[$0]?.succeeded != true }) {
            throw DomainError("\(phase) cannot run before \(missing) in \(id): its pipeline runs \(plan.map(\.rawValue).joined(separator: ", ")) in order; \(acceptsNext)")
        }
        if !plan.isEmpty, phase > .health, !(request?.checks.isEmpty ?? true), healthPassed[.deploy] != true {
            throw DomainError("\(phase) cannot run before the health checks of \(id) pass; \(acceptsNext)")
        }
    }

    /// The first failure, in phase order: the same text however the state was folded.
    /// What failed first, in phase order, for messages and the failure reason.
    public var failureSummary: String {
        if let step = firstStepFailure, step.phase < .health { return "\(step.phase) failed: \(step.reason)" }
        if healthPassed[.deploy] == false { return "health checks failed" }
        let unhealthy = unhealthyBeforeVerdict(round: .deploy)
        if !unhealthy.isEmpty { return "health check\(unhealthy.count == 1 ? "" : "s") \(unhealthy.joined(separator: ", ")) unhealthy" }
        if let step = firstStepFailure { return "\(step.phase) failed: \(step.reason)" }
        return "nothing failed"
    }

    /// What a recording pipeline may send next, for error messages.
    public var acceptsNext: String {
        if isFinished { return "it accepts only mark-bad now" }
        if let running = runningStep { return "it is running \(running) and accepts that phase's outcome" }
        if hasFailure {
            if steps[.rollback]?.failure != nil { return "it accepts finish --status failed" }
            if steps[.rollback]?.succeeded == true { return "it accepts rollback health verdicts and finish --status rolled-back|failed" }
            if firstStepFailure == nil, healthPassed[.deploy] == nil {
                return "it accepts the remaining health verdicts, phase rollback or finish --status failed"
            }
            return "it accepts phase rollback or finish --status failed"
        }
        let plan = request?.phases ?? []
        let later = Phase.allCases.filter {
            $0 != .rollback && ($0 == .health ? steps[.deploy]?.succeeded == true : plan.isEmpty || plan.contains($0))
                && (furthestPhase == nil || $0 > furthestPhase! || ($0 == .health && furthestPhase == .health))
        }
        return "it accepts " + (later.map(\.rawValue) + ["finish"]).joined(separator: ", ")
    }
}
