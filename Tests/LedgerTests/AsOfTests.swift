import SQLiteStore
import EventStore
import Foundation
import Ledger
import Testing

@Suite("As of an earlier position or time")
struct AsOfTests {
    @Test func asOfPositionAnswersLastStableAndHistoryAsTheyWere() throws {
        let t = try TestLedger()
        let a = try t.record(.success, n: 1)
        let afterA = try t.store.head().position
        let timeA = t.clock.now
        let b = try t.record(.success, n: 2)
        let afterB = try t.store.head().position
        let timeB = t.clock.now
        t.clock.advance(60)
        try t.ledger.execute(.markBad(reason: "broke checkout", by: "oncall"), on: b)
        let afterMark = try t.store.head().position
        let c = try t.record(.failed, n: 3)
        let beforeD = try t.store.head().position
        // A deployment still running at the end.
        t.clock.advance(60)
        let d = try #require(
            try t.ledger.request(
                environment: "staging", gitSHA: sha(4), gitRef: "refs/heads/main", services: ["api"],
                triggeredBy: "ci", mode: .record
            ).id)
        let requestD = beforeD + 1  // its DeploymentRequested; the environment lock follows in the same append
        #expect(try t.store.head().position == beforeD + 2)

        let expectations: [(Int64, String?, [String])] = [
            (0, nil, []),
            (1, nil, [a]),  // requested, not finished
            (afterA, a, [a]),
            (afterB, b, [a, b]),
            (afterMark, a, [a, b]),
            (beforeD, a, [a, b, c]),
            (requestD, a, [a, b, c, d]),
        ]
        for (position, stable, ids) in expectations {
            let past = try t.ledger.asOf(position: position)
            let queries = Queries(ledger: past)
            #expect(try past.lastStableRecord(environment: "staging")?.deploymentID == stable, "at \(position)")
            #expect(try history(queries, environment: "staging").map(\.deploymentID) == ids, "at \(position)")
            #expect(try past.store.head().position == position)
        }

        // The past knows the statuses of the past.
        // Position afterA - 2 is a's last ServiceDeployed: deployed, not yet finished.
        let atA = Queries(ledger: try t.ledger.asOf(position: afterA - 2))
        #expect(try atA.record(a)?.status == "running")
        #expect(try atA.record(a)?.servicesDeployed == #"["api-gateway","auth-service","education-service","marketplace-service"]"#)
        #expect(try Queries(ledger: try t.ledger.asOf(position: afterB)).record(b)?.markedBadReason == nil)
        #expect(try Queries(ledger: try t.ledger.asOf(position: afterMark)).record(b)?.markedBadReason == "broke checkout")
        #expect(try Queries(ledger: try t.ledger.asOf(position: beforeD + 2)).activeDeployments().map(\.deploymentID) == [d])
        #expect(try Queries(ledger: try t.ledger.asOf(position: beforeD)).activeDeployments().isEmpty)

        // asOf(time:) takes every event recorded at or before the instant.
        #expect(try t.ledger.asOf(time: timeA).lastStableRecord(environment: "staging")?.deploymentID == a)
        #expect(try t.ledger.asOf(time: timeA).store.head().position == afterA)
        #expect(try t.ledger.asOf(time: timeB).store.head().position == afterB)
        #expect(try t.ledger.asOf(time: timeB.addingTimeInterval(-0.001)).store.head().position < afterB)
        #expect(try t.ledger.asOf(time: TestClock.start.addingTimeInterval(-1)).store.head().position == 0)
        #expect(try t.ledger.asOf(time: t.clock.now.addingTimeInterval(day)).store.head() == t.store.head())

        // The ledger itself is untouched by looking at its past.
        #expect(try history(t.queries).count == 4)
    }

    @Test func thePastOfALedgerHasTheSameProjectionsAsALedgerThatStoppedThere() throws {
        let t = try TestLedger()
        try t.record(.success, n: 1)
        try t.record(.rolledBack, n: 2)
        let position = try t.store.head().position
        let snapshot = try dumpProjections(t.store)
        try t.record(.markedBad, n: 3)
        try t.record(.abandoned, n: 4)
        #expect(try dumpProjections(try #require(try t.ledger.asOf(position: position).store as? SQLiteEventStore)) == snapshot)
    }
}
