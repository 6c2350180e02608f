import EventStore
import SQLiteStore
import ArgumentParser
import Foundation
import Ledger

struct ArtifactsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "artifacts",
        abstract: "List stored logs and records with their retention, or prune expired ones.",
        subcommands: [List.self, Prune.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List artifacts with their retention state, soonest to expire first.",
            discussion: """
                Each artifact is kept for its retention (365 days unless recorded otherwise) from \
                when it was stored. The state is retained, expiring_soon (within 30 days, or \
                within --expiring-within), expired or pruned, evaluated now, or at --as-of: a \
                future date shows what will have expired by then.

                Examples:
                  shiplog artifacts list --deployment 1732012200-abc123def456
                  shiplog artifacts list --expiring-within 14
                  shiplog artifacts list --as-of 2025-12-01 --expired --json
                """)

        @OptionGroup var ledger: LedgerOptions
        @Option(help: "Only this environment's artifacts.") var env: String?
        @Option(help: ArgumentHelp("Only this deployment's artifacts.", valueName: "id")) var deployment: String?
        @Option(name: .customLong("expiring-within"), help: ArgumentHelp("Only those expiring within this many days.", valueName: "days"))
        var expiringWithin: Int?
        @Flag(help: "Only expired artifacts that were not pruned yet.") var expired = false
        @OptionGroup var asOf: AsOfOption
        @Flag(help: "One JSON object per line.") var json = false

        func validate() throws {
            if let expiringWithin, expiringWithin < 0 { throw ValidationError("--expiring-within must be 0 or more days") }
            if expiringWithin != nil && expired { throw ValidationError("--expiring-within and --expired exclude each other") }
        }

        func run() throws {
            try reporting {
                let (ledger, now) = try asOf.resolve(try self.ledger.ledger(.readOnly))
                let artifacts = try Queries(ledger: ledger).artifacts(
                    environment: env, deploymentID: deployment, expiringWithinDays: expiringWithin, expiredOnly: expired, now: now)
                let out = StandardOutput()
                if json {
                    for a in artifacts { out.line(a.json) }
                    out.flush()
                    return
                }
                if artifacts.isEmpty {
                    Terminal.note("no artifacts match")
                    return
                }
                out.line(
                    Show.column("NAME", 44) + Show.column("DEPLOYMENT", 23) + Show.column("PHASE", 9) + Show.column("SIZE", 9)
                        + Show.column("EXPIRES", 20) + "STATE")
                for a in artifacts {
                    out.line(
                        TerminalText.visible(
                            Show.column(a.name, 44) + Show.column(a.deploymentID, 23) + Show.column(a.phase, 9)
                                + Show.column(Show.size(a.size), 9) + Show.column(Show.seconds(a.expiresAt), 20) + a.state.rawValue))
                }
                out.flush()
            }
        }
    }

    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "prune",
            abstract: "Delete the files of expired artifacts; their events stay.",
            discussion: """
                Removes each expired artifact's file (unless a newer, unexpired artifact has the \
                same content) and records an ArtifactPruned event for it. The ledger's history is \
                never deleted: `show` and `history` still list the artifact as pruned.

                The copy a runner left under the artifact's name in its log directory goes too: \
                in --log-dir when given, else in the log directory of the pipeline file the \
                deployment began with ($DEPLOYMENT_LOG_DIR, else its artifacts.dir). A copy is \
                removed only while it holds exactly the stored bytes; one that changed is kept \
                and named.

                Examples:
                  shiplog artifacts prune --dry-run
                  shiplog artifacts prune --artifacts-dir /srv/shiplog/artifacts
                  shiplog artifacts prune --log-dir /srv/ci/deployment-logs
                """)

        @OptionGroup var ledger: LedgerOptions
        @OptionGroup var artifacts: ArtifactOptions
        @Option(name: .customLong("log-dir"), help: ArgumentHelp("Where the runner left its copies of the logs (default: the pipeline's log directory).", valueName: "dir"))
        var logDir: String?
        @Flag(name: .customLong("dry-run"), help: "List what would be pruned; change nothing.") var dryRun = false
        @Flag(help: "Print one JSON object.") var json = false
        @OptionGroup var progressOptions: ProgressOptions

        func run() throws {
            try reporting {
                let ledger = try self.ledger.ledger(dryRun ? .readOnly : .existing, textFilter: ProcessSecrets.filter)
                var progress: ProgressLine?
                let pruned = try ledger.prune(now: Date(), dryRun: dryRun, in: artifacts.store(ledger: ledger, ledgerPath: self.ledger.path)) { done, total in
                    if progress == nil { progress = progressOptions.line("artifacts prune", total: Int64(total), unit: .artifacts) }
                    progress?.update(Int64(done))
                }
                progress?.finish()
                let bytes = pruned.reduce(Int64(0)) { $0 + $1.size }
                let copies = LogCopies.prune(pruned, ledger: ledger, directory: logDir, environment: ProcessInfo.processInfo.environment, dryRun: dryRun)
                if json {
                    Terminal.out(
                        JSONText.object([
                            ("dry_run", dryRun ? "true" : "false"), ("count", String(pruned.count)),
                            ("bytes", String(bytes)), ("artifacts", JSONText.array(pruned.map(\.json))),
                            ("copies_removed", JSONText.array(copies.filter(\.removed).map { JSONText.quote($0.path) })),
                            (
                                "copies_kept",
                                JSONText.array(
                                    copies.filter { !$0.removed }.map {
                                        JSONText.object([("path", JSONText.quote($0.path)), ("reason", JSONText.quote($0.keptBecause ?? ""))])
                                    })
                            ),
                        ]))
                    return
                }
                for a in pruned { TerminalText.out("\(dryRun ? "would prune" : "pruned") \(a.name) (\(a.deploymentID), expired \(Show.seconds(a.expiresAt)))") }
                for copy in copies {
                    if copy.removed {
                        TerminalText.out("\(dryRun ? "would remove" : "removed") its copy \(copy.path)")
                    } else {
                        TerminalText.note("kept \(copy.path): \(copy.keptBecause ?? "")")
                    }
                }
                Terminal.note("\(dryRun ? "would prune" : "pruned") \(pruned.count) artifact\(pruned.count == 1 ? "" : "s"), \(Show.size(bytes))")
            }
        }
    }
}
