import SQLiteStore
import EventStore
import Foundation
import Ledger
import Testing

@Suite("Environment lock")
struct EnvironmentLockTests {
    @Test func aSecondRequestOnABusyEnvironmentIsRefusedNamingTheActiveDeploymentAndWritesNothing() throws {
        let t = try TestLedger()
        let first = try t.ledger.request(
            environment: "staging", gitSHA: sha(1), gitRef: "refs/heads/main", services: workflowServices,
            triggeredBy: "ci", mode: .run, phases: workflowPlan().phases, checks: workflowChecks)
        let id = try #require(first.id)
        let head = try t.store.head()
        let projections = try dumpProjections(t.store)
        t.clock.advance(60)
        do {
            _ = try t.ledger.request(
                environment: "staging", gitSHA: sha(2), gitRef: "refs/heads/main", services: workflowServices,
                triggeredBy: "ci", mode: .run)
            Issue.record("a second request on a busy environment was accepted")
        } catch LedgerError.refused(let message) {
            #expect(message.contains(id))
            #expect(message.contains("shiplog unlock"))
        }
        #expect(try t.store.head() == head)
        #expect(try dumpProjections(t.store) == projections)
        #expect(try t.queries.activeDeployments().map(\.deploymentID) == [id])
        // Another environment is free.
        let other = try t.ledger.request(
            environment: "production", gitSHA: sha(2), gitRef: "refs/heads/main", services: ["api-gateway"],
            triggeredBy: "ci", mode: .record)
        #expect(other.request?.environment == "production")
    }

    @Test func unlockAbandonsTheActiveDeploymentWithItsReasonAndFreesTheEnvironment() throws {
        let t = try TestLedger()
        let first = try t.ledger.request(
            environment: "staging", gitSHA: sha(1), gitRef: "refs/heads/main", services: workflowServices,
            triggeredBy: "ci", mode: .run, phases: workflowPlan().phases, checks: workflowChecks)
        let id = try #require(first.id)
        try t.ledger.execute(.startStep(.preflight, attempt: 1), on: id)  // the runner died mid-step
        t.clock.advance(600)
        let unlocked = try t.ledger.unlock(environment: "staging", reason: "runner host lost power", by: "alice")
        #expect(unlocked == id)

        let state = try t.ledger.load(id)
        #expect(state.status == .abandoned)
        #expect(state.failureReason == "runner host lost power")
        let tail = try t.events().suffix(2).map { try DeploymentEvent.decode($0) }
        #expect(
            tail == [
                .deploymentAbandoned(reason: "runner host lost power", by: "alice"),
                .environmentUnlocked(deploymentID: id, reason: "runner host lost power", by: "alice"),
            ])
        let record = try #require(try t.queries.record(id))
        #expect(record.status == "abandoned")
        #expect(record.failureReason == "runner host lost power")
        #expect(try t.queries.activeDeployments().isEmpty)

        #expect(throws: LedgerError.self) { try t.ledger.unlock(environment: "staging", reason: "again", by: "alice") }
        let next = try t.ledger.request(
            environment: "staging", gitSHA: sha(2), gitRef: "refs/heads/main", services: workflowServices,
            triggeredBy: "ci", mode: .run)
        #expect(next.id != id)
        // An abandoned deployment is no rollback target.
        #expect(next.request?.previousStableID == nil)
    }

    @Test func finishingReleasesTheEnvironment() throws {
        let t = try TestLedger()
        let id = try #require(
            try t.ledger.request(
                environment: "staging", gitSHA: sha(1), gitRef: "refs/heads/main", services: ["api"],
                triggeredBy: "ci", mode: .record
            ).id)
        try t.ledger.execute(.completeStep(.deploy, succeeded: true, reason: nil), on: id)
        try t.ledger.execute(.finish(.succeeded), on: id)
        #expect(try DeploymentEvent.decode(try #require(try t.events().last)) == .environmentReleased(deploymentID: id, status: "success"))
        #expect(try t.queries.activeDeployments().isEmpty)
        t.clock.advance(1)
        let next = try t.ledger.request(
            environment: "staging", gitSHA: sha(2), gitRef: "refs/heads/main", services: ["api"],
            triggeredBy: "ci", mode: .record)
        #expect(next.request?.previousStableID == id)
    }

    @Test(arguments: [false, true])
    func twoLedgersRacingForOneEnvironmentGiveExactlyOneWinner(sameSHA: Bool) throws {
        let t = try TestLedger()
        let path = t.path
        let clock = t.clock
        for round in 0..<8 {
            let environment = "env-\(round)"
            let results = Results()
            DispatchQueue.concurrentPerform(iterations: 2) { i in
                do {
                    // Each writer opens its own connection, as two processes would.
                    let store = try SQLiteEventStore(path: path, clock: { clock.now })
                    let ledger = Ledger(store: store, clock: { clock.now })
                    let state = try ledger.request(
                        environment: environment, gitSHA: sha(sameSHA ? 1 : 10 + i), gitRef: "refs/heads/main",
                        services: ["api"], triggeredBy: "writer-\(i)", mode: .record)
                    results.add(.success(state.id!))
                } catch {
                    results.add(.failure(error))
                }
            }
            let all = results.all
            let winners = all.compactMap { if case .success(let id) = $0 { id } else { nil } }
            #expect(winners.count == 1, "round \(round): \(all)")
            for case .failure(let error) in all {
                guard case LedgerError.refused(let message) = error else {
                    Issue.record("the loser failed with \(error), not a refusal")
                    continue
                }
                #expect(winners.first.map { message.contains($0) } == true, "the refusal names the winner: \(message)")
            }
            let streams = try allEvents(t.store).filter { $0.stream == "environment-\(environment)" }
            #expect(streams.count == 1)
            #expect(try Queries(ledger: t.ledger).activeDeployments(environment: environment).map(\.deploymentID) == winners)
        }
    }
}

/// Results gathered from concurrent writers.
final class Results: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Result<String, any Error>] = []
    func add(_ r: Result<String, any Error>) { lock.withLock { items.append(r) } }
    var all: [Result<String, any Error>] { lock.withLock { items } }
}
