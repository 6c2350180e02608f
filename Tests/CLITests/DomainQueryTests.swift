import Foundation
import ShiplogTestSupport
import Testing

/// `history`, `show`, `last-stable`, `artifacts list` and `--as-of`: questions the ledger answers.
@Suite("shiplog queries")
struct DomainQueryTests {
    @Test func lastStableSkipsFailedRolledBackAndMarkedBadDeployments() throws {
        let ledger = try DomainLedger()
        let good = ledger.stable(sha: "a1a1a1a1a1a1a1")
        let bad = ledger.stable(sha: "b2b2b2b2b2b2b2")
        ledger.ok(["mark-bad", bad, "--reason", "corrupts uploads", "--by", "alice"])

        let failed = ledger.begin(sha: "c3c3c3c3c3c3c3")
        ledger.ok(["record", "phase", failed, "migrate", "--status", "failed", "--reason", "migration 0042 failed"])
        ledger.ok(["record", "finish", failed, "--status", "failed"])

        let rolledBack = ledger.begin(sha: "d4d4d4d4d4d4d4")
        ledger.ok(["record", "phase", rolledBack, "deploy", "--status", "succeeded"])
        ledger.ok(["record", "phase", rolledBack, "smoke", "--status", "failed"])
        ledger.ok(["record", "phase", rolledBack, "rollback", "--status", "succeeded"])
        ledger.ok(["record", "finish", rolledBack, "--status", "rolled-back"])

        let plain = ledger.ok(["last-stable", "--env", "staging"])
        #expect(plain.hasPrefix("a1a1a1a1a1a1a1\t\(good)\t"))

        let explained = ledger.ok(["last-stable", "--env", "staging", "--explain"])
        let lines = explained.split(separator: "\n").map(String.init)
        let rolledLine = try #require(lines.firstIndex { $0.contains(rolledBack) })
        let failedLine = try #require(lines.firstIndex { $0.contains(failed) })
        let badLine = try #require(lines.firstIndex { $0.contains(bad) })
        #expect(rolledLine < failedLine && failedLine < badLine, "newest first:\n\(explained)")
        #expect(lines[rolledLine].contains("rolled back to \(good)"))
        #expect(lines[failedLine].contains("failed: migrate failed: migration 0042 failed"))
        #expect(lines[badLine].contains("marked bad by alice: corrupts uploads"))

        let json = try #require(DomainJSON.object(ledger.ok(["last-stable", "--env", "staging", "--explain", "--json"])))
        #expect(json["deployment_id"] as? String == good)
        #expect(json["git_sha"] as? String == "a1a1a1a1a1a1a1")
        let skipped = try #require(json["skipped"] as? [[String: Any]])
        #expect(skipped.compactMap { $0["deployment_id"] as? String } == [rolledBack, failed, bad])
        #expect(skipped.compactMap { $0["status"] as? String } == ["rolled_back", "failed", "success"])
    }

    @Test func lastStableOfAnEnvironmentWithoutOneIsNotFound() throws {
        let ledger = try DomainLedger()
        let id = ledger.begin(env: "qa", sha: "e5e5e5e5e5e5e5")
        ledger.ok(["record", "finish", id, "--status", "failed", "--reason", "flaky"])
        let stderr = ledger.fails(4, ["last-stable", "--env", "qa"])
        #expect(stderr.contains("no stable version of qa:"), "\(stderr)")
        #expect(stderr.contains(id), "says which deployment stood in the way: \(stderr)")
        let empty = ledger.fails(4, ["last-stable", "--env", "nowhere"])
        #expect(empty.contains("no stable version of nowhere: no deployment of nowhere is recorded"), "\(empty)")
    }

    @Test func asOfAnswersAtSeveralPositions() throws {
        let ledger = try DomainLedger()
        let first = ledger.begin(sha: "f6f6f6f6f6f6f6")
        let afterFirstBegin = ledger.head()
        ledger.ok(["record", "phase", first, "deploy", "--status", "succeeded"])
        ledger.ok(["record", "finish", first, "--status", "succeeded"])
        let afterFirstFinish = ledger.head()
        let second = ledger.stable(sha: "a7a7a7a7a7a7a7")
        let afterSecond = ledger.head()
        ledger.ok(["mark-bad", second, "--reason", "memory leak"])
        let afterMarkBad = ledger.head()
        #expect([afterFirstBegin, afterFirstFinish, afterSecond, afterMarkBad] == [afterFirstBegin, afterFirstFinish, afterSecond, afterMarkBad].sorted())

        func history(_ asOf: Int) -> [[String: Any]] {
            DomainJSON.lines(ledger.ok(["history", "--json", "--as-of", String(asOf)]))
        }
        #expect(history(0).isEmpty)
        #expect(history(afterFirstBegin).compactMap { $0["status"] as? String } == ["running"])
        #expect(history(afterFirstFinish).compactMap { $0["status"] as? String } == ["success"])
        #expect(history(afterSecond).compactMap { $0["deployment_id"] as? String } == [second, first])

        func lastStable(_ asOf: Int) -> String? {
            let out = ledger.run(["last-stable", "--env", "staging", "--json", "--as-of", String(asOf)])
            return out.status == 0 ? DomainJSON.object(out.stdout)?["deployment_id"] as? String : nil
        }
        #expect(lastStable(afterFirstBegin) == nil)
        #expect(lastStable(afterFirstFinish) == first)
        #expect(lastStable(afterSecond) == second)
        #expect(lastStable(afterMarkBad) == first)
        #expect(ledger.run(["last-stable", "--env", "staging", "--as-of", String(afterFirstBegin)]).status == 4)

        ledger.fails(4, ["show", second, "--as-of", String(afterFirstFinish)])
        #expect(ledger.record(first, asOf: String(afterFirstBegin))?["status"] as? String == "running")
        #expect(ledger.record(second, asOf: String(afterSecond))?["marked_bad"] is NSNull)
        #expect((ledger.record(second)?["marked_bad"] as? [String: Any])?["reason"] as? String == "memory leak")

        // Times: before anything was recorded, and after everything.
        #expect(DomainJSON.lines(ledger.ok(["history", "--json", "--as-of", "2000-01-01"])).isEmpty)
        #expect(DomainJSON.lines(ledger.ok(["history", "--json", "--as-of", DomainJSON.day(fromNow: 2)])).count == 2)
        ledger.fails(64, ["history", "--as-of", "yesterday"])
    }

