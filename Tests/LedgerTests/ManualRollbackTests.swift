import EventStore
import Foundation
import Ledger
import SQLiteStore
import Testing

/// A manual rollback (`shiplog rollback`) through a real ledger: which release it restores,
/// what it refuses, and what its success records on the release it replaced.
@Suite("Manual rollback")
struct ManualRollbackTests {
    /// The plan a manual rollback runs: its rollback step and the checks.
    static let plan = workflowPlan(phases: [.rollback], stabilize: 0)

    /// Requests a manual rollback of staging and drives it to the end as the runner would.
    @discardableResult
    static func rollBack(
        _ t: TestLedger, to target: String? = nil, script: Script = .allGood, reason: String = "checkout errors (INC-77)"
    ) throws
        -> DeploymentState
    {
        t.clock.advance(60)
        let state = try t.ledger.requestManualRollback(
            environment: "staging", to: target, reason: reason, by: "oncall", services: workflowServices, checks: workflowChecks)
        var sim = try t.simulation(state.id!, plan: plan, script: script)
        _ = try sim.run()
        return try t.ledger.load(state.id!)
    }

    static func success(_ t: TestLedger, _ n: Int) throws -> String {
        t.clock.advance(60)
        return try #require(try t.run(sha: sha(n)).id)
    }

    @Test func restoresTheNewestStableReleaseOlderThanTheRunningOneAndRetiresTheReplacedOne() throws {
        let t = try TestLedger()
        let a = try Self.success(t, 1)
        let b = try Self.success(t, 2)
        let rollback = try Self.rollBack(t)
        let id = try #require(rollback.id)
        #expect(rollback.status == .success)
        #expect(rollback.request?.manualRollback == ManualRollback(targetID: a, targetSHA: sha(1), replaces: b, reason: "checkout errors (INC-77)"))
        #expect(rollback.request?.gitSHA == sha(1) && rollback.request?.triggeredBy == "oncall")
        #expect(rollback.steps[.rollback]?.succeeded == true && rollback.healthPassed[.rollback] == true)
        #expect(rollback.steps[.deploy] == nil, "a manual rollback runs only its rollback step")

        let replaced = try t.ledger.load(b)
        #expect(replaced.status == .rolledBack)
        #expect(replaced.rolledBackManually?.rollbackID == id && replaced.rolledBackManually?.reason == "checkout errors (INC-77)")
        #expect(replaced.rollbackTargetID == a)
        // last-stable names what runs: the rollback, which deployed a's sha.
        let stable = try #require(try t.ledger.lastStable(environment: "staging"))
        #expect(stable.deploymentID == id && stable.gitSHA == sha(1))

        // The records say so, in the table and after a rebuild.
        let record = try #require(try t.queries.record(id))
        #expect(record.isManualRollback)
        let manual = try #require(try JSONSerialization.jsonObject(with: Data(record.manualRollback!.utf8)) as? [String: Any])
        #expect(manual["target"] as? String == a && manual["replaces"] as? String == b && manual["requested_by"] as? String == "oncall")
        let old = try #require(try t.queries.record(b))
        #expect(old.status == "rolled_back" && old.rolledBackTo == a && old.rolledBackBy?.contains(id) == true)
        #expect(!old.isManualRollback)
        let before = try dumpProjections(t.store)
        try t.ledger.rebuild()
        #expect(try dumpProjections(t.store) == before)
        #expect(try t.store.verify(expect: nil, progress: nil).isIntact)
    }

    @Test func aSecondRollbackGoesFurtherBackPastTheVersionThatRuns() throws {
        let t = try TestLedger()
        let a = try Self.success(t, 1)
        let b = try Self.success(t, 2)
        _ = try Self.success(t, 3)
        let first = try Self.rollBack(t)
        #expect(first.request?.manualRollback?.targetID == b)
        let second = try Self.rollBack(t)
        // `first` runs b's sha; b itself is older but the same version: the target is a.
        #expect(second.request?.manualRollback?.targetID == a)
        #expect(second.request?.manualRollback?.replaces == first.id)
        #expect(try t.ledger.load(first.id!).status == .rolledBack)
    }

    @Test func afterAnAutomaticRollbackTheTargetIsOlderThanTheRestoredRelease() throws {
        let t = try TestLedger()
        let a = try Self.success(t, 1)
        let b = try Self.success(t, 2)
        t.clock.advance(60)
        var broken = Script()
        broken.unhealthyAttempts["auth_service"] = .max
        let c = try t.run(sha: sha(3), script: broken)
        #expect(c.status == .rolledBack && c.rollbackTargetID == b)
        let rollback = try Self.rollBack(t)
        #expect(rollback.request?.manualRollback?.targetID == a, "staging runs b again (c was rolled back to it)")
        #expect(rollback.request?.manualRollback?.replaces == b)
    }

