import Foundation
import PostgresClient
import ShiplogTestSupport
import Testing

// Every test runs against a real server: the throwaway cluster of this test process
// (`PostgresCluster`), or the one `SHIPLOG_TEST_POSTGRES` names. Each test makes its own database.

private struct Refused: Error {}

/// A new connection to a new, empty database.
private func freshConnection() throws -> PGConnection {
    try PGConnection(url: PostgresCluster.shared.makeDatabase())
}

/// The error `body` throws, which must be a `PostgresError`.
private func postgresError(_ body: () throws -> Void) throws -> PostgresError {
    do {
        try body()
    } catch let error as PostgresError {
        return error
    }
    Issue.record("expected a PostgresError, nothing was thrown")
    throw Refused()
}

@Suite("Queries and results")
struct QueryTests {
    @Test func parametersAreBoundAsDataAndNullsReadBackAsNil() throws {
        let db = try freshConnection()
        try db.execute("CREATE TABLE items (id bigint PRIMARY KEY, name text, active boolean)")
        let hostile = "x'); DROP TABLE items; --"
        let inserted = try db.query(
            "INSERT INTO items VALUES ($1, $2, $3), ($4, $5, $6)",
            ["1", hostile, "true", "9007199254740993", nil, nil])
        #expect(inserted.rowsAffected == 2)

        let rows = try db.query("SELECT id, name, active FROM items WHERE id >= $1 ORDER BY id", ["0"])
        #expect(rows.rowCount == 2)
        #expect(rows.columnCount == 3)
        #expect(rows.columnNames == ["id", "name", "active"])
        #expect(rows.columnIndex("active") == 2)
        #expect(try rows.int64(0, 0) == 1)
        #expect(rows.string(0, 1) == hostile)
        #expect(try rows.bool(0, 2) == true)
        #expect(try rows.int64(1, 0) == 9_007_199_254_740_993)
        #expect(rows.string(1, 1) == nil)
        #expect(try rows.bool(1, 2) == nil)
        #expect(try db.query("SELECT $1::text", ["ünïcödé ✓"]).string(0, 0) == "ünïcödé ✓")
    }

    @Test func aParameterWithANulCharacterIsRefusedWithoutQuotingIt() throws {
        let db = try freshConnection()
        let error = try postgresError { try db.query("SELECT $1::text", ["secret-part\u{0}rest"]) }
        #expect(error.message.contains("$1"))
        #expect(!error.description.contains("secret-part"))
    }

    @Test func aBoundValueQuotedByTheServerIsHiddenInTheError() throws {
        let db = try freshConnection()
        let secret = "tok-9f8e7d6c5b4a"
        let error = try postgresError { try db.query("SELECT $1::integer", [secret]) }
        #expect(error.sqlState == "22P02")
        #expect(error.kind == .other)
        #expect(error.sql == "SELECT $1::integer")
        #expect(!error.description.contains(secret))
        #expect(error.description.contains("***"))
    }

    @Test func aCachedStatementWhoseColumnsChangedIsPreparedAgain() throws {
        let db = try freshConnection()
        try db.execute("CREATE TABLE t (a integer)")
        try db.query("INSERT INTO t VALUES ($1)", ["1"])
        #expect(try db.query("SELECT * FROM t WHERE a = $1", ["1"]).columnCount == 1)
        try db.execute("ALTER TABLE t ADD COLUMN b text")
        #expect(try db.query("SELECT * FROM t WHERE a = $1", ["1"]).columnNames == ["a", "b"])
    }

    @Test func aClosedConnectionRefusesEveryCall() throws {
        let db = try freshConnection()
        db.close()
        #expect(try postgresError { try db.execute("SELECT 1") }.kind == .connectionLost)
        #expect(try postgresError { try db.query("SELECT $1::int", ["1"]) }.kind == .connectionLost)
        #expect(db.backendPID == 0)
    }
}

