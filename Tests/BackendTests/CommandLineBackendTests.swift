import EventStore
import Foundation
import PostgresClient
import ShiplogTestSupport
import Testing

/// The command line on both backends: the same commands, the same answers, whether `--db`
/// names a file or a PostgreSQL URL.
@Suite("Both backends: the command line")
struct CommandLineBackendTests {
    /// A fresh, initialized ledger on `backend`, and a directory to work in.
    static func location(_ backend: Backend) throws -> (db: String, dir: TemporaryDirectory) {
        let dir = try TemporaryDirectory(prefix: "shiplog-cli-backend")
        let db =
            switch backend {
            case .sqlite: dir.file("ledger.db")
            case .postgres: try PostgresCluster.shared.makeDatabase()
            }
        run(["init"], db, in: dir)
        return (db, dir)
    }

    @discardableResult static func run(_ args: [String], _ db: String, in dir: TemporaryDirectory, sourceLocation: SourceLocation = #_sourceLocation) -> String {
        let out = runShiplog(args + ["--db", db], environment: ["GITHUB_OUTPUT": "", "USER": "tester"], in: dir.url)
        #expect(out.status == 0, "shiplog \(args.joined(separator: " ")): exit \(out.status): \(out.stderr)", sourceLocation: sourceLocation)
        return out.stdout
    }

    @Test(arguments: Backend.allCases)
    func aRecordedPipelineRollbackAndAuditGiveTheSameAnswers(backend: Backend) throws {
        let (db, dir) = try Self.location(backend)
        let log = dir.file("deploy.log")
        try "deployed\n".write(toFile: log, atomically: true, encoding: .utf8)
        let good = Self.run(["record", "begin", "--env", "staging", "--sha", "aaaaaaa1111111", "--services", "api"], db, in: dir)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        Self.run(["record", "phase", good, "deploy", "--status", "succeeded", "--log", log], db, in: dir)
        Self.run(["record", "finish", good, "--status", "succeeded"], db, in: dir)
        let bad = Self.run(["record", "begin", "--env", "staging", "--sha", "bbbbbbb2222222", "--services", "api"], db, in: dir)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        Self.run(["record", "phase", bad, "deploy", "--status", "succeeded"], db, in: dir)
        Self.run(["record", "health", bad, "api_gateway", "--status", "unhealthy", "--attempts", "5", "--reason", "HTTP 503"], db, in: dir)
        Self.run(["record", "phase", bad, "rollback", "--status", "succeeded"], db, in: dir)
        Self.run(["record", "finish", bad, "--status", "rolled-back"], db, in: dir)

        #expect(Self.run(["last-stable", "--env", "staging"], db, in: dir).contains(good))
        let records = Self.run(["history", "--json"], db, in: dir).split(separator: "\n")
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(records.map { $0["status"] as? String } == ["rolled_back", "success"])
        #expect(records.first?["rolled_back_to"] as? String == good)
        #expect(Self.run(["artifacts", "list", "--json"], db, in: dir).contains("deployment-\(good).log"))
        let head = Self.run(["verify"], db, in: dir).trimmingCharacters(in: .whitespacesAndNewlines)
        Self.run(["verify", "--expect", head], db, in: dir)
        #expect(Self.run(["show", bad], db, in: dir).contains("rolled back"))
    }

