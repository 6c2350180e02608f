/// What a ledger's recorded migrations must be to open it, the same for every backend: never
/// newer than this binary, every applied file byte-identical to the one this binary carries.
public enum SchemaRules {
    /// One migration: its number, name and SQL text, and the checksums of earlier texts of it
    /// that differ only in comments.
    public typealias Migration = (version: Int, name: String, sql: String, formerChecksums: [String])

    /// Checks the `applied` rows (version, name, checksum) against `known`; with `allowPending`
    /// false, a ledger that still needs a migration is refused too.
    public static func check(
        applied: [(version: Int, name: String, checksum: String)], known: [Migration], location: String,
        allowPending: Bool
    ) throws {
        let latest = known.last?.version ?? 0
        if let newest = applied.last, newest.version > latest {
            throw EventStoreError.newerSchema(path: location, found: newest.version, supported: latest)
        }
        for row in applied {
            guard let file = known.first(where: { $0.version == row.version }),
                HashChain.sha256Hex(file.sql) == row.checksum || file.formerChecksums.contains(row.checksum)
            else {
                throw EventStoreError.migrationChecksumMismatch(path: location, version: row.version, name: row.name)
            }
        }
        if !allowPending, applied.count < known.count {
            throw EventStoreError.cannotOpen(path: location, detail: "its schema (version \(applied.last?.version ?? 0)) is older than this shiplog's (\(latest)); run `shiplog init` to upgrade it")
        }
    }
}
