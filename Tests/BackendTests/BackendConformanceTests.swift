import EventStore
import Foundation
import Ledger
import PostgresClient
import PostgresStore
import SQLiteStore
import ShiplogTestSupport
import Testing

/// The store's guarantees, the same on both backends.
@Suite("Both backends: the event store")
struct EventStoreConformanceTests {
    @Test(arguments: Backend.allCases)
    func appendsAreGaplessChainedAndVerify(backend: Backend) throws {
        let t = try BackendLedger(backend)
        try t.store.append([event(1), event(2)], to: "a", expected: .noStream)
        try t.store.append([event(3)], to: "b", expected: .noStream)
        try t.store.append([event(4)], to: "a", expected: .exactly(2))
        let events = try t.events()
        #expect(events.map(\.position) == [1, 2, 3, 4])
        #expect(events.map(\.version) == [1, 2, 1, 3])
        let report = try t.store.verify(expect: nil, progress: nil)
        #expect(report.isIntact)
        #expect(report.head == (try t.store.head()))
        #expect(try t.store.readStream("a", from: 2).map(\.version) == [2, 3])
        #expect(try t.store.lastEvent(of: "a")?.position == 4)
    }

    @Test(arguments: Backend.allCases)
    func aWrongExpectedVersionWritesNothing(backend: Backend) throws {
        let t = try BackendLedger(backend)
        try t.store.append([event(1)], to: "a", expected: .noStream)
        #expect(throws: EventStoreError.wrongExpectedVersion(stream: "a", expected: .exactly(5), actual: 1)) {
            try t.store.append([event(2)], to: "a", expected: .exactly(5))
        }
        #expect(throws: EventStoreError.wrongExpectedVersion(stream: "a", expected: .noStream, actual: 1)) {
            try t.store.append([
                StreamAppend(stream: "b", expected: .noStream, events: [event(3)]),
                StreamAppend(stream: "a", expected: .noStream, events: [event(4)]),
            ])
        }
        #expect(try t.store.head().position == 1, "a refused multi-stream append wrote part of itself")
    }

    @Test(arguments: Backend.allCases)
    func aRetriedAppendReturnsTheOriginalResultAndAPartialOverlapIsRefused(backend: Backend) throws {
        let t = try BackendLedger(backend)
        let batch = [event(1), event(2)]
        let first = try t.store.append(batch, to: "a", expected: .noStream)
        let again = try t.store.append(batch, to: "a", expected: .noStream)
        #expect(again.wasAlreadyCommitted && again.firstPosition == first.firstPosition && again.lastPosition == first.lastPosition)
        #expect(throws: EventStoreError.self) { try t.store.append([batch[1], event(3)], to: "a", expected: .exactly(1)) }
        #expect(try t.store.head().position == 2)
    }

    @Test(arguments: Backend.allCases)
    func aConditionOnAnotherStreamRefusesTheAppendWhenThatStreamMoved(backend: Backend) throws {
        let t = try BackendLedger(backend)
        try t.store.append([event(1)], to: "target", expected: .noStream)
        try t.store.append([
            StreamAppend(stream: "a", expected: .noStream, events: [event(2)]),
            StreamAppend(stream: "target", expected: .exactly(1), events: []),
        ])
        try t.store.append([event(3)], to: "target", expected: .exactly(1))
        #expect(throws: EventStoreError.wrongExpectedVersion(stream: "target", expected: .exactly(1), actual: 2)) {
            try t.store.append([
                StreamAppend(stream: "a", expected: .exactly(1), events: [event(4)]),
                StreamAppend(stream: "target", expected: .exactly(1), events: []),
            ])
        }
        #expect(try t.store.head().position == 3)
    }

    @Test(arguments: Backend.allCases)
    func eventsCannotBeChangedAndAnEditBehindTheTriggersBackIsFound(backend: Backend) throws {
        let t = try BackendLedger(backend)
        try t.store.append([event(1), event(2), event(3)], to: "a", expected: .noStream)
        #expect(throws: (any Error).self) { try t.sql("UPDATE events SET data = '{\"n\":9}' WHERE position = 2") }
        #expect(throws: (any Error).self) { try t.sql("DELETE FROM events WHERE position = 3") }
        if backend == .postgres {
            #expect(throws: (any Error).self) { try t.sql("TRUNCATE events") }
            try t.sql("ALTER TABLE events DISABLE TRIGGER events_are_immutable; UPDATE events SET data = '{\"n\":9}' WHERE position = 2")
        } else {
            try t.sql("DROP TRIGGER events_are_immutable; UPDATE events SET data = '{\"n\":9}' WHERE position = 2;")
        }
        let report = try t.store.verify(expect: nil, progress: nil)
        #expect(report.problem?.position == 2, "\(String(describing: report.problem))")
    }

    @Test(arguments: Backend.allCases)
    func verifyExpectCatchesARewrittenHistory(backend: Backend) throws {
        let t = try BackendLedger(backend)
        try t.store.append([event(1), event(2)], to: "a", expected: .noStream)
        let kept = try t.store.head()
        #expect(try t.store.verify(expect: kept, progress: nil).isIntact)
        #expect(try !t.store.verify(expect: Head(position: 2, hash: String(repeating: "a", count: 64)), progress: nil).isIntact)
        #expect(try !t.store.verify(expect: Head(position: 9, hash: kept.hash), progress: nil).isIntact)
    }

    @Test(arguments: Backend.allCases)
    func anExportImportsIntoTheOtherBackendByteForByte(backend: Backend) throws {
        let source = try BackendLedger(backend == .sqlite ? .postgres : .sqlite)
        _ = try source.ledger.request(environment: "staging", gitSHA: sha(1), gitRef: "main", services: ["api"], triggeredBy: "ci", mode: .record)
        try source.store.append([event(1)], to: "notes", expected: .any)
        let exported = try source.events()
        let target = try BackendLedger(backend)
        try target.ledger.importEvents(exported)
        #expect(try target.events().map(\.jsonLine) == exported.map(\.jsonLine))
        #expect(try target.store.head() == source.store.head())
        #expect(try target.store.verify(expect: source.store.head(), progress: nil).isIntact)
    }
}

