/// How a step's process ended.
public struct StepOutcome: Sendable, Hashable {
    /// The shell's exit status when it exited normally; nil when a signal ended it.
    public var exitCode: Int32?

    /// The signal that ended the shell; nil when it exited normally.
    public var signal: Int32?

    /// The step's timeout passed before the shell ended, and the step was stopped.
    public var timedOut: Bool

    /// The timeout the step ran with, in seconds; nil when it had none.
    public var timeout: Double?

    /// Milliseconds from the start of the shell to its end.
    public var durationMs: Int

    /// The shell ended while other processes of the step's process group were still present
    /// (background jobs it did not wait for); they were sent SIGTERM, then SIGKILL. A step
    /// owns no process beyond its own end.
    public var leftoverProcesses: Bool

    /// SIGINT or SIGTERM reached the runner while the step ran, and the step was stopped for
    /// it (SIGTERM to its process group, then SIGKILL): its end says nothing about the step.
    public var interruptedBy: Int32?

    public init(
        exitCode: Int32?, signal: Int32?, timedOut: Bool, timeout: Double? = nil,
        durationMs: Int, leftoverProcesses: Bool = false, interruptedBy: Int32? = nil
    ) {
        self.exitCode = exitCode
        self.signal = signal
        self.timedOut = timedOut
        self.timeout = timeout
        self.durationMs = durationMs
        self.leftoverProcesses = leftoverProcesses
        self.interruptedBy = interruptedBy
    }

    /// The step exited 0 within its time. A step that timed out never succeeded, even if it
    /// then exited 0 on SIGTERM.
    public var succeeded: Bool {
        !timedOut && interruptedBy == nil && exitCode == 0
    }

    /// "exited 0", "exited 3", "killed by signal 9", "timed out after 5 s", "interrupted by SIGINT".
    public var summary: String {
        if let interruptedBy { return "interrupted by \(Interruption.name(of: interruptedBy))" }
        if timedOut {
            if let timeout { return "timed out after \(Self.seconds(timeout)) s" }
            return "timed out"
        }
        if let exitCode { return "exited \(exitCode)" }
        if let signal { return "killed by signal \(signal)" }
        return "ended"
    }

    /// 5 → "5", 0.5 → "0.5".
    private static func seconds(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
