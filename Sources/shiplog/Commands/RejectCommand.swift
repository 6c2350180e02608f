import EventStore
import ArgumentParser
import Foundation
import Ledger

struct RejectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reject",
        abstract: "Reject a deployment waiting at its approval gate: it fails before the gated phase.",
        discussion: """
            One rejection ends the deployment as failed, with who rejected it and why, before \
            anything of the gated phase ran (no rollback): its runner ends with exit 6 and the \
            environment is free at once. Works from any machine that shares the ledger. Refused \
            (exit 5): a name outside the gate's approvers, a deployment that does not wait for \
            approval (or is approved already).

            Example:
              shiplog reject 1732012200-abc123def456 --by bob --reason "migration drops a column still read by v41"
            """)

    @OptionGroup var ledger: LedgerOptions
    @Argument(help: "The deployment id.") var id: String
    @Option(help: ArgumentHelp("Who rejects: one of the gate's approvers, when it names them.", valueName: "name")) var by: String
    @Option(help: "Why: recorded with the rejection.") var reason: String
    @Flag(help: "Print a JSON object instead of text.") var json = false

    func validate() throws {
        try ApprovalText.validateApprover(by)
        if reason.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--reason must say why") }
    }

    func run() throws {
        try reporting {
            let ledger = try self.ledger.ledger(.existing, textFilter: ProcessSecrets.filter)
            let (state, _) = try ledger.execute(.reject(by: by, reason: reason, at: Timestamp.format(ledger.clock())), on: id)
            guard let approval = state.approval else { return }
            if json {
                Terminal.out(ApprovalText.json(id: id, approval: approval))
                return
            }
            TerminalText.out("\(id) rejected by \(by): \(approval.rejection?.reason ?? reason)")
            TerminalText.note("it ended as failed before \(approval.gate.before.rawValue); \(state.request?.environment ?? "its environment") is free")
        }
    }
}
