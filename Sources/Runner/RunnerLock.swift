import Foundation

/// An exclusive claim on driving one deployment, held through an advisory file lock.
///
/// The kernel drops the lock when its process dies, however it dies, so a crashed runner
/// never leaves a stale claim behind, while two live runners can never drive one deployment.
final class RunnerLock {
    private var fd: Int32

    init(directory: String, deploymentID: String) throws {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                 attributes: [.posixPermissions: 0o700])
        let path = directory + "/" + deploymentID + ".lock"
        fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw RunnerError.lockUnavailable("cannot open the runner lock \(path): \(String(cString: strerror(errno)))")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            close(fd)
            fd = -1
            throw RunnerError.alreadyDriven(deploymentID)
        }
    }

    func release() {
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
    case alreadyDriven(String)
    case lockUnavailable(String)

    public var description: String {
        switch self {
        case .alreadyDriven(let id):
            "deployment \(id) is being driven by another shiplog process right now; wait for it, or check `shiplog status`"
        case .lockUnavailable(let message): message
        }
    }
}
