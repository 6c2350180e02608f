import EventStore
import SQLiteStore
import ArgumentParser
import Foundation
import Ledger
import Runner
import ShiplogFiles

/// `shiplog record`: the ledger for a deployment another pipeline runs (GitHub Actions, a
/// script), one call per fact, each checked against what the deployment has recorded so far.
struct RecordCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Record a deployment that another pipeline runs, one phase at a time.",
        discussion: """
            Each call appends the facts of one step and is refused (exit 5) when the deployment \
            cannot accept it: a phase out of order, a success after a failure, anything after it \
            finished. The refusal says what state the deployment is in and what it accepts next.

            With --config, `record begin` takes the environment, services, phases, health checks \
            and secrets from the pipeline file: a phase or a check the file does not have is \
            refused, and every later `record` call redacts the file's secrets from logs and \
            events without SHIPLOG_SECRETS (it reads the file the deployment began with, or \
            --config).

            Example (a GitHub Actions workflow, one line per job):
              id=$(shiplog record begin --config shiplog.yml --sha "$GITHUB_SHA")
              shiplog record phase "$id" migrate --status succeeded --log migrate.log
              shiplog record phase "$id" deploy --status succeeded --log deploy.log
              shiplog record health "$id" api_gateway --status healthy --attempts 2
              shiplog record phase "$id" smoke --status succeeded --log health.log
              shiplog record finish "$id" --status succeeded
            """,
        subcommands: [Begin.self, PhaseOutcome.self, Health.self, Finish.self])

    // MARK: begin

    struct Begin: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "begin",
            abstract: "Record a new deployment and take its environment; prints the deployment id.",
            discussion: """
                The id is `{unix-seconds}-{first 12 hex digits of the sha}`. The newest stable \
                deployment of the environment becomes this one's rollback target. With --config, \
                the pipeline file gives the environment, the services, the phases and checks the \
                deployment accepts, the secrets redacted from everything recorded, and the ledger \
                (its ledger: key, else .shiplog/ledger.db beside it); --env and --services override it. An environment \
                holds one unfinished deployment at a time: a second `begin` is refused (exit 5) and \
                names the active one; finish it, or free the environment with `shiplog unlock`. \
                In a GitHub Actions step, every `record` command appends the outputs deployment-id and \
                status (and reason, rolled-back-to once known) to $GITHUB_OUTPUT.

                Examples:
                  shiplog record begin --config shiplog.yml --sha "$GITHUB_SHA" --ref "$GITHUB_REF"
                  shiplog record begin --env staging --sha "$GITHUB_SHA" --ref "$GITHUB_REF" \\
                    --services api-gateway,auth-service,education-service,marketplace-service
                """)

        @OptionGroup var ledger: LedgerOptions
        @Option(
            name: .shortAndLong,
            help: ArgumentHelp("The pipeline file the recorded pipeline follows (environment, services, phases, checks, secrets).", valueName: "file"))
        var config: String?
        @Option(help: "The environment deployed to, e.g. staging (default: the pipeline file's).") var env: String?
        @Option(help: "The git commit deployed (7–64 hex digits).") var sha: String
        @Option(help: "The git ref.") var ref: String = "refs/heads/main"
        @Option(help: ArgumentHelp("The services deployed, comma-separated (default: the pipeline file's).", valueName: "a,b,…"))
        var services: String?
        @Option(name: .customLong("triggered-by"), help: "Who started it (default: $GITHUB_ACTOR, else $USER, else the account name).")
        var triggeredBy: String?
        @Option(
            name: .customLong("commit-time"),
            help: ArgumentHelp("When the commit was made, for the lead time (default: git's committer time, when the current directory holds the repository).", valueName: "time"))
        var commitTime: String?
        @Flag(help: "Print a JSON object instead of the id.") var json = false

        var serviceList: [String] {
            (services ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }

        func validate() throws {
            guard (7...64).contains(sha.count), sha.allSatisfy({ $0.isASCII && $0.isHexDigit }) else {
                throw ValidationError("--sha must be a git commit: 7 to 64 hex digits; got \(sha)")
            }
            if ref.isEmpty { throw ValidationError("--ref must not be empty") }
            if let triggeredBy, triggeredBy.isEmpty { throw ValidationError("--triggered-by must not be empty") }
            if let commitTime { _ = try TimeArgument.require(commitTime, option: "--commit-time") }
            if env == nil && config == nil { throw ValidationError("record begin needs --env, or --config naming the pipeline file") }
        }

        func run() throws {
            try reporting {
                let pipeline = try config.map(RecordedPipeline.load(path:))
                let store = try ledger.open(.existing, pipeline: pipeline)
                let plan = pipeline.map { DeploymentRunner.makePlan($0, environment: [:]) }
                let recorded = LedgerOptions.ledger(on: store, textFilter: ProcessSecrets.filter)
                let state = try recorded.request(
                    environment: env ?? pipeline?.environment ?? "", gitSHA: sha.lowercased(), gitRef: ref,
                    services: services == nil ? pipeline?.services ?? [] : serviceList,
                    triggeredBy: triggeredBy ?? Who.current, mode: .record, phases: plan?.phases ?? [], checks: plan?.checks ?? [],
                    pipeline: pipeline?.source,
                    commitTime: CommitTime.resolve(option: commitTime, sha: sha, directory: FileManager.default.currentDirectoryPath))
                guard let id = state.id, let request = state.request else {
                    throw Failure("the deployment was recorded but cannot be read back; run `shiplog verify`", code: Exit.software)
                }
                if json {
                    Terminal.out(
                        JSONText.object([
                            ("deployment_id", JSONText.quote(id)),
                            ("environment", JSONText.quote(request.environment)),
                            ("git_sha", JSONText.quote(request.gitSHA)),
                            ("rollback_target", request.previousStableID.map(JSONText.quote) ?? "null"),
                        ]))
                } else {
                    TerminalText.out(id)
                }
                try publishOutputs(of: id, ledger: recorded, what: "the deployment")
            }
        }
    }

    // MARK: phase

    enum StepStatus: String, ExpressibleByArgument, CaseIterable {
        case succeeded, failed
    }

    struct PhaseOutcome: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "phase",
            abstract: "Record the outcome of one phase: preflight, migrate, build, image, deploy, smoke or rollback.",
            discussion: """
                Phases are accepted in the order preflight, migrate, build, image, deploy, (health), \
                smoke; any may be left out, none may come after a later one or after a failure. \
                `rollback` is accepted only after a failure and restores the deployment's rollback \
                target (the last stable version when it began); it is refused when there is none.

                --log keeps a file under the phase's artifact name (migration-logs-ID, build-ID.log, \
                docker-build-ID.log, deployment-ID.log, health-check-logs-ID, rollback-logs-ID) \
                for --retention-days (365 by default).

                Examples:
                  shiplog record phase "$id" migrate --status succeeded --log migrate.log
                  shiplog record phase "$id" smoke --status failed --reason "checkout 500"
                  shiplog record phase "$id" rollback --status succeeded --log rollback.log
                """)

        static let phases: [Phase] = [.preflight, .migrate, .build, .image, .deploy, .smoke, .rollback]

        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var recorded: RecordedPipeline
        @Argument(help: "The deployment id (printed by `record begin`).") var id: String
        @Argument(help: ArgumentHelp("preflight, migrate, build, image, deploy, smoke or rollback.", valueName: "phase"))
        var phaseName: String
        @Option(help: "The phase's outcome.") var status: StepStatus
        @Option(help: "Why it failed.") var reason: String?
        @Option(help: ArgumentHelp("A log file to keep as the phase's artifact.", valueName: "file")) var log: String?
        @Option(name: .customLong("retention-days"), help: "Days to keep the log.") var retentionDays: Int = 365
        @OptionGroup var artifacts: ArtifactOptions
        @Flag(help: "Print a JSON object instead of text.") var json = false

        var phase: Phase? { Phase(rawValue: phaseName).flatMap { Self.phases.contains($0) ? $0 : nil } }

        func validate() throws {
            if phaseName == "health" {
                throw ValidationError("health checks are recorded per service: `shiplog record health ID SERVICE --status healthy|unhealthy`")
            }
            if phase == nil {
                throw ValidationError("phase must be one of \(Self.phases.map(\.rawValue).joined(separator: ", ")); got \(phaseName)")
            }
            if retentionDays < 1 { throw ValidationError("--retention-days must be 1 or more") }
        }

        func run() throws {
            try reporting {
                let phase = phase!
                let logFile = try log.map(LogFile.init(path:))
                let ledger = try recorded.ledger(self.ledger)
                // A retry after the log could not be kept (disk full): the outcome stands, keep the log now.
                let before = try ledger.loadRecorded(id)
                recorded.includeSecrets(of: before)
                let step = before.steps[phase]
                let sameOutcome = status == .succeeded ? step?.succeeded == true : step?.failure != nil
                if sameOutcome, let logFile, before.artifacts[phase.logArtifactName(deploymentID: id)] == nil {
                    let artifact = try keepLog(
                        .file(logFile), name: phase.logArtifactName(deploymentID: id), phase: phase.rawValue,
                        of: "the \(phase) outcome", deploymentID: id, retentionDays: retentionDays,
                        ledger: ledger, artifacts: artifacts, ledgerPath: recorded.ledgerPath(self.ledger))
                    try publishOutputs(of: id, ledger: ledger, what: "the \(phase) outcome")
                    report(
                        state: try ledger.load(id), events: 1, what: "\(phase) \(status.rawValue) (already recorded; its log is kept now)",
                        artifact: artifact, json: json,
                        fields: [("phase", JSONText.quote(phase.rawValue)), ("status", JSONText.quote(status.rawValue))])
                    return
                }
                let (state, events) = try ledger.execute(.completeStep(phase, succeeded: status == .succeeded, reason: reason), on: id)
                let artifact = try logFile.map { logFile in
                    try keepLog(
                        .file(logFile), name: phase.logArtifactName(deploymentID: id), phase: phase.rawValue, of: "the \(phase) outcome",
                        deploymentID: id, retentionDays: retentionDays, ledger: ledger, artifacts: artifacts, ledgerPath: recorded.ledgerPath(self.ledger))
                }
                try publishOutputs(of: id, ledger: ledger, what: "the \(phase) outcome")
                report(
                    state: state, events: events.count, what: "\(phase) \(status.rawValue)", artifact: artifact, json: json,
                    fields: [("phase", JSONText.quote(phase.rawValue)), ("status", JSONText.quote(status.rawValue))])
            }
        }
    }

    // MARK: health

    enum HealthStatus: String, ExpressibleByArgument, CaseIterable {
        case healthy, unhealthy
    }

    struct Health: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "health",
            abstract: "Record one service's health-check verdict.",
            discussion: """
                Accepted after the deploy phase and before smoke; one verdict per service. An \
                unhealthy critical service means the deployment cannot succeed: record a rollback \
                and finish it as rolled-back, or finish it as failed. The staging workflow's record names the \
                checks api_gateway, auth_service and database.

                --log keeps the health-check job's log as health-check-logs-ID; the name holds one \
                file, so pass it once (with the last verdict, or with the smoke phase).

                Examples:
                  shiplog record health "$id" api_gateway --status healthy --attempts 2
                  shiplog record health "$id" database --status unhealthy --attempts 5 \\
                    --reason "connection refused" --log health.log
                """)

        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var recorded: RecordedPipeline
        @Argument(help: "The deployment id.") var id: String
        @Argument(help: "The check's name, e.g. api_gateway.") var service: String
        @Option(help: "The verdict.") var status: HealthStatus
        @Option(help: "Attempts it took.") var attempts: Int = 1
        @Option(help: "Why it is unhealthy.") var reason: String?
        @Option(help: ArgumentHelp("The health-check log file to keep.", valueName: "file")) var log: String?
        @Option(name: .customLong("retention-days"), help: "Days to keep the log.") var retentionDays: Int = 365
        @OptionGroup var artifacts: ArtifactOptions
        @Flag(help: "Print a JSON object instead of text.") var json = false

        func validate() throws {
            if service.isEmpty || service.count > 100 || service.unicodeScalars.contains(where: { $0.value < 0x20 }) {
                throw ValidationError("SERVICE must be 1–100 printable characters, e.g. api_gateway")
            }
            if attempts < 1 { throw ValidationError("--attempts must be 1 or more") }
            if retentionDays < 1 { throw ValidationError("--retention-days must be 1 or more") }
        }

        func run() throws {
            try reporting {
                let logFile = try log.map(LogFile.init(path:))
                let ledger = try recorded.ledger(self.ledger)
                let command = DeploymentCommand.recordHealthVerdict(check: service, healthy: status == .healthy, attempts: attempts, reason: reason)
                recorded.includeSecrets(of: try ledger.loadRecorded(id))
                let (state, events) = try ledger.execute(command, on: id)
                let artifact = try logFile.map { logFile in
                    try keepLog(
                        .file(logFile), name: Phase.health.logArtifactName(deploymentID: id), phase: Phase.health.rawValue,
                        of: "the \(service) verdict", deploymentID: id, retentionDays: retentionDays, ledger: ledger,
                        artifacts: artifacts, ledgerPath: recorded.ledgerPath(self.ledger))
                }
                try publishOutputs(of: id, ledger: ledger, what: "the \(service) verdict")
                report(
                    state: state, events: events.count, what: "\(service) \(status.rawValue)", artifact: artifact, json: json,
                    fields: [("service", JSONText.quote(service)), ("status", JSONText.quote(status.rawValue))])
            }
        }
    }

    // MARK: finish

    enum FinishStatus: String, ExpressibleByArgument, CaseIterable {
        case succeeded, failed
        case rolledBack = "rolled-back"

        var recorded: String {
            switch self {
            case .succeeded: "success"
            case .failed: "failed"
            case .rolledBack: "rolled_back"
            }
        }
    }

    struct Finish: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "finish",
            abstract: "Record how the deployment ended and keep its deployment record.",
            discussion: """
                succeeded: accepted once something was deployed and nothing failed; the deployment \
                becomes the environment's last stable version. failed: always accepted before the \
                end. rolled-back: accepted after `phase rollback --status succeeded`; --rollback-to, \
                when given, must name the deployment that was restored.

                The environment is released, and the deployment record (the staging workflow's JSON shape) is \
                kept as the artifact deployment-record-ID.

                Examples:
                  shiplog record finish "$id" --status succeeded
                  shiplog record finish "$id" --status failed --reason "migration 0042 failed"
                  shiplog record finish "$id" --status rolled-back \\
                    --rollback-to 1732012200-abc123def456
                """)

        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var recorded: RecordedPipeline
        @Argument(help: "The deployment id.") var id: String
        @Option(help: "How it ended.") var status: FinishStatus
        @Option(help: "Why it failed (with --status failed).") var reason: String?
        @Option(name: .customLong("rollback-to"), help: ArgumentHelp("The deployment the rollback restored (checked).", valueName: "id"))
        var rollbackTo: String?
        @Option(name: .customLong("retention-days"), help: "Days to keep the deployment record.") var retentionDays: Int = 365
        @OptionGroup var artifacts: ArtifactOptions
        @Flag(help: "Print the deployment record as JSON.") var json = false

        func validate() throws {
            if reason != nil && status != .failed {
                throw ValidationError("--reason is recorded only with --status failed")
            }
            if rollbackTo != nil && status != .rolledBack {
                throw ValidationError("--rollback-to goes with --status rolled-back")
            }
            if retentionDays < 1 { throw ValidationError("--retention-days must be 1 or more") }
        }

        func run() throws {
            try reporting {
                let ledger = try recorded.ledger(self.ledger)
                let before = try ledger.loadRecorded(id)
                recorded.includeSecrets(of: before)
                guard before.exists else {
                    throw LedgerError.notFound("no deployment \(id) in the ledger; `shiplog history` lists them")
                }
                let recordName = Phase.recordArtifactName(deploymentID: id)
                // A finish whose record could not be kept (disk full) may be retried: the outcome
                // stands, and only the record is written.
                let retry = before.isFinished && before.status?.rawValue == status.recorded && before.artifacts[recordName] == nil
                if !retry {
                    if let rollbackTo, let target = before.rollbackTargetID, target != rollbackTo {
                        throw LedgerError.refused("deployment \(id) rolls back to \(target) (its rollback target), not \(rollbackTo)")
                    }
                    try ledger.execute(.finish(outcome(before)), on: id)
                }
                guard let record = try Queries(ledger: ledger).record(id) else {
                    throw Failure("deployment \(id) finished but has no record; run `shiplog rebuild`", code: Exit.software)
                }
                let artifact = try keepLog(
                    .bytes(Array(record.json.utf8)), name: recordName, phase: "summary", of: "the outcome",
                    deploymentID: id, retentionDays: retentionDays, ledger: ledger, artifacts: artifacts,
                    ledgerPath: recorded.ledgerPath(self.ledger))
                if json {
                    Terminal.out(record.json)
                } else {
                    var line = "\(id) finished as \(record.status)"
                    if let to = record.rolledBackTo { line += ", rolled back to \(to)" }
                    if let why = record.failureReason { line += ": \(why)" }
                    TerminalText.out(line)
                    TerminalText.note("record kept as \(artifact.name) (\(Show.size(artifact.size)), \(artifact.retentionDays) days)")
                }
                // The job summary and the annotation of a failure, as `deploy` gives them.
                GitHubActions.writeSummary(record)
                GitHubActions.annotateFailure(record, reason: try GitHubActions.reason(of: record, summary: try ledger.load(id).failureSummary))
                try publishOutputs(of: id, ledger: ledger, what: "the outcome")
            }
        }

        private func outcome(_ state: DeploymentState) -> FinishOutcome {
            switch status {
            case .succeeded: return .succeeded
            case .rolledBack: return .rolledBack
            case .failed:
                if let reason { return .failed(reason: reason) }
                if let (phase, step) = state.steps.sorted(by: { $0.key < $1.key }).first(where: { $0.value.failure != nil }) {
                    return .failed(reason: "\(phase) failed: \(step.failure ?? "")")
                }
                let unhealthy = (state.checks[.deploy] ?? [:]).filter { $0.value.verdict == false }.keys.sorted()
                if !unhealthy.isEmpty { return .failed(reason: "unhealthy: \(unhealthy.joined(separator: ", "))") }
                return .failed(reason: "recorded as failed")
            }
        }
    }
}

