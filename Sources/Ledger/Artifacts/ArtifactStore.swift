import EventStore
import Foundation
import ShiplogFiles

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
        if name.isEmpty || name.count > 200 || name.contains("/") || name.contains("\\") || name.contains("..")
            || name.hasPrefix(".") || name.unicodeScalars.contains(where: { $0.value < 0x20 }) {
            throw LedgerError.invalid("artifact name \(name.debugDescription) is not allowed: no path separators, no '..', no leading dot, 1–200 characters")
        }
    }

    /// Copies `bytes` in under their digest (temp file, fsync, rename); returns digest and size.
    public func put(_ bytes: [UInt8]) throws -> (sha256: String, size: Int64) {
        let digest = bytes.withUnsafeBytes { Hex.encode(HashChain.sha256($0)) }
        if try holds(digest, size: Int64(bytes.count)) { return (digest, Int64(bytes.count)) }
        let writer = try ArtifactWriter(store: self)
        try writer.write(bytes)
        return try writer.commit()
    }

    /// Streams the file at `path` in (see `put(readingFrom:path:transform:)`).
    public func put(file path: String, followSymlinks: Bool = true,
                    transform: ((_ chunk: [UInt8], _ end: Bool) -> [UInt8])? = nil) throws -> (sha256: String, size: Int64) {
        let fd: Int32
        do {
            fd = try FileSystem.openForReading(path, followSymlinks: followSymlinks, regularOnly: !followSymlinks)
        } catch {
            throw LedgerError.storage("cannot keep \(path): \(error)")
        }
        defer { close(fd) }
        return try put(readingFrom: fd, path: path, transform: transform)
    }

    /// Streams what `fd` reads, one chunk at a time, into the store: memory stays at a few
    /// chunks however large the file. `transform` (a redactor, say) sees every chunk in order,
    /// then an empty chunk with `end` true, and what it returns is what is stored and hashed.
    public func put(readingFrom fd: Int32, path: String, chunkSize: Int = 1 << 18,
                    transform: ((_ chunk: [UInt8], _ end: Bool) -> [UInt8])? = nil) throws -> (sha256: String, size: Int64) {
        let writer = try ArtifactWriter(store: self)
        while true {
            let chunk: [UInt8]
            do {
                chunk = try FileSystem.read(fd, upTo: chunkSize, path: path)
            } catch {
                throw LedgerError.invalid("\(error)")
            }
            let end = chunk.isEmpty
            try writer.write(transform.map { $0(chunk, end) } ?? chunk)
            if end { break }
        }
        return try writer.commit()
    }

    public func remove(sha256: String) throws -> Bool {
        guard sha256.count == 64, sha256.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else {
            throw LedgerError.invalid("\(sha256.debugDescription) is not an artifact digest (64 lowercase hex digits)")
        }
        let target = path(for: sha256)
        if unlink(target) == 0 { return true }
        if errno == ENOENT { return false }
        throw Self.ioError("delete", target, errno)
    }

    /// True when the store already holds `digest`: a regular file of this user (never a
    /// symbolic link or anything else planted under the name) of the expected size. Files get
    /// their digest name only by a rename after a sync, so a complete file is the only kind.
    func holds(_ digest: String, size: Int64) throws -> Bool {
        var info = stat()
        guard lstat(path(for: digest), &info) == 0 else { return false }
        return FileSystem.Kind(mode: info.st_mode) == .regular && info.st_uid == geteuid() && Int64(info.st_size) == size
    }

    /// Creates the store's directory (0700) or checks it: a real directory of this user that
    /// nobody else can write to.
    func makeDirectory() throws {
        do {
            try FileSystem.makePrivateDirectory(directory, purpose: "keep artifacts in")
        } catch {
            throw LedgerError.storage("\(error)")
        }
    }

    static func ioError(_ action: String, _ path: String, _ err: Int32) -> LedgerError {
        let reason = FileSystem.message(err)
        let hint = err == ENOSPC || err == EFBIG || err == EDQUOT ? " Free disk space and retry; nothing was recorded for this artifact." : ""
        return .storage("cannot \(action) artifact file \(path): \(reason).\(hint)")
    }
}

/// One artifact being written: under an unpredictable temporary name in the store (created
/// with O_EXCL | O_NOFOLLOW, mode 0600), hashed as it is written, and renamed to its digest
/// by `commit()`. Dropped without a commit, it leaves nothing behind.
public final class ArtifactWriter {
    let store: ArtifactStore
    private var fd: Int32
    private let temporaryPath: String
    private let hash = SHA256Stream()
    private var size: Int64 = 0
    private var done = false

    public init(store: ArtifactStore) throws {
        self.store = store
        try store.makeDirectory()
        do {
            (fd, temporaryPath) = try FileSystem.createTemporary(in: store.directory, prefix: ".tmp-")
        } catch {
            throw ArtifactStore.ioError("create", error.path, error.code)
        }
    }

    public func write(_ bytes: [UInt8]) throws {
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeBytes { hash.update($0) }
        let code = bytes.withUnsafeBytes { FileSystem.writeAll(fd, $0) }
        if code != 0 { throw fail("write", temporaryPath, code) }
        size += Int64(bytes.count)
    }

    /// Syncs the file and gives it its digest's name; returns digest and size.
    public func commit() throws -> (sha256: String, size: Int64) {
        if fsync(fd) != 0 { throw fail("sync", temporaryPath, errno) }
        close(fd)
        fd = -1
        let digest = hash.finalizeHex()
        if try store.holds(digest, size: size) {
            discard()
            return (digest, size)
        }
        let target = store.path(for: digest)
        // rename replaces whatever sits at the name, a planted symbolic link included, and
        // never writes through it.
        if rename(temporaryPath, target) != 0 { throw fail("rename", target, errno) }
        done = true
        FileSystem.syncDirectory(containing: target)
        return (digest, size)
    }

    private func fail(_ action: String, _ path: String, _ code: Int32) -> LedgerError {
        discard()
        return ArtifactStore.ioError(action, path, code)
    }

    private func discard() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        if !done {
            unlink(temporaryPath)
            done = true
        }
    }

    deinit { discard() }
}

extension Ledger {
    /// Stores a log or record file for a deployment: the file first, then the event naming it.
    @discardableResult
    public func storeArtifact(name: String, phase: String, bytes: [UInt8], deploymentID: String,
                              retentionDays: Int = 365, in artifacts: ArtifactStore) throws -> Artifact {
        try storeArtifact(name: name, phase: phase, deploymentID: deploymentID, retentionDays: retentionDays) {
            try artifacts.put(bytes)
        }
    }

    /// Stores an artifact whose file `content` writes into the store (streaming it, say) and
    /// whose digest and size it returns; called only once the name is known to be free.
    @discardableResult
    public func storeArtifact(name: String, phase: String, deploymentID: String, retentionDays: Int = 365,
                              content: () throws -> (sha256: String, size: Int64)) throws -> Artifact {
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
        let (digest, size) = try content()
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
                DeploymentEvent.artifactPruned(name: artifact.name, sha256: artifact.sha256, deploymentID: artifact.deploymentID).makeNewEvent(),
            ])])
        }
        return expired
    }
}
