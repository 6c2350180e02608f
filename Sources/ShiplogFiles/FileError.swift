#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A file or directory that could not be created, opened, written or trusted.
///
/// The message names the operation, the path and the reason in lower case: "cannot create
/// logs/build-1.log: no space left on device", or, for a refusal, "refusing to open
/// logs/build-1.log: it is a symbolic link; remove it".
public struct FileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was being done: "create", "open", "write", "sync", "rename", "read", "create directory"…
    public let operation: String
    public let path: String
    /// The errno value; 0 when Shiplog refused the file itself (a symlink, another owner…).
    public let code: Int32
    /// Why, in lower case.
    public let reason: String

    public init(_ operation: String, _ path: String, code: Int32) {
        self.operation = operation
        self.path = path
        self.code = code
        self.reason = FileSystem.message(code)
    }

    /// A refusal: the file exists but is not one Shiplog may use.
    public init(refusing operation: String, _ path: String, because reason: String) {
        self.operation = operation
        self.path = path
        self.code = 0
        self.reason = reason
    }

    /// The disk, the quota or a file-size limit is full.
    public var isNoSpace: Bool { code == ENOSPC || code == EDQUOT || code == EFBIG }

    /// Shiplog refused the path (an unsafe file or directory), rather than the system failing.
    public var isRefusal: Bool { code == 0 }

    public var description: String {
        if isRefusal { return "refusing to \(operation) \(path): \(reason)" }
        let hint = isNoSpace ? "; free disk space and retry" : ""
        return "cannot \(operation) \(path): \(reason)\(hint)"
    }
}
