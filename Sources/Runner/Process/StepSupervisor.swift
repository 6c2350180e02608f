import CSpawn

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Watches one spawned step until it is over: copies its output into the log, enforces the
/// timeout, stops what the shell left running in its process group, and reaps it.
/// Everything happens on the thread that calls `run()`.
///
/// `pid` is what `shiplog_spawn` returned: the step's supervisor process, which ends exactly
/// as the shell ends, and whose pid is the step's process group id.
final class StepSupervisor {
    private let pid: pid_t
    private var outputFd: Int32
    private var pidFd: Int32
    private let log: StepLog
    private let timeout: Double?
    private let clock: ContinuousClock
    private let started: ContinuousClock.Instant
    private let deadline: ContinuousClock.Instant?

    /// The shell's wait status, once reaped.
    private var waitStatus: Int32?
    private var endedAt: ContinuousClock.Instant?
    private var timedOut = false
    private var leftovers = false
    private var groupGone = false
    private var termSentAt: ContinuousClock.Instant?
    private var killSentAt: ContinuousClock.Instant?
    /// The signal that asked the runner to stop while the step ran (see `Interruption`).
    private var interruptedBy: Int32?
    /// How many stopping signals had arrived when the supervisor last acted on them.
    private var signalsSeen = 0

    /// Without a pidfd, how often the shell's exit is checked.
    private static let exitCheckInterval: Duration = .milliseconds(50)
    /// After the shell has ended, how often its process group is checked for leftovers.
    private static let groupCheckInterval: Duration = .milliseconds(100)
    /// How long after SIGKILL to wait for the group to vanish (a process stuck in the kernel
    /// cannot die at once) before giving up on it.
    private static let afterKillWait: Duration = .seconds(2)
    /// Bytes read from the output pipe per read().
    private static let chunkSize = 64 * 1024

    init(
        pid: pid_t, outputFd: Int32, log: StepLog, timeout: Double?,
        started: ContinuousClock.Instant, clock: ContinuousClock
    ) {
        self.pid = pid
        self.outputFd = outputFd
        self.log = log
        self.timeout = timeout
        self.clock = clock
        self.started = started
        self.deadline = timeout.map { started + .milliseconds(Int64(($0 * 1000).rounded(.up))) }
        let fd = shiplog_pidfd_open(pid)
        self.pidFd = fd >= 0 ? fd : -1
    }

    deinit {
        Posix.close(outputFd)
        Posix.close(pidFd)
    }

    func run() throws -> StepOutcome {
        do {
            try supervise()
        } catch {
            abandon()
            throw error
        }
        let status = waitStatus ?? 0
        let termination = status & 0x7f
        let ended = endedAt ?? clock.now
        let elapsed = started.duration(to: ended)
        let durationMs =
            Int(elapsed.components.seconds) * 1000
            + Int(elapsed.components.attoseconds / 1_000_000_000_000_000)
        return StepOutcome(
            exitCode: termination == 0 ? (status >> 8) & 0xff : nil,
            signal: termination == 0 ? nil : termination,
            timedOut: timedOut,
            timeout: timeout,
            durationMs: durationMs,
            leftoverProcesses: leftovers,
            interruptedBy: interruptedBy)
    }

    // MARK: The loop

