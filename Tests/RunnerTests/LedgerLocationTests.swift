import Foundation
import ShiplogTestSupport
import Testing

/// One ledger wherever you stand: `--db`, then `$SHIPLOG_DB`, then the pipeline's `ledger:`
/// key, then `.shiplog/ledger.db` beside the pipeline file; only `init` creates a ledger.
@Suite(.serialized)
struct LedgerLocationTests {
    /// A project directory with `app/shiplog.yml`, whose deploy step waits for a file when asked.
    final class Project {
        let root: TemporaryDirectory
        var app: String { root.file("app") }
        var pipeline: String { root.file("app/shiplog.yml") }

        init(ledgerKey: String? = nil) throws {
            root = try TemporaryDirectory(prefix: "shiplog-where")
            try FileManager.default.createDirectory(atPath: root.file("app/sub"), withIntermediateDirectories: true)
            let yaml = """
                environment: staging
                services: [web]
                migrate: { run: 'echo "$SHIPLOG_ATTEMPT" >> migrations-run' }
                deploy: { run: 'if [ -n "$HOLD" ]; then touch "$HOLD.started"; while [ ! -e "$HOLD" ]; do sleep 0.05; done; fi; echo deployed' }
                artifacts: { dir: logs }
                \(ledgerKey.map { "ledger: \($0)" } ?? "")
                """
            try yaml.write(toFile: pipeline, atomically: true, encoding: .utf8)
        }

        /// Runs shiplog in `directory` (relative to the project root) with no SHIPLOG_* variable unless given.
        func run(_ args: [String], in directory: String = "", environment: [String: String] = [:]) -> ProcessOutput {
            runShiplog(args, environment: ["GITHUB_OUTPUT": "", "USER": "tester"].merging(environment) { $1 }, in: URL(fileURLWithPath: root.file(directory)))
        }

        /// Every `.shiplog` directory and `*.db` file under the project.
        var ledgers: [String] {
            (FileManager.default.enumerator(atPath: root.path)?.compactMap { $0 as? String } ?? [])
                .filter { $0.hasSuffix(".db") || $0.hasSuffix(".shiplog") }.sorted()
        }
    }

    @Test func theLedgerBesideThePipelineIsTheSameFromEveryDirectory() throws {
        let project = try Project()
        let created = project.run(["init", "--config", "app/shiplog.yml"])
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stdout.contains("beside app/shiplog.yml"), "\(created.stdout)")
        #expect(project.ledgers == ["app/.shiplog", "app/.shiplog/ledger.db"])

        let fromAbove = project.run(["deploy", "-c", "app/shiplog.yml", "--sha", "abcdef1234567"])
        #expect(fromAbove.status == 0, "\(fromAbove.stderr)")
        let fromInside = project.run(["deploy", "-c", "shiplog.yml", "--sha", "bcdef12345678"], in: "app")
        #expect(fromInside.status == 0, "\(fromInside.stderr)")
        // Commands without a pipeline find it through shiplog.yml in the current directory.
        let history = project.run(["history", "--json"], in: "app")
        #expect(history.stdout.split(separator: "\n").count == 2, "\(history.stdout)\(history.stderr)")
        let status = project.run(["status"], in: "app")
        #expect(status.stdout.contains("ledger \(project.app)/.shiplog/ledger.db (the default beside shiplog.yml)"), "\(status.stdout)")
        #expect(project.ledgers == ["app/.shiplog", "app/.shiplog/ledger.db"], "no second ledger anywhere")

