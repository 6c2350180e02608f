import SQLiteStore
import ArgumentParser
import Foundation
import Ledger
import Runner
import ShiplogFiles

/// `--config` and the pieces every pipeline-driven command builds from it.
struct PipelineOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: ArgumentHelp("The pipeline file.", valueName: "file"))
    var config: String = Pipeline.defaultFileName

    @Flag(name: .shortAndLong, help: "Also echo every line of step output.")
    var verbose = false

    /// The pipeline with the environment's overrides (HEALTH_CHECK_*, DEPLOYMENT_LOG_DIR) applied.
    func load(environment: [String: String]) throws -> Pipeline {
        try Self.load(path: config, environment: environment)
    }

    /// The pipeline file at `path`, with the environment's overrides applied. Its secrets join
    /// the process's (`ProcessSecrets`) before the environment is read, so no message about the
    /// pipeline, no record and no line printed can show them.
    static func load(path: String, environment: [String: String]) throws -> Pipeline {
        do {
            let file = try Pipeline.load(path: path)
            ProcessSecrets.include(file)
            return try file.applyingEnvironment(environment)
        } catch {
            throw Failure(pipeline: error)
        }
    }
}

extension DeploymentRunner {
    /// A runner wired to the ledger at `location` (which must exist: only `init` creates one)
    /// and the terminal.
    static func make(ledger: LedgerOptions, at location: LedgerLocation, pipeline: Pipeline, json: Bool, verbose: Bool) throws -> DeploymentRunner {
        let store = try ledger.open(.existing, at: location)
        let environment = ProcessInfo.processInfo.environment
        let output = RunnerOutput(style: json ? .json : .text, verbose: verbose) { line in Terminal.out(line) }
        return DeploymentRunner(
            ledger: LedgerOptions.ledger(on: store, textFilter: ProcessSecrets.filter), pipeline: pipeline, environment: environment,
            artifacts: LedgerOptions.blobs(for: store, ledgerPath: location.path),
            claims: LedgerOptions.claims(for: store, ledgerPath: location.path), output: output)
    }
}
