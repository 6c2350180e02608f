import EventStore
import Foundation
@testable import Ledger
import Testing

/// The invariants every event obeys, on the append path: given a history, when an event the
/// domain would never decide is appended anyway, then the ledger refuses it and writes nothing.
@Suite("History rules on appends")
struct HistoryRulesTests {
    /// Appends `event` to `stream` through the ledger's own path; returns the refusal, if any.
    static func refusal(_ t: TestLedger, _ event: DeploymentEvent, on id: String) throws -> String? {
        let head = try t.store.head()
        do {
            _ = try t.ledger.append([StreamAppend(stream: Ledger.stream(deployment: id), expected: .any, events: [event.makeNewEvent()])])
            return nil
        } catch LedgerError.refused(let message) {
            #expect(try t.store.head() == head, "a refused event was written")
            return message
        }
    }

    @Test func aRollbackOntoAFailedReleaseIsRefused() throws {
        let t = try TestLedger()
        let stable = try t.record(.success, n: 1)
        let failed = try t.record(.failed, n: 2)
        let running = try t.ledger.request(
            environment: "staging", gitSHA: sha(3), gitRef: "main", services: ["api-gateway"],
            triggeredBy: "ci", mode: .record
        ).id!
        try t.ledger.execute(.completeStep(.deploy, succeeded: false, reason: "boom"), on: running)
        let failedSHA = try t.ledger.load(failed).request!.gitSHA
        let message = try Self.refusal(t, .rollbackStarted(targetID: failed, targetSHA: failedSHA, attempt: 1), on: running)
        #expect(message?.contains("a rollback never lands on it") == true, "\(String(describing: message))")
        // The real target is accepted.
        let stableSHA = try t.ledger.load(stable).request!.gitSHA
        #expect(try Self.refusal(t, .rollbackStarted(targetID: stable, targetSHA: stableSHA, attempt: 1), on: running) == nil)
    }

    @Test func successAfterAFailureAndASecondEndingAreRefused() throws {
        let t = try TestLedger()
        let failed = try t.record(.failed, n: 1)
        #expect(try Self.refusal(t, .deploymentSucceeded, on: failed)?.contains("finished as failed") == true)
        let running = try t.ledger.request(
            environment: "staging", gitSHA: sha(2), gitRef: "main", services: ["api-gateway"],
            triggeredBy: "ci", mode: .record
        ).id!
        try t.ledger.execute(.completeStep(.deploy, succeeded: true, reason: nil), on: running)
        try t.ledger.execute(.recordHealthVerdict(check: "api_gateway", healthy: false, attempts: 5, reason: "HTTP 503"), on: running)
        #expect(try Self.refusal(t, .deploymentSucceeded, on: running)?.contains("succeeds after a failure") == true)
        #expect(try Self.refusal(t, .deploymentMarkedBad(reason: "r", by: "b"), on: running)?.contains("before it finished") == true)
    }

    @Test func beginRollbackChoosesTheTargetFromTheEventsAtThatMoment() throws {
        let t = try TestLedger()
        let older = try t.record(.success, n: 1)
        let newer = try t.record(.success, n: 2)
        let running = try t.ledger.request(
            environment: "staging", gitSHA: sha(3), gitRef: "main", services: ["api-gateway"],
            triggeredBy: "ci", mode: .run, phases: [.deploy, .rollback], checks: []
        ).id!
        #expect(try t.ledger.load(running).request?.previousStableID == newer)
        try t.ledger.execute(.completeStep(.deploy, succeeded: false, reason: "boom"), on: running)
        // The target the deployment began with is marked bad before its rollback starts.
        try t.ledger.execute(.markBad(reason: "regression", by: "oncall"), on: newer)
        let started = try t.ledger.beginRollback(running, attempt: 1)
        #expect(started.rollbackTargetID == older)
        try t.ledger.execute(.markBad(reason: "also bad", by: "oncall"), on: older)
        // Deciding again changes nothing: the rollback is started, onto what was stable then.
        #expect(try t.ledger.beginRollback(running, attempt: 1).rollbackTargetID == older)
        #expect(try t.ledger.rollbackTargetWarning(older)?.contains("marked bad by oncall") == true)
    }

    @Test func withNoStableVersionLeftTheRollbackFailsTheDeploymentSayingWhy() throws {
        let t = try TestLedger()
        let only = try t.record(.success, n: 1)
        let running = try t.ledger.request(
            environment: "staging", gitSHA: sha(2), gitRef: "main", services: ["api-gateway"],
            triggeredBy: "ci", mode: .run, phases: [.deploy, .rollback], checks: []
        ).id!
        try t.ledger.execute(.completeStep(.deploy, succeeded: false, reason: "boom"), on: running)
        try t.ledger.execute(.markBad(reason: "regression", by: "oncall"), on: only)
        let state = try t.ledger.beginRollback(running, attempt: 1)
        #expect(state.status == .failed)
        #expect(state.failureReason?.contains("no stable version of staging to roll back to (\(only)") == true, "\(String(describing: state.failureReason))")
        #expect(state.steps[.rollback] == nil)
    }
}