        // Where no pipeline file is, the default here does not exist: said, and nothing created.
        let lost = project.run(["history"], in: "app/sub")
        #expect(lost.status == 78, "\(lost.stderr)")
        #expect(lost.stderr.contains("no ledger at .shiplog/ledger.db (the default in the current directory"), "\(lost.stderr)")
        #expect(lost.stderr.contains("shiplog init"), "\(lost.stderr)")
        #expect(project.ledgers == ["app/.shiplog", "app/.shiplog/ledger.db"])
    }

    /// The report: from the parent directory, a second deploy of an environment the real ledger
    /// still held started on a new ledger and ran migrations. Now it finds the same ledger.
    @Test func aDeployFromAnotherDirectoryFindsTheEnvironmentHeld() throws {
        let project = try Project()
        #expect(project.run(["init", "--config", "app/shiplog.yml"]).status == 0)
        let hold = project.root.file("release")
        let first = try ChildProcess(
            ShiplogBinary.url, ["deploy", "-c", "shiplog.yml", "--sha", "abcdef1234567"], environment: ["HOLD": hold, "USER": "tester"],
            in: URL(fileURLWithPath: project.app))
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: hold + ".started") && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        let second = project.run(["deploy", "-c", "app/shiplog.yml", "--sha", "bcdef12345678"])
        #expect(second.status == 5, "\(second.stderr)")
        #expect(second.stderr.contains("already has an active deployment"), "\(second.stderr)")
        #expect(FileManager.default.createFile(atPath: hold, contents: Data()))
        #expect(first.wait().status == 0)
        let migrations = try String(contentsOfFile: project.root.file("app/migrations-run"), encoding: .utf8)
        #expect(migrations == "1\n", "the refused deployment ran no migration")
        #expect(project.ledgers == ["app/.shiplog", "app/.shiplog/ledger.db"])
    }

    @Test func noCommandButInitCreatesALedger() throws {
        let project = try Project()
        let export = project.root.file("events.ndjson")
        try "".write(toFile: export, atomically: true, encoding: .utf8)
        let commands: [(String, [String])] = [
            ("app", ["deploy", "--sha", "abcdef1234567"]),
            ("", ["deploy", "-c", "app/shiplog.yml", "--sha", "abcdef1234567"]),
            ("", ["resume", "1700000000-abcdef123456", "-c", "app/shiplog.yml"]),
            ("app", ["record", "begin", "--env", "staging", "--sha", "abcdef1234567"]),
            ("app", ["events", "append", "--stream", "notes", "--type", "Noted", "--data", "{}"]),
            ("app", ["import", export]),
            ("app", ["debug", "append-loop", "--stream", "s", "--count", "1"]),
            ("app", ["history"]), ("app", ["status"]), ("app", ["verify"]),
        ]
        for (directory, args) in commands {
            let result = project.run(args, in: directory)
            #expect(result.status == 78, "\(args): \(result.stderr)")
            #expect(result.stderr.contains("no ledger at \(project.app)/.shiplog/ledger.db (the default beside"), "\(args): \(result.stderr)")
            #expect(result.stderr.contains("shiplog init --db \(project.app)/.shiplog/ledger.db"), "\(args): \(result.stderr)")
        }
        #expect(project.ledgers.isEmpty, "\(project.ledgers)")
        #expect(!FileManager.default.fileExists(atPath: project.root.file("app/migrations-run")), "nothing ran")
    }

    @Test func thePipelinesLedgerKeyIsRelativeToItsFileAndTheEnvironmentAndDbComeFirst() throws {
        let project = try Project(ledgerKey: "../ledgers/staging.db")
        #expect(project.run(["init", "-c", "app/shiplog.yml"]).status == 0)
        #expect(project.ledgers == ["ledgers/staging.db"])
        let deployed = project.run(["deploy", "--sha", "abcdef1234567"], in: "app")
        #expect(deployed.status == 0, "\(deployed.stderr)")
        let status = project.run(["status", "--json"], in: "app")
        #expect(status.stdout.contains(#""ledger":"\#(project.root.path)/ledgers/staging.db""#), "\(status.stdout)")

        let other = project.root.file("other.db")
        let fromEnvironment = project.run(["history"], in: "app", environment: ["SHIPLOG_DB": other])
        #expect(fromEnvironment.status == 78)
        #expect(fromEnvironment.stderr.contains("no ledger at \(other) (from $SHIPLOG_DB)"), "\(fromEnvironment.stderr)")
        let fromOption = project.run(["history", "--json", "--db", project.root.file("ledgers/staging.db")], in: "app/sub", environment: ["SHIPLOG_DB": other])
        #expect(fromOption.status == 0 && fromOption.stdout.contains("abcdef1234567"), "\(fromOption.stderr)")
    }
}
