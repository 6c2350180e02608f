import EventStore
import SQLiteStore
import ArgumentParser
import Foundation
import Ledger

struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "List deployments, newest first.",
        discussion: """
            Every matching deployment is listed (no default cap; --limit sets one), streamed \
            from the ledger as it is read, with who triggered it (BY). Times are UTC; --since and --until take ISO 8601 or \
            YYYY-MM-DD and compare with when the deployment began (--until is exclusive). \
            --json prints one deployment record per line, in the staging workflow's shape plus audit fields.

            Examples:
              shiplog history --env staging --status failed --since 2024-11-01
              shiplog history --as-of 2024-11-19T10:30:00Z --json | jq .status
            """)

    static let statuses = ["running", "success", "failed", "rolled_back", "abandoned"]

    @OptionGroup var ledger: LedgerOptions
    @Option(help: "Only this environment.") var env: String?
    @Option(help: "Only this status: running, success, failed, rolled_back or abandoned.") var status: String?
    @Option(help: ArgumentHelp("Only deployments begun at or after this time.", valueName: "time")) var since: String?
    @Option(help: ArgumentHelp("Only deployments begun before this time.", valueName: "time")) var until: String?
    @Option(help: "At most this many.") var limit: Int?
    @OptionGroup var asOf: AsOfOption
    @Flag(help: "One JSON record per line.") var json = false

    var normalizedStatus: String? { status.map { $0.replacingOccurrences(of: "-", with: "_") } }

    func validate() throws {
        if let normalizedStatus, !Self.statuses.contains(normalizedStatus) {
            throw ValidationError("--status must be one of \(Self.statuses.joined(separator: ", ")); got \(status!)")
        }
        if let since { _ = try TimeArgument.require(since, option: "--since") }
        if let until { _ = try TimeArgument.require(until, option: "--until") }
        if let limit, limit < 1 { throw ValidationError("--limit must be 1 or more") }
    }

    func run() throws {
        try reporting {
            let (ledger, _) = try asOf.resolve(try self.ledger.ledger(.readOnly))
            let filter = Queries.Filter(
                environment: env, status: normalizedStatus,
                since: since.flatMap(TimeArgument.parse).map(Timestamp.format),
                until: until.flatMap(TimeArgument.parse).map(Timestamp.format))
            let out = StandardOutput()
            var count = 0
            if !json {
                out.line(Self.header)
            }
            try Queries(ledger: ledger).forEachRecord(filter, newestFirst: true, limit: limit) { record in
                count += 1
                out.line(json ? record.json : TerminalText.visible(Self.row(record)))
            }
            out.flush()
            if !json && count == 0 { TerminalText.note("no deployments match") }
        }
    }

    static let header =
        Show.column("DEPLOYMENT", 23) + Show.column("ENV", 10) + Show.column("SHA", 12) + Show.column("STATUS", 11)
        + Show.column("BY", 16) + Show.column("STARTED", 20) + Show.column("DURATION", 8) + "ROLLBACK"

    static func row(_ r: DeploymentRecord) -> String {
        Show.column(r.deploymentID, 23) + Show.column(r.environment, 10) + Show.column(String(r.gitSHA.prefix(12)), 12)
            + Show.column(r.status, 11) + Show.column(Show.clipped(r.triggeredBy, 16), 16) + Show.column(Show.seconds(r.startedAt), 20)
            + Show.column(Show.duration(ms: r.durationMs), 8) + Show.rollbackNote(r)
    }
}
