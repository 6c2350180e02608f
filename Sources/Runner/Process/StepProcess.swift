import CSpawn

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs one pipeline step as a child process: `/bin/sh -c command`.
///
/// - The step gets exactly `StepCommand.environment`, stdin from /dev/null, and one pipe for
///   both stdout and stderr (so their order is kept). It runs in a process group of its own,
///   under a small supervisor process that kills the whole group if the runner ends in any
///   way, SIGKILL included (see `shiplog_spawn` in CSpawn).
/// - The output is read on the calling thread with poll() and passed to the `StepLog`, which
///   redacts it line by line, appends it to the log file and echoes it.
/// - On timeout the process group gets SIGTERM, then SIGKILL 5 seconds later.
/// - When the shell ends, anything it left running in its process group gets SIGTERM, then
///   SIGKILL 5 seconds later: a step owns no process beyond its own end.
///
/// `run` blocks the calling thread until the step has ended and been reaped; any thread may
/// call it.
public enum StepProcess {
    /// The shell every step runs in.
    public static let shell = "/bin/sh"

    /// Time between SIGTERM and SIGKILL.
    public static let killGrace: Duration = .seconds(5)

    /// Runs `cmd`, sending its output to `log`, and returns how it ended.
    ///
    /// Failures to write the log do not stop the step; check `log.failure` afterwards.
    ///
    /// - Throws: `StepProcessError.cannotStart` when nothing could be started (working
    ///   directory missing, bad environment, /bin/sh not executable…);
    ///   `StepProcessError.supervisionFailed` when watching the started step failed, after its
    ///   process group has been killed.
    public static func run(_ cmd: StepCommand, log: StepLog) throws -> StepOutcome {
        try validate(cmd)

        let devNull = open("/dev/null", O_RDONLY | O_CLOEXEC)
        if devNull < 0 {
            throw StepProcessError.cannotStart(reason: "cannot open /dev/null: \(Posix.message(Posix.errno))")
        }
        var output: [Int32] = [-1, -1]
        let pipeError = output.withUnsafeMutableBufferPointer { shiplog_output_pipe($0.baseAddress) }
        if pipeError != 0 {
            Posix.close(devNull)
            throw StepProcessError.cannotStart(reason: "cannot create the output pipe: \(Posix.message(pipeError))")
        }

        let argv = CStringArray([shell, "-c", cmd.command])
        let envp = CStringArray(cmd.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
        var pid: pid_t = 0
        var stage: Int32 = 0
        let clock = ContinuousClock()
        let started = clock.now
        let spawnError = withOptionalCString(cmd.workdir) { workdir in
            shiplog_spawn_detailed(
                shell, argv.pointer, envp.pointer, workdir,
                devNull, output[1], output[1], &pid, &stage)
        }
        Posix.close(devNull)
        Posix.close(output[1])
        if spawnError != 0 {
            Posix.close(output[0])
            throw StepProcessError.cannotStart(reason: spawnFailure(stage: stage, code: spawnError, cmd: cmd))
        }

        let supervisor = StepSupervisor(
            pid: pid, outputFd: output[0], log: log,
            timeout: cmd.timeout, started: started, clock: clock)
        return try supervisor.run()
    }

    // MARK: Private

    private static func validate(_ cmd: StepCommand) throws {
        if cmd.command.utf8.contains(0) {
            throw StepProcessError.cannotStart(reason: "the command contains a NUL byte")
        }
        for (name, value) in cmd.environment {
            if name.isEmpty || name.contains("=") || name.utf8.contains(0) {
                throw StepProcessError.cannotStart(reason: "\"\(name)\" is not a valid environment variable name")
            }
            if value.utf8.contains(0) {
                throw StepProcessError.cannotStart(reason: "environment variable \(name) contains a NUL byte")
            }
        }
        if let timeout = cmd.timeout, !(timeout > 0 && timeout.isFinite) {
            throw StepProcessError.cannotStart(reason: "timeout must be a positive number of seconds, not \(timeout)")
        }
        if let workdir = cmd.workdir {
            if workdir.utf8.contains(0) {
                throw StepProcessError.cannotStart(reason: "the working directory contains a NUL byte")
            }
            var info = stat()
            if stat(workdir, &info) != 0 {
                let code = Posix.errno
                if code == ENOENT {
                    throw StepProcessError.cannotStart(reason: "working directory \(workdir) does not exist")
                }
                throw StepProcessError.cannotStart(reason: "working directory \(workdir) cannot be used: \(Posix.message(code))")
            }
            if (info.st_mode & S_IFMT) != S_IFDIR {
                throw StepProcessError.cannotStart(reason: "working directory \(workdir) is not a directory")
            }
        }
    }

    private static func spawnFailure(stage: Int32, code: Int32, cmd: StepCommand) -> String {
        let reason = Posix.message(code)
        switch Int(stage) {
        case SHIPLOG_SPAWN_STAGE_CHDIR:
            if code == ENOENT { return "working directory \(cmd.workdir ?? ".") does not exist" }
            return "cannot enter working directory \(cmd.workdir ?? "."): \(reason)"
        case SHIPLOG_SPAWN_STAGE_EXEC:
            return "cannot run \(shell): \(reason)"
        case SHIPLOG_SPAWN_STAGE_PREPARE:
            return "cannot create the step process: \(reason)"
        case SHIPLOG_SPAWN_STAGE_PDEATHSIG:
            return "cannot set the parent-death signal: \(reason)"
        case SHIPLOG_SPAWN_STAGE_SETPGID:
            return "cannot create the step's process group: \(reason)"
        case SHIPLOG_SPAWN_STAGE_STDIO:
            return "cannot set up stdin, stdout and stderr: \(reason)"
        case SHIPLOG_SPAWN_STAGE_CLOSE_FDS:
            return "cannot close inherited file descriptors: \(reason)"
        default:
            return reason
        }
    }

    private static func withOptionalCString<R>(_ string: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
        guard let string else { return body(nil) }
        return string.withCString { body($0) }
    }
}
