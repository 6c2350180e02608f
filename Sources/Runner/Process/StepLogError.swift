import Foundation
import ShiplogFiles

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
    /// The errno value; 0 when the file or its directory was refused as unsafe.
    public let code: Int32
    /// Why the log file itself was refused (a symbolic link, a FIFO, a hard link…).
    public let refusal: String?
    /// What failed instead of the file itself: its directory ("cannot create directory …",
    /// "refusing to keep logs in …").
    public let detail: String?

    public init(path: String, operation: Operation, code: Int32) {
        self.path = path
        self.operation = operation
        self.code = code
        self.refusal = nil
        self.detail = nil
    }

    /// The log at `path` could not be opened or written, as the safe-file layer says.
    init(_ error: FileError, path: String, operation: Operation) {
        self.path = path
        self.operation = operation
        self.code = error.code
        let aboutTheFile = error.path == path
        self.refusal = aboutTheFile && error.isRefusal ? error.reason : nil
        self.detail = aboutTheFile ? nil : error.description
    }

    public var description: String {
        if let refusal { return "refusing to write log file \(path): \(refusal)" }
        let reason = detail ?? Posix.message(code)
        switch operation {
        case .open: return "could not open log file \(path): \(reason)"
        case .write: return "could not write log file \(path): \(reason)"
        }
    }

    public var errorDescription: String? { description }
}
