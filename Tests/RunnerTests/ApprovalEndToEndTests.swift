import EventStore
import Foundation
import Ledger
import ShiplogTestSupport
import Testing

/// Approval gates as operators use them: the built binary waits at the gate while `approve`
/// and `reject` run as other processes (on SQLite, and on a PostgreSQL ledger as from another
/// machine), the timeout, `deploy --no-wait` then `resume`, and SIGTERM during the wait.
@Suite(.serialized)
struct ApprovalEndToEndTests {
    typealias Staging = DeployEndToEndTests.Staging
    /// A staging pipeline whose deploy waits for `gate`.
    static func gated(_ gate: String = "{ before: deploy, required: 2, approvers: [alice, bob, carol], timeout: 5m }") throws -> Staging {
        let staging = try Staging()
        let yaml = try String(contentsOfFile: staging.pipelinePath, encoding: .utf8)
        try (yaml + "\napproval: \(gate)\n").write(toFile: staging.pipelinePath, atomically: true, encoding: .utf8)
        return staging
    }

    /// A runner started in the background, once it waits at the gate; with its deployment id.
    static func waitingRunner(_ staging: Staging, sha: String = "abc123def4567890") throws -> (ChildProcess, String) {
        let runner = try staging.startDeploy(sha)
        var id: String?
        #expect(
            RunnerOwnershipTests.eventually {
                id = Self.firstApprovalRequest(staging)
                return id != nil
            })
        return (runner, try #require(id))
    }

    /// The deployment whose stream holds an `ApprovalRequested`, once one does.
    static func firstApprovalRequest(_ staging: Staging) -> String? {
        let listed = staging.shiplog(["events", "list", "--json"]).stdout.split(separator: "\n")
        for line in listed where line.contains(#""type":"ApprovalRequested""#) {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let stream = object["stream"] as? String
            else { continue }
            return Identifier.deploymentID(inStream: stream)
        }
        return nil
    }

