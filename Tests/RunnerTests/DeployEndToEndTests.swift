import SQLiteStore
import EventStore
import Foundation
import Ledger
import ShiplogTestSupport
import Testing

/// `shiplog deploy` and `shiplog resume` as a user runs them: the built binary, a real
/// pipeline of shell steps, a real HTTP server on 127.0.0.1 standing in for staging, and
/// SIGKILL at awkward moments.
@Suite(.serialized)
struct DeployEndToEndTests {
    /// A staging environment on this machine: a state directory, a health server reading it,
    /// a pipeline whose steps count their own runs, and a ledger.
    final class Staging {
        let dir: TemporaryDirectory
        let server: HTTPTestServer
        var pipelinePath: String { dir.file("shiplog.yml") }
        /// A PostgreSQL ledger's URL, for the tests of a shared ledger; nil: the SQLite file.
        var ledgerURL: String?
        var db: String { ledgerURL ?? dir.file("ledger/ledger.db") }

        init(
            interruptPolicy: String = "rerun", rollback: String? = nil, notify: Bool = false,
            stabilize: String = "0.2s", buildSleep: String = "0"
        ) throws {
            dir = try TemporaryDirectory(prefix: "shiplog-deploy")
            try FileManager.default.createDirectory(atPath: dir.file("state"), withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: dir.file("runs"), withIntermediateDirectories: true)
            try "ok".write(toFile: dir.file("state/health"), atomically: true, encoding: .utf8)
            server = try HTTPTestServer(stateFile: dir.file("state/health"))
            let rollbackStep = rollback ?? #"echo "$SHIPLOG_ROLLBACK_VERSION" > "$STATE/current"; echo ok > "$STATE/health""#
            let yaml = """
                environment: staging
                services: [api-gateway, auth-service]
                secrets: [STAGING_DATABASE_URL]
                preflight:
                  - { name: tests, run: 'echo "$SHIPLOG_ATTEMPT" >> "$RUNS/preflight"' }
                migrate: { run: 'echo "$SHIPLOG_ATTEMPT" >> "$RUNS/migrate"; echo "migrating with $STAGING_DATABASE_URL"', on_interrupt: \(interruptPolicy) }
                build: { run: 'echo "$SHIPLOG_ATTEMPT" >> "$RUNS/build"; sleep \(buildSleep); echo built' }
                deploy: { run: 'echo "$SHIPLOG_ATTEMPT" >> "$RUNS/deploy"; echo "$SHIPLOG_VERSION" > "$STATE/current"; case "$SHIPLOG_VERSION" in bad*) echo broken > "$STATE/health";; *) echo ok > "$STATE/health";; esac' }
                health:
                  stabilize: \(stabilize)
                  retries: 3
                  interval: 1s
                  timeout: 2s
                  checks:
                    - { name: api_gateway, url: "\(server.url("/api/health"))" }
                    - { name: auth_service, url: "\(server.url("/auth/health"))" }
                    - { name: database, run: 'test -f "$STATE/current"' }
                  smoke: { run: 'echo "$SHIPLOG_ATTEMPT" >> "$RUNS/smoke"' }
                rollback: { run: '\(rollbackStep)' }
                \(notify ? "notify: { slack_webhook_env: SLACK_WEBHOOK }" : "")
                artifacts: { dir: logs, retention: 365d }
                """
            try yaml.write(toFile: pipelinePath, atomically: true, encoding: .utf8)
            // Only `init` creates a ledger; every other command refuses a missing one.
            let created = runShiplog(["init", "--db", db])
            #expect(created.status == 0, "shiplog init: \(created.stderr)")
        }

        var environment: [String: String] {
            [
                "STATE": dir.file("state"), "RUNS": dir.file("runs"), "STAGING_DATABASE_URL": "postgresql://deploy:hunter2-very-secret@db/staging",
                "SLACK_WEBHOOK": server.url("/hook"), "HEALTH_CHECK_INTERVAL": "1",
            ]
        }

        func deploy(_ sha: String, extra: [String] = [], env: [String: String] = [:]) -> ProcessOutput {
            runShiplog(
                ["deploy", "--db", db, "--config", pipelinePath, "--sha", sha] + extra,
                environment: environment.merging(env) { $1 }, in: dir.url)
        }

