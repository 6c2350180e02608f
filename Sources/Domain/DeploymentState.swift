import Foundation
import ShiplogCore

/// A deployment as its events leave it: the fold of its stream, and nothing else.
public struct DeploymentState: Sendable, Equatable {
    public enum Status: String, Sendable, Codable {
        case running, success, failed
        case rolledBack = "rolled_back"
        case abandoned
    }

    /// One command step's progress.
    public struct Step: Sendable, Equatable {
        public var attempts = 0
        /// Started and not yet finished: a runner died mid-step if nobody is driving it.
        public var running = false
        public var succeeded = false
        public var failure: String?
        public var startedAt: String?
        public var finishedAt: String?
    }

    /// One health check's progress within a round.
    public struct Check: Sendable, Equatable {
        public var attempts = 0
        public var firstAttemptAt: String?
        public var lastAttemptAt: String?
        public var verdict: Bool?
        public var lastError: String?
    }

    public var request: DeploymentRequest?
    /// The stream version this state was folded to: the expected version of the next append.
    public var version: Int64 = 0
    public var status: Status?
    public var requestedAt: String?
    public var finishedAt: String?
    public var steps: [Phase: Step] = [:]
    public var servicesDeployed: [String] = []
    public var stabilizationUntil: String?
    public var stabilizationSeconds: Double = 0
    public var stabilized = false
    public var checks: [HealthRound: [String: Check]] = [:]
    public var healthPassed: [HealthRound: Bool] = [:]
    public var rollbackTarget: (id: String, sha: String)? {
        get { rollbackTargetID.map { ($0, rollbackTargetSHA ?? "") } }
        set { rollbackTargetID = newValue?.id; rollbackTargetSHA = newValue?.sha }
    }
    public var rollbackTargetID: String?
    public var rollbackTargetSHA: String?
    public var failureReason: String?
    public var failedPhase: Phase?
    public var notified: Bool?
    public var artifacts: [String: Artifact] = [:]
    public var markedBad: (reason: String, by: String)? {
        get { markedBadReason.map { ($0, markedBadBy ?? "") } }
        set { markedBadReason = newValue?.reason; markedBadBy = newValue?.by }
    }
    public var markedBadReason: String?
    public var markedBadBy: String?
    /// The furthest phase that produced an outcome: phases before it can no longer run.
    public var furthestPhase: Phase?
    /// The approval gate, once requested: who approved, who rejected, whether it timed out.
    public var approval: ApprovalProgress?
    /// Set when a manual rollback replaced this (successful) release: it is rolled back now.
    public var rolledBackManually: ManualRollbackMark?

    public init() {}

    /// True for a manual rollback (`shiplog rollback`): its request carries `manual_rollback`.
    /// A restoration, not a change: it runs only the rollback step and its health checks.
    public var isManualRollback: Bool { request?.manualRollback != nil }

    public var id: String? { request?.deploymentID }
    public var exists: Bool { request != nil }
    public var isFinished: Bool { status != nil && status != .running }

    /// True once any check, the smoke tests or a step failed: success is no longer possible.
    ///
    /// A check judged unhealthy counts before the round's aggregate verdict too: a recording
    /// pipeline reports verdicts one by one and no aggregate follows them. Once the aggregate
    /// is recorded it decides (non-critical checks may be unhealthy in a passed round).
    public var hasFailure: Bool {
        healthFailed || firstStepFailure != nil
    }

    /// The deploy round's checks failed, by the aggregate verdict or, before it, by any unhealthy check.
    public var healthFailed: Bool {
        healthPassed[.deploy] == false || !unhealthyBeforeVerdict(round: .deploy).isEmpty
    }

    /// Checks of `round` judged unhealthy while the round has no aggregate verdict yet, by name.
    public func unhealthyBeforeVerdict(round: HealthRound) -> [String] {
        guard healthPassed[round] == nil else { return [] }
        return (checks[round] ?? [:]).filter { $0.value.verdict == false }.keys.sorted()
    }

    /// The earliest phase whose step failed, in phase order (never dictionary order), with the reason.
    public var firstStepFailure: (phase: Phase, reason: String)? {
        for phase in Phase.allCases { if let reason = steps[phase]?.failure { return (phase, reason) } }
        return nil
    }

    /// The phase that failed the deployment: the earliest failed step, with the health checks in their place.
    public var firstFailedPhase: Phase? {
        if let step = firstStepFailure, step.phase < .health { return step.phase }
        if healthFailed { return .health }
        return firstStepFailure?.phase
    }

    /// The step currently started and unfinished, if any.
    public var runningStep: Phase? {
        Phase.allCases.first { steps[$0]?.running == true }
    }

    /// The phase the deployment is in, for `status`.
    public var currentPhase: String {
        if let status, status != .running { return status.rawValue }
        if let running = runningStep { return running.rawValue }
        if let approval, approval.isPending { return "waiting for approval" }
        if stabilizationUntil != nil, !stabilized { return "stabilizing" }
        if let last = furthestPhase { return "after \(last.rawValue)" }
        return "requested"
    }
}

