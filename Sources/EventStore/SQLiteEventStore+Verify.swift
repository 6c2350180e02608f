extension SQLiteEventStore {
    /// Recomputes the chain over every event, in one read snapshot, hashing straight from
    /// SQLite's column buffers so a ledger of millions of events streams through in constant memory.
    ///
    /// - Parameters:
    ///   - expect: a head kept from earlier; the event at its position must still carry its hash.
    ///   - progress: called with the position reached, every 100,000 events.
    public func verify(expect: Head? = nil, progress: ((Int64) -> Void)? = nil) throws -> VerifyReport {
        let chain = HashChain()
        return try database.inReadTransaction {
            try database.withStatement("SELECT \(Self.columns) FROM events ORDER BY position") { s in
                var previous = HashChain.genesis
                var expectedPosition: Int64 = 1
                var head = Head(position: 0, hash: HashChain.genesisHex)
                var versions: [String: Int64] = [:]
                var checked: Int64 = 0
                // Position 0 is the empty ledger: only the genesis hash describes it.
                if let expect, expect.position == 0, expect.hash != HashChain.genesisHex {
                    return VerifyReport(head: Head(position: 0, hash: HashChain.genesisHex), eventsChecked: 0,
                                        problem: .expectationFailed(position: 0, expected: expect.hash, found: HashChain.genesisHex))
                }
                var expectationMet = expect == nil || expect!.position == 0
                // The last intact head; its hash is encoded only when reported.
                func verified() -> Head {
                    Head(position: expectedPosition - 1, hash: expectedPosition == 1 ? HashChain.genesisHex : Hex.encode(previous))
                }
                while try s.step() {
                    let position = s.int64(0)
                    if position != expectedPosition {
                        return VerifyReport(head: verified(), eventsChecked: checked,
                                            problem: .missingPosition(expected: expectedPosition, found: position))
                    }
                    let stream = s.string(2)
                    let version = s.int64(3)
                    let expectedVersion = (versions[stream] ?? 0) + 1
                    if version != expectedVersion {
                        return VerifyReport(head: verified(), eventsChecked: checked,
                                            problem: .versionOutOfOrder(position: position, stream: stream, expected: expectedVersion, found: version))
                    }
                    versions[stream] = version
                    chain.begin(previous: previous, position: position)
                    s.withBytes(1) { chain.field($0) }
                    s.withBytes(2) { chain.field($0) }
                    chain.integer(UInt64(bitPattern: version))
                    s.withBytes(4) { chain.field($0) }
                    chain.integer(UInt64(bitPattern: s.int64(5)))
                    s.withBytes(6) { chain.field($0) }
                    s.withBytes(7) { chain.field($0) }
                    s.withBytes(8) { chain.field($0) }
                    let digest = chain.finish()
                    guard s.withBytes(9, { Hex.equals(digest, $0) }) else {
                        return VerifyReport(head: verified(), eventsChecked: checked,
                                            problem: .hashMismatch(position: position, stored: s.string(9), computed: Hex.encode(digest)))
                    }
                    if let expect, expect.position == position {
                        guard s.withBytes(9, { Hex.equals(Hex.decode(expect.hash) ?? [], $0) }) else {
                            return VerifyReport(head: Head(position: position, hash: s.string(9)), eventsChecked: checked + 1,
                                                problem: .expectationFailed(position: position, expected: expect.hash, found: s.string(9)))
                        }
                        expectationMet = true
                    }
                    previous = digest
                    checked += 1
                    expectedPosition += 1
                    if checked % 100_000 == 0 { progress?(position) }
                    head.position = position
                }
                head = verified()
                if let expect, !expectationMet {
                    return VerifyReport(head: head, eventsChecked: checked,
                                        problem: .expectationFailed(position: expect.position, expected: expect.hash, found: nil))
                }
                return VerifyReport(head: head, eventsChecked: checked, problem: nil)
            }
        }
    }
}
