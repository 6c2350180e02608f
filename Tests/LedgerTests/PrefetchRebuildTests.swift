import EventStore
import Foundation
import Ledger
import Testing

/// A rebuild decodes on a second thread once the ledger is long enough; with the threshold
/// lowered, small random ledgers take that path and must rebuild to the same tables.
@Suite("Rebuild on two threads")
struct PrefetchRebuildTests {
    @Test(arguments: (0..<12).map { RebuildPropertyTests.baseSeed &+ 1_000 &+ UInt64($0) })
    func aRebuildReadOnASecondThreadGivesWhatIncrementalMaintenanceGave(seed: UInt64) throws {
        var world = try RandomLedger(seed: seed)
        try world.play()
        let t = world.t
        // Every table but the read position, which trails the head when an integration's event came last.
        let keep: (String) -> Bool = { !$0.hasPrefix("projection_state") }
        let incremental = try dumpProjections(t.store).filter(keep)
        t.store.prefetchThreshold = 0
        #expect(try t.ledger.rebuild() == (try t.store.head()).position)
        #expect(try dumpProjections(t.store).filter(keep) == incremental, "seed \(seed)")
        #expect(try dumpProjections(t.store).last == "projection_state: 'all'|\(try t.store.head().position)")
    }

    @Test func anUndecodableEventFailsTheRebuildAndLeavesTheProjections() throws {
        var world = try RandomLedger(seed: RebuildPropertyTests.baseSeed)
        try world.play()
        let t = world.t
        let before = try dumpProjections(t.store)
        try t.store.append([NewEvent(type: "DeploymentSucceeded", data: #"{"status":"success"}"#)], to: "deployment-x", expected: .any)
        try t.store.append([NewEvent(type: "ServiceDeployed", data: #"{"service":42}"#)], to: "deployment-x", expected: .any)
        t.store.prefetchThreshold = 0
        #expect(throws: EventDecodingError.self) { try t.ledger.rebuild() }
        #expect(try dumpProjections(t.store) == before, "a failed rebuild must roll back")
    }
}
