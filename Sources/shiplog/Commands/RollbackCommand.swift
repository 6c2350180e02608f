import EventStore
import ArgumentParser
import Foundation
import Ledger
import Runner

struct RollbackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Roll an environment back by hand to an earlier stable release.",
        discussion: """
            For when automatic rollback was not enough, or a release proved bad after it \
            succeeded. A deployment of its own (own id, events, logs and record, whose \
            manual_rollback field names the target, the release it replaces, the reason and who \
            asked): it runs the pipeline's rollback step with SHIPLOG_ROLLBACK_VERSION set to the \
            restored release, then the health checks, then notifies. When it succeeds, the release \
            it replaced is recorded as rolled back (with the reason) and is never a rollback target \
            again, so `last-stable` names what actually runs.

            Without --to, it restores the newest stable release older than the one that runs now \
            (one with another git sha). Refused (exit 5): a target that failed, was rolled back or \
            was marked bad, the release that runs now, and any rollback while the environment has \
            an active deployment. Exit codes otherwise as for `deploy`: 0 restored and healthy, \
            2 failed (the environment may be broken), 4 no such target or none older. `resume ID` \
            continues it after a crash.

            Examples:
              shiplog rollback --env staging --reason "checkout errors since 14:02 (INC-77)"
              shiplog rollback --env staging --to 1732012200-abc123def456 --reason "back to Monday's release" --config shiplog.yml
            """)

    @OptionGroup var ledger: LedgerOptions
    @OptionGroup var pipelineOptions: PipelineOptions
    @Option(help: "The environment to roll back.") var env: String
    @Option(help: ArgumentHelp("The deployment whose release to restore (default: the newest stable one older than what runs).", valueName: "id"))
    var to: String?
    @OptionGroup var attribution: Attribution
    @Flag(help: "Print one JSON object per recorded event instead of progress lines.") var json = false

    func run() throws {
        try reporting {
            var pipeline = try pipelineOptions.load(environment: ProcessInfo.processInfo.environment)
            pipeline.environment = env
            let location = try ledger.location(pipeline: pipeline)
            let runner = try DeploymentRunner.make(ledger: ledger, at: location, pipeline: pipeline, json: json, verbose: pipelineOptions.verbose)
            let interrupts = InterruptReport(location: location, config: pipelineOptions.config, json: json)
            let outcome = try interrupts.drive(runner) { try runner.rollBackManually(to: to, reason: attribution.reason, by: attribution.who) }
            try finish(outcome, runner: runner, json: json)
            if !json, let stable = try runner.ledger.lastStable(environment: env) {
                TerminalText.note("\(env) runs \(stable.gitSHA.prefix(12)) again; last stable: \(stable.deploymentID)")
            }
        }
    }
}

extension RollbackCommand: DrivesDeployment {}
