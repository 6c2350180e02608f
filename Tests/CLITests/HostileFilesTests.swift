import SQLiteStore
import EventStore
import Foundation
import ShiplogTestSupport
import Testing

/// Files, directories and pipes set up to make Shiplog write where it must not, hang, lie in
/// its exit code or run out of memory: planted symbolic links, hard links and FIFOs, world-
/// writable directories, an export aimed at the ledger, devices as ledgers, umask 000, closed
/// pipes, a 200 MiB log, a webhook that never answers. Every case runs the built binary.
@Suite struct HostileFilesTests {
    // MARK: Planted links in the log directory

    enum Plant: String, CaseIterable, Sendable {
        case symlink, hardLink, fifo

        /// The shell command that plants it at `$1`, pointing at (or linked to) `$VICTIM`.
        var command: String {
            switch self {
            case .symlink: #"ln -s "$VICTIM" "$DEPLOYMENT_LOG_DIR/deployment-$SHIPLOG_DEPLOYMENT_ID.log""#
            case .hardLink: #"ln "$VICTIM" "$DEPLOYMENT_LOG_DIR/deployment-$SHIPLOG_DEPLOYMENT_ID.log""#
            case .fifo: #"mkfifo "$DEPLOYMENT_LOG_DIR/deployment-$SHIPLOG_DEPLOYMENT_ID.log""#
            }
        }
    }

    /// A preflight step plants a link (or a FIFO) at the name the deploy phase's log will have.
    /// The runner must not write through it to the victim (nor block on the FIFO): it refuses
    /// the log with exit 73 and names it.
    @Test(arguments: Plant.allCases)
    func aLinkPlantedAtALogNameIsRefusedAndItsTargetIsUntouched(_ plant: Plant) throws {
        let staging = try Staging(preflight: plant.command)
        let victim = staging.dir.file("victim.txt")
        try "precious\n".write(toFile: victim, atomically: true, encoding: .utf8)
        let before = sha256(ofFile: victim)
        let result = staging.deploy("abcdef1234567", env: ["VICTIM": victim])
        #expect(!result.timedOut, "the runner blocked on the planted \(plant)")
        #expect(result.status == 73, "exit \(result.status): \(result.stderr)")
        #expect(result.stderr.contains("refusing to write log file"), "\(result.stderr)")
        #expect(result.stderr.contains("deployment-"), "the error names the log: \(result.stderr)")
        #expect(sha256(ofFile: victim) == before, "the victim was written through the planted \(plant)")
    }

    /// A symbolic link planted at a log's name after the step wrote it must not make the runner
    /// read another file into the artifact store: a preflight step swaps its own finished log
    /// (preflight-ID.log is written before the deploy phase) for a link to a secret file.
    @Test func aLogSwappedForALinkIsNotReadIntoTheArtifactStore() throws {
        let staging = try Staging(
            deploy: #"rm -f "$DEPLOYMENT_LOG_DIR/preflight-$SHIPLOG_DEPLOYMENT_ID.log"; ln -s "$VICTIM" "$DEPLOYMENT_LOG_DIR/preflight-$SHIPLOG_DEPLOYMENT_ID.log""#,
            preflight: "echo checked")
        let victim = staging.dir.file("id_key")
        try "PRIVATE KEY MATERIAL\n".write(toFile: victim, atomically: true, encoding: .utf8)
        let result = staging.deploy("abcdef1234567", env: ["VICTIM": victim])
        #expect(result.status != 0, "the runner kept a linked file as a log: \(result.stderr)")
        #expect(result.stderr.contains("symbolic link"), "\(result.stderr)")
        let stored = (try? FileManager.default.contentsOfDirectory(atPath: staging.dir.file("ledger/artifacts"))) ?? []
        for name in stored {
            let text = (try? String(contentsOfFile: staging.dir.file("ledger/artifacts/\(name)"), encoding: .utf8)) ?? ""
            #expect(!text.contains("PRIVATE KEY MATERIAL"), "the linked file was copied into the artifact store as \(name)")
        }
    }

    // MARK: The artifact store

