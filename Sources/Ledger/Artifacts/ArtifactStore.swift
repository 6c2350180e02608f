import EventStore
import Foundation

/// Log and record files kept by content: `<dir>/<sha256>`, written atomically before the
/// event that names them, so an event never points at a missing or partial file.
public struct ArtifactStore: Sendable {
    public let directory: String

    /// The default sits beside the ledger: `.shiplog/artifacts/` for `.shiplog/ledger.db`.
    public init(directory: String) { self.directory = directory }

    public init(besideLedger path: String) {
        directory = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("artifacts").path
    }

    public func path(for sha256: String) -> String { directory + "/" + sha256 }

    /// Refuses names that could escape the store or confuse a reader.
    public static func validate(name: String) throws {
        try Ledger.require(name, as: .artifactName)
    }

    /// Copies `bytes` in under their digest (temp file, fsync, rename); returns digest and size.
    public func put(_ bytes: [UInt8]) throws -> (sha256: String, size: Int64) {
        let digest = bytes.withUnsafeBytes { Hex.encode(HashChain.sha256($0)) }
        let target = path(for: digest)
        if FileManager.default.fileExists(atPath: target) { return (digest, Int64(bytes.count)) }
        try makeDirectory()
        let temp = directory + "/.tmp-\(digest)-\(getpid())"
        let fd = open(temp, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Self.ioError("create", temp, errno) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                let err = errno
                close(fd)
                unlink(temp)
                throw Self.ioError("write", temp, err)
            }
            offset += n
        }
        if fsync(fd) != 0 {
            let err = errno
            close(fd)
            unlink(temp)
            throw Self.ioError("sync", temp, err)
        }
        close(fd)
        guard rename(temp, target) == 0 else {
            let err = errno
            unlink(temp)
            throw Self.ioError("rename", target, err)
        }
        return (digest, Int64(bytes.count))
    }

    /// Reads a file and stores it.
    public func put(file: String) throws -> (sha256: String, size: Int64) {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw LedgerError.invalid("cannot read \(file): no such file, or not readable")
        }
        return try put([UInt8](data))
    }

    public func remove(sha256: String) throws -> Bool {
        let target = path(for: sha256)
        if unlink(target) == 0 { return true }
        if errno == ENOENT { return false }
        throw Self.ioError("delete", target, errno)
    }

    private func makeDirectory() throws {
        if FileManager.default.fileExists(atPath: directory) { return }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw LedgerError.storage("cannot create the artifact directory \(directory): \(error.localizedDescription)")
        }
    }

    static func ioError(_ action: String, _ path: String, _ err: Int32) -> LedgerError {
        let reason = String(cString: strerror(err)).lowercased()
        let hint = err == ENOSPC || err == EFBIG || err == EDQUOT ? " Free disk space and retry; nothing was recorded for this artifact." : ""
        return .storage("cannot \(action) artifact file \(path): \(reason).\(hint)")
    }
}

extension Ledger {
    /// Stores a log or record file for a deployment: the file first, then the event naming it.
    @discardableResult
    public func storeArtifact(name: String, phase: String, bytes: [UInt8], deploymentID: String,
                              retentionDays: Int = 365, in artifacts: ArtifactStore) throws -> Artifact {
        try ArtifactStore.validate(name: name)
        guard retentionDays >= 1 else { throw LedgerError.invalid("retention must be at least 1 day") }
        // One name, one artifact, ledger-wide: the projection and the prune key on the name.
        let owner = try store.database.withStatement("SELECT deployment_id FROM artifacts WHERE name = ?") { s in
            s.bind(1, name)
            return try s.step() ? s.string(0) : nil
        }
        if let owner, owner != deploymentID {
            throw LedgerError.refused("artifact name \(name) is already used by deployment \(owner); choose another name")
        }
        let (digest, size) = try artifacts.put(bytes)
        let artifact = Artifact(name: name, phase: phase, sha256: digest, size: size, retentionDays: retentionDays)
        try execute(.storeArtifact(artifact), on: deploymentID)
        return artifact
    }

    /// Deletes the files of expired artifacts and records one `ArtifactPruned` per file.
    /// The events themselves are never deleted.
    public func prune(now: Date, dryRun: Bool, in artifacts: ArtifactStore) throws -> [ArtifactRecord] {
        let expired = try Queries(store: store).artifacts(expiredOnly: true, now: now)
        if dryRun { return expired }
        for artifact in expired {
            // The same content may back a newer, unexpired artifact: keep the file then.
            let stillNeeded = try store.database.withStatement(
                "SELECT count(*) FROM artifacts WHERE sha256 = ? AND pruned_at IS NULL AND expires_at > ?") { s in
                s.bind(1, artifact.sha256)
                s.bind(2, Timestamp.format(now))
                try s.step()
                return s.int(0) > 0
            }
            if !stillNeeded { _ = try artifacts.remove(sha256: artifact.sha256) }
            try append([StreamAppend(stream: Self.stream(artifact: artifact.name), expected: .any, events: [
                newEvent(.artifactPruned(name: artifact.name, sha256: artifact.sha256, deploymentID: artifact.deploymentID)),
            ])])
        }
        return expired
    }
}
