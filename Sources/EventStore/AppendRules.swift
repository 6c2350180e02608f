import Foundation

/// The lookups and the insert a backend offers the append and import algorithms, inside its
/// write transaction. Everything else — expected versions, EventStoreDB's idempotency rules,
/// the hash chain, what an import must prove — is decided once, in `AppendRules`.
public protocol AppendBackend {
    /// The stream's last version, nil when it has no events.
    func streamVersion(_ stream: String) throws -> Int64?
    /// Where an event id is recorded, if it is.
    func whereRecorded(eventID: String) throws -> (position: Int64, stream: String, version: Int64)?
    /// Writes one event row. A duplicate event id must throw `EventStoreError.idempotencyConflict`.
    func insert(_ event: RecordedEvent) throws
}

/// The append and import algorithms, the same for every backend.
public enum AppendRules {
    /// Lowercases ids (a UUID in capitals is the same event), validates every batch, and
    /// refuses an append that would write nothing.
    public static func prepare(_ batches: [StreamAppend]) throws -> [StreamAppend] {
        func hasCapitals(_ batch: StreamAppend) -> Bool {
            batch.events.contains { event in
                event.id.utf8.withContiguousStorageIfAvailable { $0.contains { $0 >= 0x41 && $0 <= 0x5A } } ?? event.id.utf8.contains { $0 >= 0x41 && $0 <= 0x5A }
            }
        }
        // Ids are made lowercase; copied only when one is not.
        let batches =
            !batches.contains(where: hasCapitals)
            ? batches
            : batches.map { batch in
                var batch = batch
                if hasCapitals(batch) {
                    batch.events = batch.events.map {
                        var e = $0; e.id = e.id.lowercased(); return e
                    }
                }
                return batch
            }
        for batch in batches { try validate(batch) }
        guard batches.contains(where: { !$0.events.isEmpty }) else {
            throw EventStoreError.invalidEvent("no events to append (a batch without events is only a condition on another stream's version)")
        }
        return batches
    }

    static func validate(_ batch: StreamAppend) throws {
        guard !batch.stream.isEmpty else { throw EventStoreError.invalidEvent("the stream name is empty") }
        for event in batch.events {
            guard !event.type.isEmpty else { throw EventStoreError.invalidEvent("an event type is empty") }
            guard event.schema >= 1 else { throw EventStoreError.invalidEvent("schema version must be 1 or more") }
            guard UUIDv7.isWellFormed(event.id) else { throw EventStoreError.invalidEvent("event id \(event.id) is not a UUID") }
        }
        // Ids made one after another by UUIDv7.make ascend, so no two can be equal: one
        // comparison per event instead of hashing every id into a set.
        guard batch.events.count > 1, !idsAscend(batch.events) else { return }
        var ids = Set<String>(minimumCapacity: batch.events.count)
        for event in batch.events {
            guard ids.insert(event.id).inserted else {
                throw EventStoreError.invalidEvent("event id \(event.id) appears twice in one batch")
            }
        }
    }

    /// True when each id's bytes sort strictly after the previous id's (ids are 36 ASCII bytes here).
    static func idsAscend(_ events: [NewEvent]) -> Bool {
        var previous = events[0].id
        for event in events.dropFirst() {
            var id = event.id
            let ascending = previous.withUTF8 { a in
                id.withUTF8 { b in
                    let common = min(a.count, b.count)
                    let order = common == 0 ? 0 : memcmp(a.baseAddress!, b.baseAddress!, common)
                    return order < 0 || (order == 0 && a.count < b.count)
                }
            }
            guard ascending else { return false }
            previous = id
        }
        return true
    }

    /// Appends prepared batches after `head`, all at time `now`: the caller holds the write
    /// transaction (and whatever serializes appenders) and commits it.
    ///
    /// - Returns: one result per batch, the newly recorded events, and the new head.
    public static func append(
        _ batches: [StreamAppend], after head: Head, now: String, hasher: HashChain,
        backend: some AppendBackend
    ) throws -> (results: [AppendResult], recorded: [RecordedEvent], head: Head) {
        var head = head
        var previous = Hex.decode(head.hash) ?? HashChain.genesis
        var results: [AppendResult] = []
        var recorded: [RecordedEvent] = []
        recorded.reserveCapacity(batches.reduce(0) { $0 + $1.events.count })
        for batch in batches {
            let current = try backend.streamVersion(batch.stream)
            if batch.events.isEmpty {
                // A condition: the stream must still be where the caller saw it; nothing is written to it.
                guard fits(batch.expected, current) else {
                    throw EventStoreError.wrongExpectedVersion(stream: batch.stream, expected: batch.expected, actual: current)
                }
                results.append(
                    AppendResult(
                        stream: batch.stream, firstPosition: head.position + 1, lastPosition: head.position,
                        streamVersion: current ?? 0, wasAlreadyCommitted: false))
                continue
            }
            if let replay = try alreadyCommitted(batch, backend: backend, firstIDOnly: true) {
                results.append(replay)
                continue
            }
            guard fits(batch.expected, current) else {
                // A batch that overlaps recorded ids is a conflict first, as when every id is checked.
                _ = try alreadyCommitted(batch, backend: backend)
                throw EventStoreError.wrongExpectedVersion(stream: batch.stream, expected: batch.expected, actual: current)
            }
            var version = current ?? 0
            let first = head.position + 1
            for event in batch.events {
                version += 1
                let position = head.position + 1
                let digest = hasher.hash(
                    previous: previous, position: position, eventID: event.id, stream: batch.stream,
                    version: version, type: event.type, schema: event.schema, data: event.data,
                    metadata: event.metadata, recordedAt: now)
                let hex = Hex.encode(digest)
                let row = RecordedEvent(
                    position: position, eventID: event.id, stream: batch.stream, version: version, type: event.type,
                    schema: event.schema, data: event.data, metadata: event.metadata, recordedAt: now, hash: hex)
                try backend.insert(row)
                recorded.append(row)
                previous = digest
                head = Head(position: position, hash: hex)
            }
            results.append(
                AppendResult(
                    stream: batch.stream, firstPosition: first, lastPosition: head.position,
                    streamVersion: version, wasAlreadyCommitted: false))
        }
        return (results, recorded, head)
    }

