import EventStore
import SQLiteStore
import Foundation
import ShiplogTestSupport
import Testing

/// Inputs that once slipped through: each must end in a clear refusal, never a silent change.
@Suite struct InputHardeningTests {
    @Test func anArgumentThatIsNotUTF8IsRefusedAndNothingIsCreated() throws {
        let dir = try TemporaryDirectory()
        // Bytes, not a Swift string: the path holds 0xFF, which is not UTF-8.
        let script = "exec \"$0\" init --db \"$1\"$(printf '\\377').db"
        let result = runProcess(URL(fileURLWithPath: "/bin/sh"), ["-c", script, ShiplogBinary.url.path, dir.file("ledger")])
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains("not valid UTF-8"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    /// A hash is compared as the 64 lowercase hex digits Shiplog writes: one in capitals would
    /// be stored as given and make the imported ledger fail `verify` forever after.
    @Test func anImportWithAnUppercaseHashIsRefused() throws {
        let ledger = try DomainLedger()
        ledger.begin(sha: "abcdef1234567890")
        let export = ledger.ok(["export", "--events"])
        var lines = export.split(separator: "\n").map(String.init)
        let last = try #require(lines.last)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
        let hash = try #require(object["hash"] as? String)
        lines[lines.count - 1] = last.replacingOccurrences(of: hash, with: hash.uppercased())
        let file = ledger.write("upper.ndjson", lines.joined(separator: "\n") + "\n")
        let target = try TemporaryDirectory()
        #expect(runShiplog(["init", "--db", target.file("ledger.db")]).status == 0)
        let result = runShiplog(["import", file, "--db", target.file("ledger.db")])
        #expect(result.status == 65, "\(result.stderr)")
        #expect(result.stderr.contains("hash mismatch"))
        let after = runShiplog(["events", "list", "--db", target.file("ledger.db")])
        #expect(after.stdout.isEmpty, "nothing was imported")
    }

    @Test func ledgerCreatedByThreeProcessesAtOnceServesThemAll() throws {
        for round in 0..<8 {
            let dir = try TemporaryDirectory()
            let db = dir.file("new/ledger.db")
            // Three `init`s at once make one ledger; then each of three writers records into it at once.
            let inits = try (0..<3).map { _ in try ChildProcess(ShiplogBinary.url, ["init", "--db", db]) }
            for (i, child) in inits.enumerated() {
                let result = child.wait()
                #expect(result.status == 0, "round \(round), init \(i): \(result.stderr)")
            }
            let children = try (0..<3).map { i in
                try ChildProcess(ShiplogBinary.url, ["record", "begin", "--db", db, "--env", "env\(i)", "--sha", "abcdef123456\(i)"])
            }
            for (i, child) in children.enumerated() {
                let result = child.wait()
                #expect(result.status == 0, "round \(round), writer \(i): \(result.stderr)")
            }
            let history = runShiplog(["history", "--json", "--db", db])
            #expect(history.stdout.split(separator: "\n").count == 3, "round \(round)")
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.file("new")).filter { $0.contains(".new-") }
            #expect(leftovers.isEmpty, "no temporary ledgers left behind: \(leftovers)")
        }
    }

    @Test func anArtifactThatDoesNotFitIsACannotWriteError() throws {
        let ledger = try DomainLedger()
        let id = ledger.begin(sha: "abcdef1234567890")
        let big = ledger.write("big.log", String(repeating: "x", count: 2 << 20))
        let script = "ulimit -f 512; exec \"$0\" record phase \"$1\" migrate --status succeeded --log \"$2\" --db \"$3\""
        let result = runProcess(URL(fileURLWithPath: "/bin/bash"), ["-c", script, ShiplogBinary.url.path, id, big, ledger.db])
        #expect(result.status == 73, "\(result.stderr)")
        #expect(result.stderr.contains("Free disk space"))
        // Once there is room, the same command keeps the log for the outcome already recorded.
        let retry = ledger.run(["record", "phase", id, "migrate", "--status", "succeeded", "--log", big])
        #expect(retry.status == 0, "\(retry.stderr)")
        #expect(retry.stdout.contains("log is kept now"))
        #expect(ledger.run(["verify"]).status == 0)
    }
}
