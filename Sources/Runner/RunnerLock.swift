import EventStore
import Foundation
import Ledger
import ShiplogFiles

/// An exclusive claim on driving one deployment, held through an advisory file lock.
///
/// The kernel drops the lock when its process dies, however it dies, so a crashed runner
/// never leaves a stale claim behind, while two live runners can never drive one deployment.
/// The file names its holder (host, pid, start time), so whoever finds the deployment held can
/// be told who holds it. `unlock` takes the same lock, so it never ends a deployment a live
/// runner on this machine is still driving.
public final class RunnerLock: RunnerClaim {
    private var fd: Int32

    /// The directory of the lock files beside a ledger file.
    public static func directory(besideLedger path: String) -> String {
        URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("locks").path
    }

    /// Takes the lock of `deploymentID`, or throws `RunnerClaimRefused` naming its holder.
    ///
    /// The lock file is `<directory>/<id>.lock` (directory 0700, file 0600, created as needed);
    /// a symbolic link, FIFO or foreign file planted there is refused, never followed.
    public init(directory: String, deploymentID: String, now: Date = Date()) throws {
        let path = directory + "/" + deploymentID + ".lock"
        do {
            try FileSystem.makePrivateDirectory(directory, purpose: "keep runner locks in")
            fd = try FileSystem.openPrivate(path, access: O_RDWR)
        } catch {
            throw RunnerError.lockUnavailable("cannot take the runner lock: \(error)")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            var buffer = [UInt8](repeating: 0, count: 512)
            let n = pread(fd, &buffer, buffer.count, 0)
            let holder = n > 0 ? RunnerHolder(parsing: String(decoding: buffer[..<n], as: UTF8.self)) : nil
            close(fd)
            fd = -1
            throw RunnerHolder.refusal(of: deploymentID, by: holder)
        }
        // Say who holds it. A failure to write only costs the name in a message.
        let line = Array((RunnerHolder.current(at: now).fields + "\n").utf8)
        if ftruncate(fd, 0) == 0 { _ = line.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) } }
    }

    public func release() {
        if fd >= 0 {
            flock(fd, LOCK_UN)
            close(fd)
            fd = -1
        }
    }

    deinit { release() }
}

/// Failures of the runner itself.
public enum RunnerError: Error, Equatable, CustomStringConvertible {
    case lockUnavailable(String)

    public var description: String {
        switch self {
        case .lockUnavailable(let message): message
        }
    }
}

/// Claims on a SQLite ledger's machine: a lock file per deployment beside the ledger.
public struct FileRunnerClaims: RunnerClaims {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    public init(besideLedger path: String) { directory = RunnerLock.directory(besideLedger: path) }

    public func claim(_ deploymentID: String) throws -> any RunnerClaim {
        try RunnerLock(directory: directory, deploymentID: deploymentID)
    }
}
