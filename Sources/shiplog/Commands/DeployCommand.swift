import EventStore
import SQLiteStore
import ArgumentParser
import Foundation
import Ledger
import Runner
import ShiplogFiles

struct DeployCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Run the pipeline: checks, migrations, build, deploy, health checks, rollback on failure.",
        discussion: """
            Records the deployment, then repeats: fold its events, decide the next step, run that \
            one step, record its outcome. Killed at any moment, `shiplog resume ID` continues \
            from the events alone. Logs go to DEPLOYMENT_LOG_DIR under the staging workflow's names and are \
            kept as artifacts for the pipeline's retention (365 days by default).

            Progress and the final verdict go to standard output (with --json: one event per \
            line there, and the verdict on standard error); errors go to standard error. \
            Ctrl-C (SIGINT) or SIGTERM stops the running step (SIGTERM to its processes, SIGKILL \
            after 5 s or at a second signal), records no outcome for it, and prints the exact \
            `shiplog resume ID` command that continues the deployment.

            Example:
              shiplog deploy --config shiplog.yml --sha "$GITHUB_SHA" --ref "$GITHUB_REF"

            Exit codes: 0 deployed; 1 failed and rolled back to the last stable version; 2 failed \
            and the environment may be broken (a migration or the deploy step ran, no successful \
            rollback); 6 failed before anything in the environment changed (nothing to roll back); \
            7 waits for approval (--no-wait); 5 the environment has an unfinished deployment \
            (resume it or unlock it); 65 the pipeline file is wrong; 78 no ledger (shiplog init); \
            130/143 interrupted by SIGINT/SIGTERM (resume it).

            With an approval gate in the pipeline, the runner waits at it (a progress line, the \
            approve command printed) until enough approvals, a rejection or the timeout; a rejection \
            or the timeout fails the deployment before the gated phase (exit 6). --no-wait exits 7 \
            at the gate instead, and `shiplog resume ID` continues later. --wait-for-lock waits for \
            the environment's active deployment to end instead of refusing (exit 5 if it is still \
            active after the duration); SIGINT or SIGTERM ends that wait with nothing started.

            Examples:
              shiplog deploy --config shiplog.yml --sha "$GITHUB_SHA" --wait-for-lock 15m
              shiplog deploy --config shiplog.yml --sha "$GITHUB_SHA" --no-wait   # exit 7: waits
            """)

    @OptionGroup var ledger: LedgerOptions
    @OptionGroup var pipelineOptions: PipelineOptions
    @Option(help: "The git commit to deploy (7–64 hex digits); becomes SHIPLOG_VERSION.") var sha: String
    @Option(help: "The git ref.") var ref: String = "refs/heads/main"
    @Option(help: "Override the pipeline's environment.") var env: String?
    @Option(name: .customLong("triggered-by"), help: "Who or what started it (default: $GITHUB_ACTOR, else $USER, else the account name).")
    var triggeredBy: String?
    @Option(
        name: .customLong("commit-time"),
        help: ArgumentHelp("When the commit was made, for the lead time (default: git's committer time, when the pipeline file's directory holds the repository).", valueName: "time"))
    var commitTime: String?
    @Flag(help: "Print one JSON object per recorded event instead of progress lines.") var json = false
    @Option(
        name: .customLong("wait-for-lock"),
        help: ArgumentHelp("Wait this long for the environment's active deployment to end instead of refusing (30s, 10m, 1h).", valueName: "duration"))
    var waitForLock: String?
    @Flag(name: .customLong("no-wait"), help: "At an approval gate, exit 7 instead of waiting; `shiplog resume ID` continues later.")
    var noWait = false
    @Flag(name: .customLong("allow-marked-bad"), help: "Deploy the sha even though a deployment of it was marked bad (`shiplog mark-bad`).")
    var allowMarkedBad = false

    func validate() throws {
        guard (7...64).contains(sha.count), sha.allSatisfy(\.isHexDigit) else {
            throw ValidationError("--sha must be a git commit: 7 to 64 hex digits; got \(sha)")
        }
        if let commitTime { _ = try TimeArgument.require(commitTime, option: "--commit-time") }
        if let waitForLock, DeploymentRunner.seconds(parsing: waitForLock) == nil {
            throw ValidationError("--wait-for-lock must be a duration such as 30s, 10m or 1h; got \(waitForLock)")
        }
    }

    func run() throws {
        try reporting {
            let environment = ProcessInfo.processInfo.environment
            var pipeline = try pipelineOptions.load(environment: environment)
            if let env { pipeline.environment = env }
            let location = try ledger.location(pipeline: pipeline)
            let runner = try DeploymentRunner.make(ledger: ledger, at: location, pipeline: pipeline, json: json, verbose: pipelineOptions.verbose)
            runner.lockWait = waitForLock.flatMap(DeploymentRunner.seconds(parsing:))
            runner.waitsForApproval = !noWait
            let who = triggeredBy ?? Who.current(environment: environment)
            if let bad = try MarkedBad.deployments(of: sha, environment: pipeline.environment, in: runner.ledger).first {
                guard allowMarkedBad else {
                    throw Failure("not deploying: \(MarkedBad.describe(bad)). Deploy it anyway with --allow-marked-bad", code: Exit.refused)
                }
                TerminalText.note("warning: deploying although \(MarkedBad.describe(bad)) (--allow-marked-bad)")
            }
            let committed = CommitTime.resolve(option: commitTime, sha: sha, directory: FileSystem.directory(of: pipelineOptions.config))
            let interrupts = InterruptReport(location: location, config: pipelineOptions.config, json: json)
            let outcome = try interrupts.drive(runner) { try runner.deploy(sha: sha.lowercased(), ref: ref, triggeredBy: who, commitTime: committed) }
            try finish(outcome, runner: runner, json: json)
        }
    }
}

