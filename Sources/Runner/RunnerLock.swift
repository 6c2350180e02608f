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
///
/// A released lock removes its file, so lock files do not pile up, one per deployment ever
/// run: the holder unlinks it while still holding the lock, and a claimant that locked a file
/// since unlinked (it opened the name just before) sees that the name no longer leads to its
/// file and tries again. Only a runner killed outright leaves its file, for the next claim of
/// that deployment (`resume`, `unlock`) to take and remove.
public final class RunnerLock: RunnerClaim {
    private var fd: Int32
    private let path: String

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
        self.path = path
        fd = -1
        for _ in 0..<100 {
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
            // Locked; but a holder releasing at that moment may have unlinked the file it was.
            if Self.isStillNamed(fd, path) { break }
            close(fd)
            fd = -1
        }
        guard fd >= 0 else { throw RunnerError.lockUnavailable("cannot take the runner lock \(path): it kept being removed as it was taken") }
        // Say who holds it. A failure to write only costs the name in a message.
        let line = Array((RunnerHolder.current(at: now).fields + "\n").utf8)
        if ftruncate(fd, 0) == 0 { _ = line.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) } }
    }

    /// Who holds the lock of `deploymentID`, read without taking it: a probe that took the lock
    /// even briefly could make a runner starting at that instant refuse. The kernel's table of
    /// file locks (/proc/locks) says whether the file is locked; the file says by whom. Without
    /// /proc, a holder on this machine counts while its pid is alive.
    public static func holder(directory: String, deploymentID: String) -> RunnerHolder? {
        let fd = open(directory + "/" + deploymentID + ".lock", O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = pread(fd, &buffer, buffer.count, 0)
        let named = n > 0 ? RunnerHolder(parsing: String(decoding: buffer[..<n], as: UTF8.self)) : nil
        var info = stat()
        guard fstat(fd, &info) == 0 else { return nil }
        switch isFlocked(device: UInt64(info.st_dev), inode: UInt64(info.st_ino)) {
        case true?: return named ?? RunnerHolder(host: "unknown", pid: 0, since: "?")
        case false?: return nil
        case nil:
            guard let named else { return nil }
            if named.isLocal { return kill(named.pid, 0) == 0 || errno == EPERM ? named : nil }
            return named
        }
    }

    /// Whether /proc/locks lists a granted flock on this file; nil without /proc/locks. Its lines
    /// read `1: FLOCK  ADVISORY  WRITE 1234 08:01:131077 0 EOF` (device numbers in hex), and a
    /// waiting request has `->` after the number.
    static func isFlocked(device: UInt64, inode: UInt64) -> Bool? {
        guard let table = try? String(contentsOfFile: "/proc/locks", encoding: .utf8) else { return nil }
        let major = ((device >> 8) & 0xfff) | ((device >> 32) & ~UInt64(0xfff))
        let minor = (device & 0xff) | ((device >> 12) & ~UInt64(0xff))
        for line in table.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[1] == "FLOCK" else { continue }
            let id = fields[5].split(separator: ":")
            guard id.count == 3, UInt64(id[2]) == inode, UInt64(id[0], radix: 16) == major, UInt64(id[1], radix: 16) == minor else { continue }
            return true
        }
        return false
    }

    /// Gives the lock back and removes its file (unlinked while still held: see the type).
    public func release() {
        if fd >= 0 {
            if Self.isStillNamed(fd, path) { unlink(path) }
            flock(fd, LOCK_UN)
            close(fd)
            fd = -1
        }
    }

    /// True when `path` still names the file `fd` is open on.
    private static func isStillNamed(_ fd: Int32, _ path: String) -> Bool {
        var open = stat()
        var named = stat()
        guard fstat(fd, &open) == 0, lstat(path, &named) == 0 else { return false }
        return open.st_dev == named.st_dev && open.st_ino == named.st_ino
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

    public func holder(of deploymentID: String) throws -> RunnerHolder? {
        RunnerLock.holder(directory: directory, deploymentID: deploymentID)
    }
}