    /// A symbolic link planted under the digest name a log will get: the old store took the
    /// name's existence as proof the content was there, and the ledger then pointed at
    /// whatever the link named. Now the link is replaced by the real, complete file.
    @Test func aLinkPlantedAtAnArtifactDigestIsReplacedNotTrusted() throws {
        let ledger = try DomainLedger()
        let id = ledger.begin(sha: "abcdef1234567890")
        let content = "migration 0042 applied\n"
        let log = ledger.write("migrate.log", content)
        let digest = try #require(sha256(ofFile: log))
        let victim = ledger.write("victim.txt", "not a migration log\n")
        let victimDigest = sha256(ofFile: victim)
        try FileManager.default.createDirectory(
            atPath: ledger.directory.file("artifacts"), withIntermediateDirectories: false,
            attributes: [.posixPermissions: 0o700])
        let planted = ledger.artifactFile(sha256: digest)
        try FileManager.default.createSymbolicLink(atPath: planted, withDestinationPath: victim)

        ledger.ok(["record", "phase", id, "migrate", "--status", "succeeded", "--log", log])
        var info = stat()
        #expect(lstat(planted, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG, "the digest name is still a link")
        #expect(sha256(ofFile: planted) == digest, "the stored file does not hold the log")
        #expect(sha256(ofFile: victim) == victimDigest)
        let artifacts = DomainJSON.object(ledger.ok(["show", id, "--json"]))?["artifacts"] as? [[String: Any]]
        #expect(artifacts?.first?["sha256"] as? String == digest)
        #expect(ledger.run(["verify"]).status == 0)
    }

    // MARK: Directories others can write to