/// Runs the loop, reporting a deployment already driven elsewhere as refused (exit 5), and a
/// runner lock that cannot be created as a write failure (exit 73).
func driving(_ body: () throws -> DeploymentOutcome) throws -> DeploymentOutcome {
    do {
        return try body()
    } catch let error as RunnerClaimRefused {
        throw Failure(error.description, code: Exit.refused)
    } catch let error as RunnerError {
        switch error {
        case .lockUnavailable: throw Failure(error.description, code: Exit.cannotWrite)
        }
    }
}

/// Prints the verdict (with the progress on stdout; on stderr beside `--json` events), feeds
/// GitHub Actions, and exits with the deployment's code.
func finish(_ outcome: DeploymentOutcome, runner: DeploymentRunner, json: Bool = false) throws {
    let record = try Queries(ledger: runner.ledger).record(outcome.deploymentID)
    let reason = try record.flatMap { try GitHubActions.reason(of: $0, summary: outcome.reason ?? runner.ledger.load(outcome.deploymentID).failureSummary) }
    GitHubActions.deploymentEnded(outcome.deploymentID, status: outcome.status.rawValue, record: record, reason: reason)
    let verdict = "\(outcome.deploymentID): \(verdict(outcome, record: record, environment: runner.pipeline.environment))\(outcome.reason.map { " — \($0)" } ?? "")"
    json ? TerminalText.note(verdict) : TerminalText.out(verdict)
    if outcome.exitCode != 0 { throw ExitCode(outcome.exitCode) }
}

/// What happened to the environment, with the exit code that says it.
func verdict(_ outcome: DeploymentOutcome, record: DeploymentRecord?, environment: String) -> String {
    switch outcome.exitCode {
    case 0: "deployed (exit 0)"
    case 1: "failed and rolled back\(record?.rolledBackTo.map { " to \($0)" } ?? ""): \(environment) runs the last stable version (exit 1)"
    case 6: "failed before anything in \(environment) changed: nothing to roll back (exit 6)"
    case 7: "waits for approval (exit 7)"
    default: "\(outcome.status.rawValue) without a successful rollback: \(environment) may be broken (exit 2)"
    }
}