// MARK: shared

/// A log file given with `--log`, opened before anything is recorded so that a wrong path
/// records nothing. Its content is read only when it is kept, in chunks (`keepLog`).
final class LogFile {
    let path: String
    let fd: Int32

    init(path: String) throws {
        self.path = path
        do {
            // The caller names the file: a symbolic link or a pipe (`--log /dev/stdin`) is theirs
            // to give; a directory is refused at once.
            fd = try FileSystem.openForReading(path, followSymlinks: true, regularOnly: false)
        } catch {
            throw Failure("cannot read the log file \(path): \(error.reason); nothing was recorded", code: Exit.dataError)
        }
    }

    deinit { close(fd) }
}

/// What `keepLog` keeps: bytes in memory (a record), or a log file streamed from disk.
enum ArtifactContent {
    case bytes([UInt8])
    case file(LogFile)
}

/// Keeps a file as an artifact of the deployment, after the fact it belongs to was recorded.
///
/// A log file is streamed into the artifact store one chunk at a time, redacted on the way by
/// the secrets a recording pipeline has in its environment (a secret cut by a chunk boundary is
/// still redacted): memory stays flat however large the log, and the recorded SHA-256 is that
/// of the redacted bytes the store holds.
private func keepLog(
    _ content: ArtifactContent, name: String, phase: String, of what: String, deploymentID id: String, retentionDays: Int,
    ledger: Ledger, artifacts: ArtifactOptions, ledgerPath: String
) throws -> Artifact {
    let store = artifacts.store(ledger: ledger, ledgerPath: ledgerPath)
    do {
        return try ledger.storeArtifact(name: name, phase: phase, deploymentID: id, retentionDays: retentionDays) {
            switch content {
            case .bytes(let bytes):
                return try store.put(bytes)
            case .file(let log):
                var redacting = ProcessSecrets.stream()
                return try store.put(readingFrom: log.fd, path: log.path) { chunk, end in
                    end ? redacting.finish() : redacting.feed(chunk)
                }
            }
        }
    } catch {
        throw Failure("\(what) was recorded for \(id), but \(name) was not kept: \(error)", code: Failure.code(for: error))
    }
}

