import Foundation
import ShiplogTestSupport
import Testing

/// `export` and `import`: records for auditors, events for backups and moves.
@Suite("shiplog export and import")
struct DomainExportTests {
    /// A ledger with a bit of everything: success, failure, rollback, mark-bad, unlock, artifacts,
    /// and text that needs escaping.
    static func populated() throws -> DomainLedger {
        let ledger = try DomainLedger()
        let stable = ledger.stable(sha: "0a0a0a0a0a0a0a")
        let log = ledger.write("deploy.log", "line one\n\"quoted\" \\ tab\there ünïcødé ✓\n")
        let id = ledger.begin(sha: "1b1b1b1b1b1b1b", services: ["api-gateway", "auth-service"])
        ledger.ok(["record", "phase", id, "deploy", "--status", "succeeded", "--log", log])
        ledger.ok(["record", "health", id, "api_gateway", "--status", "healthy", "--attempts", "2"])
        ledger.ok(["record", "phase", id, "smoke", "--status", "failed", "--reason", "500 on /checkout \"cart\"\nsecond line"])
        ledger.ok(["record", "phase", id, "rollback", "--status", "succeeded"])
        ledger.ok(["record", "finish", id, "--status", "rolled-back"])
        ledger.ok(["mark-bad", stable, "--reason", "data loss ☠", "--by", "auditor"])
        _ = ledger.begin(env: "production", sha: "2c2c2c2c2c2c2c")
        ledger.ok(["unlock", "--env", "production", "--reason", "runner died"])
        ledger.ok(["events", "append", "--stream", "approvals", "--type", "ReleaseApproved", "--data", "{\"by\":\"cto\"}"])
        _ = ledger.begin(env: "qa", sha: "6a6a6a6a6a6a6a")  // still running: qa stays held
        return ledger
    }

    @Test func exportImportExportIsByteIdentical() throws {
        let source = try Self.populated()
        let first = source.directory.file("events.ndjson")
        let summary = source.run(["export", "--events", "--output", first])
        #expect(summary.status == 0, "\(summary.stderr)")
        #expect(summary.stdout.isEmpty)
        #expect(summary.stderr.contains("exported \(source.head()) events"), "\(summary.stderr)")

        let target = try DomainLedger()
        let imported = target.ok(["import", first])
        #expect(imported.contains("imported \(source.head()) events"), "\(imported)")
        let second = target.directory.file("again.ndjson")
        target.ok(["export", "--events", "--output", second])
        let a = try Data(contentsOf: URL(fileURLWithPath: first))
        let b = try Data(contentsOf: URL(fileURLWithPath: second))
        #expect(!a.isEmpty)
        #expect(a == b, "the second export differs from the first")
        #expect(target.ok(["export", "--events"]) == String(decoding: a, as: UTF8.self))

        // The records, locks and artifacts were rebuilt from the imported events.
        #expect(target.ok(["export", "--format", "json"]) == source.ok(["export", "--format", "json"]))
        #expect(target.ok(["verify"]) == source.ok(["verify"]))
        #expect(target.ok(["artifacts", "list", "--json"]) == source.ok(["artifacts", "list", "--json"]))
        #expect(target.fails(4, ["last-stable", "--env", "staging"]) == source.fails(4, ["last-stable", "--env", "staging"]))
        let held = target.fails(5, ["record", "begin", "--env", "qa", "--sha", "5f5f5f5f5f5f5f"])
        #expect(held.contains("already has an active deployment"), "the environment lock came with the events: \(held)")
    }

    @Test func importRefusesALedgerThatHoldsEvents() throws {
        let source = try Self.populated()
        let file = source.directory.file("events.ndjson")
        source.ok(["export", "--events", "--output", file])
        let target = try DomainLedger()
        _ = target.stable(sha: "3d3d3d3d3d3d3d")
        let before = target.head()
        let stderr = target.fails(5, ["import", file])
        #expect(stderr.contains("already holds \(before) events"), "\(stderr)")
        #expect(target.head() == before)
    }

    @Test func importReportsTheLineOfAMalformedEventAndImportsNothing() throws {
        let source = try Self.populated()
        let exported = source.ok(["export", "--events"])
        var lines = exported.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.count > 10)

        lines[6] = "{\"position\": 7, this is not json"
        let broken = source.write("broken.ndjson", lines.joined(separator: "\n"))
        let target = try DomainLedger()
        let stderr = target.fails(65, ["import", broken])
        #expect(stderr.contains("line 7"), "\(stderr)")
        #expect(target.head() == 0, "a failed import leaves the ledger empty")

        // A line that parses but was altered: the hash chain refuses it.
        var altered = exported.split(separator: "\n").map(String.init)
        altered[2] = altered[2].replacingOccurrences(of: "\"stream\":\"", with: "\"stream\":\"x")
        let tampered = source.write("tampered.ndjson", altered.joined(separator: "\n") + "\n")
        let refused = target.fails(65, ["import", tampered])
        #expect(refused.contains("hash mismatch at position 3"), "\(refused)")
        #expect(target.head() == 0)

        target.fails(65, ["import", source.directory.file("absent.ndjson")])
    }

    @Test func importLoadsMoreThanOneBatch() throws {
        // 2,500 events: three import batches, each chained to the one before.
        let source = try DomainLedger()
        _ = source.begin(sha: "4e4e4e4e4e4e4e")
        let fill = source.run(["debug", "append-loop", "--stream", "filler", "--count", "2500", "--payload-bytes", "60"])
        #expect(fill.status == 0, "\(fill.stderr)")
        let file = source.directory.file("big.ndjson")
        source.ok(["export", "--events", "--output", file])
        let target = try DomainLedger()
        target.ok(["import", file])
        #expect(target.head() == source.head())
        let again = target.directory.file("big-again.ndjson")
        target.ok(["export", "--events", "--output", again])
        #expect(try Data(contentsOf: URL(fileURLWithPath: file)) == Data(contentsOf: URL(fileURLWithPath: again)))
        #expect(DomainJSON.lines(target.ok(["history", "--json"])).count == 1)
    }

    @Test func recordExportIsOneArrayOldestFirstOrOneRecordPerLine() throws {
        let ledger = try Self.populated()
        let array = try #require(DomainJSON.array(ledger.ok(["export", "--format", "json"])))
        #expect(array.compactMap { $0["environment"] as? String } == ["staging", "staging", "production", "qa"])
        #expect(array.compactMap { $0["status"] as? String } == ["success", "rolled_back", "abandoned", "running"])
        #expect((array[0]["marked_bad"] as? [String: Any])?["by"] as? String == "auditor")
        #expect((array[1]["failure_reason"] as? String)?.hasPrefix("smoke failed: 500 on /checkout") == true, "a rolled-back record says why")

        let ndjson = DomainJSON.lines(ledger.ok(["export", "--format", "ndjson", "--env", "staging"]))
        #expect(ndjson.count == 2)
        #expect(ndjson.compactMap { $0["deployment_id"] as? String } == array.prefix(2).compactMap { $0["deployment_id"] as? String })
        #expect(try #require(DomainJSON.array(ledger.ok(["export", "--since", DomainJSON.day(fromNow: 1)]))).isEmpty)

        let file = ledger.directory.file("records.json")
        let run = ledger.run(["export", "--output", file])
        #expect(run.status == 0)
        #expect(run.stderr.contains("exported 4 records (json) to \(file)"), "\(run.stderr)")
        #expect(DomainJSON.array(try String(contentsOfFile: file, encoding: .utf8))?.count == 4)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: ledger.directory.path).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty)
        ledger.fails(64, ["export", "--events", "--env", "staging"])
    }
}
