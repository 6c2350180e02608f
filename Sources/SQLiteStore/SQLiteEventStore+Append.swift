import EventStore
import Foundation
import ShiplogFiles
import ShiplogMigrations

/// Appending: expected versions, idempotent retries, the hash chain, projections in the same transaction.
extension SQLiteEventStore: AppendBackend {
    // MARK: Appending

    @discardableResult
    public func append(_ batches: [StreamAppend], within project: ([RecordedEvent]) throws -> Void) throws -> [AppendResult] {
        let batches = try AppendRules.prepare(batches)
        return try database.inTransaction {
            let now = Timestamp.format(clock())
            let (results, recorded, _) = try AppendRules.append(batches, after: try currentHead(), now: now, hasher: hasher, backend: self)
            if !recorded.isEmpty { try project(recorded) }
            return results
        }
    }

    public func insert(_ event: RecordedEvent) throws {
        do {
            try database.withStatement(
                """
                INSERT INTO events (position, event_id, stream, version, type, schema, data, metadata, recorded_at, hash)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
            ) { s in
                s.bind(1, event.position)
                s.bind(2, event.eventID)
                s.bind(3, event.stream)
                s.bind(4, event.version)
                s.bind(5, event.type)
                s.bind(6, event.schema)
                s.bind(7, event.data)
                s.bind(8, event.metadata)
                s.bind(9, event.recordedAt)
                s.bind(10, event.hash)
                try s.run()
            }
        } catch EventStoreError.sqlite(_, let code, let message) where code & 0xFF == 19 /* SQLITE_CONSTRAINT */ {
            if message.contains("event_id") {
                throw EventStoreError.idempotencyConflict(stream: event.stream, detail: "event id \(event.eventID) is already recorded elsewhere in the ledger")
            }
            throw EventStoreError.invalidEvent("event \(event.eventID) (\(event.type)) was refused by the ledger: \(message) (data and metadata must be JSON objects)")
        }
    }

    public func whereRecorded(eventID: String) throws -> (position: Int64, stream: String, version: Int64)? {
        try database.withStatement("SELECT position, stream, version FROM events WHERE event_id = ?") { s in
            s.bind(1, eventID)
            return try s.step() ? (s.int64(0), s.string(1), s.int64(2)) : nil
        }
    }

    public func streamVersion(_ stream: String) throws -> Int64? {
        try database.withStatement("SELECT max(version) FROM events WHERE stream = ?") { s in
            s.bind(1, stream)
            try s.step()
            return s.optionalInt64(0)
        }
    }

    func currentHead() throws -> Head {
        try database.withStatement("SELECT position, hash FROM events ORDER BY position DESC LIMIT 1") { s in
            try s.step() ? Head(position: s.int64(0), hash: s.string(1)) : Head(position: 0, hash: HashChain.genesisHex)
        }
    }
}
