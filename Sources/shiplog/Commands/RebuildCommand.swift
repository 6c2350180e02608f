import EventStore
import SQLiteStore
import ArgumentParser
import Foundation
import Ledger

struct RebuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Rebuild the records, artifact list and environment locks from the events.",
        discussion: """
            Empties the projection tables and replays every event through the same code that \
            keeps them current, in one transaction. The events are not touched. A SQLite ledger \
            of 20,000 events or more is replayed in two parts at once on a machine with two \
            cores (the second on its own read-only connection); the tables end up the same. On \
            a terminal, one progress line on stderr (--quiet: none); prints the number of events \
            replayed.

            Example:
              shiplog rebuild --db .shiplog/ledger.db
            """)

    @OptionGroup var ledger: LedgerOptions
    @Flag(help: "Print a JSON object instead of text.") var json = false
    @OptionGroup var progressOptions: ProgressOptions

    func run() throws {
        try reporting {
            let ledger = try self.ledger.ledger(.existing)
            let started = Date()
            let progress = progressOptions.line("rebuild", total: try ledger.store.head().position, unit: .events)
            let count = try ledger.rebuild { replayed in progress.update(replayed) }
            progress.finish(at: count)
            let ms = Int64(Date().timeIntervalSince(started) * 1000)
            if json {
                Terminal.out(JSONText.object([("events_replayed", String(count)), ("duration_ms", String(ms))]))
            } else {
                Terminal.out("\(count) events replayed")
                Terminal.note("projections rebuilt in \(Show.duration(ms: ms))")
            }
        }
    }
}