extension DeploymentState {
    /// Applies one recorded event. Pure: the time comes with the event.
    public mutating func evolve(_ event: DeploymentEvent, at time: String) {
        version += 1
        switch event {
        case .deploymentRequested(let r):
            request = r
            status = .running
            requestedAt = time
            rollbackTarget = r.manualRollback.map { ($0.targetID, $0.targetSHA) } ?? r.previousStableID.map { ($0, r.previousStableSHA ?? "") }
        case .stepStarted(let p, let attempt):
            var s = steps[p] ?? Step()
            s.attempts = max(s.attempts, attempt)
            s.running = true
            s.startedAt = time
            steps[p] = s
        case .stepSucceeded(let p, _):
            var s = steps[p] ?? Step()
            s.running = false
            s.succeeded = true
            s.finishedAt = time
            steps[p] = s
            furthestPhase = max(furthestPhase ?? p, p)
        case .stepFailed(let p, let reason):
            var s = steps[p] ?? Step()
            s.running = false
            s.failure = reason
            s.finishedAt = time
            steps[p] = s
            furthestPhase = max(furthestPhase ?? p, p)
        case .serviceDeployed(let service):
            var s = steps[.deploy] ?? Step()
            s.running = false
            s.succeeded = true
            s.finishedAt = time
            steps[.deploy] = s
            if !servicesDeployed.contains(service) { servicesDeployed.append(service) }
            furthestPhase = max(furthestPhase ?? .deploy, .deploy)
        case .stabilizationWaitStarted(let seconds, let until):
            stabilizationSeconds = seconds
            stabilizationUntil = until
            furthestPhase = max(furthestPhase ?? .deploy, .deploy)
        case .stabilizationWaitFinished:
            stabilized = true
        case .healthCheckAttempted(let a):
            var c = checks[a.round, default: [:]][a.check] ?? Check()
            c.attempts = max(c.attempts, a.attempt)
            if c.firstAttemptAt == nil { c.firstAttemptAt = time }
            c.lastAttemptAt = time
            c.lastError = a.healthy ? nil : (a.error ?? a.httpStatus.map { "HTTP \($0)" })
            checks[a.round, default: [:]][a.check] = c
            if a.round == .deploy { furthestPhase = max(furthestPhase ?? .health, .health) }
        case .serviceHealthy(let check, let attempts, let round):
            var c = checks[round, default: [:]][check] ?? Check()
            c.attempts = max(c.attempts, attempts)
            c.verdict = true
            checks[round, default: [:]][check] = c
            if round == .deploy { furthestPhase = max(furthestPhase ?? .health, .health) }
        case .serviceUnhealthy(let check, let attempts, let reason, let round):
            var c = checks[round, default: [:]][check] ?? Check()
            c.attempts = max(c.attempts, attempts)
            c.verdict = false
            c.lastError = reason
            checks[round, default: [:]][check] = c
            if round == .deploy { furthestPhase = max(furthestPhase ?? .health, .health) }
        case .healthChecksPassed(let round):
            healthPassed[round] = true
            if round == .deploy { furthestPhase = max(furthestPhase ?? .health, .health) }
        case .healthChecksFailed(let round, _):
            healthPassed[round] = false
            if round == .deploy { furthestPhase = max(furthestPhase ?? .health, .health) }
        case .rollbackStarted(let id, let sha, let attempt):
            rollbackTarget = (id, sha)
            var s = steps[.rollback] ?? Step()
            s.attempts = max(s.attempts, attempt)
            s.running = true
            s.startedAt = time
            steps[.rollback] = s
        case .notificationSent:
            notified = true
        case .notificationFailed:
            notified = false
        case .artifactStored(let a):
            artifacts[a.name] = a
        case .deploymentSucceeded:
            status = .success
            finishedAt = time
        case .deploymentFailed(let reason, let phase):
            status = .failed
            failureReason = reason
            failedPhase = phase
            finishedAt = time
        case .deploymentRolledBack(let id, let sha, let reason):
            status = .rolledBack
            rollbackTarget = (id, sha)
            if let reason { failureReason = reason }
            finishedAt = time
        case .deploymentAbandoned(let reason, _):
            status = .abandoned
            failureReason = reason
            finishedAt = time
        case .deploymentMarkedBad(let reason, let by):
            markedBad = (reason, by)
        case .approvalRequested(let gate):
            let deadline = Timestamp.parse(time).map { Timestamp.format($0.addingTimeInterval(gate.timeoutSeconds)) } ?? time
            approval = ApprovalProgress(gate: gate, requestedAt: time, deadline: deadline)
        case .approvalGranted(let by, let comment):
            approval?.grants.append(ApprovalGrant(by: by, at: time, comment: comment))
        case .approvalRejected(let by, let reason):
            approval?.rejection = ApprovalRejection(by: by, at: time, reason: reason)
        case .approvalTimedOut:
            approval?.timedOutAt = time
        case .deploymentRolledBackManually(let rollbackID, let targetID, let targetSHA, let reason, let by):
            status = .rolledBack
            rollbackTarget = (targetID, targetSHA)
            rolledBackManually = ManualRollbackMark(rollbackID: rollbackID, reason: reason, by: by, at: time)
        case .environmentLocked, .environmentReleased, .environmentUnlocked, .artifactPruned:
            break
        }
    }

    /// Folds a whole stream.
    public static func fold(_ events: [(DeploymentEvent, String)]) -> DeploymentState {
        var state = DeploymentState()
        for (event, time) in events { state.evolve(event, at: time) }
        return state
    }
}
