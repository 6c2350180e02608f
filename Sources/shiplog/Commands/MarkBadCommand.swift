import EventStore
import SQLiteStore
import ArgumentParser
import Foundation
import Ledger

struct MarkBadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mark-bad",
        abstract: "Mark a finished deployment as bad, so it is never a rollback target.",
        discussion: """
            For a version that passed its checks but proved broken later. The deployment keeps \
            its status; `last-stable` and every later rollback skip it. Marking it again changes \
            nothing. Prints the environment's last stable version afterwards.

            Example:
              shiplog mark-bad 1732012200-abc123def456 --reason "corrupts uploads (INC-42)"
            """)

    @OptionGroup var ledger: LedgerOptions
    @Argument(help: "The deployment id.") var id: String
    @OptionGroup var attribution: Attribution
    @Flag(help: "Print a JSON object instead of text.") var json = false

    func run() throws {
        try reporting {
            let ledger = try self.ledger.ledger(.existing, textFilter: ProcessSecrets.filter)
            let (state, events) = try ledger.execute(.markBad(reason: attribution.reason, by: attribution.who), on: id)
            let environment = state.request?.environment ?? "?"
            let stable = try ledger.lastStableRecord(environment: environment)
            if !events.isEmpty, let restoring = try ledger.rollbackInProgress(onto: id, environment: environment) {
                // The restore cannot be stopped half-way; its runner will end it as failed, saying why.
                Terminal.note("note: \(restoring) is rolling \(environment) back to \(id) right now; it will end as failed, not as rolled back")
            }
            if json {
                Terminal.out(
                    JSONText.object([
                        ("deployment_id", JSONText.quote(id)), ("already_marked", events.isEmpty ? "true" : "false"),
                        ("reason", JSONText.quote(state.markedBadReason ?? "")),
                        ("environment", JSONText.quote(environment)),
                        ("last_stable", stable.map { JSONText.quote($0.deploymentID) } ?? "null"),
                    ]))
                return
            }
            // The reason as recorded (redacted), not as typed.
            if events.isEmpty {
                TerminalText.out("\(id) was already marked bad: \(state.markedBadReason ?? "")")
            } else {
                TerminalText.out("\(id) marked bad: \(state.markedBadReason ?? "")")
            }
            TerminalText.note(
                stable.map { "last stable version of \(environment): \($0.gitSHA) (\($0.deploymentID))" }
                    ?? "\(environment) has no stable version left to roll back to")
        }
    }
}
