import EventStore
import Foundation
import PostgresClient

/// Reading: streams, pages, replays, and the chain's verification.
extension PostgresEventStore {
    static let pageSize = 2_000

    public func readStream(_ stream: String, from version: Int64) throws -> [RecordedEvent] {
        try pg {
            try Self.events(
                connection.query(
                    "SELECT \(Self.columns) FROM events WHERE stream = $1 AND version >= $2 ORDER BY version",
                    [stream, String(version)]))
        }
    }

    public func readStream(_ stream: String, below limit: StreamLimit) throws -> [RecordedEvent] {
        let (column, value): (String, Int64) =
            switch limit {
            case .version(let v): ("version", v)
            case .position(let p): ("position", p)
            }
        return try pg {
            try Self.events(
                connection.query(
                    "SELECT \(Self.columns) FROM events WHERE stream = $1 AND \(column) < $2 ORDER BY version",
                    [stream, String(value)]))
        }
    }

    public func lastEvent(of stream: String) throws -> RecordedEvent? {
        try pg {
            try Self.events(connection.query("SELECT \(Self.columns) FROM events WHERE stream = $1 ORDER BY version DESC LIMIT 1", [stream])).first
        }
    }

    public func lastEvent(of stream: String, belowVersion version: Int64) throws -> RecordedEvent? {
        try pg {
            try Self.events(
                connection.query(
                    "SELECT \(Self.columns) FROM events WHERE stream = $1 AND version < $2 ORDER BY version DESC LIMIT 1",
                    [stream, String(version)])
            ).first
        }
    }

    public func event(at position: Int64) throws -> RecordedEvent? {
        try pg { try Self.events(connection.query("SELECT \(Self.columns) FROM events WHERE position = $1", [String(position)])).first }
    }

    /// Newest first, a page at a time.
    public func forEachEventBackwards(of stream: String, _ body: (RecordedEvent) throws -> Bool) throws {
        var below = Int64.max
        while true {
            let page = try pg {
                try Self.events(
                    connection.query(
                        "SELECT \(Self.columns) FROM events WHERE stream = $1 AND version < $2 ORDER BY version DESC LIMIT 50",
                        [stream, String(below)]))
            }
            for e in page { if try !body(e) { return } }
            guard page.count == 50, let last = page.last else { return }
            below = last.version
        }
    }

    /// Keyset pages on the primary key: memory stays bounded whatever the ledger's size.
    public func forEachEvent(from position: Int64, through last: Int64, _ body: (RecordedEvent) throws -> Void) throws {
        var next = position
        while next <= last {
            let page = try pg {
                try Self.events(
                    connection.query(
                        "SELECT \(Self.columns) FROM events WHERE position >= $1 AND position <= $2 ORDER BY position LIMIT \(Self.pageSize)",
                        [String(next), String(last)]))
            }
            for e in page { try body(e) }
            guard page.count == Self.pageSize, let end = page.last else { return }
            next = end.position + 1
        }
    }

    public func forEachEventForReplay(from position: Int64, through last: Int64, _ body: (RecordedEvent) throws -> Void) throws {
        try forEachEvent(from: position, through: last, body)
    }

    public func readAll(from position: Int64, pageSize: Int) -> EventPages {
        EventPages(from: position, pageSize: pageSize) { next, limit in
            try pg {
                try Self.events(
                    self.connection.query(
                        "SELECT \(Self.columns) FROM events WHERE position >= $1 ORDER BY position LIMIT \(limit)",
                        [String(next)]))
            }
        }
    }

    public func forEachEvent(ofTypes types: [String], _ body: (RecordedEvent) throws -> Void) throws {
        // Spelled into the text so that the planner matches the partial index on these types.
        let list = types.map { "'" + $0.replacingOccurrences(of: "'", with: "''") + "'" }.joined(separator: ", ")
        var after: Int64 = 0
        while true {
            let page = try pg {
                try Self.events(
                    connection.query(
                        "SELECT \(Self.columns) FROM events WHERE type IN (\(list)) AND position > $1 ORDER BY position LIMIT \(Self.pageSize)",
                        [String(after)]))
            }
            for e in page { try body(e) }
            guard page.count == Self.pageSize, let last = page.last else { return }
            after = last.position
        }
    }

    public func position(atOrBefore time: String) throws -> Int64 {
        try pg { try connection.query("SELECT coalesce(max(position), 0) FROM events WHERE recorded_at <= $1", [time]).int64(0, 0) ?? 0 }
    }

    public func verify(expect: Head?, progress: ((Int64) -> Void)?) throws -> VerifyReport {
        var verifier = ChainVerifier(expect: expect)
        try inReadTransaction {
            var after: Int64 = 0
            while true {
                let page = try pg {
                    try Self.events(
                        connection.query(
                            "SELECT \(Self.columns) FROM events WHERE position > $1 ORDER BY position LIMIT \(Self.pageSize)",
                            [String(after)]))
                }
                for e in page {
                    guard verifier.check(e) else { return }
                    if verifier.checked % 10_000 == 0 { progress?(verifier.checked) }
                }
                guard page.count == Self.pageSize, let last = page.last else { return }
                after = last.position
            }
        }
        return verifier.report()
    }
}
