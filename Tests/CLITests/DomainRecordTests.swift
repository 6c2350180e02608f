import Foundation
import ShiplogTestSupport
import Testing

/// `shiplog record`: a deployment that another pipeline runs, recorded one fact at a time.
@Suite("shiplog record")
struct DomainRecordTests {
    static let workflowServices = ["api-gateway", "auth-service", "education-service", "marketplace-service"]
    static let workflowKeys = [
        "timestamp", "deployment_id", "environment", "status", "git_sha", "git_ref",
        "services_deployed", "health_checks", "rollback_available",
    ]

    @Test func workflowExampleRecordIsReproducedFromRecordedEvents() throws {
        let ledger = try DomainLedger()
        let previous = ledger.stable(sha: "0123456789abcdef0123456789abcdef01234567")
        let sha = "abc123def4567890abc123def4567890abc12345"
        let id = ledger.begin(sha: sha, services: Self.workflowServices)
        let log = ledger.write("job.log", "step output\n")
        for phase in ["preflight", "migrate", "build", "image", "deploy"] {
            ledger.ok(["record", "phase", id, phase, "--status", "succeeded", "--log", log])
        }
        ledger.ok(["record", "health", id, "api_gateway", "--status", "healthy", "--attempts", "2"])
        ledger.ok(["record", "health", id, "auth_service", "--status", "healthy"])
        ledger.ok(["record", "health", id, "database", "--status", "healthy", "--log", log])
        ledger.ok(["record", "phase", id, "smoke", "--status", "succeeded"])
        ledger.ok(["record", "finish", id, "--status", "succeeded"])

        let exported = ledger.ok(["export", "--format", "json"])
        let records = try #require(DomainJSON.array(exported))
        #expect(records.count == 2)
        let record = try #require(records.first { $0["deployment_id"] as? String == id })
        #expect(record["environment"] as? String == "staging")
        #expect(record["status"] as? String == "success")
        #expect(record["git_sha"] as? String == sha)
        #expect(record["git_ref"] as? String == "refs/heads/main")
        #expect(record["services_deployed"] as? [String] == Self.workflowServices)
        #expect(
            record["health_checks"] as? [String: String] == [
                "api_gateway": "healthy", "auth_service": "healthy", "database": "healthy", "smoke_tests": "passed",
            ])
        #expect(record["rollback_available"] as? Bool == true)
        #expect(record["rollback_target"] as? String == previous)
        let timestamp = try #require(record["timestamp"] as? String)
        #expect(timestamp.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/) != nil, "seed timestamps are whole seconds: \(timestamp)")
        #expect(id.wholeMatch(of: /\d{10,}-abc123def456/) != nil, "the staging workflow's id format {timestamp}-{git-sha}: \(id)")

        // The staging workflow's fields come first, in the staging workflow's order.
        let line = try #require(exported.split(separator: "\n").first { $0.contains("\"deployment_id\":\"\(id)\"") })
        let offsets = Self.workflowKeys.map { line.range(of: "\"\($0)\":")?.lowerBound }
        #expect(offsets.allSatisfy { $0 != nil })
        #expect(offsets.compactMap { $0 } == offsets.compactMap { $0 }.sorted())
        #expect(line.hasPrefix("{\"timestamp\":"))

        // The first deployment of the environment had nothing to roll back to.
        let first = try #require(records.first { $0["deployment_id"] as? String == previous })
        #expect(first["rollback_available"] as? Bool == false)

