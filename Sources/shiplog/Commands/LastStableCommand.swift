import EventStore
import SQLiteStore
import ArgumentParser
import Foundation
import Ledger

struct LastStableCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "last-stable",
        abstract: "The version a rollback of the environment would restore.",
        discussion: """
            The newest deployment of the environment that succeeded and was not marked bad \
            afterwards. Prints its git sha, deployment id and when it finished, tab-separated. \
            --explain also lists each newer deployment that was passed over, and why (failed, \
            rolled back, marked bad, abandoned, still running). Exits 4 when there is none.

            Examples:
              shiplog last-stable --env staging
              git checkout "$(shiplog last-stable --env staging | cut -f1)"
              shiplog last-stable --env staging --explain --as-of 2024-11-19
            """)

    @OptionGroup var ledger: LedgerOptions
    @Option(help: "The environment.") var env: String
    @Flag(help: "Also list the newer deployments passed over, and why.") var explain = false
    @OptionGroup var asOf: AsOfOption
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        try reporting {
            let (ledger, _) = try asOf.resolve(try self.ledger.ledger(.readOnly))
            let queries = Queries(ledger: ledger)
            let stable = try ledger.lastStableRecord(environment: env)
            let skipped = explain || stable == nil ? try queries.skippedSinceLastStable(environment: env, stable: stable) : []
            guard let stable else {
                if explain && !json {
                    for (r, why) in skipped { TerminalText.note("  \(r.deploymentID)  \(r.gitSHA.prefix(12))  \(why)") }
                }
                let detail: String
                if skipped.isEmpty {
                    detail = "no deployment of \(env) is recorded\(asOf.asOf.map { " as of \($0)" } ?? "")"
                } else {
                    let newest = skipped[0]
                    detail =
                        "none of its \(skipped.count) deployment\(skipped.count == 1 ? "" : "s") succeeded and stayed good "
                        + "(newest: \(newest.0.deploymentID), \(newest.1))" + (explain ? "" : "; --explain lists them")
                }
                throw LedgerError.notFound("no stable version of \(env): \(detail)")
            }
            if json {
                var members: [(String, String)] = [
                    ("environment", JSONText.quote(env)),
                    ("git_sha", JSONText.quote(stable.gitSHA)),
                    ("deployment_id", JSONText.quote(stable.deploymentID)),
                    ("finished_at", stable.finishedAt.map(JSONText.quote) ?? "null"),
                    ("record", stable.json),
                ]
                if explain {
                    members.append(
                        (
                            "skipped",
                            JSONText.array(
                                skipped.map { r, why in
                                    JSONText.object([
                                        ("deployment_id", JSONText.quote(r.deploymentID)), ("git_sha", JSONText.quote(r.gitSHA)),
                                        ("status", JSONText.quote(r.status)), ("reason", JSONText.quote(why)),
                                    ])
                                })
                        ))
                }
                Terminal.out(JSONText.object(members))
                return
            }
            // Tab-separated for `cut`: each field shown visibly, so none can hold a tab or a line break.
            Terminal.out(
                TerminalText.visible(
                    fields: [stable.gitSHA, stable.deploymentID, Show.seconds(stable.finishedAt ?? stable.startedAt)],
                    separator: "\t"))
            if explain {
                if skipped.isEmpty {
                    TerminalText.out("no newer deployment of \(env) was passed over")
                } else {
                    TerminalText.out("passed over, newest first:")
                    for (r, why) in skipped { TerminalText.out("  \(r.deploymentID)  \(r.gitSHA.prefix(12))  \(why)") }
                }
            }
        }
    }
}
