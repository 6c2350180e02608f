/// What happens to a step that was running when the runner itself stopped (a crash, a reboot,
/// a killed process) and the deployment is resumed.
public enum InterruptPolicy: String, Sendable, Equatable, Hashable, CaseIterable {
    /// Run the step again from the start, with `SHIPLOG_ATTEMPT` incremented. The default:
    /// steps must therefore be idempotent.
    case rerun
    /// Do not run it again: the step, and so the deployment, is failed. For steps that are not
    /// safe to repeat blindly.
    case fail
}