@Suite("Transactions")
struct TransactionTests {
    @Test func aThrownErrorRollsEverythingBack() throws {
        let db = try freshConnection()
        try db.execute("CREATE TABLE t (v text)")
        #expect(throws: Refused.self) {
            try db.inTransaction {
                try db.query("INSERT INTO t VALUES ($1)", ["a"])
                #expect(db.isInTransaction)
                throw Refused()
            }
        }
        #expect(!db.isInTransaction)
        #expect(try db.query("SELECT count(*) FROM t").int64(0, 0) == 0)
    }

    @Test func nestedCallsUndoOnlyTheirOwnWork() throws {
        let db = try freshConnection()
        try db.execute("CREATE TABLE t (v text)")
        try db.inTransaction {
            try db.query("INSERT INTO t VALUES ($1)", ["outer-before"])
            try db.inTransaction { try db.query("INSERT INTO t VALUES ($1)", ["kept"]) }
            #expect(throws: Refused.self) {
                try db.inTransaction {
                    try db.query("INSERT INTO t VALUES ($1)", ["undone"])
                    try db.inTransaction { try db.query("INSERT INTO t VALUES ($1)", ["undone-deeper"]) }
                    throw Refused()
                }
            }
            // A failed statement inside a nested call aborts only its savepoint.
            let error = try postgresError {
                _ = try db.inTransaction { try db.query("INSERT INTO t VALUES ($1::integer::text)", ["nope"]) }
            }
            #expect(error.sqlState == "22P02")
            try db.query("INSERT INTO t VALUES ($1)", ["outer-after"])
        }
        let rows = try db.query("SELECT v FROM t ORDER BY v")
        #expect((0..<rows.rowCount).map { rows.string($0, 0) } == ["kept", "outer-after", "outer-before"])
    }

    @Test func aSwallowedStatementFailureIsNotCommittedSilently() throws {
        let db = try freshConnection()
        try db.execute("CREATE TABLE t (v integer)")
        let error = try postgresError {
            try db.inTransaction {
                try db.query("INSERT INTO t VALUES ($1)", ["1"])
                _ = try? db.query("INSERT INTO t VALUES ($1)", ["not a number"])
            }
        }
        #expect(error.message.contains("rolled back"))
        #expect(!db.isInTransaction)
        #expect(try db.query("SELECT count(*) FROM t").int64(0, 0) == 0)
    }

    @Test func aStatementFirstPreparedInARolledBackTransactionStillRuns() throws {
        let db = try freshConnection()
        try db.execute("CREATE TABLE t (v text)")
        #expect(throws: Refused.self) {
            try db.inTransaction {
                try db.query("INSERT INTO t VALUES ($1)", ["a"])
                throw Refused()
            }
        }
        try db.query("INSERT INTO t VALUES ($1)", ["b"])
        #expect(try db.query("SELECT string_agg(v, ',') FROM t").string(0, 0) == "b")
    }
}

@Suite("Errors are classified")
struct ClassificationTests {
    @Test func aUniqueViolationNamesItsConstraint() throws {
        let db = try freshConnection()
        try db.execute("CREATE TABLE t (id integer PRIMARY KEY, name text CONSTRAINT t_name_unique UNIQUE)")
        try db.query("INSERT INTO t VALUES ($1, $2)", ["1", "release-2024"])
        let error = try postgresError { try db.query("INSERT INTO t VALUES ($1, $2)", ["2", "release-2024"]) }
        #expect(error.kind == .uniqueViolation(constraint: "t_name_unique"))
        #expect(error.sqlState == "23505")
        // The row's values are in the server's DETAIL, which is never kept.
        #expect(!error.description.contains("release-2024"))
    }

    @Test func aCheckViolationNamesItsConstraint() throws {
        let db = try freshConnection()
        try db.execute("CREATE TABLE t (version integer CONSTRAINT version_positive CHECK (version > 0))")
        let error = try postgresError { try db.query("INSERT INTO t VALUES ($1)", ["-4"]) }
        #expect(error.kind == .checkViolation(constraint: "version_positive"))
    }

