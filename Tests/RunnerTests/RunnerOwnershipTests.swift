import EventStore
import Foundation
import Ledger
import Runner
import ShiplogTestSupport
import Testing

/// A running deployment belongs to its runner: `record` cannot report its phases, `unlock`
/// cannot end it while the runner lives, `resume` runs the pipeline file it began with, and a
/// rollback never restores a release marked bad without saying so.
@Suite(.serialized)
struct RunnerOwnershipTests {
    typealias Staging = DeployEndToEndTests.Staging

    /// Waits until `condition` holds (20 s at most); false if it never did.
    static func eventually(_ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }

    /// The only deployment of the staging ledger.
    static func onlyDeployment(_ staging: Staging) throws -> String {
        let listed = staging.shiplog(["history", "--json"])
        let lines = listed.stdout.split(separator: "\n")
        let object = try #require(lines.first.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
        return try #require(object["deployment_id"] as? String)
    }

    static func hasEvent(_ staging: Staging, _ id: String, _ type: String) -> Bool {
        let out = staging.shiplog(["events", "list", "--stream", "deployment-\(id)", "--json"])
        return out.stdout.contains("\"type\":\"\(type)\"")
    }

    @Test func recordRefusesADeploymentThatShiplogDeployRuns() throws {
        let staging = try Staging(stabilize: "60s")
        let runner = try staging.startDeploy("abc123def4567890")
        defer { runner.signal(SIGKILL); _ = runner.wait() }
        #expect(Self.eventually { staging.runs("deploy").count == 1 })
        let id = try Self.onlyDeployment(staging)
        #expect(Self.eventually { Self.hasEvent(staging, id, "StabilizationWaitStarted") })

        // Between steps, where the domain alone would accept an outcome, the runner owns it.
        for args in [
            ["record", "finish", id, "--status", "failed", "--reason", "x"],
            ["record", "phase", id, "smoke", "--status", "succeeded"],
            ["record", "health", id, "api_gateway", "--status", "healthy"],
        ] {
            let out = staging.shiplog(args)
            #expect(out.status == 5, "\(args): \(out.stderr)")
            #expect(out.stderr.contains("run by `shiplog deploy`"), "\(out.stderr)")
        }
        #expect(try staging.record(id)?.status == "running")
    }

    @Test func unlockRefusesWhileTheRunnerLivesAndNamesIt() throws {
        let staging = try Staging(buildSleep: "30")
        let runner = try staging.startDeploy("abc123def4567890")
        defer { runner.signal(SIGKILL); _ = runner.wait() }
        #expect(Self.eventually { staging.runs("build").count == 1 })
        let id = try Self.onlyDeployment(staging)

        for extra in [[], ["--force"]] {
            let out = staging.shiplog(["unlock", "--env", "staging", "--reason", "looks stuck"] + extra)
            #expect(out.status == 5, "\(extra): \(out.stderr)")
            #expect(out.stderr.contains("pid \(runner.pid)"), "\(out.stderr)")
        }
        #expect(try staging.record(id)?.status == "running")

        // Once the runner is gone (and its step with it), unlock ends the deployment.
        runner.signal(SIGKILL)
        _ = runner.wait()
        #expect(Self.eventually { LeftoverSteps.find(deploymentID: id).isEmpty })
        let freed = staging.shiplog(["unlock", "--env", "staging", "--reason", "runner killed"])
        #expect(freed.status == 0, "\(freed.stderr)")
        #expect(try staging.record(id)?.status == "abandoned")
    }

