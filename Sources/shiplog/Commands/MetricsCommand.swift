import ArgumentParser
import EventStore
import Foundation
import Ledger

struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "DORA's four keys: deployment frequency, change failure rate, time to restore, lead time.",
        discussion: """
            Computed from the ledger over a window, by when each deployment finished: --since \
            (inclusive; default 90 days before --until) to --until (exclusive; default now). The \
            window starts no earlier than the first deployment in scope. Without --env, every \
            environment together, then each one; a time to restore never spans two environments.

            Deployment frequency counts successful changes; the change failure rate is the share \
            of finished changes that failed or were rolled back; time to restore runs from a \
            failed or rolled-back change to the environment's next success; lead time runs from \
            the commit (`deploy`/`record begin --commit-time`, or read with git) to its successful \
            deployment, and deployments without a commit time are counted apart. Abandoned \
            deployments count in none of them. Definitions and formulas: docs/METRICS.md.

            Exits 4 when --env names an environment with no deployment.

            Examples:
              shiplog metrics --env production
              shiplog metrics --since 2024-10-01 --until 2024-11-01 --json | jq .change_failure_rate
            """)

    @OptionGroup var ledger: LedgerOptions
    @Option(help: "Only this environment.") var env: String?
    @Option(help: ArgumentHelp("Count deployments finished at or after this time (default: 90 days before --until).", valueName: "time"))
    var since: String?
    @Option(help: ArgumentHelp("Count deployments finished before this time (default: now).", valueName: "time")) var until: String?
    @Flag(help: "Print one JSON object: the figures, and each environment's under \"environments\".") var json = false

    /// DORA's usual window, as the Four Keys project measures it: the last three months.
    static let defaultDays: Double = 90

    func validate() throws {
        let start = try since.map { try TimeArgument.require($0, option: "--since") }
        let end = try until.map { try TimeArgument.require($0, option: "--until") }
        if let start, start >= (end ?? Date()) {
            throw ValidationError("--since (\(since!)) must be before --until (\(until ?? "now"))")
        }
    }

    /// The window asked for: [since, until).
    var window: (since: Date, until: Date) {
        let end = until.flatMap(TimeArgument.parse) ?? Date()
        return (since.flatMap(TimeArgument.parse) ?? end.addingTimeInterval(-Self.defaultDays * 86_400), end)
    }

    func run() throws {
        try reporting {
            let window = self.window
            let tally = try Queries(ledger: try ledger.ledger(.readOnly)).deliveryMetrics(environment: env, since: window.since, until: window.until)
            if let env, !tally.environmentNames.contains(env) {
                throw LedgerError.notFound("no deployment of \(env) is recorded before \(Timestamp.format(window.until)); `shiplog history` lists the environments")
            }
            let overall = tally.metrics(environment: env)
            let each = env == nil ? tally.environmentNames.map { tally.metrics(environment: $0) } : []
            if json {
                Terminal.out(JSONText.object(overall.jsonMembers + [("environments", JSONText.array(each.map(\.json)))]))
                return
            }
            let out = StandardOutput()
            func line(_ text: String) { out.line(TerminalText.visible(text)) }
            line("DORA metrics, \(env ?? "all environments"): \(MetricsText.window(overall))")
            for (label, text) in Self.lines(overall) { line("  " + Show.column(label, 22) + text) }
            if overall.restorations > 0 || overall.abandoned > 0 {
                line("  " + Show.column("not counted", 22) + "\(MetricsText.plural(overall.restorations, "restoration")), \(overall.abandoned) abandoned")
            }
            if each.count > 1 {
                line("")
                line(
                    "  " + Show.column("ENVIRONMENT", 14) + Show.column("DEPLOYS", 7) + Show.column("PER WEEK", 8) + Show.column("BUCKET", 7)
                        + Show.column("FAILURE", 7) + Show.column("RESTORE", 8) + "LEAD TIME")
                for m in each {
                    line(
                        "  " + Show.column(m.environment ?? "", 14) + Show.column(String(m.frequency.deployments), 7)
                            + Show.column(MetricsText.rate(m.frequency.perWeek), 8) + Show.column(m.frequency.bucket.rawValue, 7)
                            + Show.column(MetricsText.percent(m.changeFailure.rate), 7)
                            + Show.column(MetricsText.span(seconds: m.timeToRestore.restored.median), 8)
                            + MetricsText.span(seconds: m.leadTime.measured.median))
                }
            }
            out.flush()
        }
    }

    static func lines(_ m: DeliveryMetrics) -> [(String, String)] {
        [
            ("deployment frequency", MetricsText.frequency(m)),
            ("change failure rate", MetricsText.changeFailure(m)),
            ("time to restore", MetricsText.timeToRestore(m)),
            ("lead time for changes", MetricsText.leadTime(m)),
        ]
    }
}
