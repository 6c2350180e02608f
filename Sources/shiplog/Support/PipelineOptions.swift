import ArgumentParser
import Foundation
import Ledger
import Runner

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

    static func load(path: String, environment: [String: String]) throws -> Pipeline {
        do {
            return try Pipeline.load(path: path).applyingEnvironment(environment)
        } catch {
            throw Failure("\(error)", code: Exit.dataError)
        }
    }
}

extension DeploymentRunner {
    /// A runner wired to the ledger and the terminal.
    static func make(ledger: LedgerOptions, pipeline: Pipeline, json: Bool, verbose: Bool) throws -> DeploymentRunner {
        let store = try ledger.open(.createOrUpgrade)
        let environment = ProcessInfo.processInfo.environment
        let output = RunnerOutput(style: json ? .json : .text, verbose: verbose) { line in Terminal.out(line) }
        return DeploymentRunner(ledger: Ledger(store: store), pipeline: pipeline, environment: environment,
                                artifacts: ArtifactStore(besideLedger: ledger.path),
                                lockDirectory: RunnerLock.directory(besideLedger: ledger.path), output: output)
    }
}

/// GitHub Actions integration: `deployment-id` output and a Markdown job summary.
enum GitHubActions {
    static func writeOutput(deploymentID: String) {
        guard let path = ProcessInfo.processInfo.environment["GITHUB_OUTPUT"], !path.isEmpty else { return }
        append("deployment-id=\(deploymentID)\n", to: path)
    }

    static func writeSummary(_ record: DeploymentRecord?) {
        guard let path = ProcessInfo.processInfo.environment["GITHUB_STEP_SUMMARY"], !path.isEmpty, let r = record else { return }
        var md = "### Deployment \(r.deploymentID) — \(r.status)\n\n"
        md += "| field | value |\n|---|---|\n"
        md += "| environment | \(r.environment) |\n| git sha | `\(r.gitSHA)` |\n| git ref | \(r.gitRef) |\n"
        md += "| duration | \(r.durationMs.map { "\($0 / 1000) s" } ?? "-") |\n| rollback available | \(r.rollbackAvailable) |\n"
        if let to = r.rolledBackTo { md += "| rolled back to | \(to) |\n" }
        if let why = r.failureReason { md += "| failure | \(why.replacingOccurrences(of: "|", with: "\\|")) |\n" }
        md += "\n```json\n\(r.json)\n```\n"
        append(md, to: path)
    }

    private static func append(_ text: String, to path: String) {
        guard let handle = FileHandle(forWritingAtPath: path) ?? {
            FileManager.default.createFile(atPath: path, contents: nil)
            return FileHandle(forWritingAtPath: path)
        }() else {
            Terminal.error("cannot write \(path) (GitHub Actions output); continuing")
            return
        }
        handle.seekToEndOfFile()
        handle.write(Data(text.utf8))
        handle.closeFile()
    }
}
