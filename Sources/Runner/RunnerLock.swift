import Foundation
import ShiplogFiles

/// An exclusive claim on driving one deployment, held through an advisory file lock.
///
/// The kernel drops the lock when its process dies, however it dies, so a crashed runner
/// never leaves a stale claim behind, while two live runners can never drive one deployment.
final class RunnerLock {
    private var fd: Int32

    /// Takes the lock file `<directory>/<id>.lock` (directory 0700, file 0600, created as
    /// needed); a symbolic link, FIFO or foreign file planted there is refused, never followed.
    init(directory: String, deploymentID: String) throws {
        let path = directory + "/" + deploymentID + ".lock"
        do {
            try FileSystem.makePrivateDirectory(directory, purpose: "keep runner locks in")
            fd = try FileSystem.openPrivate(path, access: O_RDWR)
        } catch {
            throw RunnerError.lockUnavailable("cannot take the runner lock: \(error)")
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