    static func fits(_ expected: ExpectedVersion, _ current: Int64?) -> Bool {
        switch expected {
        case .any: true
        case .noStream: current == nil
        case .exactly(let v): current == v
        }
    }

    /// EventStoreDB's idempotency rules: the whole batch already committed, in order, right after
    /// the expected version → the original result; part of it committed → a conflict.
    ///
    /// With `firstIDOnly`, a batch whose first id is new is taken as new without looking up the
    /// others: one of them already recorded still refuses the batch at its insert (the unique
    /// event id), with nothing written.
    static func alreadyCommitted(_ batch: StreamAppend, backend: some AppendBackend, firstIDOnly: Bool = false) throws -> AppendResult? {
        if firstIDOnly, let first = batch.events.first, try backend.whereRecorded(eventID: first.id) == nil { return nil }
        let found = try batch.events.map { try backend.whereRecorded(eventID: $0.id) }
        let committed = found.compactMap { $0 }
        if committed.isEmpty { return nil }
        guard committed.count == found.count else {
            throw EventStoreError.idempotencyConflict(stream: batch.stream, detail: "\(committed.count) of the batch's \(found.count) event ids are already recorded")
        }
        let startVersion: Int64 =
            switch batch.expected {
            case .noStream: 1
            case .exactly(let v): v + 1
            case .any: committed[0].version
            }
        for (offset, row) in committed.enumerated() {
            guard row.stream == batch.stream, row.version == startVersion + Int64(offset),
                offset == 0 || row.position > committed[offset - 1].position
            else {
                throw EventStoreError.idempotencyConflict(
                    stream: batch.stream, detail: "the batch's ids are recorded, but not in this order right after version \(startVersion - 1) of \(batch.stream)")
            }
        }
        return AppendResult(
            stream: batch.stream, firstPosition: committed.first!.position, lastPosition: committed.last!.position,
            streamVersion: committed.last!.version, wasAlreadyCommitted: true)
    }

    /// Loads events exactly as another ledger recorded them, right after `head`: each must
    /// follow the chain, be one this store could have written, and continue its stream.
    public static func importing(
        _ events: [RecordedEvent], after head: Head, hasher: HashChain,
        backend: some AppendBackend
    ) throws -> (recorded: [RecordedEvent], head: Head) {
        var head = head
        var previous = Hex.decode(head.hash) ?? HashChain.genesis
        var recorded: [RecordedEvent] = []
        recorded.reserveCapacity(events.count)
        for event in events {
            guard event.position == head.position + 1 else {
                throw EventStoreError.invalidEvent("position \(event.position) does not follow \(head.position): the import is missing events or out of order")
            }
            let digest = hasher.hash(
                previous: previous, position: event.position, eventID: event.eventID, stream: event.stream,
                version: event.version, type: event.type, schema: event.schema, data: event.data,
                metadata: event.metadata, recordedAt: event.recordedAt)
            guard Hex.encode(digest) == event.hash else {
                throw EventStoreError.invalidEvent("hash mismatch at position \(event.position): the import file was altered or damaged")
            }
            try validateImported(event)
            let expectedVersion = (try backend.streamVersion(event.stream) ?? 0) + 1
            guard event.version == expectedVersion else {
                throw EventStoreError.invalidEvent("position \(event.position): stream \(event.stream) version \(event.version) where \(expectedVersion) was expected")
            }
            try backend.insert(event)
            recorded.append(event)
            previous = digest
            head = Head(position: event.position, hash: event.hash)
        }
        return (recorded, head)
    }

    /// An imported event must be one this store could have written: a valid chain is not enough,
    /// since anyone can compute a chain over events Shiplog would refuse.
    public static func validateImported(_ event: RecordedEvent) throws {
        let at = "position \(event.position)"
        guard !event.stream.isEmpty, !event.type.isEmpty else { throw EventStoreError.invalidEvent("\(at): empty stream or type") }
        guard event.schema >= 1 else { throw EventStoreError.invalidEvent("\(at): schema version must be 1 or more") }
        guard UUIDv7.isWellFormed(event.eventID), event.eventID == event.eventID.lowercased() else {
            throw EventStoreError.invalidEvent("\(at): event id \(event.eventID) is not a lowercase UUID")
        }
        guard let time = Timestamp.parse(event.recordedAt), Timestamp.format(time) == event.recordedAt else {
            throw EventStoreError.invalidEvent("\(at): recorded_at \(event.recordedAt) is not a UTC time with milliseconds")
        }
    }
}
