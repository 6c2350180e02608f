/// One pipeline step's command, as the runner hands it to `StepProcess.run`.
public struct StepCommand: Sendable, Hashable {
    /// Shell text, run as `/bin/sh -c command`.
    public var command: String

    /// The step's whole environment. Nothing of the runner's own environment is added: the
    /// caller builds it (typically the runner's environment plus the step's variables), so a
    /// variable left out here is absent in the step.
    public var environment: [String: String]

    /// The directory the step runs in; a relative path is taken from the runner's working
    /// directory. Nil: the runner's working directory.
    public var workdir: String?

    /// Seconds the step may run. When they have passed, the step's process group gets SIGTERM,
    /// then SIGKILL 5 seconds later. Nil: no limit.
    public var timeout: Double?

    public init(command: String, environment: [String: String], workdir: String? = nil, timeout: Double? = nil) {
        self.command = command
        self.environment = environment
        self.workdir = workdir
        self.timeout = timeout
    }
}
