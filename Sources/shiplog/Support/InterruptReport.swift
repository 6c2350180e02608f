import ArgumentParser
import Foundation
import Ledger
import Runner

/// What `deploy` and `resume` say when SIGINT or SIGTERM stopped them: which step, that nothing
/// false was recorded, and the exact command that continues the deployment; then they exit 130
/// (SIGINT) or 143 (SIGTERM).
struct InterruptReport {
    /// Where the ledger was found: the resume command must find the same one.
    var location: LedgerLocation
    /// The pipeline file as it was named on the command line, when one was.
    var config: String?
    var json: Bool

    /// Runs `body` with SIGINT and SIGTERM turned into a request to stop at a safe point (see
    /// `Interruption`), and reports a stop as described above.
    func drive(_ runner: DeploymentRunner, _ body: () throws -> DeploymentOutcome) throws -> DeploymentOutcome {
        Interruption.install()
        do {
            return try driving(body)
        } catch let interrupted as RunnerInterrupted {
            report(interrupted, runner: runner)
            throw ExitCode(interrupted.exitCode)
        }
    }

    func report(_ interrupted: RunnerInterrupted, runner: DeploymentRunner) {
        let signal = Interruption.name(of: interrupted.signal)
        var lines: [String] = []
        guard let id = interrupted.deploymentID else {
            lines.append("⏸ interrupted by \(signal) (\(interrupted.activity)): nothing was recorded and nothing ran")
            emit(lines)
            return
        }
        try? GitHubActions.writeOutputs([(name: "deployment-id", value: id), (name: "status", value: "running")])
        lines.append("⏸ \(id) interrupted by \(signal) (\(interrupted.activity)); nothing false was recorded: the deployment is unfinished and holds its environment")
        lines.append("  continue it with: \(resumeCommand(id))")
        if let state = try? runner.ledger.load(id), let phase = state.runningStep {
            if runner.plan.failOnInterrupt.contains(phase) {
                lines.append("  the \(phase) step is marked on_interrupt: fail, so resume ends the deployment as failed instead of running it again")
            } else {
                lines.append("  resume runs the \(phase) step again (SHIPLOG_ATTEMPT=\((state.steps[phase]?.attempts ?? 0) + 1))")
            }
        }
        lines.append("  or end it with: shiplog unlock --env \(runner.pipeline.environment) --reason …")
        emit(lines)
    }

    /// `shiplog resume ID`, with what it needs to find this ledger from this directory.
    func resumeCommand(_ id: String) -> String {
        var words = ["shiplog", "resume", id]
        switch location.origin {
        case .option: words += ["--db", Self.shellQuoted(location.path)]
        case .pipelineKey(let file), .besidePipeline(let file):
            if file != Pipeline.defaultFileName { words += ["--config", Self.shellQuoted(config ?? file)] }
        case .environment, .currentDirectory: break
        }
        return words.joined(separator: " ")
    }

    /// The text of the verdict stream: stdout for people, stderr beside JSON events.
    private func emit(_ lines: [String]) {
        for line in lines { json ? TerminalText.note(line) : TerminalText.out(line) }
    }

    /// `text` as one shell word: as is when it holds only safe characters, else in single quotes.
    static func shellQuoted(_ text: String) -> String {
        let safe = text.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "/._-:@%+=,".unicodeScalars.contains($0)) }
        if safe && !text.isEmpty { return text }
        return "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
