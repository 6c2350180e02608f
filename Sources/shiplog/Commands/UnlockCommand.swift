import ArgumentParser
import Foundation
import Ledger

struct UnlockCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unlock",
        abstract: "Free an environment held by an unfinished deployment, ending that deployment as abandoned.",
        discussion: """
            For a runner or pipeline that died and will not come back. The deployment ends as \
            abandoned, with the reason and who unlocked it; the environment accepts a new \
            deployment at once. Exits 4 when nothing holds the environment.

            Example:
              shiplog unlock --env staging --reason "runner lost during deploy (job 8812)"
            """)

    @OptionGroup var ledger: LedgerOptions
    @Option(help: "The environment to free.") var env: String
    @OptionGroup var attribution: Attribution
    @Flag(help: "Print a JSON object instead of text.") var json = false

    func run() throws {
        try reporting {
            let ledger = Ledger(store: try self.ledger.open(.existing), textFilter: ProcessSecrets.filter)
            let abandoned = try ledger.unlock(environment: env, reason: attribution.reason, by: attribution.who)
            if json {
                Terminal.out(JSONText.object([("environment", JSONText.quote(env)), ("abandoned", JSONText.quote(abandoned))]))
            } else {
                TerminalText.out("\(env) is free; \(abandoned) ended as abandoned")
            }
        }
    }
}
