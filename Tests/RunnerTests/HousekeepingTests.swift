import EventStore
import Foundation
import Ledger
import SQLiteStore
import ShiplogTestSupport
import Testing

/// Housekeeping: pruning removes the log directory's copies too, lock files do not pile up,
/// `help` refuses an unknown command, and `check` runs the health checks on demand.
@Suite struct HousekeepingTests {
    @Test func pruneRemovesTheLogDirectorysCopiesWithTheStoredBytes() throws {
        let site = try PipelineSite("deploy: { run: 'true' }\n")
        // A deployment whose logs were stored three days ago for one day: expired now.
        let then = Date().addingTimeInterval(-3 * 86_400)
        let ledger = Ledger(store: try SQLiteEventStore(path: site.db, mode: .existing, clock: { then }), clock: { then })
        let state = try ledger.request(
            environment: "staging", gitSHA: "abcdef1234567", gitRef: "refs/heads/main", services: ["web"], triggeredBy: "tester",
            mode: .run, phases: [.deploy], pipeline: (path: site.pipeline, sha256: String(repeating: "0", count: 64)))
        let id = try #require(state.id)
        let logs = site.dir.file("logs")
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        for (name, text) in [("deployment-\(id).log", "deployed\n"), ("deployment-record-\(id)", "{}\n")] {
            _ = try ledger.storeArtifact(
                name: name, phase: "deploy", bytes: Array(text.utf8), deploymentID: id, retentionDays: 1, in: ArtifactStore(besideLedger: site.db))
            try text.write(toFile: logs + "/" + name, atomically: true, encoding: .utf8)
        }
        // Someone appended to the record's copy since: it is no longer the stored bytes.
        try "{}\nedited\n".write(toFile: logs + "/deployment-record-\(id)", atomically: true, encoding: .utf8)

        let dry = site.shiplog(["artifacts", "prune", "--dry-run"])
        #expect(dry.stdout.contains("would remove its copy \(logs)/deployment-\(id).log"), "\(dry.stdout)\(dry.stderr)")
        #expect(FileManager.default.fileExists(atPath: logs + "/deployment-\(id).log"))
        let pruned = site.shiplog(["artifacts", "prune"])
        #expect(pruned.status == 0, "\(pruned.stderr)")
        #expect(pruned.stdout.contains("removed its copy \(logs)/deployment-\(id).log"), "\(pruned.stdout)")
        #expect(pruned.stderr.contains("kept \(logs)/deployment-record-\(id): it changed since it was stored"), "\(pruned.stderr)")
        #expect(!FileManager.default.fileExists(atPath: logs + "/deployment-\(id).log"))
        #expect(FileManager.default.fileExists(atPath: logs + "/deployment-record-\(id)"))
        let stored = try FileManager.default.contentsOfDirectory(atPath: site.dir.file("artifacts")).filter { !$0.hasPrefix(".") }
        #expect(stored.isEmpty, "the stored bytes are gone too: \(stored)")
    }

    @Test func lockFilesDoNotPileUp() throws {
        let site = try PipelineSite("deploy: { run: 'touch \"$RUNS/deployed\"; if [ -n \"$HOLD\" ]; then sleep 60; fi' }\n")
        for sha in ["abcdef1234567", "bcdef12345678"] {
            let result = site.shiplog(["deploy", "--config", site.pipeline, "--sha", sha])
            #expect(result.status == 0, "\(result.stderr)")
        }
        let locks = site.dir.file("locks")
        #expect(try FileManager.default.contentsOfDirectory(atPath: locks).isEmpty, "a finished runner removes its lock file")

        // A runner killed outright leaves its file; the resume that takes it over removes it.
        site.environment["HOLD"] = "1"
        try FileManager.default.removeItem(atPath: site.dir.file("runs/deployed"))
        let child = try site.start(["deploy", "--config", site.pipeline, "--sha", "cdef123456789"])
        site.waitFor("deployed")
        child.signal(SIGKILL)
        let id = try #require(PipelineSite.deploymentID(child.wait().stdout))
        #expect(try FileManager.default.contentsOfDirectory(atPath: locks) == ["\(id).lock"])
        site.environment["HOLD"] = ""
        let resumed = site.shiplog(["resume", id])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: locks).isEmpty)
    }

    @Test func helpForAnUnknownCommandIsAnError() {
        let unknown = runShiplog(["help", "deploy-now"])
        #expect(unknown.status == 64, "\(unknown.stdout)")
        #expect(unknown.stderr.contains("shiplog has no command \"deploy-now\"; its commands are deploy, resume"), "\(unknown.stderr)")
        #expect(unknown.stdout.isEmpty)
        let nested = runShiplog(["help", "record", "phases"])
        #expect(nested.status == 64 && nested.stderr.contains("shiplog record has no command \"phases\""), "\(nested.stderr)")
        let known = runShiplog(["help", "record", "phase"])
        #expect(known.status == 0 && known.stdout.contains("Record the outcome of one phase"), "\(known.stderr)")
    }

    @Test func checkRunsTheHealthChecksWithoutDeploying() throws {
        let server = try HTTPTestServer()
        let site = try PipelineSite(
            """
            deploy: { run: 'touch "$RUNS/deployed"' }
            health:
              retries: 2
              interval: 0s
              checks:
                - { name: api, url: "\(server.url("/health"))" }
                - { name: auth, url: "\(server.url("/status/503"))" }
                - { name: cache, run: 'exit 1', critical: false }
                - { name: database, run: 'test "$SHIPLOG_ENVIRONMENT" = staging' }

            """)
        let all = runShiplog(["check", "--config", site.pipeline], environment: site.environment, in: site.dir.url)
        #expect(all.status == 1, "a critical check is unhealthy: \(all.stdout)\(all.stderr)")
        #expect(all.stdout.contains("✓ api attempt 1: healthy HTTP 200"), "\(all.stdout)")
        #expect(all.stdout.contains("✗ auth attempt 2: unhealthy HTTP 503"), "every retry is tried: \(all.stdout)")
        #expect(all.stdout.contains(#"answered: {"status":503}"#), "\(all.stdout)")
        #expect(all.stdout.contains("staging: 2 of 4 checks healthy; unhealthy: auth, cache (not critical)"), "\(all.stdout)")

        let some = runShiplog(["check", "--config", site.pipeline, "--only", "api,cache,database", "--once", "--json"], environment: site.environment, in: site.dir.url)
        #expect(some.status == 0, "only a non-critical check fails: \(some.stdout)\(some.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(some.stdout.utf8)) as? [String: Any], "\(some.stdout)")
        #expect(object["ok"] as? Bool == true)
        #expect((object["checks"] as? [[String: Any]])?.map { $0["name"] as? String } == ["api", "cache", "database"])

        #expect(!FileManager.default.fileExists(atPath: site.dir.file("runs/deployed")), "nothing was deployed")
        #expect(site.shiplog(["events", "list"]).stdout.isEmpty, "nothing was recorded")
        let unknown = runShiplog(["check", "--config", site.pipeline, "--only", "nope"], environment: site.environment, in: site.dir.url)
        #expect(unknown.status == 64 && unknown.stderr.contains("has no health check nope"), "\(unknown.stderr)")
    }
}
