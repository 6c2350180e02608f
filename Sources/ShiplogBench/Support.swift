import Foundation

/// Monotonic seconds, for timing.
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// CPU seconds this process has used (user and system): a rate over them leaves out the time
/// spent waiting for a core, so Shiplog and the C baseline compare on a busy machine too.
func cpuNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Seconds `body` took.
func timed(_ body: () throws -> Void) rethrows -> Double {
    let start = now()
    try body()
    return now() - start
}

extension Array where Element == Double {
    /// The median (the mean of the middle two for an even count).
    var median: Double {
        guard !isEmpty else { return .nan }
        let s = sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// The 99th percentile, nearest rank.
    var p99: Double {
        guard !isEmpty else { return .nan }
        let s = sorted()
        let rank = Int((0.99 * Double(s.count)).rounded(.up))
        return s[Swift.max(0, Swift.min(s.count - 1, rank - 1))]
    }
}

/// A rate over wall time and over CPU time (NaN when a baseline does not report its CPU time).
struct Rates {
    var wall: Double
    var cpu: Double

    /// The CPU-time figures kept beside a wall-time figure: both sides' medians and their ratio.
    static func cpuExtra(_ swift: [Rates], _ c: [Rates]) -> [(String, Double)] {
        let mine = swift.map(\.cpu).median, theirs = c.map(\.cpu).median
        guard mine.isFinite, theirs.isFinite, theirs > 0 else { return [] }
        return [("cpu_events_per_s", mine), ("baseline_cpu_events_per_s", theirs), ("cpu_ratio", mine / theirs)]
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A temporary directory, removed with everything in it when released.
final class Scratch {
    let path: String

    init(_ prefix: String) throws {
        var template = Array(((NSTemporaryDirectory() as NSString).appendingPathComponent("\(prefix)-XXXXXX")).utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw BenchError("cannot create a temporary directory: \(String(cString: strerror(errno)))")
        }
        path = String(cString: made)
    }

    func file(_ name: String) -> String { path + "/" + name }

    /// True when the directory lives in memory (tmpfs, as /dev/shm: `tools/bench --tmpfs`).
    /// Read from the mount table: the file system of the longest mount point above the directory.
    var isTmpfs: Bool {
        guard let mounts = try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8) else { return false }
        let directory = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        var best = (point: "", type: "")
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 3 else { continue }
            let point = fields[1].replacingOccurrences(of: "\\040", with: " ")
            let inside = point == "/" || directory == point || directory.hasPrefix(point + "/")
            if inside && point.count >= best.point.count { best = (point, String(fields[2])) }
        }
        return best.type == "tmpfs"
    }

    /// Removes a ledger file and its WAL companions.
    func removeLedger(_ name: String) {
        for suffix in ["", "-wal", "-shm", "-journal"] { unlink(file(name) + suffix) }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// What a finished child process reported.
struct ChildResult {
    var status: Int32
    var seconds: Double
    var stdout: String
}

/// Runs `executable` with `arguments`, stdin from /dev/null, stdout to a file (read back) or
/// /dev/null, stderr to /dev/null; times it from spawn to exit.
///
/// posix_spawn clones without copying memory, so the child's `ru_maxrss` would start at this
/// process's peak: peak memory is measured through `bench-baseline run` instead.
func runChild(
    _ executable: String, _ arguments: [String], captureOutput: Bool = false,
    environment: [String: String] = [:]
) throws -> ChildResult {
    let outputPath = captureOutput ? NSTemporaryDirectory() + "/shiplog-bench-out-\(getpid())-\(UInt64.random(in: 0...UInt64.max))" : "/dev/null"
    defer { if captureOutput { unlink(outputPath) } }
    var actions = makeSpawnActions(stdout: outputPath, flags: O_WRONLY | O_CREAT | O_TRUNC)
    defer { posix_spawn_file_actions_destroy(&actions) }

    var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SHIPLOG_") }
    env.merge(environment) { $1 }
    let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
    let envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
        argv.forEach { free($0) }
        envp.forEach { free($0) }
    }
    var pid: pid_t = 0
    let start = now()
    let rc = posix_spawn(&pid, executable, &actions, nil, argv, envp)
    guard rc == 0 else { throw BenchError("cannot run \(executable): \(String(cString: strerror(rc)))") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 {
        guard errno == EINTR else { throw BenchError("waitpid: \(String(cString: strerror(errno)))") }
    }
    let seconds = now() - start
    let exitStatus: Int32 = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    let output = captureOutput ? ((try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "") : ""
    return ChildResult(status: exitStatus, seconds: seconds, stdout: output)
}

/// Runs every command of `commands` as a child of `executable` at once (stdin, stdout and
/// stderr to /dev/null) and waits for all of them; every one must succeed. Returns the seconds
/// from the first spawn to the last exit.
func runConcurrently(_ executable: String, _ commands: [[String]]) throws -> Double {
    var actions = makeSpawnActions()
    defer { posix_spawn_file_actions_destroy(&actions) }
    let env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SHIPLOG_") }
    let envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { envp.forEach { free($0) } }
    let argvs: [[UnsafeMutablePointer<CChar>?]] = commands.map { ([executable] + $0).map { strdup($0) } + [nil] }
    defer { argvs.forEach { $0.forEach { free($0) } } }
    var pids: [pid_t] = []
    var failure: BenchError?
    let start = now()
    for argv in argvs {
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        guard rc == 0 else { failure = BenchError("cannot run \(executable): \(String(cString: strerror(rc)))"); break }
        pids.append(pid)
    }
    for (pid, command) in zip(pids, commands) {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw BenchError("waitpid: \(String(cString: strerror(errno)))") }
        }
        let exitStatus: Int32 = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        if exitStatus != 0 && failure == nil {
            failure = BenchError("\((executable as NSString).lastPathComponent) \(command.joined(separator: " ")) exited with \(exitStatus)")
        }
    }
    let seconds = now() - start
    if let failure { throw failure }
    return seconds
}

/// Runs a child that must succeed.
@discardableResult
func runChecked(_ executable: String, _ arguments: [String], captureOutput: Bool = false) throws -> ChildResult {
    let result = try runChild(executable, arguments, captureOutput: captureOutput)
    guard result.status == 0 else {
        throw BenchError("\((executable as NSString).lastPathComponent) \(arguments.joined(separator: " ")) exited with \(result.status)")
    }
    return result
}

/// Progress for the person watching, on stderr.
func note(_ text: String) {
    FileHandle.standardError.write(Data(("bench: " + text + "\n").utf8))
}

/// A child left running in the background (the loopback HTTP server); stopped by its pid.
final class BackgroundChild {
    let pid: pid_t

    init(_ executable: String, _ arguments: [String]) throws {
        var actions = makeSpawnActions()
        defer { posix_spawn_file_actions_destroy(&actions) }
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, executable, &actions, nil, argv, environ)
        guard rc == 0 else { throw BenchError("cannot run \(executable): \(String(cString: strerror(rc)))") }
        self.pid = pid
    }

    func stop() {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }
}

/// File actions giving a child /dev/null as stdin and stderr and `stdout` as its output;
/// the caller destroys them after the spawn.
func makeSpawnActions(stdout path: String = "/dev/null", flags: Int32 = O_WRONLY) -> posix_spawn_file_actions_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, path, flags, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    return actions
}