    @Test func aLedgerMovesFromSQLiteToPostgreSQLAndBackByteForByte() throws {
        let (file, dir) = try Self.location(.sqlite)
        let id = Self.run(["record", "begin", "--env", "qa", "--sha", "ccccccc3333333"], file, in: dir).trimmingCharacters(in: .whitespacesAndNewlines)
        Self.run(["record", "phase", id, "deploy", "--status", "succeeded"], file, in: dir)
        Self.run(["record", "finish", id, "--status", "succeeded"], file, in: dir)
        Self.run(["events", "append", "--stream", "notes", "--type", "Noted", "--data", #"{"text":"é \"quoted\""}"#], file, in: dir)
        let exported = Self.run(["export", "--events"], file, in: dir)
        let head = Self.run(["verify"], file, in: dir).trimmingCharacters(in: .whitespacesAndNewlines)
        let exportFile = dir.file("ledger.ndjson")
        try exported.write(toFile: exportFile, atomically: true, encoding: .utf8)

        let (pg, _) = try Self.location(.postgres)
        Self.run(["import", exportFile, "--expect", head], pg, in: dir)
        #expect(Self.run(["export", "--events"], pg, in: dir) == exported)
        #expect(Self.run(["verify"], pg, in: dir).trimmingCharacters(in: .whitespacesAndNewlines) == head)
        #expect(Self.run(["export", "--format", "json"], pg, in: dir) == Self.run(["export", "--format", "json"], file, in: dir))

        let back = dir.file("back.db")
        let fromPG = dir.file("from-pg.ndjson")
        try Self.run(["export", "--events"], pg, in: dir).write(toFile: fromPG, atomically: true, encoding: .utf8)
        Self.run(["init"], back, in: dir)
        Self.run(["import", fromPG], back, in: dir)
        #expect(Self.run(["export", "--events"], back, in: dir) == exported)
    }

    @Test func aPostgreSQLSchemaNewerOrAlteredIsRefusedUntouched() throws {
        let (name, url) = try PostgresCluster.shared.createDatabase()
        let (_, dir) = try Self.location(.sqlite)
        Self.run(["init"], url, in: dir)
        let admin = try PGConnection(url: url)
        try admin.execute("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (999, 'future', '\(String(repeating: "0", count: 64))', 'x')")
        let newer = runShiplog(["history", "--db", url], in: dir.url)
        #expect(newer.status == 78, "\(newer.stderr)")
        #expect(newer.stderr.contains("999"), "\(newer.stderr)")
        try admin.execute("DELETE FROM schema_migrations WHERE version = 999; UPDATE schema_migrations SET checksum = '\(String(repeating: "f", count: 64))' WHERE version = 1")
        let altered = runShiplog(["record", "begin", "--env", "qa", "--sha", "abcdef1234567", "--db", url], in: dir.url)
        #expect(altered.status == 78, "\(altered.stderr)")
        #expect(try admin.query("SELECT count(*) FROM events").int64(0, 0) == 0, "a refused ledger was written to")
        _ = name
    }

    @Test func aWriterStuckBehindAnotherExits75() throws {
        let (db, dir) = try Self.location(.postgres)
        Self.run(["init"], db, in: dir)
        // Another session holds the head of the chain, as a stuck writer would.
        let holder = try PGConnection(url: db)
        try holder.execute("BEGIN; SELECT position FROM ledger_head FOR UPDATE")
        let stuck = runShiplog(
            ["events", "append", "--stream", "notes", "--type", "Noted", "--data", "{}", "--busy-timeout", "300", "--db", db],
            in: dir.url)
        #expect(stuck.status == 75, "exit \(stuck.status): \(stuck.stderr)")
        #expect(stuck.stderr.contains("locked by another process"), "\(stuck.stderr)")
        try holder.execute("ROLLBACK")
        Self.run(["events", "append", "--stream", "notes", "--type", "Noted", "--data", "{}"], db, in: dir)
    }

    @Test func thePasswordOfAPostgreSQLURLNeverAppears() throws {
        let (name, _) = try PostgresCluster.shared.createDatabase()
        let (_, dir) = try Self.location(.sqlite)
        let url = try PostgresCluster.shared.tcpURL(database: name, password: "not-the-password-\(UUID().uuidString.prefix(8))")
        let password = String(url.split(separator: ":")[2].split(separator: "@")[0])
        let refused = runShiplog(["history", "--db", url], in: dir.url)
        #expect(refused.status == 74, "\(refused.stderr)")
        #expect(!refused.stderr.contains(password) && !refused.stdout.contains(password), "\(refused.stderr)")
        let good = try PostgresCluster.shared.tcpURL(database: name, password: PostgresCluster.shared.superuserPassword)
        let out = runShiplog(["init", "--db", good], in: dir.url)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(!out.stdout.contains(PostgresCluster.shared.superuserPassword) && !out.stderr.contains(PostgresCluster.shared.superuserPassword))
    }
}
