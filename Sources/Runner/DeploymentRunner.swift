import EventStore
import Foundation
import Ledger
import ShiplogFiles

/// How a driven deployment ended, and the exit code that says so.
public struct DeploymentOutcome: Sendable, Equatable {
    public var deploymentID: String
    public var status: DeploymentState.Status
    public var reason: String?
    /// True when the deployment ended before anything that changes the environment started:
    /// no migration, no deploy step, no rollback (a preflight check, a build or an image failed,
    /// an approval was refused). Nothing needs to be rolled back.
    public var environmentUnchanged = false

    public init(deploymentID: String, status: DeploymentState.Status, reason: String?, environmentUnchanged: Bool = false) {
        self.deploymentID = deploymentID
        self.status = status
        self.reason = reason
        self.environmentUnchanged = environmentUnchanged
    }

    /// The outcome of a deployment whose events end in `state`.
    public init(_ state: DeploymentState) {
        self.init(
            deploymentID: state.id ?? "?", status: state.status ?? .failed, reason: state.failureReason,
            environmentUnchanged: state.approval?.failure != nil || [Phase.migrate, .deploy, .rollback].allSatisfy { state.steps[$0] == nil })
    }

    /// 0 deployed, 1 failed and rolled back, 6 failed before anything in the environment
    /// changed (or at its approval gate), 2 failed otherwise: the environment may be broken,
    /// 7 waits for approval (`--no-wait`; `resume` continues it).
    public var exitCode: Int32 {
        switch status {
        case .success: 0
        case .rolledBack: 1
        case .running: 7
        default: environmentUnchanged ? 6 : 2
        }
    }
}

/// Drives one deployment: fold its events, ask the domain for the next step, perform that
/// one step, append its outcome at the expected version, and fold again.
///
/// The runner keeps no state of its own, so a runner killed at any instant is resumed by
/// running the same loop: a finished step is never run again, an interrupted one is run
/// again with `SHIPLOG_ATTEMPT` incremented (or fails the deployment, per `on_interrupt`).
public final class DeploymentRunner {
    public let ledger: Ledger
    public let pipeline: Pipeline
    let environment: [String: String]
    let redactor: Redactor
    let artifacts: any ArtifactBlobs
    let output: RunnerOutput
    let claims: any RunnerClaims
    public let plan: DeploymentPlan
    /// Wait at the approval gate (polling the ledger) until it opens or ends; false: return at
    /// once with the deployment waiting (`deploy --no-wait`, exit 7).
    public var waitsForApproval = true
    /// Seconds `deploy` waits for the environment's active deployment to end before refusing
    /// (`--wait-for-lock`); nil refuses at once.
    public var lockWait: Double?

