@_exported import ShiplogCore
/// The append-only, hash-chained store every Shiplog fact lives in.
///
/// A backend (SQLite today) implements this protocol; the domain sees nothing else of it.
/// Appends are all-or-nothing across every stream named in one call, so a deployment
/// event and the environment lock it takes commit together or not at all.
public protocol EventStore: AnyObject {
    /// Appends `events` to `stream` if the stream is at `expected`, in one write transaction.
    ///
    /// Idempotency follows EventStoreDB's rules: appending again a batch whose ids are all
    /// already committed, in order, right after `expected`, returns the original result and
    /// writes nothing; a batch that only partly overlaps committed ids is refused.
    /// `.any` gives no such guarantee: a retried `.any` append may be refused as a duplicate id.
    ///
    /// - Throws: `EventStoreError.wrongExpectedVersion` carrying the actual version, and writes nothing.
    @discardableResult
    func append(_ events: [NewEvent], to stream: String, expected: ExpectedVersion) throws -> AppendResult

    /// Appends several streams' batches in one transaction: all commit, or none does.
    @discardableResult
    func append(_ batches: [StreamAppend]) throws -> [AppendResult]

    /// Events of one stream with `version >= from`, oldest first.
    func readStream(_ stream: String, from version: Int64) throws -> [RecordedEvent]

    /// The last event of a stream, or nil when the stream does not exist.
    func lastEvent(of stream: String) throws -> RecordedEvent?

    /// Every event with `position >= from`, oldest first, fetched in pages of `pageSize`
    /// so memory stays bounded whatever the size of the ledger.
    func readAll(from position: Int64, pageSize: Int) -> EventPages

    /// The last position and its hash; position 0 and the genesis hash for an empty ledger.
    func head() throws -> Head

    /// Recomputes the whole hash chain; with `expect`, also proves the history up to that
    /// digest is unchanged.
    func verify(expect: Head?, progress: ((Int64) -> Void)?) throws -> VerifyReport

    /// Where the ledger lives, for messages (a path, or a URL without its password).
    var location: String { get }

    /// The schema version the ledger is at (its newest applied migration).
    func schemaVersion() throws -> Int

    /// Appends, then runs `project` with the newly recorded events inside the same transaction:
    /// the projections commit with the events or not at all.
    @discardableResult
    func append(_ batches: [StreamAppend], within project: ([RecordedEvent]) throws -> Void) throws -> [AppendResult]

    /// Loads events exactly as another ledger recorded them (positions, times and hashes kept),
    /// checking each against the chain first; `project` runs in the same transaction.
    func importRecorded(_ events: [RecordedEvent], within project: ([RecordedEvent]) throws -> Void) throws

    /// The event at `position`, if the ledger reaches it.
    func event(at position: Int64) throws -> RecordedEvent?

    /// The events of `stream` below a version or a position, oldest first.
    func readStream(_ stream: String, below limit: StreamLimit) throws -> [RecordedEvent]

    /// The last event of `stream` below `version`.
    func lastEvent(of stream: String, belowVersion version: Int64) throws -> RecordedEvent?

    /// The events of `stream`, newest first, until `body` returns false. Streamed.
    func forEachEventBackwards(of stream: String, _ body: (RecordedEvent) throws -> Bool) throws

    /// Every event from `position` through `last`, oldest first, streamed.
    func forEachEvent(from position: Int64, through last: Int64, _ body: (RecordedEvent) throws -> Void) throws

    /// `forEachEvent(from:through:)`, each event's data handed over as its UTF-8 bytes (valid
    /// during the call) and `data` left empty: a reader that decodes every payload reads it in
    /// place (`DeploymentEvent.decode(_:data:)`) instead of making a string of each.
    func forEachEvent(from position: Int64, through last: Int64, dataBytes body: (RecordedEvent, UnsafeBufferPointer<UInt8>) throws -> Void) throws

    /// Every event from `position` through `last`, oldest first, as fast as the backend can read
    /// them (rebuilds and replays).
    func forEachEventForReplay(from position: Int64, through last: Int64, _ body: (RecordedEvent) throws -> Void) throws

    /// `forEachEventForReplay`, each event's data handed over as its UTF-8 bytes (valid during
    /// the call) and `data` left empty, so that a replay reads payloads in place instead of
    /// making a string of each.
    func forEachEventForReplay(
        from position: Int64, through last: Int64, dataBytes body: (RecordedEvent, UnsafeBufferPointer<UInt8>) throws -> Void) throws

    /// Opens another connection to this ledger, for a second thread to read events on while this
    /// one is in a transaction (a long replay reads its second half that way); nil when the
    /// backend has no second connection (an in-memory ledger). The opener is called, and what it
    /// opens used, on that other thread only; it sees every event committed before it opened.
    func concurrentReader() -> (@Sendable () throws -> any EventStore)?

    /// The events of the given types, oldest first: the backend keeps an index for the few
    /// types that are read this way (`ArtifactStored`, `ArtifactPruned`).
    func forEachEvent(ofTypes types: [String], _ body: (RecordedEvent) throws -> Void) throws

