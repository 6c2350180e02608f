/// The runner stopped at a safe point because SIGINT or SIGTERM arrived (see `Interruption`).
///
/// Nothing false was recorded: the interrupted step or wait left the deployment where
/// `shiplog resume` continues it. The command line turns this into exit 130 (SIGINT) or 143
/// (SIGTERM) and prints the resume command.
public struct RunnerInterrupted: Error, Sendable, Equatable {
    /// SIGINT or SIGTERM.
    public var signal: Int32
    /// The deployment left to resume, or nil when none had been started yet.
    public var deploymentID: String?
    /// What was interrupted, in words: "the migrate step", "the wait for approval".
    public var activity: String

    public init(signal: Int32, deploymentID: String?, activity: String) {
        self.signal = signal
        self.deploymentID = deploymentID
        self.activity = activity
    }

    /// 128 + the signal number: 130 for SIGINT, 143 for SIGTERM.
    public var exitCode: Int32 { Interruption.exitCode(for: signal) }
}
