import SQLiteStore
import CSpawn
import Foundation
import Testing
@testable import Runner

#if canImport(Glibc)
    import Glibc
#endif

/// Every test here runs real processes through /bin/sh.
@Suite("Step processes")
struct ProcessTests {
    // MARK: Exit status

    @Test func exitZeroSucceeds() throws {
        let run = try StepRun("exit 0")
        #expect(run.outcome.exitCode == 0)
        #expect(run.outcome.signal == nil)
        #expect(run.outcome.succeeded)
        #expect(!run.outcome.timedOut)
        #expect(run.outcome.summary == "exited 0")
    }

    @Test func exitThreeFails() throws {
        let run = try StepRun("exit 3")
        #expect(run.outcome.exitCode == 3)
        #expect(!run.outcome.succeeded)
        #expect(run.outcome.summary == "exited 3")
    }

    @Test func deathBySignalIsReported() throws {
        let run = try StepRun("kill -9 $$")
        #expect(run.outcome.exitCode == nil)
        #expect(run.outcome.signal == SIGKILL)
        #expect(!run.outcome.succeeded)
        #expect(run.outcome.summary == "killed by signal 9")

        let terminated = try StepRun("kill -TERM $$")
        #expect(terminated.outcome.signal == SIGTERM)
        #expect(terminated.outcome.summary == "killed by signal 15")
    }

    // MARK: Output

    @Test func stdoutAndStderrBothLandInTheLogInOrder() throws {
        let run = try StepRun("echo to-stdout; echo to-stderr >&2; echo again-stdout")
        #expect(run.logText == "to-stdout\nto-stderr\nagain-stdout\n")
        #expect(run.echoed == ["to-stdout", "to-stderr", "again-stdout"])
    }

    @Test func outputWithoutFinalNewlineIsKept() throws {
        let run = try StepRun("printf 'first\\nlast'")
        #expect(run.logText == "first\nlast\n")
        #expect(run.echoed == ["first", "last"])
    }

    @Test func stdinIsDevNull() throws {
        // `cat` would wait forever on an inherited terminal or pipe.
        let run = try StepRun("cat; echo done", timeout: 10)
        #expect(run.outcome.exitCode == 0)
        #expect(run.logText == "done\n")
    }

    @Test func largeOutputIsCopiedWhole() throws {
        let run = try StepRun("i=0; while [ $i -lt 20000 ]; do echo line-$i; i=$((i+1)); done")
        let lines = run.logText.split(separator: "\n")
        #expect(lines.count == 20000)
        #expect(lines.first == "line-0")
        #expect(lines.last == "line-19999")
    }

    // MARK: Environment and working directory

    @Test func environmentIsExactlyTheOneGiven() throws {
        #expect(ProcessInfo.processInfo.environment["HOME"] != nil, "the test needs HOME set in its own environment")
        let run = try StepRun("env", environment: ["PATH": "/usr/bin:/bin", "SHIPLOG_STEP": "migrate", "EMPTY": ""])
        let names = Set(run.logText.split(separator: "\n").map { String($0.prefix { $0 != "=" }) })
        #expect(run.logText.contains("SHIPLOG_STEP=migrate\n"))
        #expect(run.logText.contains("EMPTY=\n"))
        #expect(!names.contains("HOME"))
        // The shell itself adds PWD; nothing else may appear.
        #expect(names.subtracting(["PATH", "SHIPLOG_STEP", "EMPTY", "PWD"]).isEmpty, "unexpected: \(names)")
    }

    @Test func stepRunsInItsWorkdir() throws {
        let dir = try TempDir()
        let real = try #require(realpath(dir.path, nil))
        defer { free(real) }
        let run = try StepRun("pwd -P", workdir: dir.path)
        #expect(run.logText == String(cString: real) + "\n")
    }