/// The ledger's rules and projections, the same on both backends.
@Suite("Both backends: the ledger")
struct LedgerConformanceTests {
    /// A stable deployment, then one that failed; returns their ids.
    static func history(_ t: BackendLedger) throws -> (stable: String, failed: String) {
        let stable = try #require(
            try t.ledger.request(
                environment: "staging", gitSHA: sha(1), gitRef: "main", services: ["api"],
                triggeredBy: "ci", mode: .record
            ).id)
        t.clock.advance(5)
        try t.ledger.execute(.completeStep(.deploy, succeeded: true, reason: nil), on: stable)
        try t.ledger.execute(.finish(.succeeded), on: stable)
        t.clock.advance(60)
        let failed = try #require(
            try t.ledger.request(
                environment: "staging", gitSHA: sha(2), gitRef: "main", services: ["api"],
                triggeredBy: "ci", mode: .record
            ).id)
        t.clock.advance(5)
        try t.ledger.execute(.completeStep(.deploy, succeeded: false, reason: "exit 1"), on: failed)
        try t.ledger.execute(.finish(.failed(reason: "deploy failed")), on: failed)
        return (stable, failed)
    }

    @Test(arguments: Backend.allCases)
    func recordsLastStableAndRollbackTargetsFollowTheEvents(backend: Backend) throws {
        let t = try BackendLedger(backend)
        let (stable, failed) = try Self.history(t)
        let queries = Queries(ledger: t.ledger)
        #expect(try queries.record(stable)?.status == "success")
        #expect(try queries.record(failed)?.status == "failed")
        #expect(try t.ledger.lastStable(environment: "staging")?.deploymentID == stable)
        // An edited row changes neither the decision nor escapes verify.
        try t.sql("UPDATE deployments SET status = 'success' WHERE deployment_id = '\(failed)'")
        #expect(try t.ledger.lastStable(environment: "staging")?.deploymentID == stable)
        let next = try t.ledger.request(environment: "staging", gitSHA: sha(3), gitRef: "main", services: ["api"], triggeredBy: "ci", mode: .record)
        #expect(next.request?.previousStableID == stable)
        let difference = try #require(try t.ledger.verifyProjections())
        #expect(difference.value == failed && difference.column == "status", "\(difference)")
        try t.ledger.rebuild()
        #expect(try t.ledger.verifyProjections() == nil)
    }

    /// Rows may be written out of position order (a replay in two halves): a row from an earlier
    /// event never replaces one from a later event, and a prune touches only a row stored before it.
    @Test(arguments: Backend.allCases)
    func aRowFromAnEarlierEventNeverReplacesOneFromALaterEvent(backend: Backend) throws {
        let t = try BackendLedger(backend)
        let (stable, _) = try Self.history(t)
        let tables = t.ledger.projections
        let kept = try #require(try tables.record(stable))
        var older = kept
        older.status = "running"
        older.lastPosition = kept.lastPosition - 1
        var newer = kept
        newer.currentPhase = "later"
        newer.lastPosition = kept.lastPosition + 1
        let row = ArtifactRow(
            name: "deploy.log", deploymentID: stable, environment: "staging", phase: "deploy", sha256: String(repeating: "a", count: 64),
            size: 10, retentionDays: 1, storedAt: "2024-11-19T10:00:00.000Z", expiresAt: "2024-11-20T10:00:00.000Z", prunedAt: nil,
            storedPosition: 20)
        var earlierRow = row
        earlierRow.deploymentID = "someone-else"
        earlierRow.storedPosition = 15
        let artifacts = { try tables.artifacts(ArtifactFilter(deploymentID: nil)).filter { $0.name == "deploy.log" } }
        try t.store.inTransaction {
            try tables.upsert(deployment: older)
            #expect(try tables.record(stable) == kept)
            try tables.upsert(deployment: newer)
            #expect(try tables.record(stable) == newer)

            try tables.upsert(artifact: row)
            try tables.upsert(artifact: earlierRow)
            #expect(try artifacts() == [row])
            try tables.markPruned(artifact: "deploy.log", at: "2024-11-19T11:00:00.000Z", position: 18)
            #expect(try artifacts().first?.prunedAt == nil, "a prune before the store touched the later row")
            try tables.markPruned(artifact: "deploy.log", at: "2024-11-21T10:00:00.000Z", position: 21)
            #expect(try artifacts().first?.prunedAt == "2024-11-21T10:00:00.000Z")
        }
        // The replay puts back what the events say.
        try t.ledger.rebuild()
        #expect(try tables.record(stable) == kept)
        #expect(try artifacts().isEmpty)
    }

    /// A replay's range scan reads exactly the range; a second reader (where the backend has one)
    /// sees the same events.
    @Test(arguments: Backend.allCases)
    func aReplayScanReadsItsRangeAndASecondReaderTheSameEvents(backend: Backend) throws {
        let t = try BackendLedger(backend)
        for n in 0..<12 { try t.store.append([NewEvent(type: "Noted", data: #"{"n":\#(n)}"#)], to: "s-\(n % 3)", expected: .any) }
        let all = try t.events()
        func replayed(_ store: any EventStore, _ from: Int64, _ through: Int64) throws -> [String] {
            var out: [String] = []
            try store.forEachEventForReplay(from: from, through: through) { (event: RecordedEvent, data: UnsafeBufferPointer<UInt8>) in
                out.append("\(event.position) \(event.stream) \(event.version) \(event.type) \(String(decoding: data, as: UTF8.self))")
            }
            return out
        }
        let expected = all.map { "\($0.position) \($0.stream) \($0.version) \($0.type) \($0.data)" }
        #expect(try replayed(t.store, 1, .max) == expected)
        #expect(try replayed(t.store, 4, 9) == Array(expected[3...8]))
        #expect(try replayed(t.store, 13, .max).isEmpty)
        // The scan that hands over events with their data as strings reads the same.
        var asStrings: [String] = []
        try t.store.forEachEventForReplay(from: 4, through: 9) { (event: RecordedEvent) in
            asStrings.append("\(event.position) \(event.stream) \(event.version) \(event.type) \(event.data)")
        }
        #expect(asStrings == Array(expected[3...8]))
        switch backend {
        case .sqlite:
            let open = try #require(t.store.concurrentReader())
            let reader = try open()
            #expect(try replayed(reader, 5, 12) == Array(expected[4...11]))
        case .postgres:
            // A PostgreSQL ledger replays on one connection.
            #expect(t.store.concurrentReader() == nil)
        }
    }

    @Test(arguments: Backend.allCases)
    func historyStreamsEveryDeploymentAndAsOfAnswersThePast(backend: Backend) throws {
        let t = try BackendLedger(backend)
        let (stable, failed) = try Self.history(t)
        var listed: [String] = []
        try Queries(ledger: t.ledger).forEachRecord(RecordFilter(environment: "staging"), newestFirst: true) { listed.append($0.deploymentID) }
        #expect(listed == [failed, stable])
        let requestOfFailed = try t.store.readStream("deployment-\(failed)", from: 1)[0].position
        let past = try t.ledger.asOf(position: requestOfFailed - 1)
        #expect(try Queries(ledger: past).record(failed) == nil)
        #expect(try past.lastStable(environment: "staging")?.deploymentID == stable)
    }

    @Test(arguments: Backend.allCases)
    func aSecondActiveDeploymentIsRefusedNamingTheFirst(backend: Backend) throws {
        let t = try BackendLedger(backend)
        let first = try #require(try t.ledger.request(environment: "qa", gitSHA: sha(1), gitRef: "main", services: [], triggeredBy: "ci", mode: .record).id)
        do {
            _ = try t.ledger.request(environment: "qa", gitSHA: sha(2), gitRef: "main", services: [], triggeredBy: "ci", mode: .record)
            Issue.record("a second active deployment was accepted")
        } catch LedgerError.refused(let message) {
            #expect(message.contains(first))
        }
    }

    @Test(arguments: Backend.allCases)
    func artifactsRoundTripAndPruneDecidesFromTheEvents(backend: Backend) throws {
        let t = try BackendLedger(backend)
        let (stable, _) = try Self.history(t)
        let bytes = Array(String(repeating: "log line\n", count: 300_000).utf8)  // more than one 1 MiB chunk
        let artifact = try t.ledger.storeArtifact(
            name: "deploy-\(stable).log", phase: "deploy", bytes: bytes, deploymentID: stable,
            retentionDays: 1, in: t.blobs)
        var read: [UInt8] = []
        #expect(try t.blobs.read(sha256: artifact.sha256) { read += $0 })
        #expect(read == bytes)
        t.clock.advance(2 * 86_400)
        let pruned = try t.ledger.prune(now: t.clock.now, dryRun: false, in: t.blobs)
        #expect(pruned.map(\.name) == ["deploy-\(stable).log"])
        #expect(try !t.blobs.read(sha256: artifact.sha256) { _ in })
        #expect(try Queries(ledger: t.ledger).artifacts(now: t.clock.now).first?.state == .pruned)
    }

    /// The scan that hands each payload over as bytes reads the same events, the same payloads
    /// (text outside ASCII included) and the same range as the plain scan.
    @Test(arguments: Backend.allCases)
    func aScanWithPayloadBytesReadsWhatThePlainScanReads(backend: Backend) throws {
        let t = try BackendLedger(backend)
        for n in 0..<30 {
            let data = n % 3 == 0 ? #"{"n":\#(n),"note":"déployé ☃ \#(n)"}"# : #"{"n":\#(n)}"#
            try t.store.append([NewEvent(type: "Noted", data: data)], to: "s-\(n % 4)", expected: .any)
        }
        for (from, through) in [(Int64(1), Int64.max), (7, 19), (30, 30), (31, .max)] {
            var plain: [RecordedEvent] = []
            try t.store.forEachEvent(from: from, through: through) { plain.append($0) }
            var viaBytes: [RecordedEvent] = []
            try t.store.forEachEvent(from: from, through: through) { (event: RecordedEvent, data: UnsafeBufferPointer<UInt8>) in
                #expect(event.data.isEmpty)
                var whole = event
                whole.data = String(decoding: data, as: UTF8.self)
                viaBytes.append(whole)
            }
            #expect(viaBytes == plain, "\(from)...\(through)")
            #expect(plain.count == max(0, Int(min(through, 30) - from + 1)))
        }
    }

    @Test(arguments: Backend.allCases)
    func oneRunnerPerDeploymentAndTheClaimNamesItsHolder(backend: Backend) throws {
        let t = try BackendLedger(backend)
        let claim = try t.claims.claim("1795000000-abcdef123456")
        do {
            _ = try t.claims.claim("1795000000-abcdef123456")
            Issue.record("a second claim on one deployment was granted")
        } catch let refused as RunnerClaimRefused {
            #expect(refused.holder?.contains("pid \(getpid())") == true, "\(refused)")
            #expect(!refused.remote)
        }
        claim.release()
        let again = try t.claims.claim("1795000000-abcdef123456")
        again.release()
    }
}
