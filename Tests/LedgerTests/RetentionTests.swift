import EventStore
import Foundation
import Ledger
import Testing

/// Retention: an artifact stored at T with N days expires at exactly T + N × 86 400 s, to the
/// millisecond. At that instant it is `expired` (and prunable); one millisecond before, it is not.
/// It is `expiring_soon` within the last 30 days before expiry (the window's far end included).
@Suite("Artifact retention and prune")
struct RetentionTests {
    /// A ledger with one deployment and an artifact stored at a time with a millisecond part.
    func stored(
        retentionDays: Int = 365, bytes: [UInt8] = Array("migration log\n".utf8), name: String = "migration-logs-x"
    )
        throws -> (TestLedger, String, Date, Artifact)
    {
        let t = try TestLedger(clock: TestClock(Date(timeIntervalSince1970: 1_732_012_200.123)))
        let id = try t.record(.success, n: 1)
        let storedAt = t.clock.now
        let artifact = try t.ledger.storeArtifact(
            name: name, phase: "migrate", bytes: bytes, deploymentID: id,
            retentionDays: retentionDays, in: t.artifacts)
        return (t, id, storedAt, artifact)
    }

    func state(_ t: TestLedger, _ name: String, at now: Date) throws -> ArtifactRecord.State? {
        try t.queries.artifacts(now: now).first { $0.name == name }?.state
    }

    @Test func expiryIsExactlyTheRetentionPeriodAfterStoring() throws {
        let (t, _, storedAt, artifact) = try stored()
        let expiry = storedAt.addingTimeInterval(365 * day)
        let record = try #require(try t.queries.artifacts(now: storedAt).first)
        #expect(record.storedAt == ts(storedAt))
        #expect(record.storedAt.hasSuffix(".123Z"))
        #expect(record.expiresAt == ts(expiry))
        #expect(record.retentionDays == 365)
        #expect(record.sha256 == artifact.sha256)

        #expect(try state(t, artifact.name, at: storedAt) == .retained)
        #expect(try state(t, artifact.name, at: storedAt.addingTimeInterval(335 * day - 0.001)) == .retained)
        #expect(try state(t, artifact.name, at: storedAt.addingTimeInterval(335 * day)) == .expiringSoon)
        #expect(try state(t, artifact.name, at: storedAt.addingTimeInterval(364 * day)) == .expiringSoon)
        #expect(try state(t, artifact.name, at: expiry.addingTimeInterval(-0.001)) == .expiringSoon)
        #expect(try state(t, artifact.name, at: expiry) == .expired)
        #expect(try state(t, artifact.name, at: storedAt.addingTimeInterval(366 * day)) == .expired)
    }

    @Test func pruneTakesAnArtifactExactlyAtItsExpiryAndNotAMillisecondBefore() throws {
        let (t, _, storedAt, artifact) = try stored()
        let expiry = storedAt.addingTimeInterval(365 * day)
        let file = t.artifacts.path(for: artifact.sha256)
        #expect(try t.ledger.prune(now: expiry.addingTimeInterval(-0.001), dryRun: false, in: t.artifacts).isEmpty)
        #expect(FileManager.default.fileExists(atPath: file))
        #expect(try t.queries.artifacts(expiredOnly: true, now: expiry).map(\.name) == [artifact.name])
        #expect(try t.queries.artifacts(expiringWithinDays: 1, now: expiry.addingTimeInterval(-0.001)).map(\.name) == [artifact.name])
        #expect(try t.queries.artifacts(expiringWithinDays: 1, now: expiry).isEmpty)

        let dryRun = try t.ledger.prune(now: expiry, dryRun: true, in: t.artifacts)
        #expect(dryRun.map(\.name) == [artifact.name])
        #expect(FileManager.default.fileExists(atPath: file), "a dry run deletes nothing")
        #expect(try state(t, artifact.name, at: expiry) == .expired)
    }

