@testable import EventStore
import Foundation
import SQLiteStore
import SeededRandom
import Testing

@testable import Ledger

/// A rebuild in two halves at once (the second on its own connection and thread) leaves the
/// tables exactly as one pass in order leaves them, wherever the seam falls, and fails as one
/// pass fails.
@Suite("Rebuild in two halves")
struct RebuildInHalvesTests {
    /// Random ledgers, cut at many seams: through a deployment, between a store and its prune,
    /// between an environment's lock and its release, before a late mark-bad.
    @Test(arguments: RebuildPropertyTests.seeds.prefix(10))
    func everySeamGivesWhatOnePassGives(seed: UInt64) throws {
        var world = try RandomLedger(seed: seed)
        try world.play()
        try world.storeOneNameTwice()
        let t = world.t
        let head = try t.store.head().position
        let expected = try onePass(t)
        var rng = SeededRNG(seed: seed)
        let seams = Set((0..<20).map { _ in Int64.random(in: 1..<head, using: &rng) } + [1, head / 2, head - 1]).sorted()
        for seam in seams {
            t.ledger.replaySplit = .after(seam)
            #expect(try t.ledger.rebuild() == head, "seed \(seed), seam \(seam)")
            let rebuilt = try dumpProjections(t.store)
            #expect(rebuilt == expected, "seed \(seed), seam \(seam): first difference \(String(describing: zip(expected, rebuilt).first { $0 != $1 }))")
            // The other extreme: the second half's rows all land before the first half's.
            let replayed = try t.store.inTransaction {
                try Projector.replay(events: t.store, into: t.ledger.projections, split: .after(seam), secondHalfFirst: true)
            }
            #expect(replayed == head)
            let reversed = try dumpProjections(t.store)
            #expect(reversed == expected, "seed \(seed), seam \(seam), second half first: \(String(describing: zip(expected, reversed).first { $0 != $1 }))")
        }
    }

    /// With room for a single held prune, the second half waits for the first to end before it
    /// hands over the next one, and the tables are still the same.
    @Test func aSecondHalfWithMorePrunesThanItMayHoldWaitsForTheFirst() throws {
        let t = try ledgerWithManyPrunes()
        let head = try t.store.head().position
        let expected = try onePass(t)
        let prunes = try t.events().filter { $0.type == "ArtifactPruned" }.map(\.position)
        let seam = try #require(prunes.first) - 1
        #expect(prunes.count >= 4)
        for secondHalfFirst in [false, true] {
            let replayed = try t.store.inTransaction {
                try Projector.replay(events: t.store, into: t.ledger.projections, split: .after(seam), maxHeldPrunes: 1, secondHalfFirst: secondHalfFirst)
            }
            #expect(replayed == head)
            #expect(try dumpProjections(t.store) == expected)
        }
    }

    /// A payload the domain cannot read in the second half fails the rebuild with the error one
    /// pass gives, and the transaction leaves tables and indexes as they were.
    @Test func aBadPayloadInTheSecondHalfFailsAsOnePassFails() throws {
        let (t, _) = try played(RebuildPropertyTests.baseSeed)
        let bad = try appendBadPayload(t)
        let schema = try dumpSchema(t.store)
        let tables = try dumpProjections(t.store)
        t.ledger.replaySplit = .never
        let alone = try #require(try rebuildError(t))
        t.ledger.replaySplit = .after(bad / 2)
        let halves = try #require(try rebuildError(t))
        #expect(halves == alone)
        #expect(halves.contains("\(bad)"), "the error names the position: \(halves)")
        #expect(try dumpSchema(t.store) == schema)
        #expect(try dumpProjections(t.store) == tables)
    }