    @Test func missingWorkdirThrowsAndRunsNothing() throws {
        let dir = try TempDir()
        let marker = dir.path + "/ran"
        let missing = "./no-such-dir-\(UUID().uuidString)"
        let log = try StepLog(path: dir.path + "/step.log", redact: { $0 }, echo: nil)
        #expect {
            _ = try StepProcess.run(StepCommand(command: "touch \(marker)", environment: [:], workdir: missing), log: log)
        } throws: { error in
            "\(error)" == "cannot start step: working directory \(missing) does not exist"
        }
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test func workdirThatIsAFileThrows() throws {
        let dir = try TempDir()
        let file = dir.path + "/plain"
        #expect(FileManager.default.createFile(atPath: file, contents: Data()))
        let log = try StepLog(path: dir.path + "/step.log", redact: { $0 }, echo: nil)
        #expect {
            _ = try StepProcess.run(StepCommand(command: "true", environment: [:], workdir: file), log: log)
        } throws: { error in
            "\(error)" == "cannot start step: working directory \(file) is not a directory"
        }
    }

    @Test func execFailureIsReportedAsAnErrnoNotAsExit127() throws {
        let argv = CStringArray(["missing-shell", "-c", "true"])
        let envp = CStringArray([])
        var pid: pid_t = 0
        var stage: Int32 = 0
        let started = ContinuousClock.now
        let result = shiplog_spawn_detailed(
            "/nonexistent/shiplog-missing-shell", argv.pointer, envp.pointer, nil,
            -1, -1, -1, &pid, &stage)
        #expect(result == ENOENT)
        #expect(Int(stage) == SHIPLOG_SPAWN_STAGE_EXEC)
        #expect(pid == 0)
        #expect(ContinuousClock.now - started < .seconds(2))
    }

    @Test func killGroupRefusesPidsBelowTwo() {
        #expect(shiplog_kill_group(0, 0) == EINVAL)
        #expect(shiplog_kill_group(1, 0) == EINVAL)
        #expect(shiplog_kill_group(-5, 0) == EINVAL)
    }

    // MARK: Redaction

    @Test func secretSplitAcrossReadChunksIsRedacted() throws {
        let secret = "hunter2-s3cr3t-value"
        // Each half is printed on its own, with a pause between: the pipe delivers them in
        // separate reads, and no newline separates them.
        let command = """
            printf 'token=hunter2-s3'; sleep 0.3; printf 'cr3t-value and more\\n'
            printf 'at the end: hunter2-s'; sleep 0.3; printf '3cr3t-value'
            """
        let run = try StepRun(command, redact: { $0.replacingOccurrences(of: secret, with: "[redacted]") })
        #expect(!run.logText.contains(secret))
        #expect(!run.logText.contains("hunter2"))
        #expect(run.logText == "token=[redacted] and more\nat the end: [redacted]\n")
        #expect(run.echoed == ["token=[redacted] and more", "at the end: [redacted]"])
    }

    @Test func runnerLinesAreRedactedToo() throws {
        let dir = try TempDir()
        let path = dir.path + "/runner.log"
        let log = try StepLog(path: path, redact: { $0.replacingOccurrences(of: "pa55", with: "***") }, echo: nil)
        log.write("connecting with pa55")
        log.write("two\nlines pa55\n")
        log.close()
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "connecting with ***\ntwo\nlines ***\n")
    }

    // MARK: Timeout and process groups

    @Test func timeoutStopsTheStep() throws {
        let started = ContinuousClock.now
        let run = try StepRun("sleep 30", timeout: 1)
        let elapsed = ContinuousClock.now - started
        #expect(run.outcome.timedOut)
        #expect(!run.outcome.succeeded)
        #expect(run.outcome.signal == SIGTERM)
        #expect(run.outcome.summary == "timed out after 1 s")
        // From start to reaping: within the timeout plus a second.
        #expect(run.outcome.durationMs >= 1000 && run.outcome.durationMs < 2000, "took \(run.outcome.durationMs) ms")
        #expect(elapsed < .seconds(4), "took \(elapsed)")
    }

    @Test func timeoutKillsWhatIgnoresSigterm() throws {
        let started = ContinuousClock.now
        let run = try StepRun("trap '' TERM; sleep 30", timeout: 0.5)
        let elapsed = ContinuousClock.now - started
        #expect(run.outcome.timedOut)
        #expect(run.outcome.signal == SIGKILL)
        #expect(run.outcome.summary == "timed out after 0.5 s")
        #expect(run.outcome.durationMs >= 5500 && run.outcome.durationMs < 7000, "took \(run.outcome.durationMs) ms")
        #expect(elapsed < .seconds(9), "took \(elapsed)")
    }

    @Test func backgroundJobsLeftBehindAreStopped() throws {
        let dir = try TempDir()
        let pidFile = dir.path + "/bg.pid"
        let started = ContinuousClock.now
        // The background sleep keeps the output pipe open after the shell exits.
        let run = try StepRun("sleep 30 & echo $! > \(pidFile); echo started", timeout: 20)
        let elapsed = ContinuousClock.now - started
        #expect(run.outcome.exitCode == 0)
        #expect(run.outcome.leftoverProcesses)
        #expect(elapsed < .seconds(4), "took \(elapsed)")
        let pid = try #require(readPid(pidFile))
        #expect(waitUntilGone(pid, within: .seconds(2)))
    }

    @Test func killingTheProcessGroupEndsTheWholeStepTree() throws {
        let dir = try TempDir()
        let groupFile = dir.path + "/group.pid"
        let childFile = dir.path + "/child.pid"
        let log = try StepLog(path: dir.path + "/step.log", redact: { $0 }, echo: nil)
        // Field 5 of /proc/PID/stat is the process group id.
        let command = StepCommand(
            command: """
                cut -d' ' -f5 /proc/$$/stat > \(groupFile).tmp && mv \(groupFile).tmp \(groupFile)
                sleep 60 & echo $! > \(childFile).tmp && mv \(childFile).tmp \(childFile)
                wait
                """,
            environment: ["PATH": "/usr/bin:/bin"], timeout: 30)
        let result = ResultBox()
        let thread = Thread { result.set(Result { try StepProcess.run(command, log: log) }) }
        thread.start()

        let group = try #require(waitForPid(groupFile, within: .seconds(5)))
        let child = try #require(waitForPid(childFile, within: .seconds(5)))
        #expect(shiplog_kill_group(group, SIGKILL) == 0)

        #expect(waitUntilGone(child, within: .seconds(2)))
        let outcome = try #require(result.wait(within: .seconds(5))).get()
        #expect(outcome.signal == SIGKILL)
        #expect(!outcome.timedOut)
        #expect(!ProcessGroup.hasLiveMembers(group))
    }

    /// The property the runner relies on: when the process that spawned a step dies by SIGKILL,
    /// the step dies too, with what it started. That needs a separate spawning process, so the
    /// test compiles a tiny C program around the real cspawn.c with the toolchain's C compiler;
    /// the program spawns a step with shiplog_spawn and is then killed.
    @Test(.enabled(if: CHelper.compiler != nil, "needs a C compiler (clang or cc) on PATH"))
    func stepTreeDiesWhenTheSpawningProcessIsKilled() throws {
        let dir = try TempDir()
        let helper = try CHelper.build(in: dir.path)
        let shellFile = dir.path + "/shell.pid"
        let jobFile = dir.path + "/job.pid"

        let process = Process()
        process.executableURL = URL(fileURLWithPath: helper)
        // `sleep` runs as the shell's child: the parent-death signal alone would not reach it.
        process.arguments = [
            "echo $$ > \(shellFile).tmp && mv \(shellFile).tmp \(shellFile); "
                + "sleep 60 & echo $! > \(jobFile).tmp && mv \(jobFile).tmp \(jobFile); wait"
        ]
        let stdout = Pipe()
        process.standardOutput = stdout
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

        // The helper prints its own pid and the pid shiplog_spawn returned (the group id).
        let line = try #require(readLine(from: stdout.fileHandleForReading))
        let pids = line.split(separator: " ").compactMap { pid_t($0) }
        try #require(pids.count == 2, "helper said: \(line)")
        let (spawner, group) = (pids[0], pids[1])
        let shell = try #require(waitForPid(shellFile, within: .seconds(5)))
        let job = try #require(waitForPid(jobFile, within: .seconds(5)))
        #expect(isAlive(shell) && isAlive(job) && isAlive(group))

        kill(spawner, SIGKILL)
        process.waitUntilExit()
        #expect(waitUntilGone(shell, within: .seconds(2)))
        #expect(waitUntilGone(job, within: .seconds(2)))
        #expect(waitUntilGone(group, within: .seconds(2)))
    }

    /// A step does not depend on the thread that spawned it: a bare parent-death signal would
    /// kill the step as soon as that thread exits.
    @Test func stepOutlivesTheThreadThatSpawnedIt() throws {
        let spawned = SpawnBox()
        let thread = Thread {
            let argv = CStringArray(["sh", "-c", "exec sleep 60"])
            let envp = CStringArray(["PATH=/usr/bin:/bin"])
            var pid: pid_t = 0
            let error = shiplog_spawn("/bin/sh", argv.pointer, envp.pointer, nil, -1, -1, -1, &pid)
            spawned.set(error == 0 ? pid : -error)
        }
        thread.start()
        let pid = try #require(spawned.wait(within: .seconds(5)))
        try #require(pid > 0, "spawn failed: errno \(-pid)")
        defer {
            _ = shiplog_kill_group(pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }
        while !thread.isFinished { usleep(10_000) }
        usleep(300_000)
        var status: Int32 = 0
        #expect(waitpid(pid, &status, WNOHANG) == 0, "the step ended with its spawning thread")
        #expect(shiplog_kill_group(pid, 0) == 0)
    }

    @Test func supervisorReportsTheStepsOwnStatus() throws {
        let argv = CStringArray(["sh", "-c", "exit 42"])
        let envp = CStringArray([])
        var pid: pid_t = 0
        try #require(shiplog_spawn("/bin/sh", argv.pointer, envp.pointer, nil, -1, -1, -1, &pid) == 0)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        #expect(status & 0x7f == 0)
        #expect((status >> 8) & 0xff == 42)
    }

    // MARK: Log file

    @Test func logFileIsCreatedPrivateWithItsDirectories() throws {
        let dir = try TempDir()
        let path = dir.path + "/deployment-logs/42/migrate.log"
        let log = try StepLog(path: path, redact: { $0 }, echo: nil)
        log.write("first")
        log.close()
        var info = stat()
        #expect(stat(path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(stat(dir.path + "/deployment-logs/42", &info) == 0)
        #expect(info.st_mode & 0o777 == 0o700)
    }

    @Test func logIsAppendedNeverTruncated() throws {
        let dir = try TempDir()
        let path = dir.path + "/step.log"
        let first = try StepLog(path: path, redact: { $0 }, echo: nil)
        first.write("attempt 1")
        first.close()
        let second = try StepLog(path: path, redact: { $0 }, echo: nil)
        _ = try StepProcess.run(StepCommand(command: "echo attempt 2", environment: [:]), log: second)
        second.close()
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "attempt 1\nattempt 2\n")
    }

    @Test func fullDiskIsReportedNotDropped() throws {
        // Writing to /dev/full always fails with ENOSPC.
        let log = try StepLog(path: "/dev/full", redact: { $0 }, echo: nil)
        #expect(log.failure == nil)
        let outcome = try StepProcess.run(StepCommand(command: "echo hello", environment: [:]), log: log)
        #expect(outcome.succeeded, "a log that cannot be written does not stop the step")
        let failure = try #require(log.failure)
        #expect(failure.code == ENOSPC)
        #expect(failure.description == "could not write log file /dev/full: no space left on device")
        #expect(throws: StepLogError.self) { try log.throwIfFailed() }
        log.close()
    }

    @Test func unopenableLogIsAnError() throws {
        let dir = try TempDir()
        #expect(FileManager.default.createFile(atPath: dir.path + "/file", contents: Data()))
        #expect {
            _ = try StepLog(path: dir.path + "/file/step.log", redact: { $0 }, echo: nil)
        } throws: { error in
            "\(error)".hasPrefix("could not open log file \(dir.path)/file/step.log: ")
        }
    }

    @Test func veryLongLinesAreCutAtCharacterBoundaries() {
        let bytes = Array("aé".utf8)  // "é" is two bytes
        #expect(StepLog.characterBoundary(in: bytes + [0x41], atOrBefore: 2) == 1)
        #expect(StepLog.characterBoundary(in: bytes + [0x41], atOrBefore: 1) == 1)
        #expect(StepLog.characterBoundary(in: bytes + [0x41], atOrBefore: 3) == 3)
    }
}

