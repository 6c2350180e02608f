/// One command the pipeline runs: a preflight check, a phase (`migrate`, `build`, `image`,
/// `deploy`, `rollback`), the smoke tests, or a command health check.
///
/// The command is run by `/bin/sh -c`, in the pipeline file's directory unless `workdir` says
/// otherwise, with the step variables (`SHIPLOG_DEPLOYMENT_ID`, `SHIPLOG_ENVIRONMENT`,
/// `SHIPLOG_VERSION`, `SHIPLOG_ATTEMPT`, `SHIPLOG_ROLLBACK_VERSION`, `DEPLOYMENT_LOG_DIR`)
/// and `env` added to the runner's environment.
public struct CommandStep: Sendable, Equatable {
    /// The shell command line.
    public var run: String
    /// How long the command may run before it is stopped and fails; `nil` for no limit.
    public var timeout: Duration?
    /// What to do when the runner stopped while this step was running.
    public var onInterrupt: InterruptPolicy
    /// Extra, non-secret environment variables for this step.
    public var env: [String: String]
    /// The directory to run in; relative paths are relative to the pipeline file's directory.
    public var workdir: String?

    public init(
        run: String,
        timeout: Duration? = nil,
        onInterrupt: InterruptPolicy = .rerun,
        env: [String: String] = [:],
        workdir: String? = nil
    ) {
        self.run = run
        self.timeout = timeout
        self.onInterrupt = onInterrupt
        self.env = env
        self.workdir = workdir
    }

    /// The program and arguments that run this step.
    public var shellArguments: [String] { ["/bin/sh", "-c", run] }
}
