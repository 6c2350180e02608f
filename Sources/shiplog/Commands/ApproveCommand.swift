import EventStore
import ArgumentParser
import Foundation
import Ledger

struct ApproveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve",
        abstract: "Approve a deployment waiting at its approval gate.",
        discussion: """
            Works from any machine that shares the ledger: the approval is an event, and the \
            runner waiting at the gate reads it within a second. The gate opens once its required \
            number of distinct people approved. Refused (exit 5): a name outside the gate's \
            approvers, a second approval by the same name, a deployment that does not wait for \
            approval, and an approval after the gate's timeout. Exits 4 for an unknown id.

            A deployment started with `deploy --no-wait` continues with `shiplog resume ID` once \
            approved.

            Example:
              shiplog approve 1732012200-abc123def456 --by alice --comment "migration reviewed (CHG-311)"
            """)

    @OptionGroup var ledger: LedgerOptions
    @Argument(help: "The deployment id.") var id: String
    @Option(help: ArgumentHelp("Who approves: one of the gate's approvers, when it names them.", valueName: "name")) var by: String
    @Option(help: "Why, or what was checked: recorded with the approval.") var comment: String?
    @Flag(help: "Print a JSON object instead of text.") var json = false

    func validate() throws { try ApprovalText.validateApprover(by) }

    func run() throws {
        try reporting {
            let ledger = try self.ledger.ledger(.existing, textFilter: ProcessSecrets.filter)
            let (state, _) = try ledger.execute(.approve(by: by, comment: comment, at: Timestamp.format(ledger.clock())), on: id)
            guard let approval = state.approval else { return }
            if json {
                Terminal.out(ApprovalText.json(id: id, approval: approval))
                return
            }
            TerminalText.out("\(id) approved by \(by): \(approval.summary)")
            if approval.isOpen {
                TerminalText.note("the gate is open: a waiting runner continues; if none waits (deploy --no-wait), run `shiplog resume \(id)`")
            } else {
                TerminalText.note("\(approval.gate.required - approval.grants.count) more approval(s) needed before \(approval.deadline)")
            }
        }
    }
}

/// What `approve` and `reject` share: who may be named, and the gate as they print it in JSON.
enum ApprovalText {
    /// `--by` names one person, as the gate's approvers do.
    static func validateApprover(_ by: String) throws {
        guard Identifier.isValid(by, as: .approver) else {
            throw ValidationError("--by must name one person: \(Identifier.Kind.approver.form); got \(Identifier.quoted(by))")
        }
    }

    static func json(id: String, approval: ApprovalProgress) -> String {
        let state = approval.rejection != nil ? "rejected" : approval.timedOutAt != nil ? "timed_out" : approval.isOpen ? "approved" : "pending"
        return JSONText.object([
            ("deployment_id", JSONText.quote(id)), ("state", JSONText.quote(state)),
            ("approvals", String(approval.grants.count)), ("required", String(approval.gate.required)),
            ("approved_by", JSONText.array(approval.grants.map { JSONText.quote($0.by) })),
            ("deadline", JSONText.quote(approval.deadline)),
        ])
    }
}