    /// The second part runs on a thread with a smaller stack than the main one: a payload nested
    /// as deeply as the reader allows, written below the ledger's checks, replays there as in one
    /// pass (the deepest one the reader refuses fails both the same way).
    @Test(arguments: [JSONParser.maxDepth - 2, JSONParser.maxDepth + 1])
    func aDeeplyNestedPayloadInTheSecondHalfReplaysAsInOnePass(depth: Int) throws {
        let (t, _) = try played(RebuildPropertyTests.baseSeed &+ 9)
        let id = try #require(try history(t.queries).last?.deploymentID)
        let nested = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        try t.store.append(
            [NewEvent(type: "ServiceDeployed", data: #"{"service":"api-gateway","extra":\#(nested)}"#)], to: Ledger.stream(deployment: id), expected: .any)
        let head = try t.store.head().position
        t.ledger.replaySplit = .never
        let alone = try rebuildError(t)
        let expected = try dumpProjections(t.store)
        t.ledger.replaySplit = .after(head / 2)
        #expect(try rebuildError(t) == alone)
        #expect(try dumpProjections(t.store) == expected)
        if depth < JSONParser.maxDepth { #expect(alone == nil, "\(alone ?? "")") } else { #expect(alone != nil) }
    }

    /// With bad payloads in both halves, the first half's is the one reported (one pass meets it
    /// first), and the second half, stopped while it waits to hand over a prune, ends too.
    @Test func aBadPayloadInBothHalvesReportsTheFirst() throws {
        let t = try ledgerWithManyPrunes()
        let early = try appendBadPayload(t)
        let prunesAfter = try addPrunedDeployments(to: t)
        _ = try appendBadPayload(t)
        #expect(prunesAfter >= 4)
        let tables = try dumpProjections(t.store)
        t.ledger.replaySplit = .never
        let alone = try #require(try rebuildError(t))
        #expect(alone.contains("\(early)"))
        let halves = try #require(
            try rebuildError(t) {
                try t.store.inTransaction {
                    _ = try Projector.replay(events: t.store, into: t.ledger.projections, split: .after(early + 1), maxHeldPrunes: 1)
                }
            })
        #expect(halves == alone)
        #expect(try dumpProjections(t.store) == tables)
    }

    /// A second connection that cannot be opened is no error: the calling thread replays the
    /// rest itself, and the tables are the same.
    @Test func aSecondConnectionThatCannotOpenLeavesOnePass() throws {
        let (t, head) = try played(RebuildPropertyTests.baseSeed &+ 7)
        let expected = try onePass(t)
        var reports: [Int64] = []
        let replayed = try t.store.inTransaction {
            try Projector.replay(
                events: t.store, into: t.ledger.projections, split: .after(head / 2),
                reader: { throw EventStoreError.notInitialized(path: "no second connection") }, progress: { reports.append($0) })
        }
        #expect(replayed == head)
        #expect(reports.last == head)
        #expect(try dumpProjections(t.store) == expected)
    }

    /// `verify --projections` replays in halves too, and still finds an edited row.
    @Test func verifyingProjectionsInHalvesFindsAnEdit() throws {
        let (t, head) = try played(RebuildPropertyTests.baseSeed &+ 3)
        t.ledger.replaySplit = .after(head / 3)
        #expect(try t.ledger.verifyProjections() == nil)
        let victim = try #require(try history(t.queries).last)
        try t.store.database.execute("UPDATE deployments SET git_ref = 'refs/heads/forged' WHERE deployment_id = '\(victim.deploymentID)'")
        let difference = try #require(try t.ledger.verifyProjections())
        #expect(difference.description.contains(victim.deploymentID))
    }

    /// The last progress report is the number of events replayed, both halves counted.
    @Test func progressCountsBothHalves() throws {
        let (t, head) = try played(RebuildPropertyTests.baseSeed &+ 5)
        t.ledger.replaySplit = .after(head / 2)
        var reports: [Int64] = []
        #expect(try t.ledger.rebuild(progress: { reports.append($0) }) == head)
        #expect(reports.last == head)
        #expect(reports == reports.sorted())
    }

    /// Seams outside the ledger, and the automatic split on a short ledger, make one pass.
    @Test func seamsOutsideTheLedgerMakeOnePass() {
        #expect(ReplaySplit.after(0).seam(last: 100) == nil)
        #expect(ReplaySplit.after(100).seam(last: 100) == nil)
        #expect(ReplaySplit.after(99).seam(last: 100) == 99)
        #expect(ReplaySplit.never.seam(last: 1_000_000) == nil)
        #expect(ReplaySplit.automatic.seam(last: ReplaySplit.automaticThreshold - 1) == nil)
        if ProcessInfo.processInfo.activeProcessorCount > 1 {
            let seam = ReplaySplit.automatic.seam(last: 1_000_000)
            #expect(seam.map { $0 > 0 && $0 < 1_000_000 } == true)
        }
    }

    // MARK: Helpers

    /// A random ledger played through, and its head.
    func played(_ seed: UInt64) throws -> (t: TestLedger, head: Int64) {
        var world = try RandomLedger(seed: seed)
        try world.play()
        return (world.t, try world.t.store.head().position)
    }

    /// The tables after a rebuild in one pass.
    func onePass(_ t: TestLedger) throws -> [String] {
        t.ledger.replaySplit = .never
        try t.ledger.rebuild()
        return try dumpProjections(t.store)
    }

    /// An event whose payload lacks a required member, written below the ledger's checks to a
    /// deployment stream nothing else reads; returns its position.
    func appendBadPayload(_ t: TestLedger) throws -> Int64 {
        let stream = Ledger.stream(deployment: "1732010400-0000000000\(try t.store.head().position % 100)")
        let result = try t.store.append([NewEvent(type: "ServiceDeployed", data: #"{"service":1}"#)], to: stream, expected: .any)
        return result.lastPosition
    }

    /// The rebuild's error, as text (nil: it succeeded).
    func rebuildError(_ t: TestLedger, _ rebuild: (() throws -> Void)? = nil) throws -> String? {
        do {
            if let rebuild { try rebuild() } else { try t.ledger.rebuild() }
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// A ledger of deployments with short-lived artifacts, all pruned at the end.
    func ledgerWithManyPrunes() throws -> TestLedger {
        let t = try TestLedger()
        try addPrunedDeployments(to: t)
        return t
    }

    /// Adds deployments with short-lived artifacts to `t`, then prunes them; returns the prunes.
    @discardableResult
    func addPrunedDeployments(to t: TestLedger) throws -> Int {
        for n in 0..<6 {
            let id = try t.record(.success, n: n)
            _ = try t.ledger.storeArtifact(
                name: "deploy-\(id).log", phase: "deploy", bytes: Array("log \(n)\n".utf8), deploymentID: id, retentionDays: 1, in: t.artifacts)
        }
        t.clock.advance(2 * day)
        return try t.ledger.prune(now: t.clock.now, dryRun: false, in: t.artifacts).count
    }
}

extension RandomLedger {
    /// One artifact name stored by two deployments far apart, the first pruned in between:
    /// whichever half writes first, the later store's row is the one kept. The ledger refuses
    /// a name another deployment used, so the second store is written below its checks.
    mutating func storeOneNameTwice() throws {
        guard let first = deployments.first, let last = deployments.last, first != last else { return }
        _ = try t.ledger.storeArtifact(name: "shared.log", phase: "deploy", bytes: Array("one\n".utf8), deploymentID: first, retentionDays: 1, in: t.artifacts)
        let stored = try #require(try t.events().last { $0.type == "ArtifactStored" })
        t.clock.advance(2 * day)
        _ = try t.ledger.prune(now: t.clock.now, dryRun: false, in: t.artifacts)
        try t.store.append([NewEvent(type: stored.type, data: stored.data)], to: Ledger.stream(deployment: last), expected: .any)
    }
}