    /// The position of the last event recorded at or before `time` (Timestamp text).
    func position(atOrBefore time: String) throws -> Int64

    /// Runs `body` in one write transaction (nested calls join it).
    func inTransaction<T>(_ body: () throws -> T) throws -> T

    /// Runs `body` on one consistent snapshot of the ledger.
    func inReadTransaction<T>(_ body: () throws -> T) throws -> T
}

extension EventStore {
    /// The bytes of each event's `data` string, for a backend that has no cheaper way.
    public func forEachEvent(from position: Int64, through last: Int64, dataBytes body: (RecordedEvent, UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        try forEachEvent(from: position, through: last) { event in try Self.handOver(event, body) }
    }

    /// The bytes of each event's `data` string, for a backend that has no cheaper way.
    public func forEachEventForReplay(
        from position: Int64, through last: Int64, dataBytes body: (RecordedEvent, UnsafeBufferPointer<UInt8>) throws -> Void
    ) throws {
        try forEachEventForReplay(from: position, through: last) { event in try Self.handOver(event, body) }
    }

    /// A backend without a second connection replays on one thread.
    public func concurrentReader() -> (@Sendable () throws -> any EventStore)? { nil }

    /// `event` without its data, and the data's bytes.
    private static func handOver(_ event: RecordedEvent, _ body: (RecordedEvent, UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        var data = event.data
        try data.withUTF8 { bytes in
            var event = event
            event.data = ""
            try body(event, bytes)
        }
    }

    @discardableResult
    public func append(_ events: [NewEvent], to stream: String, expected: ExpectedVersion) throws -> AppendResult {
        try append([StreamAppend(stream: stream, expected: expected, events: events)])[0]
    }

    @discardableResult
    public func append(_ batches: [StreamAppend]) throws -> [AppendResult] {
        try append(batches, within: { _ in })
    }
}

/// How far `readStream(_:below:)` reads.
public enum StreamLimit: Sendable, Hashable {
    /// Events with a version below this one.
    case version(Int64)
    /// Events with a position below this one.
    case position(Int64)
}

/// The stream version an append expects to find.
public enum ExpectedVersion: Sendable, Hashable, CustomStringConvertible {
    /// No check; see `EventStore.append` for what this gives up.
    case any
    /// The stream must not exist yet.
    case noStream
    /// The stream's last version must be exactly this (1…n).
    case exactly(Int64)

    public var description: String {
        switch self {
        case .any: "any"
        case .noStream: "no-stream"
        case .exactly(let v): String(v)
        }
    }
}

/// An event not yet recorded. `data` and `metadata` are JSON object text.
public struct NewEvent: Sendable, Hashable {
    public var id: String
    public var type: String
    public var schema: Int
    public var data: String
    public var metadata: String

    public init(id: String = UUIDv7.make(), type: String, schema: Int = 1, data: String, metadata: String = "{}") {
        self.id = id
        self.type = type
        self.schema = schema
        self.data = data
        self.metadata = metadata
    }
}

/// One stream's part of a multi-stream append.
///
/// A batch without events is a condition: the append commits only if that stream is still at
/// the expected version, and writes nothing to it (a rollback onto deployment T is recorded on
/// condition that T's stream has not changed — nobody marked T bad meanwhile).
public struct StreamAppend: Sendable, Hashable {
    public var stream: String
    public var expected: ExpectedVersion
    public var events: [NewEvent]

    public init(stream: String, expected: ExpectedVersion, events: [NewEvent]) {
        self.stream = stream
        self.expected = expected
        self.events = events
    }
}

/// An event as the ledger holds it.
public struct RecordedEvent: Sendable, Hashable, Codable {
    public var position: Int64
    /// The event id; read from the ledger it is held inline, without a heap string (see `InlineText`).
    public var eventIDText: InlineText
    public var stream: String
    public var version: Int64
    public var type: String
    public var schema: Int
    public var data: String
    public var metadata: String
    public var recordedAtText: InlineText
    public var hashText: InlineText

    public var eventID: String {
        get { eventIDText.string }
        set { eventIDText = InlineText(newValue) }
    }
    /// UTC, ISO 8601 with milliseconds: `2026-11-26T15:35:00.123Z`.
    public var recordedAt: String {
        get { recordedAtText.string }
        set { recordedAtText = InlineText(newValue) }
    }
    /// Lowercase hex SHA-256; see docs/HASH-CHAIN.md.
    public var hash: String {
        get { hashText.string }
        set { hashText = InlineText(newValue) }
    }

    public init(
        position: Int64, eventID: String, stream: String, version: Int64, type: String,
        schema: Int, data: String, metadata: String, recordedAt: String, hash: String
    ) {
        self.init(
            position: position, eventID: InlineText(eventID), stream: stream, version: version, type: type, schema: schema, data: data,
            metadata: metadata, recordedAt: InlineText(recordedAt), hash: InlineText(hash))
    }

    /// An event whose id, time and hash are read from a row's bytes (see `InlineText`).
    public init(
        position: Int64, eventID: InlineText, stream: String, version: Int64, type: String,
        schema: Int, data: String, metadata: String, recordedAt: InlineText, hash: InlineText
    ) {
        self.position = position
        self.eventIDText = eventID
        self.stream = stream
        self.version = version
        self.type = type
        self.schema = schema
        self.data = data
        self.metadata = metadata
        self.recordedAtText = recordedAt
        self.hashText = hash
    }

    enum CodingKeys: String, CodingKey {
        case position, eventID = "event_id", stream, version, type, schema, data, metadata
        case recordedAt = "recorded_at", hash
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            position: try c.decode(Int64.self, forKey: .position), eventID: try c.decode(String.self, forKey: .eventID),
            stream: try c.decode(String.self, forKey: .stream), version: try c.decode(Int64.self, forKey: .version),
            type: try c.decode(String.self, forKey: .type), schema: try c.decode(Int.self, forKey: .schema),
            data: try c.decode(String.self, forKey: .data), metadata: try c.decode(String.self, forKey: .metadata),
            recordedAt: try c.decode(String.self, forKey: .recordedAt), hash: try c.decode(String.self, forKey: .hash))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(position, forKey: .position)
        try c.encode(eventID, forKey: .eventID)
        try c.encode(stream, forKey: .stream)
        try c.encode(version, forKey: .version)
        try c.encode(type, forKey: .type)
        try c.encode(schema, forKey: .schema)
        try c.encode(data, forKey: .data)
        try c.encode(metadata, forKey: .metadata)
        try c.encode(recordedAt, forKey: .recordedAt)
        try c.encode(hash, forKey: .hash)
    }
}

/// What one stream's append produced.
public struct AppendResult: Sendable, Hashable {
    public var stream: String
    /// Position of the first event of the batch (of the original batch, for an idempotent retry).
    public var firstPosition: Int64
    public var lastPosition: Int64
    /// The stream's version after the batch: pass it as `.exactly` to the next append.
    public var streamVersion: Int64
    /// True when every event was already committed and nothing was written.
    public var wasAlreadyCommitted: Bool

