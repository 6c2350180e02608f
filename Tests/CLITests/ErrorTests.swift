import SQLiteStore
import EventStore
import Foundation
import ShiplogTestSupport
import Testing

/// Permission bits do not stop root. Under root the permission tests run `shiplog` as `nobody`
/// through `setpriv`; without `setpriv` they are skipped, and the skip says why.
enum Unprivileged {
    static let isRoot = geteuid() == 0
    static let user: UInt32 = 65_534
    static let setpriv: URL? = ["/usr/bin/setpriv", "/bin/setpriv", "/usr/sbin/setpriv"]
        .map(URL.init(fileURLWithPath:)).first { FileManager.default.isExecutableFile(atPath: $0.path) }
    static let available = !isRoot || setpriv != nil

    /// Runs `shiplog` as an unprivileged user.
    static func shiplog(_ args: [String]) -> ProcessOutput {
        guard isRoot, let setpriv else { return runShiplog(args) }
        return runProcess(
            setpriv, ["--reuid=\(user)", "--regid=\(user)", "--clear-groups", ShiplogBinary.url.path] + args,
            in: URL(fileURLWithPath: "/"))
    }

    /// Gives `path` and everything under it to the user `shiplog(_:)` runs as.
    static func own(_ path: String) {
        guard isRoot else { return }
        _ = lchown(path, user, user)
        for relative in FileManager.default.subpaths(atPath: path) ?? [] {
            _ = lchown(path + "/" + relative, user, user)
        }
    }
}

@Suite("Errors: clear messages and exit codes")
struct ErrorTests {
    @Test func aFileThatIsNotSQLiteExits74NamingIt() throws {
        let ledger = try CLILedger(name: "x.db")
        try "hello\n".write(toFile: ledger.path, atomically: false, encoding: .utf8)
        let commands = [
            ["verify"], ["events", "list"], ["init"],
            ["events", "append", "--stream", "s", "--type", "T", "--data", "{}"],
        ]
        for args in commands {
            let result = ledger.shiplog(args)
            #expect(result.status == 74, "\(args): \(result.stderr)")
            #expect(result.stderr.contains(ledger.path), "\(args): \(result.stderr)")
            #expect(result.stderr.contains("not a Shiplog ledger"), "\(args): \(result.stderr)")
        }
        #expect(try String(contentsOfFile: ledger.path, encoding: .utf8) == "hello\n", "the file was changed")
        #expect(!FileManager.default.fileExists(atPath: ledger.path + "-wal"))
    }

    enum Damage: String, CaseIterable, Sendable {
        case pagesOverwritten, truncated
    }

