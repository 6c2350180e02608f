/// Recomputes the hash chain over events handed to it in position order: the one sequential
/// definition of what `verify` checks (gapless positions, gapless versions per stream, every
/// stored hash equal to the recomputed one, and an optional kept digest).
///
/// A backend that can read faster (SQLite hashes straight from its column buffers, in two
/// halves) may verify its own way, but must report what this reports.
public struct ChainVerifier {
    private let hasher = HashChain()
    private var previous = HashChain.genesis
    private var versions: [String: Int64] = [:]
    private let expect: Head?
    public private(set) var head = Head(position: 0, hash: HashChain.genesisHex)
    public private(set) var checked: Int64 = 0
    public private(set) var problem: VerifyReport.Problem?

    public init(expect: Head?) {
        self.expect = expect
    }

    /// Checks the next event; false once a problem was found (stop reading then).
    public mutating func check(_ e: RecordedEvent) -> Bool {
        guard problem == nil else { return false }
        let position = head.position + 1
        guard e.position == position else {
            problem = .missingPosition(expected: position, found: e.position)
            return false
        }
        let expectedVersion = (versions[e.stream] ?? 0) + 1
        guard e.version == expectedVersion else {
            problem = .versionOutOfOrder(position: e.position, stream: e.stream, expected: expectedVersion, found: e.version)
            return false
        }
        let digest = hasher.hash(
            previous: previous, position: e.position, eventID: e.eventID, stream: e.stream, version: e.version,
            type: e.type, schema: e.schema, data: e.data, metadata: e.metadata, recordedAt: e.recordedAt)
        let computed = Hex.encode(digest)
        guard computed == e.hash else {
            problem = .hashMismatch(position: e.position, stored: e.hash, computed: computed)
            return false
        }
        if let expect, expect.position == e.position, expect.hash != computed {
            problem = .expectationFailed(position: expect.position, expected: expect.hash, found: computed)
            return false
        }
        versions[e.stream] = e.version
        previous = digest
        head = Head(position: e.position, hash: computed)
        checked += 1
        return true
    }

    /// The report once every event was checked.
    public func report() -> VerifyReport {
        var problem = problem
        if problem == nil, let expect, expect.position > head.position {
            problem = .expectationFailed(position: expect.position, expected: expect.hash, found: nil)
        }
        return VerifyReport(head: head, eventsChecked: checked, problem: problem)
    }
}