    @Test func aTriggersRaiseExceptionIsRaised() throws {
        let db = try freshConnection()
        try db.execute(
            """
            CREATE TABLE events (id integer, data text);
            CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE NOTICE 'about to refuse';
                RAISE EXCEPTION 'events are append-only';
            END $$;
            CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
                FOR EACH ROW EXECUTE FUNCTION refuse_change();
            """)
        try db.query("INSERT INTO events VALUES ($1, $2)", ["1", "{}"])
        let error = try postgresError { try db.query("UPDATE events SET data = $1", ["{\"forged\":true}"]) }
        #expect(error.kind == .raised)
        #expect(error.sqlState == "P0001")
        #expect(error.message == "events are append-only")
        #expect(try postgresError { try db.query("DELETE FROM events") }.kind == .raised)
    }

    @Test func aWriteInAReadOnlyTransactionIsReadOnly() throws {
        let db = try freshConnection()
        try db.execute("CREATE TABLE t (v integer)")
        let error = try postgresError {
            try db.inTransaction {
                try db.execute("SET TRANSACTION READ ONLY")
                try db.query("INSERT INTO t VALUES ($1)", ["1"])
            }
        }
        #expect(error.kind == .readOnly)
    }

    @Test func aRowLockHeldLongerThanLockTimeoutIsLockTimeout() throws {
        let url = try PostgresCluster.shared.makeDatabase()
        let holder = try PGConnection(url: url)
        let waiter = try PGConnection(url: url)
        try holder.execute("CREATE TABLE heads (stream text PRIMARY KEY, version bigint)")
        try holder.query("INSERT INTO heads VALUES ($1, $2)", ["deployment-1", "3"])
        try waiter.setLockTimeout(milliseconds: 200)
        try holder.inTransaction {
            try holder.query("SELECT version FROM heads WHERE stream = $1 FOR UPDATE", ["deployment-1"])
            let error = try postgresError {
                _ = try waiter.inTransaction {
                    try waiter.query("SELECT version FROM heads WHERE stream = $1 FOR UPDATE", ["deployment-1"])
                }
            }
            #expect(error.kind == .lockTimeout)
            #expect(error.sqlState == "55P03")
            #expect(error.description.contains("lock_timeout"))
        }
        #expect(!waiter.isInTransaction)
        // Once the holder committed, the waiter goes through.
        #expect(try waiter.query("SELECT version FROM heads WHERE stream = $1 FOR UPDATE", ["deployment-1"]).int64(0, 0) == 3)
    }

    @Test func aBackendTerminatedByAnotherSessionIsConnectionLost() throws {
        let url = try PostgresCluster.shared.makeDatabase()
        let victim = try PGConnection(url: url)
        let admin = try PGConnection(url: url)
        try victim.execute("CREATE TABLE t (v integer)")
        try victim.execute("BEGIN")
        try victim.query("INSERT INTO t VALUES ($1)", ["1"])
        #expect(try admin.query("SELECT pg_terminate_backend($1::integer)", [String(victim.backendPID)]).bool(0, 0) == true)
        let error = try postgresError { try victim.query("INSERT INTO t VALUES ($1)", ["2"]) }
        #expect(error.kind == .connectionLost)
        #expect(!victim.isInTransaction)
        #expect(try admin.query("SELECT count(*) FROM t").int64(0, 0) == 0)
    }

    @Test func theClusterCanTerminateEverySessionOfADatabase() throws {
        let (name, url) = try PostgresCluster.shared.createDatabase()
        let first = try PGConnection(url: url)
        let second = try PGConnection(url: url)
        #expect(try PostgresCluster.shared.terminateBackends(database: name) == 2)
        #expect(try postgresError { try first.execute("SELECT 1") }.kind == .connectionLost)
        #expect(try postgresError { try second.query("SELECT $1::int", ["1"]) }.kind == .connectionLost)
    }
}

@Suite("Connecting over TCP with a password", .enabled(if: !PostgresCluster.usesExistingServer))
struct PasswordTests {
    @Test func theRightPasswordConnects() throws {
        let cluster = PostgresCluster.shared
        let (name, _) = try cluster.createDatabase()
        let db = try PGConnection(url: cluster.tcpURL(database: name, password: cluster.superuserPassword))
        #expect(try db.query("SELECT current_database(), current_setting('application_name')").string(0, 1) == "shiplog")
        #expect(try db.query("SELECT current_database()").string(0, 0) == name)
    }