    @Test(arguments: Damage.allCases)
    func aDamagedLedgerIsAClearErrorNotACrash(damage: Damage) throws {
        let ledger = try CLILedger()
        try ledger.fill(600, payloadBytes: 400)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: ledger.path)[.size] as? Int)
        try #require(size > 64 * 4096, "the ledger is too small to damage in the middle (\(size) bytes)")
        let file = try #require(FileHandle(forUpdatingAtPath: ledger.path))
        switch damage {
        case .pagesOverwritten:
            try file.seek(toOffset: UInt64(size / 2 / 4096 * 4096))
            try file.write(contentsOf: Data((0..<(3 * 4096)).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }))
        case .truncated:
            try file.truncate(atOffset: UInt64(size / 2))
        }
        try file.close()

        for args in [["verify"], ["events", "list"], ["events", "list", "--json"]] {
            let result = ledger.shiplog(args)
            #expect(result.status == 74, "\(args): status \(result.status): \(result.stderr)")
            #expect(result.stderr.contains("\(ledger.path) is damaged"), "\(args): \(result.stderr)")
        }
        // An append may succeed when it touches no damaged page; it must never crash or hide the damage.
        let append = ledger.shiplog(["events", "append", "--stream", "s", "--type", "T", "--data", "{}"])
        #expect(append.status == 0 || append.status == 74, "append on a damaged ledger: \(append.status) \(append.stderr)")
        let after = ledger.shiplog(["verify"])
        #expect(after.status == 74, "\(after.stderr)")
    }

    /// Holds `BEGIN IMMEDIATE` on `path` in a sqlite3 shell until `release()`.
    final class LockHolder {
        let shell: ChildProcess
        init(_ path: String) throws {
            shell = try ChildProcess(try #require(SQLiteShell.url), ["-batch", path])
            shell.send("BEGIN IMMEDIATE;\n")
            // Held once another writer's BEGIN IMMEDIATE fails at once.
            for _ in 0..<200 {
                let probe = sqlite3(path, "BEGIN IMMEDIATE; ROLLBACK;")
                if probe.status != 0, probe.stderr.contains("locked") { return }
                usleep(25_000)
            }
            Issue.record("the sqlite3 shell never took the write lock")
        }

        func release() -> ProcessOutput {
            shell.send("ROLLBACK;\n.quit\n")
            return shell.wait()
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aLedgerLockedByAnotherWriterExits75() throws {
        let ledger = try CLILedger()
        try ledger.fill(3)
        let holder = try LockHolder(ledger.path)

        let started = Date()
        let append = ledger.shiplog(["events", "append", "--stream", "s", "--type", "T", "--data", "{}", "--busy-timeout", "200"])
        let waited = Date().timeIntervalSince(started)
        #expect(append.status == 75, "\(append.stderr)")
        #expect(append.stderr.contains("locked by another process"), "\(append.stderr)")
        #expect(append.stderr.contains(ledger.path))
        #expect(waited < 4, "gave up after \(waited) s with a 200 ms busy timeout")

        let fromEnvironment = ledger.shiplog(["init"], environment: ["SHIPLOG_BUSY_TIMEOUT_MS": "200"])
        #expect(fromEnvironment.status == 75, "\(fromEnvironment.stderr)")
        // Readers are not blocked by a writer.
        let list = ledger.shiplog(["events", "list"])
        #expect(list.status == 0, "\(list.stderr)")

        let released = holder.release()
        #expect(released.status == 0, "\(released.stderr)")
        let retried = ledger.shiplog(["events", "append", "--stream", "s", "--type", "T", "--data", "{}", "--busy-timeout", "200"])
        #expect(retried.status == 0, "\(retried.stderr)")
        #expect(retried.stdout == "4\n")
    }

    @Test(.enabled(if: Unprivileged.available, "running as root without setpriv: permission bits do not stop root from writing"))
    func aReadOnlyDirectoryOrFileExits73() throws {
        let dir = try TemporaryDirectory()
        let append = ["events", "append", "--stream", "s", "--type", "T", "--data", "{}"]

        // A new ledger in a directory that cannot be written.
        let readOnlyDirectory = dir.file("read-only-dir")
        try FileManager.default.createDirectory(atPath: readOnlyDirectory, withIntermediateDirectories: false)
        // An existing ledger whose file cannot be written, in a writable directory.
        let readOnlyFile = dir.file("writable-dir/ledger.db")
        // An existing, writable ledger in a directory that cannot be written (no room for its WAL).
        let lockedIn = dir.file("sealed-dir/ledger.db")
        for path in [readOnlyFile, lockedIn] {
            let created = runShiplog(["init", "--db", path])
            try #require(created.status == 0, "\(created.stderr)")
            let filled = runShiplog(append + ["--db", path])
            try #require(filled.status == 0, "\(filled.stderr)")
        }
        chmod(dir.path, 0o755)
        Unprivileged.own(dir.path)
        chmod(readOnlyDirectory, 0o555)
        chmod(readOnlyFile, 0o444)
        chmod(dir.file("writable-dir"), 0o755)
        chmod(dir.file("sealed-dir"), 0o555)

        let newLedger = readOnlyDirectory + "/ledger.db"
        let created = Unprivileged.shiplog(["init", "--db", newLedger])
        #expect(created.status == 73, "\(created.stderr)")
        #expect(created.stderr.contains(newLedger), "\(created.stderr)")
        // Any other command refuses a ledger that does not exist before trying to write.
        let appended = Unprivileged.shiplog(append + ["--db", newLedger])
        #expect(appended.status == 78, "\(appended.stderr)")
        #expect(appended.stderr.contains(newLedger) && appended.stderr.contains("shiplog init"), "\(appended.stderr)")
        #expect(!FileManager.default.fileExists(atPath: newLedger))

        let before = sha256(ofFile: readOnlyFile)
        let onFile = Unprivileged.shiplog(append + ["--db", readOnlyFile])
        #expect(onFile.status == 73, "\(onFile.stderr)")
        #expect(onFile.stderr.contains(readOnlyFile), "\(onFile.stderr)")
        #expect(sha256(ofFile: readOnlyFile) == before)
        let readable = Unprivileged.shiplog(["verify", "--db", readOnlyFile])
        #expect(readable.status == 0, "a read-only ledger must still verify: \(readable.stderr)")

        let inSealed = Unprivileged.shiplog(append + ["--db", lockedIn])
        #expect(inSealed.status == 73, "\(inSealed.stderr)")
        #expect(inSealed.stderr.contains(lockedIn), "\(inSealed.stderr)")
    }

    @Test(.enabled(if: Unprivileged.available, "running as root without setpriv: permission bits do not stop root from writing"))
    func aLedgerInAReadOnlyDirectoryCanStillBeRead() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("archive/ledger.db")
        try #require(runShiplog(["init", "--db", path]).status == 0)
        let created = runShiplog(["events", "append", "--stream", "s", "--type", "T", "--data", "{}", "--db", path])
        try #require(created.status == 0, "\(created.stderr)")
        chmod(dir.path, 0o755)
        Unprivileged.own(dir.path)
        chmod(path, 0o444)
        chmod(dir.file("archive"), 0o555)

        let verified = Unprivileged.shiplog(["verify", "--db", path])
        #expect(verified.status == 0, "\(verified.stderr)")
        let listed = Unprivileged.shiplog(["events", "list", "--db", path])
        #expect(listed.status == 0, "\(listed.stderr)")
    }

    @Test func aGarbageExpectedVersionIsAUsageError() throws {
        let ledger = try CLILedger()
        for value in ["banana", "0", "-1", "1.5", "", "NO-STREAM", "3x"] {
            let result = ledger.shiplog([
                "events", "append", "--stream", "s", "--type", "T", "--data", "{}",
                "--expected-version=\(value)",
            ])
            #expect(result.status == 64, "--expected-version \(value): \(result.status) \(result.stderr)")
            #expect(result.stderr.contains("--expected-version"), "\(value): \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: ledger.path), "a usage error must not create the ledger")
    }

    @Test func aWrongExpectedVersionExits5AndWritesNothing() throws {
        let ledger = try CLILedger().initialized()
        let base = ["events", "append", "--stream", "s", "--type", "T", "--data", "{}"]
        #expect(ledger.shiplog(base + ["--expected-version", "no-stream"]).status == 0)
        #expect(ledger.shiplog(base + ["--expected-version", "1"]).status == 0)
        for expected in ["1", "3", "no-stream"] {
            let result = ledger.shiplog(base + ["--expected-version", expected])
            #expect(result.status == 5, "\(expected): \(result.stderr)")
            #expect(result.stderr.contains("is at version 2"), "\(expected): \(result.stderr)")
        }
        let list = ledger.shiplog(["events", "list"])
        #expect(list.stdout.split(separator: "\n").count == 2)
    }

    @Test func readingAMissingLedgerDoesNotCreateIt() throws {
        let ledger = try CLILedger()
        for args in [["verify"], ["events", "list"]] {
            let result = ledger.shiplog(args)
            #expect(result.status == 78, "\(args): \(result.stderr)")
            #expect(result.stderr.contains("shiplog init"), "\(args): \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: ledger.path))
    }

    @Test func aNewLedgerAndItsDirectoryAreOwnerOnly() throws {
        let dir = try TemporaryDirectory()
        let single = dir.file("state/ledger.db")
        let created = runShiplog(["init", "--db", single])
        try #require(created.status == 0, "\(created.stderr)")
        #expect(permissions(single) == 0o600)
        #expect(permissions(dir.file("state")) == 0o700)

        // Even with a permissive umask, and for every directory created on the way.
        let nested = dir.file("a/b/ledger.db")
        let shell = runProcess(
            URL(fileURLWithPath: "/bin/sh"),
            ["-c", "umask 000 && exec \"$0\" init --db \"$1\"", ShiplogBinary.url.path, nested])
        try #require(shell.status == 0, "\(shell.stderr)")
        #expect(permissions(nested) == 0o600)
        #expect(permissions(dir.file("a/b")) == 0o700)
        #expect(permissions(dir.file("a")) == 0o700)

        // The WAL and shared-memory files SQLite creates beside an open ledger are owner-only too.
        let store = try SQLiteEventStore(path: nested)
        try store.append([NewEvent(type: "T", data: "{}")], to: "s", expected: .any)
        for suffix in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: nested + suffix) {
            #expect(permissions(nested + suffix) == 0o600, "\(suffix)")
        }
        withExtendedLifetime(store) {}
    }
}
