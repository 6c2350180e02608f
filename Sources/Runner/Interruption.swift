import CSpawn

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// SIGINT and SIGTERM as a request to stop, which the runner honours at a safe point.
///
/// `install()` replaces the default action (death) with a note of the signal; the runner
/// checks `signal` between steps and inside every wait, and `fd` becomes readable when a
/// signal arrives, so a `poll()` wakes at once. Without `install()` the signals keep their
/// default action and `signal` is always nil.
public enum Interruption {
    /// Installs the handlers for the whole process; later calls do nothing. Also unblocks
    /// SIGINT and SIGTERM in the calling thread: a process started by a parent that blocked them
    /// (a test harness, some CI agents) inherits that mask, and a blocked signal never arrives.
    public static func install() {
        if shiplog_interrupt_install() != 0 {
            preconditionFailure("cannot install the SIGINT/SIGTERM handlers: errno \(errno)")
        }
        var stopping = sigset_t()
        sigemptyset(&stopping)
        sigaddset(&stopping, SIGINT)
        sigaddset(&stopping, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &stopping, nil)
    }

    /// The first stopping signal received (SIGINT or SIGTERM), or nil.
    public static var signal: Int32? {
        let received = shiplog_interrupt_signal()
        return received == 0 ? nil : received
    }

    /// How many SIGINT and SIGTERM have arrived: a second one while stopping asks to stop at once.
    public static var count: Int { Int(shiplog_interrupt_count()) }

    /// `SIGINT` or `SIGTERM`, by name.
    public static func name(of signal: Int32) -> String {
        switch signal {
        case SIGINT: "SIGINT"
        case SIGTERM: "SIGTERM"
        default: "signal \(signal)"
        }
    }

    /// True once SIGINT or SIGTERM has arrived.
    public static var requested: Bool { signal != nil }

    /// A descriptor that becomes readable when a signal arrives (-1 before `install()`).
    public static var fd: Int32 { shiplog_interrupt_fd() }

    /// The exit code a process stopped by `signal` uses: 128 + the signal number
    /// (130 for SIGINT, 143 for SIGTERM).
    public static func exitCode(for signal: Int32) -> Int32 { 128 + signal }

    /// Forgets a received signal: for a process that has handled it and goes on.
    public static func clear() { shiplog_interrupt_clear() }

    /// Sleeps up to `seconds`, waking early when a signal arrives; returns true when one has.
    @discardableResult
    public static func sleep(seconds: Double) -> Bool {
        if requested { return true }
        var pollFd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ms = Int32(max(0, min(seconds * 1000, Double(Int32.max))).rounded(.up))
        if fd >= 0 {
            _ = poll(&pollFd, 1, ms)
        } else {
            usleep(UInt32(min(Double(UInt32.max), max(0, seconds * 1_000_000))))
        }
        return requested
    }
}
