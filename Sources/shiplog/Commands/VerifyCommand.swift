import SQLiteStore
import ArgumentParser
import EventStore
import Ledger

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Recompute the ledger's hash chain and prove nothing was altered.",
        discussion: """
            On success prints the head as POSITION:HASH and exits 0. Keep that digest somewhere \
            else (a ticket, a chat message, another system): later, `shiplog verify --expect \
            POSITION:HASH` proves the history up to it is unchanged, even if someone rewrote the \
            whole file with recomputed hashes. Any break exits 3 and names the first bad position. \
            The canonical byte layout is in docs/HASH-CHAIN.md.

            Then it replays the events into a private copy of the projection tables (deployments, \
            artifacts, environments) and compares: those tables are plain SQL anyone with the file \
            can edit. A row that differs from the events exits 3, names the table, row and column, \
            and asks for `shiplog rebuild`, which rewrites the tables from the events.
            """)

    @OptionGroup var ledger: LedgerOptions
    @Option(help: ArgumentHelp("A digest kept from an earlier verify.", valueName: "position:hash"))
    var expect: String?
    @Flag(help: "Print a JSON object instead of text.") var json = false
    @OptionGroup var progressOptions: ProgressOptions

    func validate() throws {
        if let expect, Head(parsing: expect) == nil {
            throw ValidationError("--expect takes POSITION:HASH as printed by `shiplog verify`, e.g. 42:3f9a…(64 hex digits); got \(expect)")
        }
    }

    func run() throws {
        try reporting {
            let store = try ledger.open(.readOnly)
            let total = try store.head().position
            let progress = progressOptions.line("verify: the chain", total: total, unit: .events)
            let report = try store.verify(expect: expect.flatMap(Head.init(parsing:)), progress: { progress.update($0) })
            // Projections are compared only with a chain that holds: a broken chain is the finding.
            var difference: ProjectionDifference?
            if report.isIntact {
                progress.stage("verify: the tables", total: total)
                difference = try LedgerOptions.ledger(on: store).verifyProjections(progress: { progress.update($0) })
            }
            progress.finish(at: report.isIntact ? total : report.eventsChecked)
            if json {
                var members: [(String, String)] = [
                    ("ok", report.isIntact ? "true" : "false"),
                    ("events_checked", String(report.eventsChecked)),
                    ("head", JSONText.quote(report.head.description)),
                ]
                if let problem = report.problem {
                    members.append(("bad_position", String(problem.position)))
                    members.append(("problem", JSONText.quote(problem.description)))
                }
                members.append(("projections_match", report.isIntact ? (difference == nil ? "true" : "false") : "null"))
                if let difference {
                    members[0].1 = "false"
                    members.append(("projection_difference", JSONText.quote(difference.description)))
                }
                Terminal.out(JSONText.object(members))
            } else if let problem = report.problem {
                Terminal.error("verification failed: \(problem)")
                Terminal.note("the chain verified through \(report.head)")
            } else if let difference {
                Terminal.error("the events verify, but the projection tables do not match them: \(difference)")
                Terminal.note("the tables were edited or damaged outside shiplog; `shiplog rebuild` rewrites them from the events")
            } else {
                Terminal.out(report.head.description)
                Terminal.note("\(report.eventsChecked) events verified\(expect.map { "; history up to \($0) unchanged" } ?? "")")
            }
            if !report.isIntact || difference != nil { throw ExitCode(Exit.integrity) }
        }
    }
}
