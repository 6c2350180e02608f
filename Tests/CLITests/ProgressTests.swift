import EventStore
import Foundation
import Ledger
import SQLiteStore
import ShiplogTestSupport
import Testing

/// Long commands show one progress line on stderr — done / total, rate, time left — when stderr
/// is a terminal (`SHIPLOG_PROGRESS=always` stands in for one here), and print nothing of it
/// otherwise or with `--quiet`.
@Suite(.serialized) struct ProgressTests {
    static let events = 120_000

    /// A ledger of `events` events, an export of it, an empty ledger to import it into, and an
    /// expired artifact for prune.
    final class Fixture: @unchecked Sendable {
        let ledger: CLILedger
        let export: String
        let target: String

        init() throws {
            ledger = try CLILedger()
            // The deployment below adds three events (its request, the lock, its artifact).
            try ledger.fill(ProgressTests.events - 3)
            // One deployment with an artifact stored three days ago for a day: prune has one to do.
            let then = Date().addingTimeInterval(-3 * 86_400)
            let old = Ledger(store: try SQLiteEventStore(path: ledger.path, mode: .existing, clock: { then }), clock: { then })
            let id = try #require(
                try old.request(environment: "staging", gitSHA: "abcdef1234567", gitRef: "refs/heads/main", services: [], triggeredBy: "t", mode: .record).id)
            _ = try old.storeArtifact(
                name: "deployment-\(id).log", phase: "deploy", bytes: Array("log\n".utf8), deploymentID: id, retentionDays: 1,
                in: ArtifactStore(besideLedger: ledger.path))
            export = ledger.directory.file("events.ndjson")
            target = ledger.directory.file("imported.db")
            #expect(ledger.shiplog(["export", "--events", "--output", export]).status == 0)
        }

        /// Each long command, ready to run (the import target is made anew for each run).
        func commands() -> [(String, [String])] {
            [
                ("verify: the tables", ["verify", "--db", ledger.path]),
                ("rebuild", ["rebuild", "--db", ledger.path]),
                ("export", ["export", "--events", "--output", ledger.directory.file("again.ndjson"), "--db", ledger.path]),
                ("import", ["import", export, "--db", target]),
                ("artifacts prune", ["artifacts", "prune", "--dry-run", "--db", ledger.path]),
            ]
        }

        func run(_ args: [String], environment: [String: String]) -> ProcessOutput {
            if args.first == "import" {
                try? FileManager.default.removeItem(atPath: target)
                _ = runShiplog(["init", "--db", target])
            }
            return runShiplog(args, environment: environment)
        }
    }

    static let fixture = Result { try Fixture() }

    @Test func eachLongCommandShowsOneProgressLineWithTotalRateAndTimeLeft() throws {
        let fixture = try Self.fixture.get()
        for (label, args) in fixture.commands() {
            let result = fixture.run(args, environment: ["SHIPLOG_PROGRESS": "always"])
            #expect(result.status == 0, "\(args): \(result.stderr)")
            let drawn = result.stderr.split(separator: "\r").filter { $0.hasPrefix(label + ": ") }
            if label.hasPrefix("verify") {
                #expect(result.stderr.contains("\rverify: the chain: "), "the chain first, on the same line: \(result.stderr)")
            }
            #expect(!drawn.isEmpty, "\(args): \(result.stderr)")
            let total = label == "import" ? " / " : label == "artifacts prune" ? " / 1 artifacts" : " / 120,000 events"
            #expect(drawn.allSatisfy { $0.contains(total) }, "\(args): \(drawn)")
            #expect(drawn.last?.contains("(100%)") == true && drawn.last?.contains("done in") == true, "\(args): \(drawn)")
            #expect(drawn.contains { $0.contains("/s") }, "a rate: \(drawn)")
            if label != "artifacts prune" {
                #expect(drawn.contains { $0.contains(" left") }, "\(args): time left while it runs: \(drawn)")
            }
            // One line: redrawn in place, ended once.
            #expect(result.stderr.components(separatedBy: label + ": ").count - 1 == drawn.count)
            let line = result.stderr.prefix { $0 != "\n" }
            #expect(line.contains(label + ": ") && line.hasSuffix("\u{1B}[K"), "one line, ended once: \(result.stderr)")
        }
    }

    @Test func nothingIsShownWhenStderrIsNotATerminalOrWithQuiet() throws {
        let fixture = try Self.fixture.get()
        for (_, args) in fixture.commands() {
            for (extra, environment) in [([String](), [String: String]()), (["--quiet"], ["SHIPLOG_PROGRESS": "always"])] {
                let result = fixture.run(args + extra, environment: environment)
                #expect(result.status == 0, "\(args + extra): \(result.stderr)")
                #expect(!result.stderr.contains("\r") && !result.stderr.contains("/s,") && !result.stderr.contains("done in"), "\(args + extra): \(result.stderr)")
            }
        }
    }

    /// On a real terminal (a pseudo-terminal made by `script`), the line is there unasked.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script")))
    func aTerminalGetsTheLineUnasked() throws {
        let fixture = try Self.fixture.get()
        let command = "\(ShiplogBinary.url.path) verify --db \(fixture.ledger.path)"
        let result = runProcess(URL(fileURLWithPath: "/usr/bin/script"), ["-qec", command, "/dev/null"])
        #expect(result.status == 0, "\(result.stdout)")
        #expect(result.stdout.contains("\rverify: the chain: ") && result.stdout.contains(" / 120,000 events"), "\(result.stdout)")
    }
}
