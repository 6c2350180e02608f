import ArgumentParser
import Foundation

/// The `shiplog` command.
struct Shiplog: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shiplog",
        abstract: "An event-sourced deployment ledger: run or record deployments, audit them, roll back to the last stable version.",
        discussion: """
            Every phase of every deployment is an immutable, hash-chained event in one ledger. \
            Records, 365-day artifact retention and rollback targets are derived from those events.

            Every command finds the ledger the same way from any directory: --db, else \
            $SHIPLOG_DB, else the pipeline file's ledger: key (a path relative to the file, or a \
            postgres:// URL), else .shiplog/ledger.db beside the pipeline file (--config; \
            shiplog.yml here for commands without one). Only `shiplog init` creates a ledger.

            Start with `shiplog validate --config shiplog.yml`, `shiplog init --config \
            shiplog.yml`, then `shiplog deploy --config shiplog.yml --sha SHA`; `shiplog help \
            COMMAND` explains each command with examples.

            \(Exit.helpText)
            """,
        version: "0.1.0",
        groupedSubcommands: [
            CommandGroup(
                name: "Deploy",
                subcommands: [
                    DeployCommand.self, ResumeCommand.self, StatusCommand.self, ValidateCommand.self, CheckCommand.self,
                ]),
            CommandGroup(
                name: "Operate (between deployments)",
                subcommands: [RollbackCommand.self, LogsCommand.self, ApproveCommand.self, RejectCommand.self]),
            CommandGroup(name: "Record (pipelines run elsewhere)", subcommands: [RecordCommand.self]),
            CommandGroup(
                name: "Audit",
                subcommands: [
                    HistoryCommand.self, ShowCommand.self, LastStableCommand.self, MetricsCommand.self, ReportCommand.self,
                    ExportCommand.self, ArtifactsCommand.self, VerifyCommand.self,
                ]),
            CommandGroup(
                name: "Ledger",
                subcommands: [
                    MarkBadCommand.self, UnlockCommand.self, InitCommand.self, ImportCommand.self,
                    RebuildCommand.self, EventsCommand.self, DebugCommand.self,
                ]),
        ]
    )
}

@main
enum Main {
    static func main() {
        // A file-size limit must surface as an error on the write, not kill the process mid-append.
        signal(SIGXFSZ, SIG_IGN)
        // A closed pipe (`shiplog deploy … | head`) must not end a deployment halfway: writes
        // fail with EPIPE instead, and the terminal decides (see `Terminal`).
        signal(SIGPIPE, SIG_IGN)
        // In a GitHub Actions job, the runner masks the secrets before any line is printed.
        ProcessSecrets.maskInWorkflow()
        refuseUndecodableArguments()
        refuseUnknownHelpTopic()
        Shiplog.mainShowingArgumentsVisibly()
    }

    /// `shiplog help UNKNOWN` would print the top-level help and exit 0, as if the command
    /// existed: a script that checks `shiplog help deploy-now` would believe it. Refuse instead.
    static func refuseUnknownHelpTopic() {
        let words = Array(CommandLine.arguments.dropFirst())
        guard words.first == "help" else { return }
        var command: ParsableCommand.Type = Shiplog.self
        var path = "shiplog"
        for word in words.dropFirst() where !word.hasPrefix("-") {
            let subcommands = command.configuration.subcommands
            guard let next = subcommands.first(where: { $0.configuration.commandName == word }) else {
                let names = subcommands.compactMap { $0.configuration.shouldDisplay ? $0.configuration.commandName : nil }
                let known = names.isEmpty ? "" : "; its commands are " + names.joined(separator: ", ")
                TerminalText.error("\(path) has no command \"\(word)\"\(known). `\(path) --help` lists them")
                exit(Exit.usage)
            }
            command = next
            path += " " + word
        }
    }

    /// Swift decodes arguments with U+FFFD in place of invalid UTF-8: a ledger path or an
    /// event field would silently become something other than what was given. Refuse instead.
    static func refuseUndecodableArguments() {
        for index in 1..<Int(CommandLine.argc) {
            guard let raw = CommandLine.unsafeArgv[index], String(validatingCString: raw) == nil else { continue }
            Terminal.error("argument \(index) is not valid UTF-8; shiplog takes paths and values as UTF-8 text (rename the file, or re-encode the value)")
            exit(Exit.usage)
        }
    }
}
