import EventStore
import Foundation
import Ledger
import PostgresClient
import PostgresStore
import Runner
import SQLiteStore
import ShiplogTestSupport
import Testing

/// The two backends every suite here runs against: one parameter, the same tests.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    var testDescription: String { rawValue }
}

/// A fresh, empty ledger on one backend: a temporary SQLite file, or a new database on the
/// test cluster (tools/test starts nothing: `PostgresCluster` starts a throwaway server itself,
/// or uses `SHIPLOG_TEST_POSTGRES`).
final class BackendLedger {
    let backend: Backend
    let directory: TemporaryDirectory
    /// The `--db` value: a file path or a `postgresql://` URL.
    let location: String
    let clock: TestClock
    let store: any EventStore
    let ledger: Ledger
    let blobs: any ArtifactBlobs
    let claims: any RunnerClaims

    init(_ backend: Backend) throws {
        self.backend = backend
        directory = try TemporaryDirectory(prefix: "shiplog-backend")
        let clock = TestClock()
        self.clock = clock
        let scratch: (@escaping () -> Date) throws -> Ledger = { clock in
            Ledger(store: try SQLiteEventStore(path: ":memory:", mode: .createOrUpgrade, clock: clock), clock: clock)
        }
        switch backend {
        case .sqlite:
            location = directory.file("ledger.db")
            let store = try SQLiteEventStore(path: location, clock: { clock.now })
            self.store = store
            ledger = Ledger(store: store, clock: { clock.now })
            blobs = ArtifactStore(besideLedger: location)
            claims = FileRunnerClaims(besideLedger: location)
        case .postgres:
            location = try PostgresCluster.shared.makeDatabase()
            let store = try PostgresEventStore(url: location, clock: { clock.now })
            self.store = store
            ledger = Ledger(store: store, clock: { clock.now }, scratch: scratch)
            blobs = PostgresArtifactBlobs(store: store)
            claims = PostgresRunnerClaims(url: location)
        }
    }

    /// Runs SQL behind Shiplog's back, as someone with the database's credentials would.
    func sql(_ statement: String) throws {
        switch backend {
        case .sqlite:
            let out = sqlite3(location, statement)
            guard out.status == 0 else { throw TestFailure("sqlite3: \(out.stderr)") }
        case .postgres:
            try PGConnection(url: location).execute(statement)
        }
    }

    /// Every event, oldest first.
    func events() throws -> [RecordedEvent] {
        var out: [RecordedEvent] = []
        try store.forEachEvent(from: 1, through: .max) { out.append($0) }
        return out
    }
}

/// A clock the tests move by hand.
final class TestClock: @unchecked Sendable {
    var now = Date(timeIntervalSince1970: 1_795_000_000)
    func advance(_ seconds: Double) { now = now.addingTimeInterval(seconds) }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func sha(_ n: Int) -> String {
    String((String(format: "%016llx", UInt64(n) &* 0x9E37_79B9_7F4A_7C15 | 1) + "abcdef0123456789abcdef01").prefix(40))
}

func event(_ n: Int, type: String = "Noted") -> NewEvent {
    NewEvent(type: type, data: #"{"n":\#(n)}"#)
}
