import SQLiteStore
import EventStore
import Foundation
import ShiplogTestSupport
import Testing

/// A ledger path in a fresh temporary directory; nothing exists until a store or `shiplog` creates it.
final class TestLedger {
    let directory: TemporaryDirectory
    let path: String

    init(name: String = "ledger.db") throws {
        directory = try TemporaryDirectory()
        path = directory.file(name)
    }

    func open(_ mode: SQLiteEventStore.OpenMode = .createOrUpgrade) throws -> SQLiteEventStore {
        try SQLiteEventStore(path: path, mode: mode)
    }

    /// Runs `shiplog` with `--db` pointing at this ledger appended to `args`.
    func shiplog(_ args: [String]) -> ProcessOutput {
        runShiplog(args + ["--db", path])
    }

    /// Runs SQL through the sqlite3 shell, requiring it to succeed.
    @discardableResult
    func sql(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let result = sqlite3(path, text)
        try #require(result.status == 0, "sqlite3 failed: \(result.stderr)", sourceLocation: sourceLocation)
        return result.stdout
    }
}

/// A small event whose data names `n`, so every event's bytes differ.
func event(_ n: Int, type: String = "Tested", id: String = UUIDv7.make(), metadata: String = "{}") -> NewEvent {
    NewEvent(id: id, type: type, data: "{\"n\":\(n)}", metadata: metadata)
}

/// Every event of the ledger, in position order.
func allEvents(_ store: some EventStore, pageSize: Int = 1_000) throws -> [RecordedEvent] {
    var pages = store.readAll(from: 1, pageSize: pageSize)
    var events: [RecordedEvent] = []
    while let next = try pages.next() { events.append(next) }
    return events
}

/// The error `body` throws, as an `EventStoreError`; records an issue when it throws nothing or something else.
func storeError(sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) -> EventStoreError? {
    #expect(throws: EventStoreError.self, sourceLocation: sourceLocation) { try body() }
}
