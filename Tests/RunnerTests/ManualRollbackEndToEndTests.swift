import EventStore
import Foundation
import Ledger
import ShiplogTestSupport
import Testing

/// `shiplog rollback` on the built binary against the local staging environment: the release
/// it restores, what it refuses, a runner killed mid-restore and resumed, and `last-stable`
/// naming what actually runs afterwards.
@Suite(.serialized)
struct ManualRollbackEndToEndTests {
    typealias Staging = DeployEndToEndTests.Staging

    /// Two good releases, a second apart: their ids.
    static func twoReleases(_ staging: Staging) throws -> (String, String) {
        let a = staging.deploy("abc123def4567890")
        #expect(a.status == 0, "\(a.stderr)")
        Thread.sleep(forTimeInterval: 1.05)  // a new second, so the ids differ
        let b = staging.deploy("def456def4567890")
        #expect(b.status == 0, "\(b.stderr)")
        return (try #require(Staging.deploymentID(in: a.stdout)), try #require(Staging.deploymentID(in: b.stdout)))
    }

    static func rollback(_ staging: Staging, _ extra: [String] = []) -> ProcessOutput {
        staging.shiplog(["rollback", "--env", "staging", "--reason", "checkout errors since 14:02 (INC-77)", "--by", "oncall", "--config", staging.pipelinePath] + extra)
    }

    static func current(_ staging: Staging) -> String {
        ((try? String(contentsOfFile: staging.dir.file("state/current"), encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func restoresTheEarlierReleaseRetiresTheReplacedOneAndLastStableNamesIt() throws {
        let staging = try Staging()
        let (a, b) = try Self.twoReleases(staging)
        #expect(Self.current(staging) == "def456def4567890")
        let rolled = Self.rollback(staging)
        #expect(rolled.status == 0, "\(rolled.stderr)")
        let id = try #require(Staging.deploymentID(in: rolled.stdout))
        #expect(rolled.stdout.contains("manual rollback of staging to \(a)"), "\(rolled.stdout)")
        #expect(Self.current(staging) == "abc123def4567890", "the rollback step ran with SHIPLOG_ROLLBACK_VERSION")
        #expect(staging.runs("deploy").count == 2, "a manual rollback runs no deploy step")

        let record = try #require(try staging.record(id))
        #expect(record.status == "success" && record.gitSHA == "abc123def4567890" && record.triggeredBy == "oncall")
        #expect(record.servicesDeployed == #"["api-gateway","auth-service"]"#, "the services its rollback step restored")
        #expect(record.healthChecks == #"{"api_gateway":"healthy","auth_service":"healthy","database":"healthy"}"#, "the restored release's checks")
        let manualText = try #require(record.manualRollback)
        let manual = try #require(try JSONSerialization.jsonObject(with: Data(manualText.utf8)) as? [String: Any])
        #expect(manual["target"] as? String == a && manual["replaces"] as? String == b)
        #expect(manual["reason"] as? String == "checkout errors since 14:02 (INC-77)" && manual["requested_by"] as? String == "oncall")
        let replaced = try #require(try staging.record(b))
        #expect(replaced.status == "rolled_back" && replaced.rolledBackTo == a)
        #expect(replaced.rolledBackBy?.contains(id) == true)

        let stable = staging.shiplog(["last-stable", "--env", "staging", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(stable.stdout.utf8)) as? [String: Any])
        #expect(object["deployment_id"] as? String == id && object["git_sha"] as? String == "abc123def4567890")
        let explained = staging.shiplog(["last-stable", "--env", "staging", "--explain"])
        #expect(explained.stdout.contains(id), "\(explained.stdout)")
        let shown = staging.shiplog(["show", b]).stdout
        #expect(shown.contains("replaced") && shown.contains(id), "\(shown)")
        #expect(FileManager.default.fileExists(atPath: staging.dir.file("logs/rollback-logs-\(id)")))
        #expect(staging.shiplog(["verify"]).status == 0)
        // The replaced release is no rollback target any more.
        let again = Self.rollback(staging, ["--to", b])
        #expect(again.status == 5, "\(again.stderr)")
        #expect(again.stderr.contains("rolled back by the manual rollback \(id)"), "\(again.stderr)")
    }

    @Test func refusesFailedRunningAndMissingTargetsAndABusyEnvironment() throws {
        let staging = try Staging()
        let good = staging.deploy("abc123def4567890")
        let goodID = try #require(Staging.deploymentID(in: good.stdout))
        Thread.sleep(forTimeInterval: 1.05)
        let bad = staging.deploy("bad0bad0bad0bad0")
        #expect(bad.status == 1, "\(bad.stderr)")
        let badID = try #require(Staging.deploymentID(in: bad.stdout))

        let rolledBack = Self.rollback(staging, ["--to", badID])
        #expect(rolledBack.status == 5 && rolledBack.stderr.contains("a rollback never lands on it"), "\(rolledBack.stderr)")
        let running = Self.rollback(staging, ["--to", goodID])
        #expect(running.status == 5 && running.stderr.contains("is what staging runs now"), "\(running.stderr)")
        let nothingOlder = Self.rollback(staging)
        #expect(nothingOlder.status == 4 && nothingOlder.stderr.contains("no stable release of staging older than"), "\(nothingOlder.stderr)")
        let unknown = Self.rollback(staging, ["--to", "1700000000-aaaaaaa11111"])
        #expect(unknown.status == 4, "\(unknown.stderr)")

        let holder = staging.shiplog(["record", "begin", "--env", "staging", "--sha", "ccccccc3333333"])
        let holderID = holder.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let busy = Self.rollback(staging, ["--to", goodID])
        #expect(busy.status == 5 && busy.stderr.contains(holderID), "\(busy.stderr)")

        let plain = staging.dir.file("no-rollback.yml")
        let yaml = try String(contentsOfFile: staging.pipelinePath, encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("rollback:") }
        try yaml.joined(separator: "\n").write(toFile: plain, atomically: true, encoding: .utf8)
        let noStep = staging.shiplog(["rollback", "--env", "staging", "--reason", "r", "--config", plain])
        #expect(noStep.status == 65 && noStep.stderr.contains("has no rollback step"), "\(noStep.stderr)")
        #expect(staging.shiplog(["history", "--json"]).stdout.split(separator: "\n").count == 3, "a refused rollback records nothing")
    }

    /// The first attempt of the restore never ends on its own, so the kill lands in it however
    /// slow the machine is; its orphaned shell is stopped before the resume, as an operator
    /// whose runner died would find it gone.
    @Test func aRollbackKilledMidRestoreResumesAndRetiresTheReplacedRelease() throws {
        let firstAttemptHangs = #"if [ "$SHIPLOG_ATTEMPT" = 1 ]; then while :; do sleep 0.1; done; fi"#
        let staging = try Staging(
            rollback: #"echo $$ > "$STATE/rollback.pid"; echo "$SHIPLOG_ATTEMPT" >> "$RUNS/rollback"; "#
                + firstAttemptHangs + #"; echo "$SHIPLOG_ROLLBACK_VERSION" > "$STATE/current"; echo ok > "$STATE/health""#)
        let (a, b) = try Self.twoReleases(staging)
        let child = try ChildProcess(
            ShiplogBinary.url,
            ["rollback", "--env", "staging", "--reason", "bad release", "--db", staging.db, "--config", staging.pipelinePath],
            environment: staging.environment, in: staging.dir.url)
        staging.waitForRun("rollback")
        #expect(staging.runs("rollback") == ["1"], "the restore started")
        child.signal(SIGKILL)
        let killed = child.wait()
        let pidText = try String(contentsOfFile: staging.dir.file("state/rollback.pid"), encoding: .utf8)
        let orphan = try #require(pid_t(pidText.trimmingCharacters(in: .whitespacesAndNewlines)))
        if kill(-orphan, SIGKILL) != 0 { kill(orphan, SIGKILL) }
        let id = try #require(Staging.deploymentID(in: killed.stdout))
        #expect(try staging.record(id)?.status == "running")
        #expect(try staging.record(b)?.status == "success", "the replaced release stays until the rollback succeeds")

        let resumed = staging.shiplog(["resume", id])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(staging.runs("rollback") == ["1", "2"], "the interrupted rollback step ran again with SHIPLOG_ATTEMPT 2")
        #expect(Self.current(staging) == "abc123def4567890")
        #expect(try staging.record(b)?.status == "rolled_back")
        let stable = staging.shiplog(["last-stable", "--env", "staging"])
        #expect(stable.stdout.hasPrefix("abc123def4567890\t\(id)"), "\(stable.stdout)")
        #expect(try staging.record(id)?.manualRollback?.contains(a) == true)
    }

    @Test func aFailingRestoreExits2AndLeavesTheReplacedReleaseAsItWas() throws {
        let staging = try Staging()
        let (_, b) = try Self.twoReleases(staging)
        // The rollback step fails now.
        let yaml = try String(contentsOfFile: staging.pipelinePath, encoding: .utf8)
            .replacingOccurrences(of: #"rollback: { run: '"#, with: #"rollback: { run: 'echo cannot restore; exit 9; "#)
        try yaml.write(toFile: staging.pipelinePath, atomically: true, encoding: .utf8)
        let failed = Self.rollback(staging)
        #expect(failed.status == 2, "\(failed.stderr)")
        let id = try #require(Staging.deploymentID(in: failed.stdout))
        #expect(try staging.record(id)?.status == "failed")
        #expect(try staging.record(b)?.status == "success")
    }
}