    public init(stream: String, firstPosition: Int64, lastPosition: Int64, streamVersion: Int64, wasAlreadyCommitted: Bool) {
        self.stream = stream
        self.firstPosition = firstPosition
        self.lastPosition = lastPosition
        self.streamVersion = streamVersion
        self.wasAlreadyCommitted = wasAlreadyCommitted
    }
}

/// The ledger's tip: a digest a user can keep elsewhere and check later with `verify --expect`.
public struct Head: Sendable, Hashable, CustomStringConvertible {
    public var position: Int64
    public var hash: String

    public init(position: Int64, hash: String) {
        self.position = position
        self.hash = hash
    }

    /// `POSITION:HASH`
    public var description: String { "\(position):\(hash)" }

    /// Parses `POSITION:HASH`; nil when malformed.
    public init?(parsing text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let p = Int64(parts[0]), p >= 0,
            parts[1].count == 64, parts[1].allSatisfy({ $0.isHexDigit })
        else { return nil }
        self.position = p
        self.hash = parts[1].lowercased()
    }
}

/// The outcome of recomputing the chain.
public struct VerifyReport: Sendable, Hashable {
    public enum Problem: Sendable, Hashable, CustomStringConvertible {
        /// The stored hash differs from the recomputed one: this event, or one before it, changed.
        case hashMismatch(position: Int64, stored: String, computed: String)
        /// A position is absent: an event was deleted.
        case missingPosition(expected: Int64, found: Int64)
        /// A stream's versions are not 1…n in position order.
        case versionOutOfOrder(position: Int64, stream: String, expected: Int64, found: Int64)
        /// `--expect` named a position the ledger no longer has, or a different hash there.
        case expectationFailed(position: Int64, expected: String, found: String?)

        public var position: Int64 {
            switch self {
            case .hashMismatch(let p, _, _): p
            case .missingPosition(let p, _): p
            case .versionOutOfOrder(let p, _, _, _): p
            case .expectationFailed(let p, _, _): p
            }
        }

        public var description: String {
            switch self {
            case .hashMismatch(let p, let stored, let computed):
                "hash mismatch at position \(p): stored \(stored), recomputed \(computed); the event at \(p) was altered after it was recorded"
            case .missingPosition(let expected, let found):
                "missing position \(expected): the next event found is at \(found); an event was deleted"
            case .versionOutOfOrder(let p, let stream, let expected, let found):
                "out of order at position \(p): stream \(stream) has version \(found) where \(expected) was expected"
            case .expectationFailed(let p, let expected, let found):
                if let found {
                    "history changed: position \(p) now hashes to \(found), but the kept digest says \(expected)"
                } else {
                    "history changed: position \(p) from the kept digest is no longer in the ledger"
                }
            }
        }
    }

    /// The last verified head (the whole ledger on success).
    public var head: Head
    public var eventsChecked: Int64
    /// The first break found, nil when the chain is intact.
    public var problem: Problem?

    public var isIntact: Bool { problem == nil }

    public init(head: Head, eventsChecked: Int64, problem: Problem?) {
        self.head = head
        self.eventsChecked = eventsChecked
        self.problem = problem
    }
}