    @Test func unlockNeedsForceForARunnerOnAnotherHostAndKillsLeftoverSteps() throws {
        let l = try Staging()
        let begun = l.shiplog(["record", "begin", "--env", "staging", "--sha", "abc123def4567890"])
        let id = begun.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(begun.status == 0, "\(begun.stderr)")

        // A lock held by a runner that says it lives on another host.
        let locks = RunnerLock.directory(besideLedger: l.db)
        try FileManager.default.createDirectory(atPath: locks, withIntermediateDirectories: true)
        let lockFile = locks + "/\(id).lock"
        // One process takes the lock and keeps it, as a runner does (killing it frees the lock).
        let holder = try ChildProcess(URL(fileURLWithPath: "/bin/sh"), ["-c", "exec 9>>\"$0\"; flock 9; exec sleep 60", lockFile])
        defer { holder.signal(SIGKILL); _ = holder.wait() }
        #expect(Self.eventually { runProcess(URL(fileURLWithPath: "/usr/bin/flock"), ["-n", lockFile, "true"]).status != 0 })
        try "host=ci-runner-7 pid=4242 since=2026-11-30T10:00:00Z\n".write(toFile: lockFile, atomically: false, encoding: .utf8)
        // A leftover step of that deployment on this machine.
        let step = try ChildProcess(URL(fileURLWithPath: "/bin/sleep"), ["60"], environment: ["SHIPLOG_DEPLOYMENT_ID": id])
        defer { step.signal(SIGKILL); _ = step.wait() }

        let refused = l.shiplog(["unlock", "--env", "staging", "--reason", "host gone"])
        #expect(refused.status == 5, "\(refused.stderr)")
        #expect(refused.stderr.contains("another host (pid 4242 on host ci-runner-7"), "\(refused.stderr)")

        let forced = l.shiplog(["unlock", "--env", "staging", "--reason", "host gone", "--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(forced.stderr.contains("killed 1 leftover step process"), "\(forced.stderr)")
        #expect(LeftoverSteps.find(deploymentID: id).isEmpty, "the leftover step still runs")
        #expect(step.wait().status != 0)
    }

    /// A deployment whose runner was killed in its stabilization wait; returns its id.
    static func killedWhileStabilizing(_ staging: Staging) throws -> String {
        let runner = try staging.startDeploy("abc123def4567890")
        #expect(Self.eventually { staging.runs("deploy").count == 1 })
        let id = try Self.onlyDeployment(staging)
        #expect(Self.eventually { Self.hasEvent(staging, id, "StabilizationWaitStarted") })
        runner.signal(SIGKILL)
        _ = runner.wait()
        return id
    }

    @Test func resumeRunsTheRecordedPipelineFileAndRefusesAChangedOne() throws {
        let staging = try Staging(stabilize: "3s")
        let id = try Self.killedWhileStabilizing(staging)

        let show = staging.shiplog(["show", id])
        #expect(show.stdout.contains(staging.pipelinePath), "show names the pipeline: \(show.stdout)")

        // Another directory, no --config: the file the deployment began with is used — once it is unchanged.
        let elsewhere = try TemporaryDirectory(prefix: "shiplog-elsewhere")
        let original = try String(contentsOfFile: staging.pipelinePath, encoding: .utf8)
        try (original + "\n# edited after the deployment began\n").write(toFile: staging.pipelinePath, atomically: true, encoding: .utf8)
        let refused = runShiplog(["resume", id, "--db", staging.db], environment: staging.environment, in: elsewhere.url)
        #expect(refused.status == 5, "\(refused.stderr)")
        #expect(refused.stderr.contains("--allow-changed-pipeline"), "\(refused.stderr)")
        #expect(try staging.record(id)?.status == "running")

        try original.write(toFile: staging.pipelinePath, atomically: true, encoding: .utf8)
        let resumed = runShiplog(["resume", id, "--db", staging.db], environment: staging.environment, in: elsewhere.url)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try staging.record(id)?.status == "success")
    }

    @Test func aChangedPipelineResumesWhenSaidSo() throws {
        let staging = try Staging(stabilize: "3s")
        let id = try Self.killedWhileStabilizing(staging)
        let text = try String(contentsOfFile: staging.pipelinePath, encoding: .utf8)
        try (text + "\n# a comment\n").write(toFile: staging.pipelinePath, atomically: true, encoding: .utf8)
        let resumed = staging.shiplog(["resume", id, "--allow-changed-pipeline"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
    }

    /// A good release deployed, then a broken one started in the background; returns the good
    /// release's id and the broken one's runner.
    static func stableThenBroken(_ staging: Staging) throws -> (String, ChildProcess) {
        let good = staging.deploy("abc123def4567890")
        #expect(good.status == 0, "\(good.stderr)")
        let goodID = try #require(Staging.deploymentID(in: good.stdout))
        Thread.sleep(forTimeInterval: 1.05)  // a new second, so the ids differ
        return (goodID, try staging.startDeploy("bad0000000000001"))
    }

    @Test func aTargetMarkedBadDuringTheRollbackIsNeverReportedAsRestored() throws {
        let staging = try Staging(rollback: #"echo started >> "$RUNS/rollback"; sleep 3; echo "$SHIPLOG_ROLLBACK_VERSION" > "$STATE/current"; echo ok > "$STATE/health""#)
        let (goodID, runner) = try Self.stableThenBroken(staging)
        #expect(Self.eventually { staging.runs("rollback").count == 1 })
        let marked = staging.shiplog(["mark-bad", goodID, "--reason", "data corruption found", "--by", "oncall"])
        #expect(marked.status == 0, "\(marked.stderr)")
        #expect(marked.stderr.contains("rolling staging back to \(goodID) right now"), "\(marked.stderr)")
        let result = runner.wait()
        #expect(result.status == 2, "\(result.stderr)")
        let badID = try #require(Staging.deploymentID(in: result.stdout))
        let record = try #require(try staging.record(badID))
        #expect(record.status == "failed")
        #expect(record.failureReason?.contains("was marked bad by oncall while the rollback restored it") == true, "\(String(describing: record.failureReason))")
    }

    @Test func aTargetMarkedBadBeforeTheRollbackIsNotRestored() throws {
        let staging = try Staging(rollback: #"echo started >> "$RUNS/rollback""#, stabilize: "3s")
        let (goodID, runner) = try Self.stableThenBroken(staging)
        #expect(Self.eventually { staging.runs("deploy").count == 2 })
        let marked = staging.shiplog(["mark-bad", goodID, "--reason", "regression", "--by", "oncall"])
        #expect(marked.status == 0, "\(marked.stderr)")
        let result = runner.wait()
        #expect(result.status == 2, "\(result.stderr)")
        #expect(staging.runs("rollback").isEmpty, "the rollback step ran onto a release marked bad")
        let badID = try #require(Staging.deploymentID(in: result.stdout))
        #expect(try staging.record(badID)?.failureReason?.contains("no stable version of staging to roll back to") == true)
    }
}