    @Test func historyListsEveryDeploymentNewestFirst() throws {
        let ledger = try DomainLedger()
        var ids: [String] = []
        for n in 0..<12 {
            let sha = String(format: "%02x", n) + "c0ffee0000"
            let id = ledger.begin(sha: sha)
            ledger.ok(
                n % 3 == 0
                    ? ["record", "finish", id, "--status", "failed", "--reason", "n\(n)"]
                    : ["record", "phase", id, "deploy", "--status", "succeeded"])
            if n % 3 != 0 { ledger.ok(["record", "finish", id, "--status", "succeeded"]) }
            ids.append(id)
        }
        let table = ledger.ok(["history"]).split(separator: "\n").map(String.init)
        #expect(table.count == 13, "a header and all 12 deployments:\n\(table.joined(separator: "\n"))")
        #expect(table.first?.hasPrefix("DEPLOYMENT") == true)
        #expect(table.dropFirst().map { row in String(row.prefix { $0 != " " }) } == ids.reversed())

        let json = DomainJSON.lines(ledger.ok(["history", "--json"]))
        #expect(json.compactMap { $0["deployment_id"] as? String } == ids.reversed())
        #expect(DomainJSON.lines(ledger.ok(["history", "--json", "--limit", "5"])).count == 5)
        #expect(DomainJSON.lines(ledger.ok(["history", "--json", "--status", "failed"])).count == 4)
        #expect(DomainJSON.lines(ledger.ok(["history", "--json", "--env", "production"])).isEmpty)
        #expect(DomainJSON.lines(ledger.ok(["history", "--json", "--since", DomainJSON.day(fromNow: 1)])).isEmpty)
        #expect(DomainJSON.lines(ledger.ok(["history", "--json", "--until", DomainJSON.day(fromNow: 1)])).count == 12)
    }

    @Test func showPrintsTheRecordTimelineAndArtifacts() throws {
        let ledger = try DomainLedger()
        let id = ledger.begin(sha: "b8b8b8b8b8b8b8", services: ["api-gateway", "auth-service"])
        let log = ledger.write("migrate.log", "applied 3 migrations\n")
        ledger.ok(["record", "phase", id, "migrate", "--status", "succeeded", "--log", log])
        ledger.ok(["record", "phase", id, "deploy", "--status", "succeeded"])
        ledger.ok(["record", "health", id, "auth_service", "--status", "healthy", "--attempts", "3"])
        ledger.ok(["record", "phase", id, "smoke", "--status", "failed", "--reason", "checkout returned 500"])
        ledger.ok(["record", "finish", id, "--status", "failed"])

        let text = ledger.ok(["show", id])
        #expect(text.split(separator: "\n").first { $0.hasPrefix("status ") }?.hasSuffix(" failed") == true, "\(text)")
        for expected in [
            "MigrationSucceeded", "ServiceDeployed", "auth-service",
            "auth_service healthy after 3 attempts", "SmokeTestsFailed", "smoke failed: checkout returned 500",
            "DeploymentFailed", "migration-logs-\(id)", "deployment-record-\(id)", "retained",
        ] {
            #expect(text.contains(expected), "show lacks \(expected):\n\(text)")
        }

        let json = try #require(DomainJSON.object(ledger.ok(["show", id, "--json"])))
        let timeline = try #require(json["timeline"] as? [[String: Any]])
        #expect(
            timeline.compactMap { $0["type"] as? String } == [
                "DeploymentRequested", "MigrationSucceeded", "ArtifactStored", "ServiceDeployed", "ServiceDeployed",
                "ServiceHealthy", "SmokeTestsFailed", "DeploymentFailed", "ArtifactStored",
            ])
        let positions = timeline.compactMap { ($0["position"] as? NSNumber)?.intValue }
        #expect(positions == positions.sorted())
        #expect(((timeline[5]["data"] as? [String: Any])?["attempts"] as? NSNumber)?.intValue == 3)
        #expect((json["artifacts"] as? [[String: Any]])?.count == 2)