    static func record(_ staging: Staging, _ id: String) throws -> [String: Any] {
        let shown = staging.shiplog(["show", id, "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
        return try #require(object["record"] as? [String: Any])
    }

    @Test(arguments: ["sqlite", "postgres"])
    func approvalsFromOtherProcessesOpenTheGate(backend: String) throws {
        let staging = try Self.gated()
        if backend == "postgres" {
            staging.ledgerURL = try PostgresCluster.shared.makeDatabase()
            let created = runShiplog(["init", "--db", staging.db])
            #expect(created.status == 0, "shiplog init: \(created.stderr)")
        }
        let (runner, id) = try Self.waitingRunner(staging)
        defer { runner.signal(SIGKILL) }
        #expect(staging.runs("deploy").isEmpty, "deploy ran before any approval")

        // Another directory, as another machine sharing the ledger would.
        let elsewhere = try TemporaryDirectory(prefix: "shiplog-approver")
        func approver(_ args: [String]) -> ProcessOutput { runShiplog(args + ["--db", staging.db], in: elsewhere.url) }
        let first = approver(["approve", id, "--by", "alice", "--comment", "migration reviewed (CHG-311)"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("1 of 2 (alice)"), "\(first.stdout)")
        let twice = approver(["approve", id, "--by", "alice"])
        #expect(twice.status == 5, "\(twice.stderr)")
        #expect(twice.stderr.contains("alice already approved"), "\(twice.stderr)")
        let stranger = approver(["approve", id, "--by", "mallory"])
        #expect(stranger.status == 5, "\(stranger.stderr)")
        #expect(stranger.stderr.contains("not among the approvers"), "\(stranger.stderr)")
        #expect(staging.runs("deploy").isEmpty)
        let second = approver(["approve", id, "--by", "bob", "--json"])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains(#""state":"approved""#), "\(second.stdout)")

        let result = runner.wait()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("shiplog approve \(id) --by NAME"), "the runner prints the command that approves: \(result.stdout)")
        #expect(result.stdout.contains("waiting for approval before deploy"), "\(result.stdout)")
        #expect(staging.runs("deploy") == ["1"])

        // The record says who approved, when; the events put both approvals before the deploy.
        let approval = try #require(try Self.record(staging, id)["approval"] as? [String: Any])
        #expect(approval["state"] as? String == "approved")
        let approvals = try #require(approval["approvals"] as? [[String: Any]])
        #expect(approvals.map { $0["by"] as? String } == ["alice", "bob"])
        #expect(approvals.allSatisfy { ($0["at"] as? String)?.hasSuffix("Z") == true })
        #expect(approvals.first?["comment"] as? String == "migration reviewed (CHG-311)")
        let types = staging.shiplog(["events", "list", "--stream", "deployment-\(id)", "--json"]).stdout
            .split(separator: "\n").compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["type"] as? String }
        let granted = try #require(types.lastIndex(of: "ApprovalGranted"))
        let deployed = try #require(types.firstIndex(of: "DeployStarted"))
        #expect(granted < deployed)
        let shown = staging.shiplog(["show", id]).stdout
        #expect(shown.contains("approved by alice") && shown.contains("approved by bob"), "\(shown)")
        #expect(staging.shiplog(["verify"]).status == 0)
    }

    @Test func aRejectionFailsTheDeploymentBeforeDeployWithExit6() throws {
        let staging = try Self.gated()
        let (runner, id) = try Self.waitingRunner(staging)
        defer { runner.signal(SIGKILL) }
        let rejected = staging.shiplog(["reject", id, "--by", "carol", "--reason", "drops a column v41 still reads"])
        #expect(rejected.status == 0, "\(rejected.stderr)")
        let result = runner.wait()
        #expect(result.status == 6, "exit 6: failed before anything changed; \(result.stderr)")
        #expect(staging.runs("deploy").isEmpty && staging.runs("rollback").isEmpty, "no deploy, no rollback")
        let record = try Self.record(staging, id)
        #expect(record["status"] as? String == "failed")
        #expect((record["failure_reason"] as? String)?.contains("approval rejected by carol: drops a column v41 still reads") == true)
        #expect(((record["approval"] as? [String: Any])?["rejection"] as? [String: Any])?["by"] as? String == "carol")
        // The environment is free at once, and the gate takes nothing more.
        #expect(staging.shiplog(["approve", id, "--by", "alice"]).status == 5)
        #expect(staging.shiplog(["status", "--env", "staging"]).stdout.contains("nothing is deploying"))
    }

    @Test func noApprovalBeforeTheTimeoutFailsItWithExit6() throws {
        let staging = try Self.gated("{ before: migrate, required: 1, timeout: 2s }")
        let result = staging.deploy("abc123def4567890")
        #expect(result.status == 6, "\(result.stderr)")
        let id = try #require(Staging.deploymentID(in: result.stdout))
        #expect(staging.runs("migrate").isEmpty && staging.runs("preflight") == ["1"], "preflight ran, the gate stood before migrate")
        #expect(RunnerOwnershipTests.hasEvent(staging, id, "ApprovalTimedOut"))
        let record = try Self.record(staging, id)
        #expect((record["failure_reason"] as? String)?.contains("not approved before") == true, "\(record)")
        let late = staging.shiplog(["approve", id, "--by", "alice"])
        #expect(late.status == 5, "\(late.stderr)")
    }

    @Test func noWaitExitsSevenAndResumeContinuesOnceApproved() throws {
        let staging = try Self.gated()
        let first = staging.deploy("abc123def4567890", extra: ["--no-wait"])
        #expect(first.status == 7, "exit 7: waits for approval; \(first.stderr)")
        let id = try #require(Staging.deploymentID(in: first.stdout))
        let said = first.stdout + first.stderr
        #expect(said.contains("shiplog resume \(id)") && said.contains("shiplog approve \(id)"), "\(said)")
        #expect(staging.runs("deploy").isEmpty)
        // Still waiting: resume --no-wait says so again.
        #expect(staging.shiplog(["resume", id, "--no-wait"]).status == 7)
        for name in ["bob", "carol"] { #expect(staging.shiplog(["approve", id, "--by", name]).status == 0) }
        let resumed = staging.shiplog(["resume", id])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(staging.runs("deploy") == ["1"] && staging.runs("migrate") == ["1"], "nothing before the gate ran twice")
    }

    @Test func sigtermDuringTheWaitLeavesItWaitingAndResumableWithoutUnlock() throws {
        let staging = try Self.gated()
        let (runner, id) = try Self.waitingRunner(staging)
        runner.signal(SIGTERM)
        let stopped = runner.wait()
        #expect(stopped.status == 143, "\(stopped.stderr)")
        #expect((stopped.stdout + stopped.stderr).contains("shiplog resume \(id)"), "\(stopped.stdout)\(stopped.stderr)")
        #expect(try Self.record(staging, id)["status"] as? String == "running")
        #expect(try staging.record(id)?.currentPhase == "waiting for approval")
        for name in ["alice", "bob"] { #expect(staging.shiplog(["approve", id, "--by", name]).status == 0) }
        // The runner's claim went with it: resume needs no unlock --force.
        let resumed = staging.shiplog(["resume", id])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(staging.runs("deploy") == ["1"])
    }
}
