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

            Example:
              shiplog deploy --config shiplog.yml --sha "$GITHUB_SHA" --ref "$GITHUB_REF"

            Exit codes: 0 deployed; 1 failed and rolled back to the last stable version; \
            2 failed without a successful rollback; 5 the environment has an unfinished \
            deployment (resume it or unlock it); 65 the pipeline file is wrong.

            With an approval gate in the pipeline, the runner waits at it (a progress line, the \
            approve command printed) until enough approvals, a rejection or the timeout; a rejection \
            or the timeout fails the deployment before the gated phase (exit 6). --no-wait exits 7 \
            at the gate instead, and `shiplog resume ID` continues later. --wait-for-lock waits for \
            the environment's active deployment to end instead of refusing (exit 5 if it is still \
            active after the duration); SIGINT or SIGTERM ends that wait with nothing started.

            Examples:
              shiplog deploy --config shiplog.yml --sha "$GITHUB_SHA" --wait-for-lock 15m
              shiplog deploy --config shiplog.yml --sha "$GITHUB_SHA" --no-wait   # exit 7 at the gate
            """)

    @OptionGroup var ledger: LedgerOptions
    @OptionGroup var pipelineOptions: PipelineOptions
    @Option(help: "The git commit to deploy (7–64 hex digits); becomes SHIPLOG_VERSION.") var sha: String
    @Option(help: "The git ref.") var ref: String = "refs/heads/main"
    @Option(help: "Override the pipeline's environment.") var env: String?
    @Option(name: .customLong("triggered-by"), help: "Who or what started it (default: $GITHUB_ACTOR, else $USER).")
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
            let runner = try DeploymentRunner.make(ledger: ledger, pipeline: pipeline, json: json, verbose: pipelineOptions.verbose)
            runner.lockWait = waitForLock.flatMap(DeploymentRunner.seconds(parsing:))
            runner.waitsForApproval = !noWait
            let who = triggeredBy ?? environment["GITHUB_ACTOR"] ?? environment["USER"] ?? "unknown"
            let committed = CommitTime.resolve(option: commitTime, sha: sha, directory: FileSystem.directory(of: pipelineOptions.config))
            let outcome = try driving { try runner.deploy(sha: sha.lowercased(), ref: ref, triggeredBy: who, commitTime: committed) }
            try finish(outcome, runner: runner)
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
    } catch let stopped as RunnerInterrupted {
        let signal = stopped.signal == SIGINT ? "SIGINT" : "SIGTERM"
        let next = stopped.deploymentID.map { "; it waits where it was: `shiplog resume \($0)` continues it" } ?? "; nothing was started"
        throw Failure("\(signal) ended \(stopped.activity)\(next)", code: stopped.exitCode)
    }
}

/// Prints the outcome, feeds GitHub Actions, and exits with the deployment's code.
func finish(_ outcome: DeploymentOutcome, runner: DeploymentRunner) throws {
    let record = try Queries(ledger: runner.ledger).record(outcome.deploymentID)
    let reason = try record.flatMap { try GitHubActions.reason(of: $0, summary: outcome.reason ?? runner.ledger.load(outcome.deploymentID).failureSummary) }
    GitHubActions.deploymentEnded(outcome.deploymentID, status: outcome.status.rawValue, record: record, reason: reason)
    TerminalText.note("\(outcome.deploymentID): \(outcome.status.rawValue)\(outcome.reason.map { " — \($0)" } ?? "")")
    if outcome.exitCode != 0 { throw ExitCode(outcome.exitCode) }
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
            let request = try self.ledger.ledger(.existing).load(id).request
            let path = config ?? request?.pipelinePath ?? Pipeline.defaultFileName
            let pipeline = try PipelineOptions.load(path: path, environment: environment)
            let runner = try DeploymentRunner.make(ledger: ledger, pipeline: pipeline, json: json, verbose: verbose)
            runner.waitsForApproval = !noWait
            let outcome = try driving { try runner.resume(id, allowChangedPipeline: allowChangedPipeline) }
            try finish(outcome, runner: runner)
        }
    }
}

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a pipeline file without running anything.",
        discussion: """
            Reports mistakes with line and column, applies the HEALTH_CHECK_* and DEPLOYMENT_LOG_DIR \
            overrides, and prints warnings. Secrets the URLs refer to are shown redacted.
            """)

    @OptionGroup var pipelineOptions: PipelineOptions
    @Flag(help: "Print a JSON object.") var json = false

    func run() throws {
        try reporting {
            let environment = ProcessInfo.processInfo.environment
            let pipeline = try pipelineOptions.load(environment: environment)
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
        abstract: "What is deploying now, at which step, since when.")

    @OptionGroup var ledger: LedgerOptions
    @Option(help: "Only this environment.") var env: String?
    @Flag(help: "Print JSON lines.") var json = false

    func run() throws {
        try reporting {
            let opened = try ledger.ledger(.readOnly)
            let queries = Queries(ledger: opened)
            let active = try queries.activeDeployments(environment: env)
            if json {
                for r in active { Terminal.out(r.json) }
                return
            }
            if active.isEmpty {
                TerminalText.out("nothing is deploying\(env.map { " to \($0)" } ?? "")")
            }
            for r in active {
                TerminalText.out("\(r.environment): \(r.deploymentID) (\(r.gitSHA.prefix(12))) — \(r.currentPhase), since \(r.startedAt)")
            }
            if let env, let stable = try opened.lastStableRecord(environment: env) {
                TerminalText.out("\(env): last stable \(stable.deploymentID) (\(stable.gitSHA.prefix(12)))")
            }
        }
    }
}
