import Foundation

/// A step log that could not be opened or written. The path is named, and the system's reason
/// is given in lower case ("no space left on device").
public struct StepLogError: Error, Sendable, Hashable, CustomStringConvertible, LocalizedError {
    public enum Operation: Sendable, Hashable {
        /// Creating the log's directories or opening the file.
        case open
        /// Appending to the file; the log is complete up to the failed write only.
        case write
    }

    public let path: String
    public let operation: Operation
    /// The errno value.
    public let code: Int32

    public init(path: String, operation: Operation, code: Int32) {
        self.path = path
        self.operation = operation
        self.code = code
    }

    public var description: String {
        switch operation {
        case .open: return "could not open log file \(path): \(Posix.message(code))"
        case .write: return "could not write log file \(path): \(Posix.message(code))"
        }
    }

    public var errorDescription: String? { description }
}
