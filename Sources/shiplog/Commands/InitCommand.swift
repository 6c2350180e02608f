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
            is refused and left untouched. Prints where the ledger is and its schema version.

            It is the only command that creates a ledger: every other one refuses a ledger that \
            does not exist, saying where it looked. The ledger is found as every command finds \
            it: --db, else $SHIPLOG_DB, else the pipeline file's ledger: key (a path relative \
            to the file, or a URL), else .shiplog/ledger.db beside the pipeline file \
            (--config, default shiplog.yml here).

            Examples:
              shiplog init --config app/shiplog.yml     # app/.shiplog/ledger.db, or its ledger: key
              shiplog init --db /srv/shiplog/ledger.db
            """)

    @OptionGroup var ledger: LedgerOptions
    @Option(
        name: .shortAndLong,
        help: ArgumentHelp("The pipeline file whose ledger to create (its ledger: key, else .shiplog/ledger.db beside it).", valueName: "file"))
    var config: String?
    @Flag(help: "Print a JSON object instead of text.") var json = false

    func run() throws {
        try reporting {
            let location = try config.map { try ledger.location(pipelineFile: $0) } ?? ledger.location()
            let store = try ledger.open(.createOrUpgrade, at: location)
            let version = try store.schemaVersion()
            let head = try store.head()
            if json {
                Terminal.out(
                    JSONText.object([
                        ("path", JSONText.quote(store.location)), ("schema_version", String(version)),
                        ("events", String(head.position)),
                    ]))
            } else {
                TerminalText.out("ledger \(LedgerLocation.hidingPassword(store.location)) at schema version \(version), \(head.position) events (\(location.reason))")
            }
        }
    }
}