// MARK: - Helpers

/// Runs one step with a fresh log in a temporary directory and keeps what it wrote.
private struct StepRun {
    let outcome: StepOutcome
    let logText: String
    let echoed: [String]

    init(
        _ command: String, environment: [String: String] = ["PATH": "/usr/bin:/bin"], workdir: String? = nil,
        timeout: Double? = nil, redact: @escaping @Sendable (String) -> String = { $0 }
    ) throws {
        let dir = try TempDir()
        let path = dir.path + "/step.log"
        let lines = LineCollector()
        let log = try StepLog(path: path, redact: redact, echo: { lines.append($0) })
        outcome = try StepProcess.run(
            StepCommand(command: command, environment: environment, workdir: workdir, timeout: timeout), log: log)
        log.close()
        try log.throwIfFailed()
        logText = try String(contentsOfFile: path, encoding: .utf8)
        echoed = lines.lines
    }
}

private final class LineCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var collected: [String] = []
    func append(_ line: String) { lock.withLock { collected.append(line) } }
    var lines: [String] { lock.withLock { collected } }
}

private final class SpawnBox: @unchecked Sendable {
    private let condition = NSCondition()
    private var value: pid_t?

    func set(_ pid: pid_t) {
        condition.withLock {
            value = pid
            condition.broadcast()
        }
    }