/// Gives a GitHub Actions step the deployment's outputs (``GitHubActions/outputs(of:)``) when
/// `$GITHUB_OUTPUT` is set. The fact is already recorded when this fails, and exit 73 says so.
private func publishOutputs(of id: String, ledger: Ledger, what: String) throws {
    guard !GitHubActions.outputPath.isEmpty, let record = try Queries(ledger: ledger).record(id) else { return }
    let reason = try GitHubActions.reason(of: record, summary: try ledger.load(id).failureSummary)
    do {
        try GitHubActions.writeOutputs(GitHubActions.outputs(of: record, reason: reason))
    } catch {
        throw Failure("\(what) was recorded for \(id), but $GITHUB_OUTPUT (\(GitHubActions.outputPath)) cannot be written: \(error)", code: Exit.cannotWrite)
    }
}

/// Prints what a `record` call did and what the deployment accepts next.
private func report(state: DeploymentState, events: Int, what: String, artifact: Artifact?, json: Bool, fields: [(String, String)]) {
    let id = state.id ?? "?"
    if json {
        Terminal.out(
            JSONText.object(
                [("deployment_id", JSONText.quote(id))] + fields + [
                    ("events_recorded", String(events)),
                    ("current_phase", JSONText.quote(state.currentPhase)),
                    ("accepts_next", JSONText.quote(state.acceptsNext)),
                    (
                        "artifact",
                        artifact.map {
                            JSONText.object([
                                ("name", JSONText.quote($0.name)), ("sha256", JSONText.quote($0.sha256)),
                                ("size", String($0.size)), ("retention_days", String($0.retentionDays)),
                            ])
                        } ?? "null"
                    ),
                ]))
        return
    }
    TerminalText.out("\(id): \(what)\(events == 0 ? " (already recorded)" : "")")
    if let artifact { TerminalText.note("log kept as \(artifact.name) (\(Show.size(artifact.size)), \(artifact.retentionDays) days)") }
    TerminalText.note("\(id) is \(state.currentPhase); \(state.acceptsNext)")
}
