import EventStore
import Foundation
import Ledger
import SQLiteStore
import ShiplogTestSupport
import Testing

/// `shiplog logs` on the built binary: what a deployment kept, printed or written only when its
/// bytes are the ones their event recorded, and what became of pruned and expired logs.
@Suite(.serialized)
struct LogsEndToEndTests {
    typealias Staging = DeployEndToEndTests.Staging

    static func deployed() throws -> (Staging, String) {
        let staging = try Staging()
        let result = staging.deploy("abc123def4567890")
        #expect(result.status == 0, "\(result.stderr)")
        return (staging, try #require(Staging.deploymentID(in: result.stdout)))
    }

    /// The artifact file the ledger keeps for `name`.
    static func blob(_ staging: Staging, _ id: String, _ name: String) throws -> String {
        let listed = staging.shiplog(["logs", id, "--json"]).stdout.split(separator: "\n")
        let object = try #require(
            listed.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }.first { $0["name"] as? String == name })
        return staging.dir.file("ledger/artifacts/\(try #require(object["sha256"] as? String))")
    }

    @Test func listsWhatADeploymentKeptAndPrintsItByNameOrPhase() throws {
        let (staging, id) = try Self.deployed()
        let listed = staging.shiplog(["logs", id])
        #expect(listed.status == 0, "\(listed.stderr)")
        for name in ["migration-logs-\(id)", "build-\(id).log", "deployment-\(id).log", "health-check-logs-\(id)", "deployment-record-\(id)"] {
            #expect(listed.stdout.contains(name), "\(name) not listed: \(listed.stdout)")
        }
        let migrate = staging.shiplog(["logs", id, "migrate"])
        #expect(migrate.status == 0, "\(migrate.stderr)")
        #expect(migrate.stdout == (try String(contentsOfFile: try Self.blob(staging, id, "migration-logs-\(id)"), encoding: .utf8)))
        #expect(migrate.stdout.contains("[redacted:STAGING_DATABASE_URL]"), "the log is the redacted one that was kept")

        let out = staging.dir.file("health.log")
        let written = staging.shiplog(["logs", id, "health-check-logs-\(id)", "--output", out])
        #expect(written.status == 0, "\(written.stderr)")
        let health = try Self.blob(staging, id, "health-check-logs-\(id)")
        #expect(FileManager.default.contents(atPath: out) == FileManager.default.contents(atPath: health))

        let record = staging.shiplog(["logs", id, "record"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(record.stdout.utf8)) as? [String: Any])
        #expect(object["deployment_id"] as? String == id)

        let unknown = staging.shiplog(["logs", id, "rollback"])
        #expect(unknown.status == 4 && unknown.stderr.contains("kept no rollback-logs-\(id)"), "\(unknown.stderr)")
        #expect(staging.shiplog(["logs", "1700000000-aaaaaaa11111"]).status == 4)
    }

    @Test func contentThatDoesNotMatchItsRecordedDigestIsRefused() throws {
        let (staging, id) = try Self.deployed()
        let blob = try Self.blob(staging, id, "migration-logs-\(id)")
        let original = try #require(FileManager.default.contents(atPath: blob))
        try Data("migration 0042 applied cleanly\n".utf8).write(to: URL(fileURLWithPath: blob))
        let printed = staging.shiplog(["logs", id, "migrate"])
        #expect(printed.status == 3, "\(printed.stderr)")
        #expect(printed.stdout.isEmpty, "altered content was printed")
        #expect(printed.stderr.contains("does not match what was kept"), "\(printed.stderr)")
        let out = staging.dir.file("migrate.log")
        let written = staging.shiplog(["logs", id, "migrate", "--output", out])
        #expect(written.status == 3 && !FileManager.default.fileExists(atPath: out), "\(written.stderr)")

        try FileManager.default.removeItem(atPath: blob)
        let missing = staging.shiplog(["logs", id, "migrate"])
        #expect(missing.status == 3 && missing.stderr.contains("missing from the artifact store"), "\(missing.stderr)")
        try original.write(to: URL(fileURLWithPath: blob))
        #expect(staging.shiplog(["logs", id, "migrate"]).status == 0)
    }

    @Test func prunedAndExpiredLogsSaySoWithExit4() throws {
        let dir = try TemporaryDirectory(prefix: "shiplog-logs")
        let path = dir.file("ledger.db")
        // A ledger written 400 days ago, by this process's clock.
        var now = Date().addingTimeInterval(-400 * 86_400)
        let store = try SQLiteEventStore(path: path, clock: { now })
        let ledger = Ledger(store: store, clock: { now })
        let blobs = ArtifactStore(besideLedger: path)
        let id = try #require(
            try ledger.request(environment: "staging", gitSHA: "abc123def4567890", gitRef: "main", services: ["api"], triggeredBy: "ci", mode: .record).id)
        try ledger.execute(.completeStep(.deploy, succeeded: true, reason: nil), on: id)
        try ledger.execute(.finish(.succeeded), on: id)
        try ledger.storeArtifact(name: "pruned.log", phase: "deploy", bytes: Array("a\n".utf8), deploymentID: id, retentionDays: 30, in: blobs)
        try ledger.storeArtifact(name: "expired.log", phase: "deploy", bytes: Array("b\n".utf8), deploymentID: id, retentionDays: 60, in: blobs)
        try ledger.storeArtifact(name: "kept.log", phase: "deploy", bytes: Array("c\n".utf8), deploymentID: id, retentionDays: 1_000, in: blobs)
        now = now.addingTimeInterval(45 * 86_400)
        #expect(try ledger.prune(now: now, dryRun: false, in: blobs).map(\.name) == ["pruned.log"])

        let pruned = runShiplog(["logs", id, "pruned.log", "--db", path])
        #expect(pruned.status == 4 && pruned.stderr.contains("was pruned at"), "\(pruned.stderr)")
        let expired = runShiplog(["logs", id, "expired.log", "--db", path])
        #expect(expired.status == 4 && expired.stderr.contains("expired at"), "\(expired.stderr)")
        let kept = runShiplog(["logs", id, "kept.log", "--db", path])
        #expect(kept.status == 0 && kept.stdout == "c\n", "\(kept.stderr)")
        let listed = runShiplog(["logs", id, "--db", path])
        #expect(listed.stdout.contains("pruned") && listed.stdout.contains("expired") && listed.stdout.contains("retained"), "\(listed.stdout)")
    }
}
