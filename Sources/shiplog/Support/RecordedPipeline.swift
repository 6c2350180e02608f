import ArgumentParser
import Foundation
import Ledger
import Runner

/// `--config` for `record phase|health|finish`: the pipeline file a recorded deployment follows.
///
/// Its secrets are redacted from logs and events, and its ledger is the one used (its `ledger:`
/// key, else `.shiplog/ledger.db` beside it). Without it, the ledger is found as every command
/// finds it, and the secrets are those of the file the deployment began with
/// (`record begin --config`), when it can still be read.
struct RecordedPipeline: ParsableArguments {
    @Option(
        name: .shortAndLong,
        help: ArgumentHelp("The pipeline file (default: the one `record begin --config` named), for its secrets and its ledger.", valueName: "file"))
    var config: String?

    /// The ledger, opened with the process's secrets as its text filter; a pipeline file named
    /// with --config adds its secrets first.
    func ledger(_ options: LedgerOptions) throws -> Ledger {
        let location = try location(options)
        if let config { _ = try Self.load(path: config) }
        return try options.ledger(.existing, at: location, textFilter: ProcessSecrets.filter)
    }

    func location(_ options: LedgerOptions) throws -> LedgerLocation {
        try config.map { try options.location(pipelineFile: $0) } ?? options.location()
    }

    /// The ledger's path, where artifacts are kept beside a file ledger.
    func ledgerPath(_ options: LedgerOptions) -> String { (try? location(options).path) ?? options.path }

    /// Adds the secrets of the pipeline file `state` began with, unless --config named one.
    func includeSecrets(of state: DeploymentState) {
        guard config == nil, let path = state.request?.pipelinePath else { return }
        do {
            _ = try Self.load(path: path)
        } catch {
            TerminalText.note(
                "note: cannot read \(path), the pipeline file \(state.id ?? "the deployment") began with (\(error)); only SHIPLOG_SECRETS and the staging workflow's secrets are redacted. Pass --config"
            )
        }
    }

    /// A pipeline file as recording reads it: its secrets join the process's. The environment's
    /// overrides are not applied: nothing runs here, and the recording job may not have the
    /// variables its health check URLs name.
    static func load(path: String) throws -> Pipeline {
        do {
            let pipeline = try Pipeline.load(path: path)
            ProcessSecrets.include(pipeline)
            return pipeline
        } catch {
            throw Failure(pipeline: error)
        }
    }
}