    @Test func aWrongPasswordFailsToConnectWithoutShowingIt() throws {
        let cluster = PostgresCluster.shared
        let (name, _) = try cluster.createDatabase()
        let wrong = "wrong-Pa55word-\(UInt32.random(in: 0...UInt32.max))"
        let urls = [
            try cluster.tcpURL(database: name, password: wrong),
            try cluster.tcpURL(database: name, password: "").replacingOccurrences(of: "postgres:@", with: "postgres@")
                + "?password=\(wrong)",
        ]
        for url in urls {
            let error = try postgresError { _ = try PGConnection(url: url) }
            #expect(error.kind == .connectionFailed)
            #expect(!error.description.contains(wrong))
            #expect(!error.description.contains(cluster.superuserPassword))
            #expect(error.description.contains("***"))
            #expect(error.description.contains("password"))
        }
        let port = try #require(urls[0].split(separator: ":").last?.split(separator: "/").first)
        let conninfo = "host=127.0.0.1 port=\(port) user=postgres dbname=\(name) password='\(wrong)'"
        let error = try postgresError { _ = try PGConnection(url: conninfo) }
        #expect(error.kind == .connectionFailed)
        #expect(!error.description.contains(wrong))
    }

    @Test func noPasswordAtAllSaysOneIsNeeded() throws {
        let cluster = PostgresCluster.shared
        let (name, _) = try cluster.createDatabase()
        let url =
            try cluster.tcpURL(database: name, password: "").replacingOccurrences(of: "postgres:@", with: "postgres@")
            + "?passfile=/nonexistent"
        let error = try postgresError { _ = try PGConnection(url: url) }
        #expect(error.kind == .connectionFailed)
        #expect(error.message.contains("none was given"))
    }
}

@Suite("Redacting passwords from URLs")
struct RedactionTests {
    @Test(arguments: [
        (
            "postgres://deployer:s3cr3t-pw@db.example.com:5432/ledger?sslmode=verify-full&sslrootcert=/etc/ca.pem",
            "postgres://deployer:***@db.example.com:5432/ledger?sslmode=verify-full&sslrootcert=/etc/ca.pem"
        ),
        ("postgresql://deployer:s3cr3t-pw@db.example.com/ledger", "postgresql://deployer:***@db.example.com/ledger"),
        ("POSTGRESQL://deployer:s3cr3t-pw@db/ledger", "POSTGRESQL://deployer:***@db/ledger"),
        ("postgresql://deployer:s3cr3t%40pw@db/ledger", "postgresql://deployer:***@db/ledger"),
        ("postgresql://deployer:s3cr3t@pw@db/ledger", "postgresql://deployer:***@db/ledger"),
        ("postgresql://deployer:s3cr3t?pw@db/ledger", "postgresql://deployer:***@db/ledger"),
        ("postgresql://deployer:s3cr3t/pw@db/ledger", "postgresql://deployer:***@db/ledger"),
        (
            "postgresql://[::1]:5432/ledger?user=deployer&password=s3cr3t-pw&sslmode=require",
            "postgresql://[::1]:5432/ledger?user=deployer&password=***&sslmode=require"
        ),
        ("postgresql://db/ledger?PassWord=s3cr3t-pw", "postgresql://db/ledger?PassWord=***"),
        ("postgresql://db/ledger?pass%77ord=s3cr3t-pw", "postgresql://db/ledger?pass%77ord=***"),
        ("postgresql://deployer:s3cr3t-pw@db/ledger?password=s3cr3t-pw", "postgresql://deployer:***@db/ledger?password=***"),
        (
            "host=db.example.com user=deployer password=s3cr3t-pw dbname=ledger",
            "host=db.example.com user=deployer password=*** dbname=ledger"
        ),
        ("host=db password = 's3cr3t \\' pw' dbname=ledger", "host=db password = *** dbname=ledger"),
        ("host=db password=s3cr3t\\ pw dbname=ledger", "host=db password=*** dbname=ledger"),
        ("host=db password='s3cr3t-pw", "host=db password=***"),
        ("host=db passwords s3cr3t-pw", "host=db ***"),
    ])
    func passwordsAreReplaced(url: String, expected: String) {
        let redacted = PGConnection.redacted(url: url)
        #expect(redacted == expected)
        #expect(!redacted.contains("s3cr3t"))
        #expect(!redacted.contains("pw@"))
    }