        let stderr = ledger.fails(4, ["show", "1700000000-ffffffffffff"])
        #expect(stderr.contains("no deployment 1700000000-ffffffffffff"), "\(stderr)")
    }

    @Test func showListsEveryHealthCheckAttemptOfARunDeployment() throws {
        let ledger = try DomainLedger()
        let pipeline = ledger.write(
            "shiplog.yml",
            """
            environment: staging
            services: [api-gateway]
            deploy: { run: "true" }
            health:
              stabilize: 0s
              retries: 3
              interval: 0s
              checks:
                - { name: api_gateway, url: "http://127.0.0.1:9/health", critical: false }
                - { name: database, run: "test -f ready || { touch ready; exit 1; }" }
            """)
        let deploy = ledger.run(["deploy", "--config", pipeline, "--sha", "9f9f9f9f9f9f9f"])
        #expect(deploy.status == 0, "\(deploy.stdout)\(deploy.stderr)")
        let id = try #require(DomainJSON.lines(ledger.ok(["history", "--json"])).first?["deployment_id"] as? String)

        let json = try #require(DomainJSON.object(ledger.ok(["show", id, "--json"])))
        let attempts = (json["timeline"] as? [[String: Any]] ?? []).filter { $0["type"] as? String == "HealthCheckAttempted" }
        #expect(attempts.count == 5, "three api_gateway attempts, two database attempts: \(attempts)")
        let first = try #require(attempts.first { ($0["data"] as? [String: Any])?["service"] as? String == "database" }?["data"] as? [String: Any])
        #expect(first["latency_ms"] is NSNumber)
        #expect(first["error"] as? String == "exited 1")

        let text = ledger.ok(["show", id])
        for n in 1...3 {
            #expect(text.contains("api_gateway attempt \(n), unhealthy, no status"), "\(text)")
        }
        #expect(text.contains("database attempt 1, unhealthy, no status"))
        #expect(text.contains("ms, exited 1"))
        #expect(text.contains("database attempt 2, healthy"))
        #expect(text.contains("api_gateway unhealthy after 3 attempts"))
    }

    @Test func artifactsListAsOfAYearAheadShowsThemExpired() throws {
        let ledger = try DomainLedger()
        let id = ledger.begin(sha: "c9c9c9c9c9c9c9")
        let log = ledger.write("deploy.log", "deployed\n")
        ledger.ok(["record", "phase", id, "deploy", "--status", "succeeded", "--log", log])
        ledger.ok(["record", "finish", id, "--status", "succeeded"])

        let now = DomainJSON.lines(ledger.ok(["artifacts", "list", "--json"]))
        #expect(now.count == 2)
        #expect(now.allSatisfy { $0["state"] as? String == "retained" })
        #expect(ledger.ok(["artifacts", "list", "--expired", "--json"]).isEmpty)

        let soon = DomainJSON.lines(ledger.ok(["artifacts", "list", "--json", "--as-of", DomainJSON.day(fromNow: 350)]))
        #expect(soon.allSatisfy { $0["state"] as? String == "expiring_soon" }, "\(soon)")

        let yearAhead = DomainJSON.day(fromNow: 366)
        let later = DomainJSON.lines(ledger.ok(["artifacts", "list", "--json", "--as-of", yearAhead]))
        #expect(later.count == 2)
        #expect(later.allSatisfy { $0["state"] as? String == "expired" }, "\(later)")
        let expired = DomainJSON.lines(ledger.ok(["artifacts", "list", "--expired", "--json", "--as-of", yearAhead]))
        #expect(Set(expired.compactMap { $0["name"] as? String }) == ["deployment-\(id).log", "deployment-record-\(id)"])
        let table = ledger.ok(["artifacts", "list", "--as-of", yearAhead])
        #expect(table.contains("expired"))

        // Nothing has expired yet, so pruning now changes nothing.
        let prune = try #require(DomainJSON.object(ledger.ok(["artifacts", "prune", "--dry-run", "--json"])))
        #expect((prune["count"] as? NSNumber)?.intValue == 0)
    }

    @Test func rebuildReplaysEveryEventAndKeepsTheRecords() throws {
        let ledger = try DomainLedger()
        let first = ledger.stable(sha: "d0d0d0d0d0d0d0")
        ledger.ok(["mark-bad", first, "--reason", "regression"])
        _ = ledger.begin(sha: "e1e1e1e1e1e1e1")
        let before = ledger.ok(["export", "--format", "ndjson"])
        let head = ledger.head()
        let out = ledger.ok(["rebuild"])
        #expect(out.trimmingCharacters(in: .whitespacesAndNewlines) == "\(head) events replayed")
        #expect(ledger.ok(["export", "--format", "ndjson"]) == before)
        // The environment lock was rebuilt too.
        ledger.fails(5, ["record", "begin", "--env", "staging", "--sha", "f2f2f2f2f2f2f2"])
    }
}
