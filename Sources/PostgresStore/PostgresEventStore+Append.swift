import EventStore
import Foundation
import PostgresClient

/// Appending and importing: the head row locked `FOR UPDATE` serializes appenders, and
/// `AppendRules` decides everything else, exactly as on SQLite.
extension PostgresEventStore: AppendBackend {
    @discardableResult
    public func append(_ batches: [StreamAppend], within project: ([RecordedEvent]) throws -> Void) throws -> [AppendResult] {
        let batches = try AppendRules.prepare(batches)
        return try pg {
            try connection.inTransaction {
                let head = try lockedHead()
                // The time is taken once the head is held: positions and times run forward together.
                let now = Timestamp.format(clock())
                let (results, recorded, newHead) = try AppendRules.append(batches, after: head, now: now, hasher: hasher, backend: self)
                if !recorded.isEmpty {
                    try moveHead(to: newHead)
                    try project(recorded)
                }
                return results
            }
        }
    }

    public func importRecorded(_ events: [RecordedEvent], within project: ([RecordedEvent]) throws -> Void) throws {
        try pg {
            try connection.inTransaction {
                let (recorded, head) = try AppendRules.importing(events, after: try lockedHead(), hasher: hasher, backend: self)
                if !recorded.isEmpty { try moveHead(to: head) }
                try project(recorded)
            }
        }
    }

    /// The head, locked until the transaction ends: the one place appenders queue.
    func lockedHead() throws -> Head {
        let r = try connection.query("SELECT position, hash FROM ledger_head FOR UPDATE")
        guard r.rowCount == 1 else { throw EventStoreError.notInitialized(path: location) }
        return Head(position: try r.int64(0, 0) ?? 0, hash: r.string(0, 1) ?? HashChain.genesisHex)
    }

    func moveHead(to head: Head) throws {
        try connection.query("UPDATE ledger_head SET position = $1, hash = $2", [String(head.position), head.hash])
    }

    // MARK: AppendBackend

    public func streamVersion(_ stream: String) throws -> Int64? {
        try connection.query("SELECT max(version) FROM events WHERE stream = $1", [stream]).int64(0, 0)
    }

    public func whereRecorded(eventID: String) throws -> (position: Int64, stream: String, version: Int64)? {
        let r = try connection.query("SELECT position, stream, version FROM events WHERE event_id = $1", [eventID])
        guard r.rowCount == 1 else { return nil }
        return (try r.int64(0, 0) ?? 0, r.string(0, 1) ?? "", try r.int64(0, 2) ?? 0)
    }

    public func insert(_ event: RecordedEvent) throws {
        do {
            try connection.query(
                """
                INSERT INTO events (position, event_id, stream, version, type, schema, data, metadata, recorded_at, hash)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                """,
                [
                    String(event.position), event.eventID, event.stream, String(event.version), event.type, String(event.schema),
                    event.data, event.metadata, event.recordedAt, event.hash,
                ])
        } catch let error as PostgresError {
            switch error.kind {
            case .uniqueViolation(let constraint) where constraint.contains("event_id"):
                throw EventStoreError.idempotencyConflict(stream: event.stream, detail: "event id \(event.eventID) is already recorded elsewhere in the ledger")
            case .checkViolation, .uniqueViolation:
                throw EventStoreError.invalidEvent("event \(event.eventID) (\(event.type)) was refused by the ledger: \(error.message) (data and metadata must be JSON objects)")
            case .other where error.sqlState == "22P02" || error.sqlState?.hasPrefix("22") == true:
                throw EventStoreError.invalidEvent("event \(event.eventID) (\(event.type)) was refused by the ledger: \(error.message) (data and metadata must be JSON objects)")
            default:
                throw error
            }
        }
    }
}
