import ArgumentParser
import EventStore

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Recompute the ledger's hash chain and prove nothing was altered.",
        discussion: """
            On success prints the head as POSITION:HASH and exits 0. Keep that digest somewhere
            else (a ticket, a chat message, another system): later, `shiplog verify --expect
            POSITION:HASH` proves the history up to it is unchanged, even if someone rewrote the
            whole file with recomputed hashes. Any break exits 3 and names the first bad position.
            The canonical byte layout is in docs/HASH-CHAIN.md.
            """)

    @OptionGroup var ledger: LedgerOptions
    @Option(help: ArgumentHelp("A digest kept from an earlier verify.", valueName: "position:hash"))
    var expect: String?
    @Flag(help: "Print a JSON object instead of text.") var json = false

    func validate() throws {
        if let expect, Head(parsing: expect) == nil {
            throw ValidationError("--expect takes POSITION:HASH as printed by `shiplog verify`, e.g. 42:3f9a…(64 hex digits); got \(expect)")
        }
    }

    func run() throws {
        try reporting {
            let store = try ledger.open(.readOnly)
            let report = try store.verify(expect: expect.flatMap(Head.init(parsing:)), progress: { position in
                if !json { Terminal.note("verified through position \(position)…") }
            })
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
                Terminal.out(JSONText.object(members))
            } else if let problem = report.problem {
                Terminal.error("verification failed: \(problem)")
                Terminal.note("the chain verified through \(report.head)")
            } else {
                Terminal.out(report.head.description)
                Terminal.note("\(report.eventsChecked) events verified\(expect.map { "; history up to \($0) unchanged" } ?? "")")
            }
            if !report.isIntact { throw ExitCode(Exit.integrity) }
        }
    }
}