    func wait(within limit: Duration) -> pid_t? {
        let deadline = Date().addingTimeInterval(Double(limit.components.seconds))
        return condition.withLock {
            while value == nil, condition.wait(until: deadline) {}
            return value
        }
    }
}

private final class ResultBox: @unchecked Sendable {
    private let condition = NSCondition()
    private var value: Result<StepOutcome, any Error>?

    func set(_ result: Result<StepOutcome, any Error>) {
        condition.withLock {
            value = result
            condition.broadcast()
        }
    }

    func wait(within limit: Duration) -> Result<StepOutcome, any Error>? {
        let deadline = Date().addingTimeInterval(Double(limit.components.seconds))
        return condition.withLock {
            while value == nil, condition.wait(until: deadline) {}
            return value
        }
    }
}

/// A directory removed with the value.
private final class TempDir {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.path + "/shiplog-process-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Builds a small program that spawns its argument with shiplog_spawn, prints
/// "<own pid> <spawned pid>" and waits to be killed.
private enum CHelper {
    static let source = """
        #include "cspawn.h"
        #include <stdio.h>
        #include <unistd.h>

        int main(int argc, char **argv) {
            if (argc != 2) return 2;
            char *child_argv[] = { "sh", "-c", argv[1], NULL };
            char *child_envp[] = { "PATH=/usr/bin:/bin", NULL };
            pid_t pid = 0;
            int error = shiplog_spawn("/bin/sh", child_argv, child_envp, NULL, -1, -1, -1, &pid);
            if (error != 0) { printf("error %d\\n", error); return 1; }
            printf("%d %d\\n", (int)getpid(), (int)pid);
            fflush(stdout);
            for (;;) pause();
        }
        """

