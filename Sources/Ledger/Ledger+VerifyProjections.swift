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

    public var description: String {
        let row = "\(table) row \(key)=\(Identifier.quoted(value))"
        guard let column else {
            return stored == nil ? "\(row) is missing from the table, but the events produce it"
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
    /// is how an edit is found. The replay runs into private temporary copies of the tables on
    /// this connection (which may be read-only), through the same code that maintains them.
    public func verifyProjections(progress: ((Int64) -> Void)? = nil) throws -> ProjectionDifference? {
        let db = store.database
        let names = ProjectionTables.compared.map(\.table) + ["projection_state"]
        defer {
            for name in names { try? db.execute("DROP TABLE IF EXISTS temp.replay_\(name)") }
        }
        try db.inReadTransaction {
            for name in names {
                let ddl: String = try db.withStatement("SELECT sql FROM main.sqlite_master WHERE type = 'table' AND name = ?") { s in
                    s.bind(1, name)
                    guard try s.step() else { throw LedgerError.invalid("the ledger has no \(name) table; run `shiplog rebuild` with a current shiplog") }
                    return s.string(0)
                }
                let prefix = "CREATE TABLE \(name)"
                guard ddl.hasPrefix(prefix) else { throw LedgerError.invalid("the \(name) table was altered: its definition no longer starts \(prefix)") }
                try db.execute("DROP TABLE IF EXISTS temp.replay_\(name)")
                try db.execute("CREATE TEMP TABLE replay_\(name)" + ddl.dropFirst(prefix.count))
            }
            try db.execute("INSERT INTO temp.replay_projection_state (name, position) VALUES ('all', 0)")
            _ = try Projector.replay(store: store, into: .replay, progress: progress)
        }
        for (table, key) in ProjectionTables.compared {
            if let difference = try firstDifference(table: table, key: key) { return difference }
        }
        return nil
    }

    private func firstDifference(table: String, key: String) throws -> ProjectionDifference? {
        let db = store.database
        let differing: String? = try db.withStatement("""
            SELECT min(k) FROM (
                SELECT \(key) AS k FROM (SELECT * FROM main.\(table) EXCEPT SELECT * FROM temp.replay_\(table))
                UNION ALL
                SELECT \(key) AS k FROM (SELECT * FROM temp.replay_\(table) EXCEPT SELECT * FROM main.\(table)))
            """) { s in
            try s.step()
            return s.optionalString(0)
        }
        guard let value = differing else { return nil }
        func row(_ qualifiedTable: String) throws -> [(String, String?)]? {
            try db.withStatement("SELECT * FROM \(qualifiedTable) WHERE \(key) = ?") { s in
                s.bind(1, value)
                guard try s.step() else { return nil }
                return (0..<s.columnCount).map { (s.columnName($0), s.optionalString($0)) }
            }
        }
        let stored = try row("main.\(table)"), replayRow = try row("temp.replay_\(table)")
        var difference = ProjectionDifference(table: table, key: key, value: value)
        guard let stored, let replayRow else {
            difference.stored = stored == nil ? nil : "present"
            return difference
        }
        for ((name, a), (_, b)) in zip(stored, replayRow) where a != b {
            difference.column = name
            difference.stored = a.map(Identifier.quoted)
            difference.replayed = b.map(Identifier.quoted)
            break
        }
        return difference
    }
}
