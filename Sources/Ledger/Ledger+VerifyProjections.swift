import EventStore

/// A projection row that differs from what the events say.
public struct ProjectionDifference: Sendable, Equatable, CustomStringConvertible {
    public var table: String
    /// The row's key (`deployment_id` or `name`) and its value.
    public var key: String
    public var value: String
    /// The first column that differs; nil when the row is missing on one side.
    public var column: String?
    public var stored: String?
    public var replayed: String?

    /// The difference between a stored row and the replayed one (either may be missing): the
    /// first column that differs, or which side lacks the row.
    public init(table: String, key: String, value: String, stored: [(String, String?)]?, replayed: [(String, String?)]?) {
        self.table = table
        self.key = key
        self.value = value
        guard let stored, let replayed else {
            self.stored = stored == nil ? nil : "present"
            return
        }
        for ((name, a), (_, b)) in zip(stored, replayed) where a != b {
            column = name
            self.stored = a.map(Identifier.quoted)
            self.replayed = b.map(Identifier.quoted)
            break
        }
    }

    public var description: String {
        let row = "\(table) row \(key)=\(Identifier.quoted(value))"
        guard let column else {
            return stored == nil
                ? "\(row) is missing from the table, but the events produce it"
                : "\(row) is in the table, but the events produce no such row"
        }
        return "\(row): \(column) is \(stored ?? "NULL") in the table, but \(replayed ?? "NULL") by the events"
    }
}

extension Ledger {
    /// Proves the projection tables hold exactly what a replay of the events gives, or names
    /// the first row that differs.
    ///
    /// The tables are plain SQL a person can edit; decisions never read them unchecked, and this
    /// is how an edit is found. The replay runs into a private replica of the tables (on a
    /// read-only connection too), through the same code that maintains them.
    public func verifyProjections(progress: ((Int64) -> Void)? = nil) throws -> ProjectionDifference? {
        let replica = try projections.makeReplica()
        defer { projections.discardReplica(replica) }
        try store.inReadTransaction {
            _ = try Projector.replay(events: store, into: replica, split: replaySplit, progress: progress)
        }
        return try projections.firstDifference(from: replica)
    }
}