    @Test func pruneDeletesExpiredFilesRecordsItAndKeepsTheEvents() throws {
        let (t, id, storedAt, artifact) = try stored()
        let file = t.artifacts.path(for: artifact.sha256)
        #expect(FileManager.default.contents(atPath: file) == Data("migration log\n".utf8))
        let eventsBefore = try t.events()

        t.clock.now = storedAt.addingTimeInterval(366 * day)
        let pruned = try t.ledger.prune(now: t.clock.now, dryRun: false, in: t.artifacts)
        #expect(pruned.map(\.name) == [artifact.name])
        #expect(!FileManager.default.fileExists(atPath: file))

        let eventsAfter = try t.events()
        #expect(Array(eventsAfter.prefix(eventsBefore.count)) == eventsBefore, "no event is deleted or changed")
        let last = try #require(eventsAfter.last)
        #expect(last.stream == "artifact-\(artifact.name)")
        #expect(try DeploymentEvent.decode(last) == .artifactPruned(name: artifact.name, sha256: artifact.sha256, deploymentID: id))
        #expect(try t.ledger.load(id).artifacts[artifact.name] == artifact, "the deployment still names its artifact")
        #expect(try state(t, artifact.name, at: t.clock.now) == .pruned)
        #expect(try t.queries.artifacts(now: t.clock.now).first?.prunedAt == ts(t.clock.now))

        // Pruning again finds nothing more to do.
        #expect(try t.ledger.prune(now: t.clock.now.addingTimeInterval(day), dryRun: false, in: t.artifacts).isEmpty)
        #expect(try t.events().count == eventsAfter.count)
    }

    @Test func aFileStillNamedByAnUnexpiredArtifactIsKept() throws {
        let bytes = Array("same bytes\n".utf8)
        let (t, id, storedAt, short) = try stored(retentionDays: 7, bytes: bytes, name: "short.log")
        let long = try t.ledger.storeArtifact(
            name: "long.log", phase: "deploy", bytes: bytes, deploymentID: id,
            retentionDays: 365, in: t.artifacts)
        #expect(long.sha256 == short.sha256)
        let file = t.artifacts.path(for: short.sha256)

        t.clock.now = storedAt.addingTimeInterval(8 * day)
        let pruned = try t.ledger.prune(now: t.clock.now, dryRun: false, in: t.artifacts)
        #expect(pruned.map(\.name) == ["short.log"])
        #expect(FileManager.default.fileExists(atPath: file), "long.log still needs the content")
        #expect(try state(t, "short.log", at: t.clock.now) == .pruned)
        #expect(try state(t, "long.log", at: t.clock.now) == .retained)

        t.clock.now = storedAt.addingTimeInterval(366 * day)
        #expect(try t.ledger.prune(now: t.clock.now, dryRun: false, in: t.artifacts).map(\.name) == ["long.log"])
        #expect(!FileManager.default.fileExists(atPath: file))
    }

    @Test(arguments: ["../escape.log", "logs/build.log", "..", "a..b", "/etc/passwd", ".hidden", "", "back\\slash", "tab\there"])
    func namesThatCouldEscapeTheStoreAreRefused(name: String) throws {
        let t = try TestLedger()
        let id = try t.record(.success, n: 1)
        let before = try t.store.head()
        #expect(throws: LedgerError.self) {
            try t.ledger.storeArtifact(name: name, phase: "deploy", bytes: [1, 2, 3], deploymentID: id, in: t.artifacts)
        }
        #expect(try t.store.head() == before, "nothing is recorded for a refused name")
    }

    @Test func artifactsAreImmutableAndNamesAreUniqueInTheLedger() throws {
        let (t, id, _, artifact) = try stored()
        // The same bytes under the same name: nothing new.
        let head = try t.store.head()
        try t.ledger.storeArtifact(name: artifact.name, phase: "migrate", bytes: Array("migration log\n".utf8), deploymentID: id, in: t.artifacts)
        #expect(try t.store.head() == head)
        // Other bytes under the same name: refused.
        #expect(throws: LedgerError.self) {
            try t.ledger.storeArtifact(name: artifact.name, phase: "migrate", bytes: Array("other\n".utf8), deploymentID: id, in: t.artifacts)
        }
        // The same name for another deployment: refused, so one name always means one file.
        let other = try t.record(.success, n: 2)
        #expect(throws: LedgerError.self) {
            try t.ledger.storeArtifact(name: artifact.name, phase: "migrate", bytes: Array("migration log\n".utf8), deploymentID: other, in: t.artifacts)
        }
        #expect(try t.queries.artifacts(now: t.clock.now).map(\.deploymentID) == [id])
        #expect(throws: LedgerError.self) {
            try t.ledger.storeArtifact(name: "x.log", phase: "deploy", bytes: [1], deploymentID: id, retentionDays: 0, in: t.artifacts)
        }
    }
}