    /// - Parameters:
    ///   - ledger: its store is written through a ledger whose text filter also redacts the
    ///     runner's secrets, after the given ledger's own filter.
    ///   - pipeline: with the environment's overrides already applied.
    ///   - environment: the variables steps inherit; secrets among them are redacted everywhere.
    public init(
        ledger: Ledger, pipeline: Pipeline, environment: [String: String], artifacts: any ArtifactBlobs,
        claims: any RunnerClaims, output: RunnerOutput
    ) {
        let redactor = Redactor(environment: environment, pipeline: pipeline)
        self.ledger = ledger.addingTextFilter { redactor.redact($0) }
        self.pipeline = pipeline
        self.environment = environment
        self.redactor = redactor
        self.artifacts = artifacts
        self.output = output
        self.claims = claims
        self.plan = Self.makePlan(pipeline, environment: environment)
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// What the domain needs to know of a pipeline to decide each next step.
    public static func makePlan(_ p: Pipeline, environment: [String: String]) -> DeploymentPlan {
        var phases: [Phase] = []
        if !p.preflight.isEmpty { phases.append(.preflight) }
        if p.migrate != nil { phases.append(.migrate) }
        if p.build != nil { phases.append(.build) }
        if p.image != nil { phases.append(.image) }
        phases.append(.deploy)
        if p.health.smoke != nil { phases.append(.smoke) }
        if p.rollback != nil { phases.append(.rollback) }
        var failOnInterrupt = Set<Phase>()
        let steps: [(Phase, CommandStep?)] = [
            (.migrate, p.migrate), (.build, p.build), (.image, p.image), (.deploy, p.deploy),
            (.smoke, p.health.smoke), (.rollback, p.rollback),
        ]
        for (phase, step) in steps where step?.onInterrupt == .fail { failOnInterrupt.insert(phase) }
        if p.preflight.contains(where: { $0.step.onInterrupt == .fail }) { failOnInterrupt.insert(.preflight) }
        let webhook = p.notify.flatMap { environment[$0.slackWebhookEnv] } ?? ""
        return DeploymentPlan(
            phases: phases, checks: p.health.checks.map(\.name), stabilizeSeconds: seconds(p.health.stabilize),
            policy: HealthPolicy(
                retries: p.health.retries, interval: seconds(p.health.interval),
                totalTimeout: seconds(p.health.totalTimeout),
                nonCritical: Set(p.health.checks.filter { !$0.critical }.map(\.name))),
            failOnInterrupt: failOnInterrupt, notify: !webhook.isEmpty, approval: p.approval?.gate)
    }

    // MARK: Entry points

    /// Records a new deployment of `sha` and drives it to the end.
    public func deploy(sha: String, ref: String, triggeredBy: String, commitTime: String? = nil) throws -> DeploymentOutcome {
        try prepareLogDirectory()
        if let signal = Interruption.signal {
            throw RunnerInterrupted(signal: signal, deploymentID: nil, activity: "the deployment before it was recorded")
        }
        let state = try requestDeployment(sha: sha, ref: ref, triggeredBy: triggeredBy, commitTime: commitTime)
        let id = state.id!
        output.started(id: id, state: state)
        return try drive(id)
    }

    /// Continues a deployment from its events alone.
    ///
    /// The pipeline must be the file the deployment began with: one whose bytes changed since
    /// would run steps other than those the events recorded, so it is refused unless
    /// `allowChangedPipeline` says the operator means it.
    public func resume(_ id: String, allowChangedPipeline: Bool = false) throws -> DeploymentOutcome {
        try prepareLogDirectory()
        let state = try ledger.load(id)
        guard let request = state.request else { throw LedgerError.notFound("no deployment \(id) in the ledger; `shiplog history` lists them") }
        guard request.mode == .run else {
            throw LedgerError.refused("deployment \(id) is recorded by another pipeline (`shiplog record`), not run by shiplog; it cannot be resumed here")
        }
        guard request.environment == pipeline.environment else {
            throw LedgerError.refused("deployment \(id) is for environment \(request.environment), but the pipeline file is for \(pipeline.environment); pass the right --config")
        }
        if let recorded = request.pipelineSHA256, recorded != pipeline.source?.sha256, !allowChangedPipeline {
            let began = request.pipelinePath ?? "its pipeline file"
            throw LedgerError.refused(
                """
                deployment \(id) began with \(began) (SHA-256 \(recorded.prefix(12))…), but \(pipeline.sourceFile) now reads \
                \(pipeline.source.map { "SHA-256 \($0.sha256.prefix(12))…" } ?? "differently"): resuming would run steps the events never \
                recorded. Restore the file, or pass --allow-changed-pipeline to resume with it as it is now
                """)
        }
        output.resumed(id: id, state: state)
        return try drive(id)
    }

    // MARK: The loop

    func drive(_ id: String) throws -> DeploymentOutcome {
        let lock = try claims.claim(id)
        defer { lock.release() }
        var state = try ledger.load(id)
        var guardSteps = 0
        while true {
            guardSteps += 1
            precondition(guardSteps < 100_000, "the runner is not making progress on \(id)")
            let step = state.next(plan: plan, now: ledger.clock())
            if case .done = step {
                output.step(step, state: state)
                return DeploymentOutcome(state)
            }
            // A safe point: nothing runs, everything so far is recorded.
            if let signal = Interruption.signal {
                throw RunnerInterrupted(signal: signal, deploymentID: id, activity: Self.activity(before: step))
            }
            output.step(step, state: state)
            switch step {
            case .done:
                break
            case .runStep(let phase, let attempt):
                state = try runStep(phase, attempt: attempt, state: state)
            case .failInterrupted(let phase):
                state = try record(.completeStep(phase, succeeded: false, reason: "interrupted: its runner stopped while it ran, and the pipeline says on_interrupt: fail"), id)
            case .stabilize(nil):
                let seconds = plan.stabilizeSeconds
                let until = Timestamp.format(ledger.clock().addingTimeInterval(seconds))
                state = try record(.startStabilization(seconds: seconds, until: until), id)
            case .stabilize(let until?):
                try sleep(until: until, id, activity: "the wait for services to stabilize")
                state = try record(.finishStabilization, id)
            case .wait(let until):
                try sleep(until: until, id, activity: "the wait before the next health-check attempt")
            case .probe(let checks, let round):
                state = try probe(checks, round: round, state: state)
            case .rollback(_, _, let attempt):
                state = try rollback(attempt: attempt, state: state)
            case .requestApproval(let gate):
                state = try record(.requestApproval(gate), id)
            case .awaitApproval(let until):
                guard waitsForApproval else { return waitingOutcome(state) }
                state = try awaitApproval(until: until, state: state)
            case .expireApproval:
                state = try record(.expireApproval(at: Timestamp.format(ledger.clock())), id)
            case .finish(let outcome):
                state = try record(.finish(outcome), id)
            case .storeRecord:
                state = try storeArtifacts(state)
            case .notify:
                state = try notify(state)
            }
        }
    }

    @discardableResult
    func record(_ command: DeploymentCommand, _ id: String) throws -> DeploymentState {
        let (state, events) = try ledger.execute(command, on: id)
        for event in events { output.recorded(event) }
        return state
    }

    /// Sleeps until `text`, or throws `RunnerInterrupted` as soon as SIGINT or SIGTERM arrives:
    /// the wait's end is recorded, so a resumed runner waits only what is left.
    func sleep(until text: String, _ id: String, activity: String) throws {
        guard let until = Timestamp.parse(text) else { return }
        while true {
            let remaining = until.timeIntervalSince(ledger.clock())
            if let signal = Interruption.signal { throw RunnerInterrupted(signal: signal, deploymentID: id, activity: activity) }
            if remaining <= 0 { return }
            Interruption.sleep(seconds: remaining)
        }
    }

    /// What stopping before `step` interrupts, in words.
    static func activity(before step: NextStep) -> String {
        switch step {
        case .runStep(let phase, _), .failInterrupted(let phase): "the deployment before its \(phase) step"
        case .stabilize: "the deployment before the wait for services to stabilize"
        case .wait: "the deployment between health-check attempts"
        case .probe: "the deployment before its health checks"
        case .rollback: "the deployment before its rollback"
        case .finish: "the deployment before its outcome was recorded"
        case .storeRecord: "the deployment before its record was kept"
        case .notify: "the deployment before the team was notified"
        case .requestApproval: "the deployment before its approval gate"
        case .awaitApproval: "the wait for approval"
        case .expireApproval: "the deployment before its approval timeout was recorded"
        case .done: "the deployment"
        }
    }

    /// Throws `RunnerInterrupted` for a step that a signal stopped: its end says nothing about
    /// it, so no outcome is recorded, and `resume` runs it again (or fails it, per `on_interrupt`).
    func throwIfInterrupted(_ outcome: StepOutcome, _ phase: Phase, _ id: String, log: StepLog) throws {
        guard let signal = outcome.interruptedBy else { return }
        log.write("# stopped by \(Interruption.name(of: signal)); no outcome recorded: `shiplog resume \(id)` continues the deployment")
        throw RunnerInterrupted(signal: signal, deploymentID: id, activity: "the \(phase) step")
    }

    // MARK: Steps

    var logDirectory: String { pipeline.resolvePath(pipeline.artifacts.dir) }

    /// Creates the log directory, or checks that it is safe to write in (see
    /// `FileSystem.makePrivateDirectory`), before anything is recorded.
    func prepareLogDirectory() throws {
        try FileSystem.makePrivateDirectory(logDirectory, purpose: "keep logs in")
    }

    func logPath(_ phase: Phase, _ id: String) -> String {
        logDirectory + "/" + phase.logArtifactName(deploymentID: id)
    }

    func stepEnvironment(_ state: DeploymentState, attempt: Int, extra: [String: String]) -> [String: String] {
        var env = environment
        let request = state.request!
        env["SHIPLOG_DEPLOYMENT_ID"] = request.deploymentID
        env["SHIPLOG_ENVIRONMENT"] = request.environment
        env["SHIPLOG_VERSION"] = request.gitSHA
        env["SHIPLOG_GIT_REF"] = request.gitRef
        env["SHIPLOG_SERVICES"] = request.services.joined(separator: ",")
        env["SHIPLOG_ATTEMPT"] = String(attempt)
        env["DEPLOYMENT_LOG_DIR"] = logDirectory
        for (k, v) in extra { env[k] = v }
        return env
    }

    func makeLog(_ phase: Phase, _ id: String) throws -> StepLog {
        let output = self.output
        var echo: (@Sendable (String) -> Void)?
        if output.echoesStepOutput {
            echo = { text in output.stepOutput(phase: phase, line: text) }
        }
        return try StepLog(path: logPath(phase, id), redactor: redactor, echo: echo)
    }

    func run(_ step: CommandStep, phase: Phase, attempt: Int, state: DeploymentState, log: StepLog, extra: [String: String] = [:]) throws -> StepOutcome {
        var env = stepEnvironment(state, attempt: attempt, extra: extra)
        for (k, v) in step.env { env[k] = v }
        let command = StepCommand(
            command: step.run, environment: env, workdir: pipeline.workingDirectory(for: step),
            timeout: step.timeout.map(Self.seconds))
        log.write("$ \(step.run)   [attempt \(attempt)]")
        let outcome = try StepProcess.run(command, log: log)
        log.write("# \(outcome.summary)")
        return outcome
    }

    func runStep(_ phase: Phase, attempt: Int, state: DeploymentState) throws -> DeploymentState {
        let id = state.id!
        _ = try record(.startStep(phase, attempt: attempt), id)
        let log = try makeLog(phase, id)
        defer { log.close() }
        var failure: String?
        switch phase {
        case .preflight:
            for check in pipeline.preflight {
                let outcome = try run(check.step, phase: phase, attempt: attempt, state: state, log: log)
                try throwIfInterrupted(outcome, phase, id, log: log)
                if !outcome.succeeded { failure = "status check \(check.name) \(outcome.summary)"; break }
            }
        default:
            let step: CommandStep? =
                switch phase {
                case .migrate: pipeline.migrate
                case .build: pipeline.build
                case .image: pipeline.image
                case .deploy: pipeline.deploy
                case .smoke: pipeline.health.smoke
                default: nil
                }
            guard let step else { throw LedgerError.invalid("the pipeline has no \(phase) step") }
            let outcome = try run(step, phase: phase, attempt: attempt, state: state, log: log)
            try throwIfInterrupted(outcome, phase, id, log: log)
            if !outcome.succeeded { failure = "\(phase) \(outcome.summary)" }
        }
        try log.throwIfFailed()
        let after = try record(.completeStep(phase, succeeded: failure == nil, reason: failure), id)
        if failure != nil { showLogTail(phase, id) }
        return after
    }

    /// After a failure: the last lines of the step's log (redacted as it was written) and where
    /// the whole log is.
    func showLogTail(_ phase: Phase, _ id: String) {
        let path = logPath(phase, id)
        output.logTail(StepLog.lastLines(of: path, count: Self.logTailLines), path: path, artifact: phase.logArtifactName(deploymentID: id))
    }

    /// How many lines of a failed step's log are shown.
    static let logTailLines = 12

    /// Rolls back onto the target the ledger chooses now (`Ledger.beginRollback`), not the one
    /// `next` named when it was decided.
    func rollback(attempt: Int, state: DeploymentState) throws -> DeploymentState {
        let id = state.id!
        // The target is chosen now, from the events: someone may have marked the one the
        // deployment began with bad since. With none left, the ledger fails the deployment.
        let started = try ledger.beginRollback(id, attempt: attempt)
        guard started.steps[.rollback]?.running == true, let target = started.rollbackTarget else { return started }
        guard let step = pipeline.rollback else { throw LedgerError.invalid("the pipeline has no rollback step") }
        let log = try makeLog(.rollback, id)
        defer { log.close() }
        log.write("rolling back \(state.request!.environment) to \(target.id) (\(target.sha))")
        let outcome = try run(
            step, phase: .rollback, attempt: attempt, state: started, log: log,
            extra: ["SHIPLOG_ROLLBACK_VERSION": target.sha, "SHIPLOG_ROLLBACK_DEPLOYMENT_ID": target.id])
        try throwIfInterrupted(outcome, .rollback, id, log: log)
        try log.throwIfFailed()
        let after = try record(.completeStep(.rollback, succeeded: outcome.succeeded, reason: outcome.succeeded ? nil : "rollback \(outcome.summary)"), id)
        if !outcome.succeeded { showLogTail(.rollback, id) }
        // Marked bad while it was being restored: the environment now runs a release nobody
        // should roll back to. Never report that as a successful rollback.
        if outcome.succeeded, let warning = try ledger.rollbackTargetWarning(target.id) {
            log.write(warning)
            return try record(.finish(.failed(reason: "\(state.failureSummary); rolled back to \(target.id), but \(warning)")), id)
        }
        return after
    }

    func probe(_ names: [String], round: HealthRound, state: DeploymentState) throws -> DeploymentState {
        let id = state.id!
        let checks = pipeline.health.checks.filter { names.contains($0.name) }
        let timeout = Self.seconds(pipeline.health.timeout)
        let caFile = pipeline.health.caFile.map(pipeline.resolvePath)
        let log = try makeLog(round == .rollback ? .rollback : .health, id)
        defer { log.close() }
        var attempts: [HealthAttempt] = []
        let http = checks.compactMap { check -> HealthProbeRequest? in
            guard case .http(let url, let expect) = check.kind else { return nil }
            return HealthProbeRequest(service: check.name, url: url, expectedStatus: expect, timeout: timeout, caFile: caFile)
        }
        for result in HealthProbe.probeAll(http, stop: { Interruption.requested }) {
            let previous = state.checks[round]?[result.service]?.attempts ?? 0
            attempts.append(
                HealthAttempt(
                    check: result.service, target: redactor.redact(result.url), attempt: previous + 1, round: round,
                    httpStatus: result.httpStatus, latencyMs: result.latencyMs,
                    error: result.error.map(redactor.redact), healthy: result.healthy,
                    body: result.body.map { redactor.excerpt(of: $0, truncated: result.bodyTruncated) }))
        }
        // Probes cut short by a signal say nothing about the services: none is recorded.
        if let signal = Interruption.signal {
            throw RunnerInterrupted(signal: signal, deploymentID: id, activity: round == .rollback ? "the health checks of the rollback" : "the health checks")
        }
        for check in checks {
            guard case .command(let step) = check.kind else { continue }
            let previous = state.checks[round]?[check.name]?.attempts ?? 0
            let started = Date()
            let outcome = try run(step, phase: .health, attempt: previous + 1, state: state, log: log)
            try throwIfInterrupted(outcome, .health, id, log: log)
            attempts.append(
                HealthAttempt(
                    check: check.name, target: redactor.redact(step.run), attempt: previous + 1, round: round,
                    httpStatus: nil, latencyMs: Int(Date().timeIntervalSince(started) * 1000),
                    error: outcome.succeeded ? nil : outcome.summary, healthy: outcome.succeeded))
        }
        for a in attempts {
            let status = a.httpStatus.map { "HTTP \($0)" } ?? (a.healthy ? "ok" : "-")
            log.write("[\(round.rawValue)] \(a.check) attempt \(a.attempt): \(a.healthy ? "healthy" : "unhealthy") \(status) \(a.latencyMs) ms\(a.error.map { " — \($0)" } ?? "") (\(a.target))")
            if let body = a.body { log.write("[\(round.rawValue)] \(a.check) answered: \(VisibleText.render(body))") }
        }
        try log.throwIfFailed()
        let after = try record(.recordHealthAttempts(attempts, policy: plan.policy, now: Timestamp.format(ledger.clock())), id)
        if state.healthPassed[round] == nil, after.healthPassed[round] == false { showLogTail(round == .rollback ? .rollback : .health, id) }
        return after
    }

    func storeArtifacts(_ state: DeploymentState) throws -> DeploymentState {
        let id = state.id!
        let retention = pipeline.artifacts.retentionDays
        var seen = Set(state.artifacts.keys)
        for phase in Phase.allCases {
            let name = phase.logArtifactName(deploymentID: id)
            let path = logPath(phase, id)
            guard seen.insert(name).inserted, FileSystem.kind(of: path, followSymlinks: false) != .missing else { continue }
            // Streamed, never read whole; a symbolic link planted at the log's name is refused.
            let artifact = try ledger.storeArtifact(name: name, phase: phase.rawValue, deploymentID: id, retentionDays: retention) {
                try artifacts.put(file: path, followSymlinks: false)
            }
            output.artifact(artifact)
        }
        guard let record = try Queries(ledger: ledger).record(id) else { return try ledger.load(id) }
        let name = Phase.recordArtifactName(deploymentID: id)
        let bytes = Array((record.json + "\n").utf8)
        let path = logDirectory + "/" + name
        // A copy beside the logs, for people; the artifact below is the one the ledger names.
        try? FileSystem.atomicReplace(path, with: bytes)
        let artifact = try ledger.storeArtifact(
            name: name, phase: "summary", bytes: bytes, deploymentID: id,
            retentionDays: retention, in: artifacts)
        output.artifact(artifact)
        return try ledger.load(id)
    }

    func notify(_ state: DeploymentState) throws -> DeploymentState {
        let id = state.id!
        guard let notify = pipeline.notify, let url = environment[notify.slackWebhookEnv], !url.isEmpty else {
            return try record(.recordNotification(sent: false, attempts: 0, error: "no webhook configured"), id)
        }
        let summary = try Queries(ledger: ledger).record(id)
        let text = SlackMessage.text(for: state, record: summary)
        // Each attempt at most 10 s, and the whole delivery at most notify.timeout (30 s by default).
        let outcome = Webhook.postJSON(
            url: url, body: JSONText.object([("text", JSONText.quote(text))]), timeout: 10, retries: 3,
            retryDelay: 2, totalTimeout: Self.seconds(notify.timeout))
        let error = outcome.error.map(redactor.redact)
        return try record(.recordNotification(sent: outcome.delivered, attempts: outcome.attempts, error: error), id)
    }
}