    static let compiler: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for name in ["clang", "cc", "gcc"] {
            for dir in path.split(separator: ":") where access("\(dir)/\(name)", X_OK) == 0 {
                return "\(dir)/\(name)"
            }
        }
        return nil
    }()

    /// Sources/CSpawn, found from this file's place in the package.
    static var cspawnDirectory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/CSpawn").path
    }

    static func build(in dir: String) throws -> String {
        let compiler = try #require(compiler)
        let main = dir + "/helper.c"
        let binary = dir + "/spawn-helper"
        try source.write(toFile: main, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: compiler)
        process.arguments = [
            "-std=gnu11", "-O0", "-I", cspawnDirectory + "/include",
            cspawnDirectory + "/cspawn.c", main, "-o", binary,
        ]
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "compiling the spawn helper failed")
        return binary
    }
}

private func readLine(from handle: FileHandle) -> String? {
    var bytes = Data()
    while true {
        let chunk = handle.availableData
        if chunk.isEmpty { break }
        bytes.append(chunk)
        if chunk.contains(UInt8(ascii: "\n")) { break }
    }
    guard let text = String(data: bytes, encoding: .utf8) else { return nil }
    return text.split(separator: "\n").first.map(String.init)
}

private func readPid(_ path: String) -> pid_t? {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
    return pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
}

private func waitForPid(_ path: String, within limit: Duration) -> pid_t? {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if let pid = readPid(path) { return pid }
        usleep(20_000)
    }
    return nil
}

/// Alive and not a zombie: an orphan's zombie waits for whatever adopted it to reap it.
private func isAlive(_ pid: pid_t) -> Bool {
    guard kill(pid, 0) == 0 else { return false }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return true }
    let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
    return state != "Z" && state != "X"
}

private func waitUntilGone(_ pid: pid_t, within limit: Duration) -> Bool {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if !isAlive(pid) { return true }
        usleep(20_000)
    }
    return !isAlive(pid)
}