    /// A log directory anyone can write to lets anyone plant links in it: refused before the
    /// deployment is recorded, with the fix in the message. Group-writable likewise.
    @Test(arguments: [0o777 as mode_t, 0o770])
    func aLogDirectoryOthersCanWriteIsRefusedBeforeAnythingIsRecorded(_ mode: mode_t) throws {
        let staging = try Staging()
        let logs = staging.dir.file("shared-logs")
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: false)
        chmod(logs, mode)
        let result = staging.deploy("abcdef1234567", env: ["DEPLOYMENT_LOG_DIR": logs])
        #expect(result.status == 73, "exit \(result.status): \(result.stderr)")
        #expect(result.stderr.contains("writable by"), "\(result.stderr)")
        #expect(result.stderr.contains("chmod go-w"), "\(result.stderr)")
        let history = runShiplog(["history", "--json", "--db", staging.db])
        #expect(history.stdout.isEmpty, "nothing was recorded: \(history.stdout)")
    }

    /// A sticky directory of our own, like a private /tmp, keeps others from replacing our
    /// files: it is used.
    @Test func aStickyLogDirectoryOfOurOwnIsUsed() throws {
        let staging = try Staging()
        let logs = staging.dir.file("sticky-logs")
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: false)
        chmod(logs, 0o1777)
        let result = staging.deploy("abcdef1234567", env: ["DEPLOYMENT_LOG_DIR": logs])
        #expect(result.status == 0, "exit \(result.status): \(result.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: logs)
        #expect(names.contains { $0.hasPrefix("deployment-") }, "\(names)")
    }

    // MARK: Export aimed at the ledger

    enum ExportTarget: String, CaseIterable, Sendable {
        case sameName, symlink, hardLink, walName
    }

    /// `export --output` renames its file over the path: aimed at the ledger (by any name) it
    /// would replace every event with a copy of some of them. Refused; the ledger still verifies.
    @Test(arguments: ExportTarget.allCases)
    func exportRefusesToReplaceTheLedger(_ target: ExportTarget) throws {
        let ledger = try DomainLedger()
        _ = ledger.stable(sha: "abcdef1234567890")
        let headBefore = ledger.head()
        let output: String
        switch target {
        case .sameName:
            output = ledger.db
        case .symlink:
            output = ledger.directory.file("ledger-link.db")
            try FileManager.default.createSymbolicLink(atPath: output, withDestinationPath: ledger.db)
        case .hardLink:
            output = ledger.directory.file("ledger-hardlink.db")
            #expect(link(ledger.db, output) == 0)
        case .walName:
            output = ledger.db + "-wal"
        }
        for args in [["export", "--output", output], ["export", "--events", "--output", output]] {
            let result = ledger.run(args)
            #expect(result.status == 64, "\(target): exit \(result.status): \(result.stderr)")
            #expect(result.stderr.contains("refusing to export"), "\(result.stderr)")
        }
        #expect(ledger.run(["verify"]).status == 0, "the ledger no longer verifies after export to its \(target)")
        #expect(ledger.head() == headBefore)
    }

    @Test func exportRefusesAFIFOAsItsOutput() throws {
        let ledger = try DomainLedger()
        _ = ledger.stable(sha: "abcdef1234567890")
        let fifo = ledger.directory.file("out.fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        let result = ledger.run(["export", "--output", fifo])
        #expect(result.status == 64, "exit \(result.status): \(result.stderr)")
        #expect(result.stderr.contains("FIFO"), "\(result.stderr)")
        #expect(FileSystemKind.of(fifo) == S_IFIFO, "the FIFO was replaced")
    }

    // MARK: Ledger paths that are not ledger files

    /// SQLite opening a FIFO waits for a writer forever; a device gets -journal files created
    /// beside it; a directory gives "disk I/O error". Each is refused at once, by name.
    @Test func aFIFOAsTheLedgerIsRefusedAtOnce() throws {
        let dir = try TemporaryDirectory()
        let fifo = dir.file("ledger.db")
        #expect(mkfifo(fifo, 0o600) == 0)
        for args in [["history"], ["record", "begin", "--env", "staging", "--sha", "abcdef1234567"], ["verify"]] {
            let result = spawnShiplog(args + ["--db", fifo], timeout: 20)
            #expect(!result.timedOut, "shiplog \(args[0]) --db FIFO hung")
            #expect(result.status == 74, "exit \(result.status): \(result.stderr)")
            #expect(result.stderr.contains(fifo) && result.stderr.contains("FIFO"), "\(result.stderr)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["ledger.db"], "nothing was created beside it")
    }

    @Test func aDeviceAsTheLedgerIsRefusedAndNothingIsCreatedBesideIt() throws {
        let staging = try Staging()
        let hadJournal = FileSystemKind.of("/dev/null-journal") != nil
        let hadLocks = FileSystemKind.of("/dev/locks") != nil
        for args in [
            ["record", "begin", "--env", "staging", "--sha", "abcdef1234567"], ["history"], ["init"],
            ["deploy", "--config", staging.pipelinePath, "--sha", "abcdef1234567"],
        ] {
            let result = runShiplog(args + ["--db", "/dev/null"], in: staging.dir.url)
            #expect(result.status == 74, "exit \(result.status): \(result.stderr)")
            #expect(result.stderr.contains("/dev/null") && result.stderr.contains("character device"), "\(result.stderr)")
        }
        if !hadJournal { #expect(FileSystemKind.of("/dev/null-journal") == nil, "SQLite created /dev/null-journal") }
        for suffix in ["-wal", "-shm"] { #expect(FileSystemKind.of("/dev/null" + suffix) == nil) }
        if !hadLocks { #expect(FileSystemKind.of("/dev/locks") == nil) }
        #expect(FileSystemKind.of("/dev/artifacts") == nil)
    }

    @Test func aDirectoryAsTheLedgerIsRefusedByName() throws {
        let dir = try TemporaryDirectory()
        for args in [["history"], ["record", "begin", "--env", "staging", "--sha", "abcdef1234567"]] {
            let result = runShiplog(args + ["--db", dir.path])
            #expect(result.status == 74, "exit \(result.status): \(result.stderr)")
            #expect(result.stderr.contains("is a directory"), "\(result.stderr)")
        }
    }

    /// A -wal planted beside the ledger as a link: SQLite refuses it, but with "unable to open
    /// database file"; the error now says which file and why.
    @Test func aLinkPlantedAsTheLedgersWALIsNamed() throws {
        let ledger = try DomainLedger()
        _ = ledger.begin(sha: "abcdef1234567890")
        let victim = ledger.write("victim.txt", "precious\n")
        try FileManager.default.createSymbolicLink(atPath: ledger.db + "-wal", withDestinationPath: victim)
        let result = ledger.run(["record", "begin", "--env", "other", "--sha", "abcdef1234567"])
        #expect(result.status == 74, "exit \(result.status): \(result.stderr)")
        #expect(result.stderr.contains("ledger.db-wal is a symbolic link"), "\(result.stderr)")
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n")
    }

    // MARK: Permissions under umask 000

    /// Every file Shiplog creates gets 0600 and every directory 0700 from the call that makes
    /// it, so a process umask of 000 leaves nothing readable by others.
    @Test func umask000StillGivesPrivateFiles() throws {
        let staging = try Staging(initialize: false)
        let environment = ["STATE": staging.dir.file("state")]
        let created = spawnShiplog(["init", "--db", staging.db], in: staging.dir.path, umask: "000")
        #expect(created.status == 0, "\(created.stderr)")
        let deploy = spawnShiplog(
            ["deploy", "--db", staging.db, "--config", staging.pipelinePath, "--sha", "abcdef1234567"],
            environment: environment, in: staging.dir.path, umask: "000")
        #expect(deploy.status == 0, "exit \(deploy.status): \(deploy.stderr)")
        let id = try #require(DomainJSON.lines(runShiplog(["history", "--json", "--db", staging.db]).stdout).first?["deployment_id"] as? String)
        let log = staging.dir.file("recorded.log")
        try "recorded pipeline output\n".write(toFile: log, atomically: true, encoding: .utf8)
        let other = staging.dir.file("other/ledger.db")
        for args in [
            ["init", "--db", other],
            ["record", "begin", "--env", "qa", "--sha", "abcdef1234567", "--db", other],
            ["export", "--events", "--db", staging.db, "--output", staging.dir.file("export.ndjson")],
        ] {
            let result = spawnShiplog(args, in: staging.dir.path, umask: "000")
            #expect(result.status == 0, "shiplog \(args[0]) exited \(result.status): \(result.stderr)")
        }
        let recordedID = runShiplog(["history", "--json", "--db", other]).stdout
        let otherID = try #require(DomainJSON.lines(recordedID).first?["deployment_id"] as? String)
        let phase = spawnShiplog(
            ["record", "phase", otherID, "migrate", "--status", "succeeded", "--log", log, "--db", other],
            in: staging.dir.path, umask: "000")
        #expect(phase.status == 0, "\(phase.stderr)")

        var checked: [String] = []
        func expectMode(_ path: String, _ mode: Int) {
            checked.append(path)
            #expect(permissions(path) == mode, "\(path) has mode \(String(permissions(path) ?? -1, radix: 8)), expected \(String(mode, radix: 8))")
        }
        for directory in [
            staging.dir.file("ledger"), staging.dir.file("ledger/artifacts"), staging.dir.file("ledger/locks"),
            staging.dir.file("logs"), staging.dir.file("other"), staging.dir.file("other/artifacts"),
        ] {
            expectMode(directory, 0o700)
        }
        expectMode(staging.db, 0o600)
        expectMode(other, 0o600)
        expectMode(staging.dir.file("export.ndjson"), 0o600)
        for directory in ["ledger/artifacts", "ledger/locks", "logs", "other/artifacts"] {
            for name in try FileManager.default.contentsOfDirectory(atPath: staging.dir.file(directory)) {
                expectMode(staging.dir.file("\(directory)/\(name)"), 0o600)
            }
        }
        for companion in [staging.db + "-wal", staging.db + "-shm", other + "-wal", other + "-shm"]
        where FileSystemKind.of(companion) != nil {
            expectMode(companion, 0o600)
        }
        #expect(checked.count > 14, "too few files checked: \(checked)")
        _ = id
    }

    // MARK: Closed pipes and honest exit codes

    /// `shiplog deploy … | head -1`: the reader goes away after the first line (or before any).
    /// The deployment is driven to its end and the exit code is its outcome, not 0.
    @Test(arguments: [ChildOutput.closed, .closedAfterFirstLine])
    func aDeploymentWithItsOutputClosedRunsToTheEndAndExitsWithItsOutcome(_ stdout: ChildOutput) throws {
        let staging = try Staging()
        let good = spawnShiplog(
            ["deploy", "--db", staging.db, "--config", staging.pipelinePath, "--sha", "abcdef1234567"],
            environment: staging.environment, in: staging.dir.path, stdout: stdout)
        #expect(good.status == 0, "exit \(good.status): \(good.stderr)")
        let bad = spawnShiplog(
            ["deploy", "--db", staging.db, "--config", staging.pipelinePath, "--sha", "bad0000000001"],
            environment: staging.environment, in: staging.dir.path, stdout: stdout, closeStderr: true)
        #expect(bad.status == 1, "a rolled-back deployment must exit 1 with its output closed; got \(bad.status)")
        let records = DomainJSON.lines(runShiplog(["history", "--json", "--db", staging.db]).stdout)
        #expect(records.map { $0["status"] as? String } == ["rolled_back", "success"], "\(records)")
        // Closed after the first line, the rest may all have fit in the pipe's buffer before the
        // reader left: only a pipe closed from the start is sure to refuse a write.
        if stdout == .closed {
            #expect(good.stderr.contains("standard output was closed"), "\(good.stderr)")
        }
    }

    /// `record` with its output closed still records, and says so by its exit code.
    @Test func recordWithItsOutputClosedRecordsAndExitsZero() throws {
        let ledger = try DomainLedger()
        let result = spawnShiplog(
            ["record", "begin", "--env", "staging", "--sha", "abcdef1234567", "--db", ledger.db], stdout: .closed,
            closeStderr: true)
        #expect(result.status == 0)
        #expect(DomainJSON.lines(ledger.ok(["history", "--json"])).count == 1)
    }

    /// A listing whose reader went away (`shiplog history | head`) ends quietly with 0.
    @Test func aListingWithItsOutputClosedEndsQuietly() throws {
        let ledger = try DomainLedger()
        for n in 0..<3 { _ = ledger.stable(sha: "abcdef123456\(n)") }
        for args in [["history"], ["events", "list"], ["export", "--events"], ["artifacts", "list"]] {
            for stdout in [ChildOutput.closed, .closedAfterFirstLine] {
                let result = spawnShiplog(args + ["--db", ledger.db], stdout: stdout)
                #expect(result.status == 0, "shiplog \(args.joined(separator: " ")): exit \(result.status): \(result.stderr)")
                #expect(result.stderr.isEmpty || args[0] == "export", "\(result.stderr)")
            }
        }
    }

    /// Output that cannot be written for another reason (a full disk, a descriptor closed with
    /// `>&-`) fails a listing with 73, instead of a silently short listing and 0.
    @Test func aListingThatCannotWriteItsOutputExits73() throws {
        let ledger = try DomainLedger()
        _ = ledger.stable(sha: "abcdef1234567890")
        let result = runProcess(URL(fileURLWithPath: "/bin/sh"), ["-c", "exec \"$0\" history --db \"$1\" >/dev/full", ShiplogBinary.url.path, ledger.db])
        #expect(result.status == 73, "exit \(result.status): \(result.stderr)")
        #expect(result.stderr.contains("cannot write standard output"), "\(result.stderr)")
    }

    // MARK: Large logs

    /// A 200 MiB log kept by `record phase --log` is streamed: the process's peak memory stays
    /// far below the file's size. A secret is cut by every 4 KiB boundary of the file, so every
    /// read chunk the store may use splits one; all are redacted, and the SHA-256 recorded is
    /// the stored, redacted bytes'.
    @Test func aLargeLogIsStreamedWithFlatMemoryAndRedactedAcrossChunks() throws {
        let ledger = try DomainLedger()
        let id = ledger.begin(sha: "abcdef1234567890")
        let secret = Array("tok-3f9a2c71e5b8d6a40c1e".utf8)
        let blocks = 200
        let log = ledger.directory.file("big.log")
        let occurrences = try writeLogWithSecrets(path: log, blocks: blocks, secret: secret)
        let environment = ["SHIPLOG_SECRETS": "DEPLOY_TOKEN", "DEPLOY_TOKEN": String(decoding: secret, as: UTF8.self)]
        let result = spawnShiplog(
            ["record", "phase", id, "migrate", "--status", "succeeded", "--log", log, "--db", ledger.db],
            environment: environment)
        #expect(result.status == 0, "exit \(result.status): \(result.stderr)")
        let fileSize = blocks << 20
        #expect(result.maxRSSKiB < 64 * 1024, "peak RSS \(result.maxRSSKiB) KiB for a \(fileSize >> 20) MiB log")

        let artifact = try #require((DomainJSON.object(ledger.ok(["show", id, "--json"]))?["artifacts"] as? [[String: Any]])?.first)
        let digest = try #require(artifact["sha256"] as? String)
        let stored = ledger.artifactFile(sha256: digest)
        #expect(sha256(ofFile: stored) == digest, "the recorded SHA-256 is not that of the stored bytes")
        let replacement = "[redacted:DEPLOY_TOKEN]"
        let expectedSize = fileSize - occurrences * (secret.count - replacement.utf8.count)
        #expect((artifact["size"] as? NSNumber)?.intValue == expectedSize)
        #expect(fileSizeOf(stored) == expectedSize)
        let leaked = runProcess(URL(fileURLWithPath: "/bin/grep"), ["-c", "-F", String(decoding: secret, as: UTF8.self), stored])
        #expect(leaked.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "the secret is in the stored log")
        let counted = runProcess(URL(fileURLWithPath: "/bin/sh"), ["-c", "grep -o -F \"$0\" \"$1\" | wc -l", replacement, stored])
        #expect(Int(counted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) == occurrences)
    }

    /// `record health --log` goes through the same streaming, redacting path.
    @Test func aHealthLogIsRedactedAcrossChunksToo() throws {
        let ledger = try DomainLedger()
        let id = ledger.begin(sha: "abcdef1234567890")
        ledger.ok(["record", "phase", id, "deploy", "--status", "succeeded"])
        let secret = Array("hunter2-health-secret".utf8)
        let log = ledger.directory.file("health.log")
        let occurrences = try writeLogWithSecrets(path: log, blocks: 3, secret: secret)
        let result = ledger.run(
            ["record", "health", id, "api_gateway", "--status", "healthy", "--log", log],
            environment: ["SHIPLOG_SECRETS": "HEALTH_TOKEN", "HEALTH_TOKEN": String(decoding: secret, as: UTF8.self)])
        #expect(result.status == 0, "\(result.stderr)")
        let artifact = try #require((DomainJSON.object(ledger.ok(["show", id, "--json"]))?["artifacts"] as? [[String: Any]])?.first)
        let stored = ledger.artifactFile(sha256: try #require(artifact["sha256"] as? String))
        let counted = runProcess(URL(fileURLWithPath: "/bin/sh"), ["-c", "grep -o -F '[redacted:HEALTH_TOKEN]' \"$0\" | wc -l", stored])
        #expect(Int(counted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) == occurrences)
        let leaked = runProcess(URL(fileURLWithPath: "/bin/grep"), ["-c", "-F", String(decoding: secret, as: UTF8.self), stored])
        #expect(leaked.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
    }

    // MARK: Smaller inputs

    @Test(arguments: ["abc", "-1", "99999999999", "5000ms", " 200", "3600001"])
    func anInvalidBusyTimeoutVariableIsAUsageError(_ value: String) throws {
        let ledger = try DomainLedger()
        _ = ledger.begin(sha: "abcdef1234567890")
        let result = ledger.run(["history"], environment: ["SHIPLOG_BUSY_TIMEOUT_MS": value])
        #expect(result.status == 64, "SHIPLOG_BUSY_TIMEOUT_MS=\(value.debugDescription): exit \(result.status)")
        #expect(result.stderr.contains("SHIPLOG_BUSY_TIMEOUT_MS"), "\(result.stderr)")
        #expect(ledger.run(["history"], environment: ["SHIPLOG_BUSY_TIMEOUT_MS": "200"]).status == 0)
        #expect(ledger.run(["history", "--busy-timeout=-1"]).status == 64)
    }

    /// A Slack webhook that accepts the connection and never answers: the runner waits at most
    /// `notify.timeout`, records NotificationFailed, and the deployment ends as it would have.
    @Test func aWebhookThatNeverAnswersIsRecordedAsFailedAfterItsTimeout() throws {
        let silent = try SilentServer()
        defer { silent.stop() }
        let staging = try Staging(notify: "notify: { slack_webhook_env: SLACK_WEBHOOK, timeout: 1s }")
        let result = staging.deploy("abcdef1234567", env: ["SLACK_WEBHOOK": silent.url + "/services/T0/B0/hook-secret"])
        #expect(result.status == 0, "exit \(result.status): \(result.stderr)")
        let id = try #require(DomainJSON.lines(runShiplog(["history", "--json", "--db", staging.db]).stdout).first?["deployment_id"] as? String)
        let show = try #require(DomainJSON.object(runShiplog(["show", id, "--json", "--db", staging.db]).stdout))
        let timeline = try #require(show["timeline"] as? [[String: Any]])
        let failed = try #require(timeline.first { $0["type"] as? String == "NotificationFailed" }, "no NotificationFailed in \(timeline.map { $0["type"] ?? "" })")
        let error = (failed["data"] as? [String: Any])?["error"] as? String ?? ""
        #expect(error.contains("timed out"), "\(failed)")
        #expect(!error.contains("hook-secret"))
        #expect((show["record"] as? [String: Any])?["status"] as? String == "success")
    }
}

// MARK: - Support

/// A staging pipeline of shell steps in a temporary directory: a health check that fails for
/// versions starting with "bad", a rollback, logs in `logs/` beside the pipeline file.
private final class Staging {
    let dir: TemporaryDirectory
    var pipelinePath: String { dir.file("shiplog.yml") }
    var db: String { dir.file("ledger/ledger.db") }
    var environment: [String: String] { ["STATE": dir.file("state"), "GITHUB_OUTPUT": "", "GITHUB_STEP_SUMMARY": ""] }

    /// - Parameters:
    ///   - deploy: more of the deploy step, after it records the version it deploys.
    ///   - initialize: create the ledger now (`shiplog init`; no other command creates one).
    init(deploy: String = #"echo "deploying $SHIPLOG_VERSION""#, preflight: String? = nil, notify: String = "", initialize: Bool = true) throws {
        dir = try TemporaryDirectory(prefix: "shiplog-hostile")
        try FileManager.default.createDirectory(atPath: dir.file("state"), withIntermediateDirectories: true)
        let preflightSection = preflight.map { "preflight:\n  - { name: checks, run: '\($0.replacingOccurrences(of: "'", with: "''"))' }\n" } ?? ""
        let yaml = """
            environment: staging
            services: [api]
            \(preflightSection)deploy: { run: 'echo "$SHIPLOG_VERSION" > "$STATE/current"; \(deploy.replacingOccurrences(of: "'", with: "''"))' }
            health:
              stabilize: 0s
              retries: 1
              interval: 0s
              checks:
                - { name: app, run: 'case "$(cat "$STATE/current")" in bad*) exit 1;; esac' }
            rollback: { run: 'echo "$SHIPLOG_ROLLBACK_VERSION" > "$STATE/current"' }
            \(notify)
            artifacts: { dir: logs }

            """
        try yaml.write(toFile: pipelinePath, atomically: true, encoding: .utf8)
        if initialize {
            let created = runShiplog(["init", "--db", db])
            #expect(created.status == 0, "shiplog init: \(created.stderr)")
        }
    }

    func deploy(_ sha: String, env: [String: String] = [:]) -> Spawned {
        spawnShiplog(
            ["deploy", "--db", db, "--config", pipelinePath, "--sha", sha],
            environment: environment.merging(env) { $1 }, in: dir.path, timeout: 30)
    }
}

/// How the child's standard output is connected.
enum ChildOutput: Sendable, CustomStringConvertible {
    /// A file, read back as `stdout`.
    case captured
    /// A pipe whose read end is closed before the child writes anything.
    case closed
    /// A pipe whose read end is closed once the first line arrived (`| head -1`).
    case closedAfterFirstLine

    var description: String {
        switch self {
        case .captured: "captured"
        case .closed: "closed"
        case .closedAfterFirstLine: "closed after the first line"
        }
    }
}

/// How a child ended, with its peak memory.
struct Spawned {
    var status: Int32
    var stdout: String
    var stderr: String
    /// The child's peak resident set size, in KiB (Int.max when it was not reported).
    var maxRSSKiB: Int
    var timedOut: Bool
}

/// Runs the built `shiplog` with its standard output as asked, under a small Python parent
/// that sets the directory and the umask and reports the child's peak memory
/// (`getrusage(RUSAGE_CHILDREN)`). Not measured from this process: a child spawned from it
/// (vfork, then exec) would count this test process's own memory as its peak. A child still
/// running after `timeout` seconds is killed with its process group and reported as timed out.
func spawnShiplog(
    _ args: [String], environment: [String: String] = [:], in directory: String? = nil, umask: String = "022",
    stdout: ChildOutput = .captured, closeStderr: Bool = false, timeout: Double = 120
) -> Spawned {
    let scratch = try! TemporaryDirectory(prefix: "shiplog-spawn")
    let outPath = scratch.file("stdout"), errPath = scratch.file("stderr"), rssPath = scratch.file("maxrss")
    let script = """
        import os, resource, subprocess, sys
        report, directory, mask = sys.argv[1:4]
        os.chdir(directory)
        os.umask(int(mask, 8))
        code = subprocess.run(sys.argv[4:]).returncode
        with open(report, "w") as f:
            f.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
        sys.exit(code if code >= 0 else 128 - code)
        """
    let argv =
        [
            "/usr/bin/env", "python3", "-c", script, rssPath, directory ?? FileManager.default.currentDirectoryPath, umask,
            ShiplogBinary.url.path,
        ] + args
    var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SHIPLOG_") }
    env.merge(["GITHUB_OUTPUT": "", "GITHUB_STEP_SUMMARY": ""]) { $1 }
    env.merge(environment) { $1 }

    var pipeEnds: [Int32] = [-1, -1]
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
    posix_spawnattr_setpgroup(&attributes, 0)
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    switch stdout {
    case .captured:
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    case .closed, .closedAfterFirstLine:
        _ = pipe(&pipeEnds)
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
        posix_spawn_file_actions_addclose(&actions, pipeEnds[0])
        posix_spawn_file_actions_addclose(&actions, pipeEnds[1])
    }
    var errorEnds: [Int32] = [-1, -1]
    if closeStderr {
        _ = pipe(&errorEnds)
        posix_spawn_file_actions_adddup2(&actions, errorEnds[1], 2)
        posix_spawn_file_actions_addclose(&actions, errorEnds[0])
        posix_spawn_file_actions_addclose(&actions, errorEnds[1])
    } else {
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    }
    let cArgs = argv.map { strdup($0) } + [nil]
    let cEnv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
        cArgs.forEach { free($0) }
        cEnv.forEach { free($0) }
    }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, "/usr/bin/env", &actions, &attributes, cArgs, cEnv)
    for fd in [pipeEnds[1], errorEnds[1], errorEnds[0]] where fd >= 0 { close(fd) }
    guard spawned == 0 else {
        return Spawned(status: 127, stdout: "", stderr: "posix_spawn: \(String(cString: strerror(spawned)))", maxRSSKiB: 0, timedOut: false)
    }
    if stdout == .closed {
        close(pipeEnds[0])
    } else if stdout == .closedAfterFirstLine {
        var byte: UInt8 = 0
        var poller = pollfd(fd: pipeEnds[0], events: Int16(POLLIN), revents: 0)
        while poll(&poller, 1, 30_000) > 0, read(pipeEnds[0], &byte, 1) == 1, byte != 10 {}
        close(pipeEnds[0])
    }
    let deadline = Date().addingTimeInterval(timeout)
    var status: Int32 = 0
    var timedOut = false
    while waitpid(pid, &status, WNOHANG) == 0 {
        if Date() > deadline && !timedOut {
            timedOut = true
            kill(-pid, SIGKILL)
        }
        usleep(20_000)
    }
    let exitStatus = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
    let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
    let maxRSS = Int((try? String(contentsOfFile: rssPath, encoding: .utf8)) ?? "") ?? Int.max
    return Spawned(status: exitStatus, stdout: out, stderr: err, maxRSSKiB: maxRSS, timedOut: timedOut)
}

extension ChildOutput: Equatable {}

/// Writes `blocks` MiB in which `secret` straddles every 4 KiB boundary of the file (its first
/// five bytes before the boundary); returns how many whole occurrences the file holds.
private func writeLogWithSecrets(path: String, blocks: Int, secret: [UInt8]) throws -> Int {
    let size = 1 << 20
    var block = [UInt8](repeating: UInt8(ascii: "."), count: size)
    for line in stride(from: 80, to: size, by: 81) { block[line] = 10 }
    func place(at offset: Int) {
        for (i, byte) in secret.enumerated() { block[(offset + i + size) % size] = byte }
    }
    for boundary in stride(from: 4096, through: size, by: 4096) { place(at: boundary - 5) }
    guard
        let handle = FileHandle(forWritingAtPath: path)
            ?? {
                #expect(FileManager.default.createFile(atPath: path, contents: nil))
                return FileHandle(forWritingAtPath: path)
            }()
    else { throw CocoaError(.fileWriteUnknown) }
    defer { try? handle.close() }
    let data = Data(block)
    for _ in 0..<blocks { try handle.write(contentsOf: data) }
    // 256 per block, less the one cut by the end of the file (the file's first bytes are the
    // tail of a secret whose head would have been before the file).
    return blocks * (size / 4096) - 1
}

private func fileSizeOf(_ path: String) -> Int? {
    (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue
}

/// The file type bits of what a path names (not following a final symlink), or nil.
enum FileSystemKind {
    static func of(_ path: String) -> mode_t? {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & S_IFMT : nil
    }
}
