import EventStore
import Foundation
import ShiplogFiles
import ShiplogMigrations

/// Importing events as another ledger recorded them, checked against the chain.
extension SQLiteEventStore {
    // MARK: Importing

    /// Loads events exactly as another ledger recorded them (positions, times and hashes kept),
    /// checking each against the chain first. Only appends right after the current head.
    public func importRecorded(_ events: [RecordedEvent], within project: ([RecordedEvent]) throws -> Void = { _ in }) throws {
        try database.inTransaction {
            let (recorded, _) = try AppendRules.importing(events, after: try currentHead(), hasher: hasher, backend: self)
            try project(recorded)
        }
    }
}