        /// Starts `shiplog deploy` in the background, to be killed or raced.
        func startDeploy(_ sha: String) throws -> ChildProcess {
            try ChildProcess(
                ShiplogBinary.url, ["deploy", "--db", db, "--config", pipelinePath, "--sha", sha],
                environment: environment, in: dir.url)
        }

        /// Waits until `step` has started at least once.
        func waitForRun(_ step: String) {
            let deadline = Date().addingTimeInterval(20)
            while runs(step).isEmpty && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        }

        func shiplog(_ args: [String]) -> ProcessOutput {
            runShiplog(args + ["--db", db], environment: environment, in: dir.url)
        }

        func runs(_ step: String) -> [String] {
            ((try? String(contentsOfFile: dir.file("runs/\(step)"), encoding: .utf8)) ?? "")
                .split(separator: "\n").map(String.init)
        }

        func ledger() throws -> Ledger { Ledger(store: try SQLiteEventStore(path: db, mode: .existing)) }

        func record(_ id: String) throws -> DeploymentRecord? { try Queries(ledger: ledger()).record(id) }

        /// The deployment id printed on the first progress line.
        static func deploymentID(in output: String) -> String? {
            guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("▶") || $0.hasPrefix("↻") }) else { return nil }
            return line.split(separator: " ").dropFirst().first.map { String($0.dropLast()) }
        }
    }

    @Test func successfulDeploymentRecordsEveryPhaseAndStoresWorkflowNamedLogs() throws {
        let staging = try Staging()
        let summary = staging.dir.file("summary.md"), outputs = staging.dir.file("outputs")
        let result = staging.deploy("abc123def4567890", env: ["GITHUB_STEP_SUMMARY": summary, "GITHUB_OUTPUT": outputs])
        #expect(result.status == 0, "\(result.stderr)")
        let id = try #require(Staging.deploymentID(in: result.stdout))
        #expect(id.hasSuffix("-abc123def456"))
        let record = try #require(try staging.record(id))
        #expect(record.status == "success")
        #expect(record.healthChecks == #"{"api_gateway":"healthy","auth_service":"healthy","database":"healthy","smoke_tests":"passed"}"#)
        #expect(record.servicesDeployed == #"["api-gateway","auth-service"]"#)
        for name in ["migration-logs-\(id)", "build-\(id).log", "deployment-\(id).log", "health-check-logs-\(id)", "deployment-record-\(id)"] {
            #expect(FileManager.default.fileExists(atPath: staging.dir.file("logs/\(name)")), "missing log \(name)")
        }
        let artifacts = try Queries(ledger: try staging.ledger()).artifacts(deploymentID: id, now: Date())
        #expect(artifacts.contains { $0.name == "deployment-record-\(id)" && $0.retentionDays == 365 })
        #expect(try String(contentsOfFile: outputs, encoding: .utf8).contains("deployment-id=\(id)"))
        #expect(try String(contentsOfFile: summary, encoding: .utf8).contains(id))
        #expect(staging.runs("build") == ["1"])
    }

    @Test func secretsNeverReachLogsEventsOrTerminal() throws {
        let staging = try Staging()
        let result = staging.deploy("abc123def4567890", extra: ["--verbose"])
        #expect(result.status == 0, "\(result.stderr)")
        let secret = "hunter2-very-secret"
        #expect(!result.stdout.contains(secret) && !result.stderr.contains(secret))
        #expect(result.stdout.contains("[redacted:STAGING_DATABASE_URL]"), "the migrate step printed the URL; --verbose shows it redacted")
        let events = staging.shiplog(["events", "list", "--json"])
        #expect(events.status == 0 && !events.stdout.contains(secret))
        for file in try FileManager.default.contentsOfDirectory(atPath: staging.dir.file("logs")) {
            #expect(!(try String(contentsOfFile: staging.dir.file("logs/\(file)"), encoding: .utf8)).contains(secret), "\(file)")
        }
        for file in try FileManager.default.contentsOfDirectory(atPath: staging.dir.file("ledger/artifacts")) {
            let text = String(decoding: FileManager.default.contents(atPath: staging.dir.file("ledger/artifacts/\(file)")) ?? Data(), as: UTF8.self)
            #expect(!text.contains(secret))
        }
    }

    @Test func failedHealthChecksRollBackToTheLastStableVersion() throws {
        let staging = try Staging()
        let good = staging.deploy("abc123def4567890")
        #expect(good.status == 0, "\(good.stderr)")
        let goodID = try #require(Staging.deploymentID(in: good.stdout))
        Thread.sleep(forTimeInterval: 1.05)  // a new second, so the ids differ
        let bad = staging.deploy("bad0bad0bad0bad0")
        #expect(bad.status == 1, "exit 1 = failed and rolled back; \(bad.stderr)")
        let badID = try #require(Staging.deploymentID(in: bad.stdout))
        let record = try #require(try staging.record(badID))
        #expect(record.status == "rolled_back")
        #expect(record.rolledBackTo == goodID)
        #expect(try String(contentsOfFile: staging.dir.file("state/current"), encoding: .utf8).contains("abc123def4567890"))
        #expect(FileManager.default.fileExists(atPath: staging.dir.file("logs/rollback-logs-\(badID)")))
        let stable = staging.shiplog(["last-stable", "--env", "staging", "--json"])
        #expect(stable.stdout.contains(goodID))
        // A failed, rolled-back release is never a rollback target for the next failure either.
        Thread.sleep(forTimeInterval: 1.05)
        let worse = staging.deploy("bad1bad1bad1bad1")
        #expect(worse.status == 1)
        #expect(worse.stdout.contains("rolling back to \(goodID)"))
    }

    @Test func failureWithoutStableVersionFailsAndSaysWhy() throws {
        let staging = try Staging()
        let result = staging.deploy("bad0bad0bad0bad0")
        #expect(result.status == 2, "exit 2 = failed without a rollback; \(result.stderr)")
        let id = try #require(Staging.deploymentID(in: result.stdout))
        let record = try #require(try staging.record(id))
        #expect(record.status == "failed")
        #expect(record.failureReason?.contains("no stable version") == true)
    }

    @Test func failedRollbackEndsFailed() throws {
        let staging = try Staging(rollback: "echo cannot restore; exit 9")
        #expect(staging.deploy("abc123def4567890").status == 0)
        Thread.sleep(forTimeInterval: 1.05)
        let result = staging.deploy("bad0bad0bad0bad0")
        #expect(result.status == 2)
        let id = try #require(Staging.deploymentID(in: result.stdout))
        #expect(try staging.record(id)?.failureReason?.contains("rollback failed") == true)
    }

    @Test func runnerKilledMidStepResumesWithoutRepeatingFinishedSteps() throws {
        let staging = try Staging(buildSleep: "3")
        let child = try staging.startDeploy("abc123def4567890")
        // Wait until the build step has started, then kill the runner outright.
        staging.waitForRun("build")
        child.signal(SIGKILL)
        let killed = child.wait()
        let id = try #require(Staging.deploymentID(in: killed.stdout))
        #expect(try staging.record(id)?.status == "running")
        // The environment is not wedged: a new deploy is refused and told to resume.
        let second = staging.deploy("def456def4567890")
        #expect(second.status == 5)
        #expect(second.stderr.contains("shiplog resume \(id)"))

        let resumed = staging.shiplog(["resume", id, "--config", staging.pipelinePath])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(staging.runs("preflight") == ["1"], "a finished step never runs again")
        #expect(staging.runs("migrate") == ["1"])
        #expect(staging.runs("build") == ["1", "2"], "the interrupted step runs again with SHIPLOG_ATTEMPT incremented")
        #expect(staging.runs("deploy") == ["1"])
        #expect(try staging.record(id)?.status == "success")
        #expect(staging.shiplog(["verify"]).status == 0)
    }

    @Test func interruptedStepMarkedFailOnInterruptFailsTheDeployment() throws {
        let staging = try Staging(interruptPolicy: "fail")
        // Make migrate slow through its own environment so it can be interrupted.
        let yaml = try String(contentsOfFile: staging.pipelinePath, encoding: .utf8)
            .replacingOccurrences(of: #"echo "migrating with"#, with: #"sleep 3; echo "migrating with"#)
        try yaml.write(toFile: staging.pipelinePath, atomically: true, encoding: .utf8)
        let child = try staging.startDeploy("abc123def4567890")
        staging.waitForRun("migrate")
        child.signal(SIGKILL)
        let id = try #require(Staging.deploymentID(in: child.wait().stdout))
        let resumed = staging.shiplog(["resume", id, "--config", staging.pipelinePath])
        #expect(resumed.status == 2)
        #expect(staging.runs("migrate") == ["1"], "on_interrupt: fail never reruns the step")
        #expect(try staging.record(id)?.failureReason?.contains("interrupted") == true)
    }

    @Test func stabilizationWaitResumesWithOnlyItsRemainingTime() throws {
        let staging = try Staging(stabilize: "6s")
        let child = try staging.startDeploy("abc123def4567890")
        staging.waitForRun("deploy")
        Thread.sleep(forTimeInterval: 4.5)
        child.signal(SIGKILL)
        let id = try #require(Staging.deploymentID(in: child.wait().stdout))
        let state = try staging.ledger().load(id)
        let until = try #require(state.stabilizationUntil.flatMap(Timestamp.parse))
        #expect(state.stabilizationSeconds == 6)
        let resumed = staging.shiplog(["resume", id, "--config", staging.pipelinePath])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        // One wait was started, and it ended at the end recorded before the crash, not 6 s after
        // the resume (which would put it 4.5 s or more past that end; a loaded machine may
        // delay the resumed process by a second or two, never by 4.5).
        let events = try staging.ledger().store.readStream("deployment-\(id)", from: 1)
        #expect(events.filter { $0.type == "StabilizationWaitStarted" }.count == 1)
        let finished = try #require(events.first { $0.type == "StabilizationWaitFinished" }.flatMap { Timestamp.parse($0.recordedAt) })
        #expect(finished >= until)
        #expect(finished.timeIntervalSince(until) < 3.5, "the resumed runner waited only the remaining time")
    }

    @Test func twoRunnersNeverDriveOneDeployment() throws {
        let staging = try Staging(buildSleep: "3")
        let child = try staging.startDeploy("abc123def4567890")
        staging.waitForRun("build")
        var pages = try staging.ledger().store.readAll(from: 1, pageSize: 10)
        let first = try #require(try pages.next())
        let id = String(first.stream.dropFirst("deployment-".count))
        let second = staging.shiplog(["resume", id, "--config", staging.pipelinePath])
        #expect(second.status == 5, "\(second.stderr)")
        #expect(second.stderr.contains("another shiplog process"))
        #expect(child.wait().status == 0)
        #expect(staging.runs("build") == ["1"])
    }

    @Test func failedNotificationNeverFailsTheDeploymentNorShowsTheWebhook() throws {
        let staging = try Staging(notify: true)
        let closedPort = "http://127.0.0.1:9/hooks/T000/B000/secret-token-xyz"
        let result = staging.deploy("abc123def4567890", env: ["SLACK_WEBHOOK": closedPort])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("notification failed"))
        #expect(!result.stdout.contains("secret-token-xyz") && !result.stderr.contains("secret-token-xyz"))
        #expect(!staging.shiplog(["events", "list", "--json"]).stdout.contains("secret-token-xyz"))
    }

    @Test func notificationIsPostedToTheWebhook() throws {
        let staging = try Staging(notify: true)
        let result = staging.deploy("abc123def4567890")
        #expect(result.status == 0, "\(result.stderr)")
        let fetch = runProcess(
            URL(fileURLWithPath: "/usr/bin/env"),
            [
                "python3", "-c", "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())",
                staging.server.url("/hook/received"),
            ])
        let received = fetch.stdout
        #expect(received.contains("deployed abc123def456"))
    }

    @Test func malformedPipelineIsReportedWithLineAndColumn() throws {
        let staging = try Staging()
        try "environment: staging\nservices: [a]\ndeploy: { run: x }\nhealth:\n  retries: five\n".write(toFile: staging.pipelinePath, atomically: true, encoding: .utf8)
        let result = staging.deploy("abc123def4567890")
        #expect(result.status == 65)
        #expect(result.stderr.contains("shiplog.yml:5:"), "\(result.stderr)")
        #expect(staging.shiplog(["events", "list"]).stdout.isEmpty, "nothing is recorded for a pipeline that cannot run")
    }

    @Test func jsonOutputIsOneEventPerLine() throws {
        let staging = try Staging()
        let result = staging.deploy("abc123def4567890", extra: ["--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count > 10)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["hash"] is String && object?["type"] is String)
        }
    }
}
