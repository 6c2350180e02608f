import Foundation

/// Why `StepProcess.run` could not run a step.
public enum StepProcessError: Error, Sendable, Hashable, CustomStringConvertible, LocalizedError {
    /// The step never started: nothing ran.
    case cannotStart(reason: String)

    /// Watching a started step failed (poll, read or waitpid reported an error). The step's
    /// process group was killed before this was thrown.
    case supervisionFailed(reason: String)

    public var description: String {
        switch self {
        case .cannotStart(let reason): return "cannot start step: \(reason)"
        case .supervisionFailed(let reason): return "step was killed: \(reason)"
        }
    }

    public var errorDescription: String? { description }
}
