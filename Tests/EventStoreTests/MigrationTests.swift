import SQLiteStore
import EventStore
import Foundation
import ShiplogMigrations
import ShiplogTestSupport
import Testing

@Suite("Migrations: fresh ledgers, upgrades, refusals")
struct MigrationTests {
    /// The repository's `migrations/` directory, found from this file's path.
    static let migrationsDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("migrations")

    /// The fixture ledgers shipped with this target, `schema-vN.db`, by file name.
    static let fixtures: [String] = {
        guard let directory = Bundle.module.url(forResource: "Fixtures", withExtension: nil),
            let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path)
        else { return [] }
        return names.filter { $0.hasPrefix("schema-v") && $0.hasSuffix(".db") }.sorted()
    }()

    static func fixtureURL(_ name: String) throws -> URL {
        try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil)).appendingPathComponent(name)
    }

    static func fileName(_ file: Migrations.File) -> String {
        String(repeating: "0", count: max(0, 4 - String(file.version).count)) + "\(file.version)_\(file.name).sql"
    }

    @Test func aFreshLedgerReachesTheLatestSchemaWithOneRowPerMigration() throws {
        let ledger = try TestLedger()
        do {
            let store = try ledger.open()
            #expect(try store.schemaVersion() == Migrations.latestVersion)
        }
        let rows = try ledger.sql("SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version;")
            .split(separator: "\n").map { $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init) }
        try #require(rows.count == Migrations.all.count)
        for (row, file) in zip(rows, Migrations.all) {
            try #require(row.count == 4)
            #expect(row[0] == String(file.version))
            #expect(row[1] == file.name)
            #expect(row[2] == HashChain.sha256Hex(file.sql))
            #expect(Timestamp.parse(row[3]) != nil, "applied_at \(row[3])")
        }
        // Opening again applies nothing twice.
        _ = try ledger.open()
        #expect(try ledger.sql("SELECT count(*) FROM schema_migrations;") == "\(Migrations.all.count)\n")
    }

    @Test func everyMigrationFileIsEmbedded() throws {
        let listing = try FileManager.default.contentsOfDirectory(atPath: Self.migrationsDirectory.path)
            .filter { $0.hasSuffix(".sql") }.sorted()
        #expect(!listing.isEmpty, "no .sql files in \(Self.migrationsDirectory.path)")
        #expect(Migrations.all.map(Self.fileName) == listing)
        #expect(Migrations.all.map(\.version) == Array(1...Migrations.all.count), "versions must be 1…n without gaps")
        for file in Migrations.all {
            let onDisk = try String(contentsOf: Self.migrationsDirectory.appendingPathComponent(Self.fileName(file)), encoding: .utf8)
            #expect(onDisk == file.sql, "\(Self.fileName(file)) differs from the embedded copy: rebuild")
        }
        let manifest = try String(
            contentsOf: Self.migrationsDirectory.deletingLastPathComponent().appendingPathComponent("Package.swift"),
            encoding: .utf8)
        for name in listing {
            #expect(manifest.contains(".embedInCode(\"\(name)\")"), "\(name) is not listed in Package.swift")
        }
    }

    @Test func everyEarlierSchemaHasAFixture() {
        for version in 1..<max(Migrations.latestVersion, 1) {
            #expect(
                Self.fixtures.contains("schema-v\(version).db"),
                "no fixture ledger for schema version \(version): see Tests/EventStoreTests/Fixtures/README.md")
        }
        #expect(Self.fixtures.contains("schema-v1.db"))
    }

    @Test(arguments: fixtures)
    func anEarlierSchemaIsUpgradedAndStillVerifies(fixture: String) throws {
        let ledger = try TestLedger()
        try FileManager.default.copyItem(at: Self.fixtureURL(fixture), to: URL(fileURLWithPath: ledger.path))
        let version = try #require(Int(fixture.dropFirst("schema-v".count).dropLast(".db".count)))
        let dump = "SELECT * FROM events ORDER BY position;"
        #expect(try ledger.sql("SELECT max(version) FROM schema_migrations;") == "\(version)\n")
        let before = try ledger.sql(dump)
        #expect(!before.isEmpty, "a fixture must hold events")

        // Read-only commands refuse a ledger that needs an upgrade rather than change it…
        if version < Migrations.latestVersion {
            #expect(ledger.shiplog(["events", "list"]).status != 0)
        }
        // …and opening it for writing upgrades it.
        do {
            let store = try ledger.open(.existing)
            #expect(try store.schemaVersion() == Migrations.latestVersion)
            let report = try store.verify(expect: nil, progress: nil)
            #expect(report.isIntact, "\(String(describing: report.problem))")
            #expect(try allEvents(store).count == before.split(separator: "\n").count)
        }
        #expect(try ledger.sql(dump) == before, "the upgrade changed recorded events")
        #expect(
            try ledger.sql("SELECT group_concat(version) FROM schema_migrations ORDER BY version;")
                == Migrations.all.map { String($0.version) }.joined(separator: ",") + "\n")

        let verified = ledger.shiplog(["verify"])
        #expect(verified.status == 0, "\(verified.stderr)")
        let store = try ledger.open()
        try store.append([event(99)], to: "after-upgrade", expected: .noStream)
        #expect(try store.verify(expect: nil, progress: nil).isIntact)
    }

    /// The bytes of the ledger and of its WAL, to prove a refused open left the file alone.
    struct Snapshot: Equatable {
        var database: String?
        var wal: String?

        init(_ path: String) {
            database = sha256(ofFile: path)
            // An empty WAL changes nothing about the database's content.
            let walSize = (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
            wal = walSize > 0 ? sha256(ofFile: path + "-wal") : nil
        }
    }

    func ledgerWithEvents() throws -> TestLedger {
        let ledger = try TestLedger()
        let store = try ledger.open()
        try store.append([event(1), event(2), event(3)], to: "s", expected: .noStream)
        return ledger
    }

    @Test func aNewerSchemaIsRefusedAndTheFileIsUnchanged() throws {
        let ledger = try ledgerWithEvents()
        try ledger.sql("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (999, 'future', '\(String(repeating: "0", count: 64))', '2030-01-01T00:00:00.000Z');")
        let before = Snapshot(ledger.path)
        #expect(before.database != nil)

        for mode in [SQLiteEventStore.OpenMode.createOrUpgrade, .existing, .readOnly] {
            #expect(throws: EventStoreError.newerSchema(path: ledger.path, found: 999, supported: Migrations.latestVersion)) {
                _ = try ledger.open(mode)
            }
        }
        for args in [["init"], ["verify"], ["events", "list"], ["events", "append", "--stream", "s", "--type", "T", "--data", "{}"]] {
            let result = ledger.shiplog(args)
            #expect(result.status == 78, "\(args): \(result.stderr)")
            #expect(result.stderr.contains("999"), "\(args): \(result.stderr)")
        }
        #expect(Snapshot(ledger.path) == before)
    }

    @Test func aMigrationWithAnotherChecksumIsRefused() throws {
        let ledger = try ledgerWithEvents()
        try ledger.sql("UPDATE schema_migrations SET checksum = '\(String(repeating: "f", count: 64))' WHERE version = 1;")
        let before = Snapshot(ledger.path)

        let error = storeError { _ = try ledger.open() }
        guard case .migrationChecksumMismatch(_, let version, let name)? = error else {
            Issue.record("an altered checksum gave \(String(describing: error))")
            return
        }
        #expect(version == 1)
        #expect(name == Migrations.all[0].name)
        #expect(throws: EventStoreError.self) { _ = try ledger.open(.readOnly) }
        let result = ledger.shiplog(["init"])
        #expect(result.status == 78, "\(result.stderr)")
        #expect(result.stderr.contains("checksum"), "\(result.stderr)")
        #expect(Snapshot(ledger.path) == before)
    }

    /// A file whose comment was reworded after release lists its earlier checksum: a ledger
    /// migrated with the earlier text opens, and keeps the checksum it recorded; only those
    /// listed are accepted.
    @Test func aLedgerMigratedWithAFormerCommentOfAFileOpens() throws {
        let file = try #require(Migrations.all.first { !$0.formerChecksums.isEmpty })
        let former = try #require(file.formerChecksums.first)
        #expect(former != HashChain.sha256Hex(file.sql))
        let ledger = try ledgerWithEvents()
        try ledger.sql("UPDATE schema_migrations SET checksum = '\(former)' WHERE version = \(file.version);")
        _ = try ledger.open()
        _ = try ledger.open(.readOnly)
        #expect(ledger.shiplog(["verify"]).status == 0)
        #expect(try ledger.sql("SELECT checksum FROM schema_migrations WHERE version = \(file.version);").trimmingCharacters(in: .whitespacesAndNewlines) == former)
        // Another file does not accept it.
        let other = try #require(Migrations.all.first { $0.version != file.version })
        try ledger.sql("UPDATE schema_migrations SET checksum = '\(former)' WHERE version = \(other.version);")
        guard case .migrationChecksumMismatch(_, let version, _)? = storeError({ _ = try ledger.open() }) else {
            Issue.record("a former checksum was accepted for another file")
            return
        }
        #expect(version == other.version)
    }

    @Test func anUnknownMigrationVersionIsRefused() throws {
        let ledger = try ledgerWithEvents()
        // A version this binary never had, below its latest: recorded by a fork, or forged.
        try ledger.sql("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (0, 'stray', 'x', '2026-01-01T00:00:00.000Z');")
        let error = storeError { _ = try ledger.open() }
        guard case .migrationChecksumMismatch(_, 0, _)? = error else {
            Issue.record("an unknown migration gave \(String(describing: error))")
            return
        }
    }
}