    @Test func refusesTargetsThatFailedWereRolledBackOrMarkedBadAndTheRunningRelease() throws {
        let t = try TestLedger()
        let good = try Self.success(t, 1)
        let failed = try t.record(.failed, n: 2)
        let bad = try t.record(.markedBad, n: 3)
        let rolled = try t.record(.rolledBack, n: 4)
        let running = try Self.success(t, 5)
        for (target, words) in [
            (failed, "failed"), (bad, "marked bad"), (rolled, "rolled back"), (running, "runs now"),
        ] {
            #expect(throws: LedgerError.self, "\(words)") {
                try t.ledger.requestManualRollback(environment: "staging", to: target, reason: "r", by: "oncall", services: [], checks: [])
            }
            do {
                try t.ledger.requestManualRollback(environment: "staging", to: target, reason: "r", by: "oncall", services: [], checks: [])
            } catch LedgerError.refused(let message) {
                #expect(message.contains(words), "\(message)")
            }
        }
        #expect(throws: LedgerError.notFound("no deployment 1700000000-aaaaaaa11111 in the ledger; `shiplog history --env staging` lists them")) {
            try t.ledger.requestManualRollback(environment: "staging", to: "1700000000-aaaaaaa11111", reason: "r", by: "x", services: [], checks: [])
        }
        #expect(try t.queries.activeDeployments().isEmpty, "nothing was recorded for a refused rollback")
        #expect(try Self.rollBack(t, to: good).status == .success)
    }

    @Test func refusesWhileTheEnvironmentHasAnActiveDeploymentAndWhenNothingOlderIsStable() throws {
        let t = try TestLedger()
        #expect(throws: LedgerError.self) {
            try t.ledger.requestManualRollback(environment: "staging", to: nil, reason: "r", by: "x", services: [], checks: [])
        }
        _ = try Self.success(t, 1)
        do {
            try t.ledger.requestManualRollback(environment: "staging", to: nil, reason: "r", by: "x", services: [], checks: [])
            Issue.record("a rollback with nothing older than the running release was accepted")
        } catch LedgerError.notFound(let message) {
            #expect(message.contains("no stable release of staging older than"), "\(message)")
        }
        _ = try Self.success(t, 2)
        let active = try t.ledger.request(
            environment: "staging", gitSHA: sha(3), gitRef: "main", services: [], triggeredBy: "ci", mode: .run, phases: [.deploy])
        do {
            try t.ledger.requestManualRollback(environment: "staging", to: nil, reason: "r", by: "x", services: [], checks: [])
            Issue.record("a rollback during an active deployment was accepted")
        } catch LedgerError.refused(let message) {
            #expect(message.contains(active.id!), "\(message)")
        }
    }

    @Test func aTargetMarkedBadBeforeTheRollbackStepFailsItSayingSo() throws {
        let t = try TestLedger()
        let a = try Self.success(t, 1)
        _ = try Self.success(t, 2)
        let state = try t.ledger.requestManualRollback(environment: "staging", to: nil, reason: "r", by: "oncall", services: [], checks: [])
        try t.ledger.execute(.markBad(reason: "corrupts uploads", by: "qa"), on: a)
        let after = try t.ledger.beginRollback(state.id!, attempt: 1)
        #expect(after.status == .failed)
        #expect(after.failureReason?.contains("was marked bad by qa") == true, "\(after.failureReason ?? "")")
        #expect(after.steps[.rollback] == nil, "nothing was restored")
    }

    @Test func aFailedRestoreLeavesTheReplacedReleaseAsItWas() throws {
        let t = try TestLedger()
        _ = try Self.success(t, 1)
        let b = try Self.success(t, 2)
        var script = Script()
        script.failing[.rollback] = "deploy.sh exited with status 3"
        let rollback = try Self.rollBack(t, script: script)
        #expect(rollback.status == .failed)
        #expect(rollback.failureReason?.contains("deploy.sh exited with status 3") == true)
        #expect(try t.ledger.load(b).status == .success, "only a successful manual rollback retires the release it replaced")
    }

    @Test func theDomainKeepsAManualRollbackToItsRollbackStep() throws {
        let t = try TestLedger()
        let a = try Self.success(t, 1)
        _ = try Self.success(t, 2)
        let state = try t.ledger.requestManualRollback(environment: "staging", to: nil, reason: "r", by: "oncall", services: [], checks: workflowChecks)
        let id = state.id!
        #expect(throws: LedgerError.self) { try t.ledger.execute(.startStep(.deploy, attempt: 1), on: id) }
        #expect(throws: LedgerError.self) { try t.ledger.execute(.finish(.succeeded), on: id) }
        #expect(throws: LedgerError.self) { try t.ledger.execute(.startRollback(targetID: id, targetSHA: sha(2), attempt: 1), on: id) }
        #expect(throws: LedgerError.self) { try t.ledger.execute(.requestApproval(ApprovalGate(before: .deploy, required: 1, timeoutSeconds: 9)), on: id) }
        try t.ledger.beginRollback(id, attempt: 1)
        #expect(try t.ledger.load(id).rollbackTargetID == a)
    }
}
