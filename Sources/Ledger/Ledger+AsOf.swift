import EventStore
import Foundation

extension Ledger {
    /// The ledger as it stood at `position`: events up to it replayed (and their chain
    /// re-verified) into a private in-memory ledger whose projections answer every query.
    public func asOf(position: Int64) throws -> Ledger {
        let past = try scratch(clock)
        var batch: [RecordedEvent] = []
        batch.reserveCapacity(1_000)
        try store.forEachEvent(from: 1, through: position) { event in
            batch.append(event)
            if batch.count == 1_000 {
                try past.replay(batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        if !batch.isEmpty { try past.replay(batch) }
        return past
    }

    /// The ledger as it stood at `time` (events recorded at or before it).
    public func asOf(time: Date) throws -> Ledger {
        try asOf(position: Queries(ledger: self).position(atOrBefore: time))
    }
}
