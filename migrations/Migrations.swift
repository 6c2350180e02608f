/// The ledger schema, as the numbered SQL files of this directory embedded in the binary.
///
/// Adding a file: name it `NNNN_name.sql`, list it in `Package.swift` and below. A test
/// fails when a file of this directory is missing here.
public enum Migrations {
    /// One schema step: its number, its name and its SQL text.
    public struct File: Sendable {
        public let version: Int
        public let name: String
        public let sql: String
        /// Checksums a ledger may have recorded for this file besides its own: earlier texts of
        /// it that differ only in comments, reworded after release. The schema they made is this
        /// file's; a ledger migrated with one of them opens. Anything else is refused.
        public let formerChecksums: [String]

        init(_ fileName: String, _ bytes: [UInt8], formerChecksums: [String] = []) {
            self.formerChecksums = formerChecksums
            var stem = fileName.dropLast(".sql".count)
            if stem.hasSuffix(".pg") { stem = stem.dropLast(".pg".count) }
            let number = stem.prefix(while: \.isNumber)
            self.version = Int(number)!
            self.name = String(stem.dropFirst(number.count + 1))
            self.sql = String(decoding: bytes, as: UTF8.self)
        }
    }

    /// Every migration, in the order it is applied.
    public static let all: [File] = [
        File("0001_events.sql", PackageResources._001_events_sql),
        // Its opening comment named the document the staging workflow comes from.
        File(
            "0002_projections.sql", PackageResources._002_projections_sql,
            formerChecksums: ["a8dfc338ab10d4fcc62a64d0fad27eae9e9ef14e8f6daf08c87b33ea40fca74c"]),
        File("0003_artifact_facts.sql", PackageResources._003_artifact_facts_sql),
        File("0004_commit_time.sql", PackageResources._004_commit_time_sql),
        File("0005_operator_records.sql", PackageResources._005_operator_records_sql),
    ]

    /// The schema version this binary writes.
    public static var latestVersion: Int { all.last!.version }

    /// The PostgreSQL schema (migrations/postgres/), numbered on its own.
    public static let postgres: [File] = [
        File("0001_events.pg.sql", PackageResources._001_events_pg_sql),
        File("0002_projections.pg.sql", PackageResources._002_projections_pg_sql),
        File("0003_artifact_blobs.pg.sql", PackageResources._003_artifact_blobs_pg_sql),
        File("0004_commit_time.pg.sql", PackageResources._004_commit_time_pg_sql),
        File("0005_operator_records.pg.sql", PackageResources._005_operator_records_pg_sql),
    ]
}
