import EventStore
import SQLiteStore
import ArgumentParser
import Foundation
import Ledger

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Load an event export (`shiplog export --events`) into an empty ledger.",
        discussion: """
            Every event keeps its position, id, time and hash; the hash chain is recomputed as \
            the events are loaded, so an altered or truncated file is refused. A valid chain is \
            not enough: anyone can compute one. Every event must also be one Shiplog could have \
            recorded — identifiers of the right form, a lock only for an existing deployment, no \
            success after a failure, no second ending, rollbacks only onto stable releases, times \
            that run forward within a stream and do not lie in the future (at most 5 minutes of \
            clock skew). The import is one transaction: it loads completely or not at all.

            A ledger that already holds events is refused (exit 5); a malformed or refused line \
            is reported with its line number (exit 65); with --expect, an import whose event at \
            that position has another hash is refused (exit 3).

            Example (move a ledger to another machine, then prove nothing changed):
              shiplog verify                                  # prints POSITION:HASH; keep it
              shiplog export --events --output ledger.ndjson
              shiplog init --db /srv/shiplog/ledger.db
              shiplog import ledger.ndjson --db /srv/shiplog/ledger.db --expect POSITION:HASH
            """)

    @OptionGroup var ledger: LedgerOptions
    @Argument(help: "The NDJSON file written by `shiplog export --events`.") var file: String
    @Option(
        help: ArgumentHelp(
            "Refuse the import unless the event at POSITION has HASH (the digest `shiplog verify` printed, kept elsewhere).",
            valueName: "position:hash"))
    var expect: String?
    @Flag(help: "Print a JSON object instead of text.") var json = false
    @OptionGroup var progressOptions: ProgressOptions

    func validate() throws {
        if let expect, Head(parsing: expect) == nil {
            throw ValidationError("--expect takes POSITION:HASH as `shiplog verify` prints it (a number, ':', 64 hex digits); got \(Identifier.quoted(expect))")
        }
    }

    static let batchSize = 1_000

    func run() throws {
        try reporting {
            let reader = try LineReader(path: file)
            let store = try ledger.open(.existing)
            let target = LedgerOptions.ledger(on: store).makeImport()
            let decoder = JSONDecoder()
            let progress = progressOptions.line("import", total: reader.size, unit: .bytes)
            var count: Int64 = 0
            try store.inTransaction {
                let existing = try store.head()
                if existing.position > 0 {
                    throw LedgerError.refused(
                        "\(store.location) already holds \(existing.position) events; import only into an empty ledger (create one with `shiplog init --db NEW` and point --db at it)")
                }
                var batch: [RecordedEvent] = []
                batch.reserveCapacity(Self.batchSize)
                var lines: [Int] = []
                var lineNumber = 0
                var firstLine = 1
                func load() throws {
                    do {
                        try target.load(batch)
                    } catch let violation as HistoryViolation {
                        let line = violation.position.flatMap { p in batch.firstIndex { $0.position == p }.map { lines[$0] } }
                        throw Failure(
                            "\(file), line \(line.map(String.init) ?? "?"): \(violation.message); nothing was imported",
                            code: Exit.dataError)
                    } catch EventStoreError.invalidEvent(let detail) {
                        throw Failure("\(file), lines \(firstLine)–\(lineNumber): \(detail); nothing was imported", code: Exit.dataError)
                    } catch let error as EventDecodingError {
                        // Positions start at 1 in an empty ledger: line N carries position N (blank lines aside).
                        throw Failure("\(file), lines \(firstLine)–\(lineNumber): \(error); nothing was imported", code: Exit.dataError)
                    }
                    count += Int64(batch.count)
                    batch.removeAll(keepingCapacity: true)
                    lines.removeAll(keepingCapacity: true)
                    progress.update(reader.bytesRead)
                }
                while let line = try reader.next() {
                    lineNumber += 1
                    if line.allSatisfy({ $0 == 32 || $0 == 9 }) { continue }
                    if batch.isEmpty { firstLine = lineNumber }
                    do {
                        batch.append(try decoder.decode(RecordedEvent.self, from: Data(line)))
                        lines.append(lineNumber)
                    } catch {
                        throw Failure(
                            "\(file), line \(lineNumber): not an exported event (\(Self.reason(error))); nothing was imported",
                            code: Exit.dataError)
                    }
                    if batch.count == Self.batchSize { try load() }
                }
                if !batch.isEmpty { try load() }
                do {
                    try target.finish(expect: expect.flatMap(Head.init(parsing:)))
                } catch let violation as HistoryViolation {
                    throw Failure("\(file): \(violation.message); nothing was imported", code: Exit.dataError)
                }
            }
            progress.finish(at: reader.bytesRead)
            let head = try store.head()
            if json {
                Terminal.out(JSONText.object([("events", String(count)), ("head", JSONText.quote(head.description))]))
            } else {
                Terminal.out("imported \(count) event\(count == 1 ? "" : "s"); head \(head)")
            }
        }
    }

    /// A decoding error in a few words.
    static func reason(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "missing field \(key.stringValue)"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "field \(context.codingPath.map(\.stringValue).joined(separator: ".")) has the wrong type"
        case DecodingError.dataCorrupted: return "not valid JSON"
        default: return "\(error)"
        }
    }
}