    private func supervise() throws {
        var buffer = [UInt8](repeating: 0, count: Self.chunkSize)
        while true {
            let now = clock.now
            if waitStatus == nil, !timedOut, let deadline, now >= deadline {
                timedOut = true
                stopGroup(now: now)
            }
            noteInterruption(now: now)
            if let termSentAt, killSentAt == nil, !groupGone, now >= termSentAt + StepProcess.killGrace {
                signalGroup(SIGKILL)
                killSentAt = now
            }
            if waitStatus != nil, groupSettled(now: now) { break }

            var fds: [pollfd] = []
            if outputFd >= 0 { fds.append(pollfd(fd: outputFd, events: Int16(POLLIN), revents: 0)) }
            if waitStatus == nil, pidFd >= 0 { fds.append(pollfd(fd: pidFd, events: Int16(POLLIN), revents: 0)) }
            // The wake-up pipe stays readable once a signal came: watched only until then.
            if Interruption.signal == nil, Interruption.fd >= 0 { fds.append(pollfd(fd: Interruption.fd, events: Int16(POLLIN), revents: 0)) }
            let wait = pollTimeout(now: now)
            let ready = fds.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), wait) }
            if ready < 0 {
                let code = Posix.errno
                if code == EINTR { continue }
                throw StepProcessError.supervisionFailed(reason: "poll failed: \(Posix.message(code))")
            }
            if outputFd >= 0, let entry = fds.first(where: { $0.fd == outputFd }), entry.revents != 0 {
                try readOutput(into: &buffer)
            }
            if waitStatus == nil {
                try reapIfEnded()
            } else if !groupGone {
                checkGroup()
            }
        }
        // The shell is reaped and its group is gone (or beyond help): whatever is still in the
        // pipe is the step's last output. A writer outside the group may hold the pipe open;
        // it is not waited for.
        if outputFd >= 0 {
            try readOutput(into: &buffer)
            Posix.close(outputFd)
            outputFd = -1
        }
        log.finishOutput()
    }

    /// Reads what the pipe holds now, until it would block or reaches EOF.
    private func readOutput(into buffer: inout [UInt8]) throws {
        // Bounded, so that a step writing without pause still lets the timers run.
        for _ in 0..<16 {
            let count = buffer.withUnsafeMutableBytes { read(outputFd, $0.baseAddress, $0.count) }
            if count > 0 {
                buffer.withUnsafeBytes { log.appendOutput(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
                continue
            }
            if count == 0 {
                Posix.close(outputFd)
                outputFd = -1
                return
            }
            let code = Posix.errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return }
            throw StepProcessError.supervisionFailed(reason: "reading the step's output failed: \(Posix.message(code))")
        }
    }

    /// Reaps the shell if it has ended, then looks for leftovers in its group.
    private func reapIfEnded() throws {
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == 0 { return }
            if result == pid { break }
            let code = Posix.errno
            if code == EINTR { continue }
            throw StepProcessError.supervisionFailed(reason: "waiting for the step failed: \(Posix.message(code))")
        }
        waitStatus = status
        endedAt = clock.now
        Posix.close(pidFd)
        pidFd = -1
        // A process group id is not reused while the group has members, so a live group with
        // this id is still the step's.
        checkGroup()
        if !groupGone {
            leftovers = true
            if termSentAt == nil { stopGroup(now: clock.now) }
        }
    }

    /// SIGINT or SIGTERM reached the runner: the step is stopped as a timeout stops it (SIGTERM
    /// to the group, SIGKILL after the grace period); a further signal while it stops kills the
    /// group at once, so an impatient second Ctrl-C never leaves a step behind.
    private func noteInterruption(now: ContinuousClock.Instant) {
        let count = Interruption.count
        guard count > signalsSeen, let signal = Interruption.signal else { return }
        defer { signalsSeen = count }
        // A step whose shell has ended has its own outcome; the runner stops after recording it.
        if interruptedBy == nil, waitStatus == nil {
            interruptedBy = signal
            guard !groupGone else { return }
            log.write("# \(Interruption.name(of: signal)) reached the runner: stopping the step (SIGTERM now, SIGKILL after \(StepProcess.killGrace.components.seconds) s)")
            if termSentAt == nil { stopGroup(now: now) }
        } else if interruptedBy != nil || termSentAt != nil, killSentAt == nil, !groupGone {
            log.write("# another signal while stopping: killing the step's processes now")
            signalGroup(SIGKILL)
            killSentAt = now
        }
    }

    private func checkGroup() {
        if !ProcessGroup.hasLiveMembers(pid) { groupGone = true }
    }

    private func groupSettled(now: ContinuousClock.Instant) -> Bool {
        if groupGone { return true }
        if let killSentAt, now >= killSentAt + Self.afterKillWait { return true }
        return false
    }

    /// SIGTERM now; SIGKILL follows after the grace period (in the loop).
    private func stopGroup(now: ContinuousClock.Instant) {
        signalGroup(SIGTERM)
        termSentAt = now
    }

    private func signalGroup(_ signal: Int32) {
        if shiplog_kill_group(pid, signal) == ESRCH { groupGone = true }
    }

    /// Milliseconds until the next timer is due; -1 when nothing but the fds is awaited.
    private func pollTimeout(now: ContinuousClock.Instant) -> Int32 {
        var next: ContinuousClock.Instant?
        func consider(_ instant: ContinuousClock.Instant) {
            if next == nil || instant < next! { next = instant }
        }
        if waitStatus == nil {
            if !timedOut, let deadline { consider(deadline) }
            if pidFd < 0 { consider(now + Self.exitCheckInterval) }
        } else if !groupGone {
            consider(now + Self.groupCheckInterval)
        }
        if let termSentAt, killSentAt == nil { consider(termSentAt + StepProcess.killGrace) }
        // After the first signal the wake-up pipe is no longer watched: look for a second one.
        if Interruption.signal != nil, killSentAt == nil, !groupGone { consider(now + Self.groupCheckInterval) }
        if let killSentAt { consider(killSentAt + Self.afterKillWait) }
        guard let next else { return -1 }
        let remaining = now.duration(to: next)
        if remaining <= .zero { return 0 }
        let ms =
            remaining.components.seconds * 1000
            + (remaining.components.attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: ms)
    }

    /// After an error: kill the whole group and reap the shell, so nothing runs unsupervised.
    private func abandon() {
        _ = shiplog_kill_group(pid, SIGKILL)
        if waitStatus == nil {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && Posix.errno == EINTR {}
        }
        log.finishOutput()
    }
}