    @Test(arguments: [
        "postgresql://deployer@db.example.com:5432/ledger?sslmode=verify-full",
        "postgresql:///ledger?host=/var/run/postgresql&port=5433&user=postgres",
        "postgres://db/ledger",
        "host=db user=deployer dbname=ledger sslmode=verify-full",
        "ledger",
        "",
    ])
    func urlsWithoutAPasswordAreUnchanged(url: String) {
        #expect(PGConnection.redacted(url: url) == url)
    }
}

@Suite("Session advisory locks")
struct AdvisoryLockTests {
    @Test func aHeldLockIsRefusedToOthersAndFreedWhenItsHolderGoes() throws {
        let url = try PostgresCluster.shared.makeDatabase()
        let key: Int64 = -7_311_042_025_001
        let holder = try PGConnection(url: url)
        let other = try PGConnection(url: url)
        #expect(try holder.tryAdvisoryLock(key: key))
        #expect(try !other.tryAdvisoryLock(key: key))
        #expect(try other.tryAdvisoryLock(key: key + 1))

        // Released explicitly.
        #expect(try holder.advisoryUnlock(key: key))
        #expect(try !holder.advisoryUnlock(key: key))
        #expect(try other.tryAdvisoryLock(key: key))
        try other.advisoryUnlock(key: key)

        // Released by the server when the holder's session ends, without an unlock.
        #expect(try holder.tryAdvisoryLock(key: key))
        holder.close()
        // The server ends the session after the socket closes; wait for the lock rather than
        // race it (lock_timeout turns a lock that is never released into a failure).
        try other.setLockTimeout(milliseconds: 30_000)
        try other.query("SELECT pg_advisory_lock($1::bigint)", [String(key)])
        #expect(
            try other.query(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = $1::integer",
                [String(other.backendPID)]
            ).int64(0, 0) == 2)
    }

    @Test func aLockHeldByATerminatedSessionIsFreed() throws {
        let url = try PostgresCluster.shared.makeDatabase()
        let holder = try PGConnection(url: url)
        let other = try PGConnection(url: url)
        #expect(try holder.tryAdvisoryLock(key: 42))
        try other.query("SELECT pg_terminate_backend($1::integer)", [String(holder.backendPID)])
        try other.setLockTimeout(milliseconds: 30_000)
        try other.query("SELECT pg_advisory_lock($1::bigint)", ["42"])
        #expect(try postgresError { _ = try holder.tryAdvisoryLock(key: 42) }.kind == .connectionLost)
    }
}

@Suite("A crashed server", .enabled(if: !PostgresCluster.usesExistingServer))
struct CrashTests {
    @Test func connectionsAreLostAndCommittedRowsSurviveARestart() throws {
        let cluster = PostgresCluster.dedicated()
        let url = try cluster.makeDatabase()
        let db = try PGConnection(url: url)
        try db.execute("CREATE TABLE t (v text)")
        try db.query("INSERT INTO t VALUES ($1)", ["committed"])
        try db.execute("BEGIN")
        try db.query("INSERT INTO t VALUES ($1)", ["in flight"])

        try cluster.kill9()
        let lost = try postgresError { try db.query("INSERT INTO t VALUES ($1)", ["after"]) }
        #expect(lost.kind == .connectionLost, "\(lost)")
        #expect(try postgresError { _ = try PGConnection(url: url) }.kind == .connectionFailed)

        try cluster.restart()
        let again = try PGConnection(url: url)
        #expect(try again.query("SELECT string_agg(v, ',') FROM t").string(0, 0) == "committed")
        cluster.stop()
        #expect(throws: ClusterError.self) { try cluster.makeDatabase() }
    }
}