        // Logs under the staging workflow's artifact names, and the record itself as deployment-record-ID.
        let artifacts = DomainJSON.lines(ledger.ok(["artifacts", "list", "--deployment", id, "--json"]))
        let names = Set(artifacts.compactMap { $0["name"] as? String })
        for name in [
            "preflight-\(id).log", "migration-logs-\(id)", "build-\(id).log", "docker-build-\(id).log",
            "deployment-\(id).log", "health-check-logs-\(id)", "deployment-record-\(id)",
        ] {
            #expect(names.contains(name), "missing artifact \(name); have \(names.sorted())")
        }
        #expect(artifacts.allSatisfy { $0["retention_days"] as? Int == 365 })
        let recordArtifact = try #require(artifacts.first { $0["name"] as? String == "deployment-record-\(id)" })
        let digest = try #require(recordArtifact["sha256"] as? String)
        let kept = try String(contentsOfFile: ledger.artifactFile(sha256: digest), encoding: .utf8)
        let keptRecord = try #require(DomainJSON.object(kept))
        #expect(keptRecord["deployment_id"] as? String == id)
        #expect(keptRecord["status"] as? String == "success")
        #expect(keptRecord["health_checks"] as? [String: String] == record["health_checks"] as? [String: String])
    }

    @Test func beginWritesTheDeploymentIDToGitHubOutput() throws {
        let ledger = try DomainLedger()
        let output = ledger.write("github-output", "earlier=1\n")
        let run = ledger.run(
            ["record", "begin", "--env", "staging", "--sha", "1234567abcdef"],
            environment: ["GITHUB_OUTPUT": output, "GITHUB_ACTOR": "octocat"])
        #expect(run.status == 0, "\(run.stderr)")
        let id = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try String(contentsOfFile: output, encoding: .utf8) == "earlier=1\ndeployment-id=\(id)\nstatus=running\n")
        #expect(ledger.record(id)?["triggered_by"] as? String == "octocat")
    }

    @Test func beginRefusesAMalformedSHA() throws {
        let ledger = try DomainLedger()
        let stderr = ledger.fails(64, ["record", "begin", "--env", "staging", "--sha", "not-a-sha"])
        #expect(stderr.contains("7 to 64 hex digits"))
        ledger.fails(64, ["record", "begin", "--env", "staging", "--sha", "abc12"])
    }

    @Test func phaseOutOfOrderIsRefusedAndWritesNothing() throws {
        let ledger = try DomainLedger()
        let id = ledger.begin(sha: "aaaaaaa1111111")
        ledger.ok(["record", "phase", id, "deploy", "--status", "succeeded"])
        let before = ledger.head()
        let stderr = ledger.fails(5, ["record", "phase", id, "build", "--status", "succeeded"])
        #expect(stderr.contains("build cannot follow deploy"), "\(stderr)")
        #expect(stderr.contains("it accepts health, smoke, finish"), "the refusal says what comes next: \(stderr)")
        #expect(ledger.head() == before)
        ledger.fails(5, ["record", "phase", id, "deploy", "--status", "succeeded"])
    }

    @Test func successAfterAFailedSmokeTestIsRefused() throws {
        let ledger = try DomainLedger()
        let id = ledger.begin(sha: "bbbbbbb2222222")
        ledger.ok(["record", "phase", id, "deploy", "--status", "succeeded"])
        ledger.ok(["record", "phase", id, "smoke", "--status", "failed", "--reason", "checkout returned 500"])
        let stderr = ledger.fails(5, ["record", "finish", id, "--status", "succeeded"])
        #expect(stderr.contains("cannot succeed"), "\(stderr)")
        #expect(stderr.contains("smoke failed: checkout returned 500"), "\(stderr)")
        ledger.ok(["record", "finish", id, "--status", "failed"])
        #expect(ledger.record(id)?["status"] as? String == "failed")
    }

    @Test func successAfterAnUnhealthyCheckIsRefused() throws {
        let ledger = try DomainLedger()
        let id = ledger.begin(sha: "ccccccc3333333")
        ledger.ok(["record", "phase", id, "deploy", "--status", "succeeded"])
        ledger.ok(["record", "health", id, "api_gateway", "--status", "healthy"])
        ledger.ok(["record", "health", id, "database", "--status", "unhealthy", "--attempts", "5", "--reason", "connection refused"])
        let stderr = ledger.fails(5, ["record", "finish", id, "--status", "succeeded"])
        #expect(stderr.contains("cannot succeed"), "\(stderr)")
        #expect(stderr.contains("database"), "the refusal names the unhealthy check: \(stderr)")
        ledger.fails(5, ["record", "phase", id, "smoke", "--status", "succeeded"])
        ledger.ok(["record", "finish", id, "--status", "failed"])
        let record = try #require(ledger.record(id))
        #expect(record["status"] as? String == "failed")
        #expect(record["health_checks"] as? [String: String] == ["api_gateway": "healthy", "database": "unhealthy"])
    }

    @Test func unhealthyCheckLeadsToARollback() throws {
        let ledger = try DomainLedger()
        let previous = ledger.stable(sha: "ccccccc2222222")
        let id = ledger.begin(sha: "ccccccc4444444")
        ledger.ok(["record", "phase", id, "deploy", "--status", "succeeded"])
        ledger.ok(["record", "health", id, "api_gateway", "--status", "unhealthy", "--attempts", "5", "--reason", "HTTP 503"])
        ledger.ok(["record", "health", id, "auth_service", "--status", "healthy"])  // the other verdicts are still taken
        ledger.ok(["record", "phase", id, "rollback", "--status", "succeeded"])
        ledger.ok(["record", "finish", id, "--status", "rolled-back", "--rollback-to", previous])
        let record = try #require(ledger.record(id))
        #expect(record["status"] as? String == "rolled_back")
        #expect(record["rolled_back_to"] as? String == previous)
        #expect(record["health_checks"] as? [String: String] == ["api_gateway": "unhealthy", "auth_service": "healthy"])
    }

    @Test func secondFinishIsRefused() throws {
        let ledger = try DomainLedger()
        let id = ledger.stable(sha: "ddddddd4444444")
        let stderr = ledger.fails(5, ["record", "finish", id, "--status", "failed", "--reason", "again"])
        #expect(stderr.contains("already finished as success"), "\(stderr)")
        ledger.fails(5, ["record", "finish", id, "--status", "succeeded"])
        #expect(ledger.record(id)?["status"] as? String == "success")
    }

    @Test func phaseAfterFinishIsRefused() throws {
        let ledger = try DomainLedger()
        let id = ledger.begin(sha: "eeeeeee5555555")
        ledger.ok(["record", "phase", id, "migrate", "--status", "failed", "--reason", "migration 0042"])
        ledger.ok(["record", "finish", id, "--status", "failed"])
        let before = ledger.head()
        let stderr = ledger.fails(5, ["record", "phase", id, "smoke", "--status", "succeeded"])
        #expect(stderr.contains("already finished as failed"), "\(stderr)")
        ledger.fails(5, ["record", "health", id, "api_gateway", "--status", "healthy"])
        #expect(ledger.head() == before)
        #expect(ledger.record(id)?["failure_reason"] as? String == "migrate failed: migration 0042")
    }

    @Test func rollbackWithoutAFailureIsRefused() throws {
        let ledger = try DomainLedger()
        _ = ledger.stable(sha: "fffffff6666666")
        let id = ledger.begin(sha: "fffffff7777777")
        ledger.ok(["record", "phase", id, "deploy", "--status", "succeeded"])
        let stderr = ledger.fails(5, ["record", "phase", id, "rollback", "--status", "succeeded"])
        #expect(stderr.contains("nothing failed"), "\(stderr)")
        ledger.fails(5, ["record", "finish", id, "--status", "rolled-back"])
    }

    @Test func rollbackWithoutAStableVersionIsRefused() throws {
        let ledger = try DomainLedger()
        let id = ledger.begin(sha: "1010101aaaaaaa")
        ledger.ok(["record", "phase", id, "deploy", "--status", "succeeded"])
        ledger.ok(["record", "phase", id, "smoke", "--status", "failed"])
        let stderr = ledger.fails(5, ["record", "phase", id, "rollback", "--status", "succeeded"])
        #expect(stderr.contains("no stable version of staging to roll back to"), "\(stderr)")
    }

    @Test func failedDeploymentRollsBackToThePreviousStableVersion() throws {
        let ledger = try DomainLedger()
        let previous = ledger.stable(sha: "2020202bbbbbbb")
        let id = ledger.begin(sha: "3030303ccccccc")
        ledger.ok(["record", "phase", id, "deploy", "--status", "succeeded"])
        ledger.ok(["record", "phase", id, "smoke", "--status", "failed", "--reason", "login broken"])
        let log = ledger.write("rollback.log", "restored\n")
        ledger.ok(["record", "phase", id, "rollback", "--status", "succeeded", "--log", log])
        let stderr = ledger.fails(5, ["record", "finish", id, "--status", "rolled-back", "--rollback-to", id])
        #expect(stderr.contains("rolls back to \(previous)"), "\(stderr)")
        let record = try #require(
            DomainJSON.object(
                ledger.ok([
                    "record", "finish", id, "--status", "rolled-back",
                    "--rollback-to", previous, "--json",
                ])))
        #expect(record["status"] as? String == "rolled_back")
        #expect(record["rolled_back_to"] as? String == previous)
        let names = DomainJSON.lines(ledger.ok(["artifacts", "list", "--deployment", id, "--json"])).compactMap { $0["name"] as? String }
        #expect(names.contains("rollback-logs-\(id)"))
    }

    @Test func unknownDeploymentIsNotFound() throws {
        let ledger = try DomainLedger()
        _ = ledger.begin(sha: "4040404ddddddd")
        let missing = "1700000000-000000000000"
        let stderr = ledger.fails(4, ["record", "phase", missing, "deploy", "--status", "succeeded"])
        #expect(stderr.contains("no deployment \(missing)"), "\(stderr)")
        ledger.fails(4, ["record", "health", missing, "api_gateway", "--status", "healthy"])
        ledger.fails(4, ["record", "finish", missing, "--status", "failed"])
        ledger.fails(4, ["mark-bad", missing, "--reason", "x"])
    }

    @Test func busyEnvironmentNamesTheActiveDeploymentUntilUnlocked() throws {
        let ledger = try DomainLedger()
        let active = ledger.begin(sha: "5050505eeeeeee")
        let stderr = ledger.fails(5, ["record", "begin", "--env", "staging", "--sha", "6060606fffffff"])
        #expect(stderr.contains(active), "the refusal names the active deployment: \(stderr)")
        _ = ledger.begin(env: "production", sha: "6060606fffffff")  // other environments are free

        let unlocked = ledger.ok(["unlock", "--env", "staging", "--reason", "runner lost", "--by", "oncall"])
        #expect(unlocked.contains(active))
        let record = try #require(ledger.record(active))
        #expect(record["status"] as? String == "abandoned")
        #expect(record["failure_reason"] as? String == "runner lost")
        ledger.fails(5, ["record", "phase", active, "deploy", "--status", "succeeded"])

        let next = ledger.begin(sha: "6060606fffffff")
        #expect(next != active)
        ledger.fails(4, ["unlock", "--env", "nowhere", "--reason", "none"])
    }

    @Test func markBadIsRefusedWhileRunning() throws {
        let ledger = try DomainLedger()
        let id = ledger.begin(sha: "7070707aaaaaaa")
        let stderr = ledger.fails(5, ["mark-bad", id, "--reason", "too early"])
        #expect(stderr.contains("still"), "\(stderr)")
    }

    @Test func missingLogFileRecordsNothing() throws {
        let ledger = try DomainLedger()
        let id = ledger.begin(sha: "8080808bbbbbbb")
        let before = ledger.head()
        ledger.fails(65, ["record", "phase", id, "deploy", "--status", "succeeded", "--log", ledger.directory.file("absent.log")])
        #expect(ledger.head() == before)
    }
}
