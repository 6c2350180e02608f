/// A required status check verified before anything is changed, such as the tests or a
/// security scan. Every preflight check must exit 0 for the deployment to go on.
public struct PreflightCheck: Sendable, Equatable {
    /// A unique name, such as `tests` or `security-scan`.
    public var name: String
    /// The command that verifies it.
    public var step: CommandStep

    public init(name: String, step: CommandStep) {
        self.name = name
        self.step = step
    }
}
