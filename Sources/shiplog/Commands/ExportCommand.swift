import EventStore
import SQLiteStore
import ArgumentParser
import Foundation
import Ledger

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export deployment records, or every event for a backup or a move.",
        discussion: """
            Records come oldest first: --format json writes one array, ndjson one record per \
            line. --events writes every event of the ledger as NDJSON in position order, with \
            its hash: `shiplog import` loads it into an empty ledger, verifying the chain, and \
            exporting again gives the same bytes. Both are streamed, whatever the ledger's size. \
            With --output the file is written beside its final path and renamed into place when \
            complete; the ledger itself (or a link to it) is refused as --output. A one-line \
            summary goes to stderr.

            Examples:
              shiplog export --format json --env staging --since 2024-11-01 \\
                --output staging.json
              shiplog export --events --output ledger-backup.ndjson
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case json, ndjson }

    @OptionGroup var ledger: LedgerOptions
    @Option(help: "json (one array) or ndjson (one record per line).") var format: Format?
    @Option(help: "Only this environment's deployments.") var env: String?
    @Option(help: ArgumentHelp("Only deployments begun at or after this time.", valueName: "time")) var since: String?
    @Flag(help: "Every event, as NDJSON, instead of records.") var events = false
    @Option(help: ArgumentHelp("Write to this file instead of stdout.", valueName: "file")) var output: String?
    @OptionGroup var progressOptions: ProgressOptions

    func validate() throws {
        if events && (format != nil || env != nil || since != nil) {
            throw ValidationError("--events exports every event; --format, --env and --since apply to records only")
        }
        if let since { _ = try TimeArgument.require(since, option: "--since") }
        if let output, output.isEmpty { throw ValidationError("--output must name a file") }
    }

    func run() throws {
        try reporting {
            let store = try ledger.open(.readOnly)
            let file = try output.map { try AtomicFile(path: $0, protecting: ledger.path) }
            let stdout = file == nil ? StandardOutput(data: true) : nil
            let sink: LineSink = file ?? stdout!
            let destination = output ?? "stdout"
            if events {
                var count: Int64 = 0
                var last: RecordedEvent?
                let progress = progressOptions.line("export", total: try store.head().position, unit: .events)
                try store.forEachEvent(from: 1, through: .max) { event in
                    try sink.line(event.jsonLine)
                    count += 1
                    last = event
                    if count & 1023 == 0 { progress.update(count) }
                }
                progress.update(count)
                progress.finish()
                try file?.commit()
                stdout?.flush()
                let head = last.map { " (head \($0.position):\($0.hash))" } ?? ""
                TerminalText.note("exported \(count) event\(count == 1 ? "" : "s")\(head) to \(destination)")
                return
            }
            let format = format ?? .json
            let filter = Queries.Filter(environment: env, since: since.flatMap(TimeArgument.parse).map(Timestamp.format))
            var count = 0
            let queries = Queries(ledger: LedgerOptions.ledger(on: store))
            // The total costs a pass over the records: counted only for a line that is shown.
            var total: Int64?
            if ProgressLine.shows(quiet: progressOptions.quiet) {
                var n: Int64 = 0
                try queries.forEachRecord(filter, newestFirst: false) { _ in n += 1 }
                total = n
            }
            let progress = progressOptions.line("export", total: total, unit: .records)
            if format == .json { try sink.text("[") }
            try queries.forEachRecord(filter, newestFirst: false) { record in
                switch format {
                case .json: try sink.text((count == 0 ? "\n" : ",\n") + record.json)
                case .ndjson: try sink.line(record.json)
                }
                count += 1
                if count & 255 == 0 { progress.update(Int64(count)) }
            }
            progress.update(Int64(count))
            progress.finish()
            if format == .json { try sink.line(count == 0 ? "]" : "\n]") }
            try file?.commit()
            stdout?.flush()
            TerminalText.note("exported \(count) record\(count == 1 ? "" : "s") (\(format.rawValue)) to \(destination)")
        }
    }
}
