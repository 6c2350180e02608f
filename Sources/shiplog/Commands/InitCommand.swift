import SQLiteStore
import ArgumentParser
import EventStore

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create the ledger, or upgrade it to this shiplog's schema.",
        discussion: """
            Creates the file (owner-only permissions) and its directory if missing, then applies \
            every pending migration, each in one transaction. A ledger written by a newer shiplog \
            is refused and left untouched. Prints the schema version.
            """)

    @OptionGroup var ledger: LedgerOptions
    @Flag(help: "Print a JSON object instead of text.") var json = false

    func run() throws {
        try reporting {
            let store = try ledger.open(.createOrUpgrade)
            let version = try store.schemaVersion()
            let head = try store.head()
            if json {
                Terminal.out(
                    JSONText.object([
                        ("path", JSONText.quote(store.location)), ("schema_version", String(version)),
                        ("events", String(head.position)),
                    ]))
            } else {
                TerminalText.out("ledger \(store.location) at schema version \(version), \(head.position) events")
            }
        }
    }
}