struct ResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Continue a deployment whose runner stopped, from its events alone.",
        discussion: """
            A step that finished is never run again. A step that was running when the runner \
            died runs again with SHIPLOG_ATTEMPT incremented (steps must be idempotent), or fails \
            the deployment if the pipeline marks it `on_interrupt: fail`. A stabilization wait \
            resumes with only its remaining time. Exit codes as for `deploy`.

            Without --config, it runs the pipeline file the deployment began with (`shiplog show ID` \
            names it). A pipeline file whose bytes changed since the deployment began is refused \
            (exit 5): it could run steps the events never recorded. Restore it, or pass \
            --allow-changed-pipeline when the change is meant.
            """)

    @OptionGroup var ledger: LedgerOptions
    @Option(name: .shortAndLong, help: ArgumentHelp("The pipeline file (default: the file the deployment began with).", valueName: "file"))
    var config: String?
    @Flag(name: .shortAndLong, help: "Also echo every line of step output.") var verbose = false
    @Flag(name: .customLong("allow-changed-pipeline"), help: "Resume even though the pipeline file changed since the deployment began.")
    var allowChangedPipeline = false
    @Argument(help: "The deployment id.") var id: String
    @Flag(help: "Print one JSON object per recorded event instead of progress lines.") var json = false
    @Flag(name: .customLong("no-wait"), help: "At an approval gate still waiting, exit 7 instead of waiting.") var noWait = false

    func run() throws {
        try reporting {
            let environment = ProcessInfo.processInfo.environment
            let location = try config.map { try ledger.location(pipelineFile: $0) } ?? ledger.location()
            let request = try self.ledger.ledger(.existing, at: location).load(id).request
            let path = config ?? request?.pipelinePath ?? Pipeline.defaultFileName
            let pipeline = try PipelineOptions.load(path: path, environment: environment)
            let runner = try DeploymentRunner.make(ledger: ledger, at: location, pipeline: pipeline, json: json, verbose: verbose)
            runner.waitsForApproval = !noWait
            let interrupts = InterruptReport(location: location, config: config, json: json)
            let outcome = try interrupts.drive(runner) { try runner.resume(id, allowChangedPipeline: allowChangedPipeline) }
            try finish(outcome, runner: runner, json: json)
        }
    }
}

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a pipeline file without running anything.",
        discussion: """
            Reports every mistake of the file at once, each with line and column (and the key \
            meant, for a misspelt one), applies the HEALTH_CHECK_* and DEPLOYMENT_LOG_DIR \
            overrides, and prints warnings. Secrets the URLs refer to are shown redacted. Exits \
            65 when the file has mistakes; --json then prints {"ok": false, "errors": […]}.
            """)

    @OptionGroup var pipelineOptions: PipelineOptions
    @Flag(help: "Print a JSON object.") var json = false

    func run() throws {
        try reporting {
            let environment = ProcessInfo.processInfo.environment
            let pipeline: Pipeline
            do {
                pipeline = try pipelineOptions.load(environment: environment)
            } catch let failure as Failure where json {
                let errors = ([failure.message] + failure.more).map { JSONText.quote(ProcessSecrets.redact($0)) }
                Terminal.out(JSONText.object([("ok", "false"), ("errors", JSONText.array(errors))]))
                throw ExitCode(failure.code)
            }
            // Warnings quote health check URLs with their variables replaced: redact the secrets.
            let warnings = pipeline.validate().map(ProcessSecrets.redact)
            let missing = pipeline.missingSecrets(in: environment)
            let plan = DeploymentRunner.makePlan(pipeline, environment: environment)
            if json {
                Terminal.out(
                    JSONText.object([
                        ("ok", "true"), ("environment", JSONText.quote(pipeline.environment)),
                        ("phases", JSONText.array(plan.phases.map { JSONText.quote($0.rawValue) })),
                        ("checks", JSONText.array(plan.checks.map(JSONText.quote))),
                        ("warnings", JSONText.array(warnings.map(JSONText.quote))),
                        ("missing_secrets", JSONText.array(missing.map(JSONText.quote))),
                    ]))
            } else {
                TerminalText.out("\(pipelineOptions.config): ok — \(pipeline.environment): \(plan.phases.map(\.rawValue).joined(separator: " → ")); checks: \(plan.checks.joined(separator: ", "))")
                TerminalText.out("health: stabilize \(plan.stabilizeSeconds) s, \(plan.policy.retries) attempts every \(plan.policy.interval) s, at most \(plan.policy.totalTimeout) s per service")
                for w in warnings { TerminalText.out("warning: \(w)") }
                for m in missing { TerminalText.out("warning: secret \(m) is not set in this environment") }
            }
        }
    }
}

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "What is deploying now, at which step, since when, and whether its runner is alive.",
        discussion: """
            Prints the ledger it reads first. For each unfinished deployment: its step, and \
            whether a runner drives it (host and pid) or none does, and then how to continue it.

            --json prints one object: {"ledger": …, "deployments": [{"deployment_id", \
            "environment", "git_sha", "current_step" (null between steps), "phase", "attempt", \
            "started_at", "triggered_by", "mode", "runner": {"alive", "host", "pid", "since"}}]}; \
            "deployments" is empty when nothing is deploying.
            """)

    @OptionGroup var ledger: LedgerOptions
    @Option(help: "Only this environment.") var env: String?
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        try reporting {
            let location = try ledger.location()
            let store = try ledger.open(.readOnly, at: location)
            let opened = LedgerOptions.ledger(on: store)
            let claims = LedgerOptions.claims(for: store, ledgerPath: location.path)
            let active = try Queries(ledger: opened).activeDeployments(environment: env)
            var entries: [String] = []
            if !json {
                TerminalText.out("ledger \(location.shown) (\(location.reason))")
                if active.isEmpty { TerminalText.out("nothing is deploying\(env.map { " to \($0)" } ?? "")") }
            }
            for r in active {
                let state = try opened.load(r.deploymentID)
                let step = state.runningStep
                let attempt = step.flatMap { state.steps[$0]?.attempts }
                let holder = try claims.holder(of: r.deploymentID)
                if json {
                    let runner: [(String, String)] =
                        holder.map {
                            [("alive", "true"), ("host", JSONText.quote($0.host)), ("pid", String($0.pid)), ("since", JSONText.quote($0.since))]
                        } ?? [("alive", "false")]
                    entries.append(
                        JSONText.object([
                            ("deployment_id", JSONText.quote(r.deploymentID)), ("environment", JSONText.quote(r.environment)),
                            ("git_sha", JSONText.quote(r.gitSHA)), ("current_step", step.map { JSONText.quote($0.rawValue) } ?? "null"),
                            ("phase", JSONText.quote(r.currentPhase)), ("attempt", attempt.map(String.init) ?? "null"),
                            ("started_at", JSONText.quote(r.startedAt)), ("triggered_by", JSONText.quote(r.triggeredBy)),
                            ("mode", JSONText.quote(r.mode)), ("runner", JSONText.object(runner)),
                        ]))
                    continue
                }
                let doing = step.map { "\($0.rawValue) (attempt \(attempt ?? 1))" } ?? r.currentPhase
                TerminalText.out("\(r.environment): \(r.deploymentID) (\(r.gitSHA.prefix(12))) — \(doing), since \(r.startedAt), triggered by \(r.triggeredBy)")
                if let holder {
                    TerminalText.out("  runner: alive, \(holder)")
                } else if state.request?.mode == .record {
                    TerminalText.out("  recorded by another pipeline; it continues with `shiplog record …`")
                } else {
                    TerminalText.out("  runner: none is alive; continue it with `shiplog resume \(r.deploymentID)`, or end it with `shiplog unlock --env \(r.environment) --reason …`")
                }
            }
            if json {
                Terminal.out(JSONText.object([("ledger", JSONText.quote(location.shown)), ("deployments", JSONText.array(entries))]))
                return
            }
            if let env, let stable = try opened.lastStableRecord(environment: env) {
                TerminalText.out("\(env): last stable \(stable.deploymentID) (\(stable.gitSHA.prefix(12)))")
            }
        }
    }
}
