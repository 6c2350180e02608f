import ArgumentParser
import Foundation
import Ledger

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Load an event export (`shiplog export --events`) into an empty ledger.",
        discussion: """
            Every event keeps its position, id, time and hash; the hash chain is recomputed as \
            the events are loaded, so an altered or truncated file is refused. The import is one \
            transaction: it loads completely or not at all. A ledger that already holds events is \
            refused (exit 5); a malformed line is reported with its line number (exit 65).

            Example (move a ledger to another machine, then prove nothing changed):
              shiplog export --events --output ledger.ndjson
              shiplog import ledger.ndjson --db /srv/shiplog/ledger.db
              shiplog verify --db /srv/shiplog/ledger.db
            """)

    @OptionGroup var ledger: LedgerOptions
    @Argument(help: "The NDJSON file written by `shiplog export --events`.") var file: String
    @Flag(help: "Print a JSON object instead of text.") var json = false

    static let batchSize = 1_000

    func run() throws {
        try reporting {
            let reader = try LineReader(path: file)
            let store = try ledger.open(.createOrUpgrade)
            let target = Ledger(store: store)
            let decoder = JSONDecoder()
            var count: Int64 = 0
            try store.database.inTransaction {
                let existing = try store.head()
                if existing.position > 0 {
                    throw LedgerError.refused("\(store.path) already holds \(existing.position) events; import only into an empty ledger (point --db at a new file)")
                }
                var batch: [RecordedEvent] = []
                batch.reserveCapacity(Self.batchSize)
                var lineNumber = 0
                var firstLine = 1
                func load() throws {
                    do {
                        try target.importEvents(batch)
                    } catch EventStoreError.invalidEvent(let detail) {
                        throw Failure("\(file), lines \(firstLine)–\(lineNumber): \(detail); nothing was imported", code: Exit.dataError)
                    } catch let error as EventDecodingError {
                        // Positions start at 1 in an empty ledger: line N carries position N (blank lines aside).
                        throw Failure("\(file), lines \(firstLine)–\(lineNumber): \(error); nothing was imported", code: Exit.dataError)
                    }
                    count += Int64(batch.count)
                    batch.removeAll(keepingCapacity: true)
                    if count % 100_000 == 0 && !json { Terminal.note("imported \(count) events…") }
                }
                while let line = try reader.next() {
                    lineNumber += 1
                    if line.allSatisfy({ $0 == 32 || $0 == 9 }) { continue }
                    if batch.isEmpty { firstLine = lineNumber }
                    do {
                        batch.append(try decoder.decode(RecordedEvent.self, from: Data(line)))
                    } catch {
                        throw Failure("\(file), line \(lineNumber): not an exported event (\(Self.reason(error))); nothing was imported",
                                      code: Exit.dataError)
                    }
                    if batch.count == Self.batchSize { try load() }
                }
                if !batch.isEmpty { try load() }
            }
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
