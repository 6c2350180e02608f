import EventStore
import Foundation
import ShiplogFiles

/// Log and record files kept by content: `<dir>/<sha256>`, written atomically before the
/// event that names them, so an event never points at a missing or partial file.
public struct ArtifactStore: ArtifactBlobs {
    public let directory: String

    public var location: String { directory }

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
        if try holds(digest, size: Int64(bytes.count)) { return (digest, Int64(bytes.count)) }
        let writer = try ArtifactWriter(store: self)
        try writer.write(bytes)
        return try writer.commit()
    }

    public func makeWriter() throws -> any ArtifactBlobWriter { try ArtifactWriter(store: self) }

    public func read(sha256: String, _ body: ([UInt8]) throws -> Void) throws -> Bool {
        try Ledger.require(sha256, as: .digest)
        let fd: Int32
        do {
            fd = try FileSystem.openForReading(path(for: sha256), followSymlinks: false, regularOnly: true)
        } catch {
            if error.code == ENOENT { return false }
            throw LedgerError.storage("cannot read artifact \(sha256): \(error)")
        }
        defer { close(fd) }
        while true {
            let chunk: [UInt8]
            do { chunk = try FileSystem.read(fd, upTo: 1 << 18, path: path(for: sha256)) } catch { throw LedgerError.storage("\(error)") }
            if chunk.isEmpty { return true }
            try body(chunk)
        }
    }

    public func remove(sha256: String) throws -> Bool {
        // Only a recorded digest names a file here: nothing else is ever unlinked.
        try Ledger.require(sha256, as: .digest)
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
public final class ArtifactWriter: ArtifactBlobWriter {
    let store: ArtifactStore
    private let file: AtomicWriter
    private let hash = SHA256Stream()
    private var size: Int64 = 0

    public init(store: ArtifactStore) throws {
        self.store = store
        try store.makeDirectory()
        do {
            // Named by its digest at commit; until then a temporary file beside the others.
            file = try AtomicWriter(path: store.directory + "/artifact")
        } catch {
            throw ArtifactStore.ioError("create", error.path, error.code)
        }
    }

    public func write(_ bytes: [UInt8]) throws {
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeBytes { hash.update($0) }
        do { try file.write(bytes) } catch { throw fail(error) }
        size += Int64(bytes.count)
    }

    /// Syncs the file and gives it its digest's name; returns digest and size. The rename
    /// replaces whatever sits at the name, a planted symbolic link included, and never writes
    /// through it.
    public func commit() throws -> (sha256: String, size: Int64) {
        let digest = hash.finalizeHex()
        if try store.holds(digest, size: size) {
            file.discard()
            return (digest, size)
        }
        do { try file.commit(as: store.path(for: digest)) } catch { throw fail(error) }
        return (digest, size)
    }

    private func fail(_ error: FileError) -> LedgerError {
        file.discard()
        return ArtifactStore.ioError(error.operation, error.path, error.code)
    }
}

extension Ledger {
    /// Stores a log or record file for a deployment: the file first, then the event naming it.
    @discardableResult
    public func storeArtifact(
        name: String, phase: String, bytes: [UInt8], deploymentID: String,
        retentionDays: Int = 365, in artifacts: any ArtifactBlobs
    ) throws -> Artifact {
        try storeArtifact(name: name, phase: phase, deploymentID: deploymentID, retentionDays: retentionDays) {
            try artifacts.put(bytes)
        }
    }

    /// Stores an artifact whose file `content` writes into the store (streaming it, say) and
    /// whose digest and size it returns; called only once the name is known to be free.
    @discardableResult
    public func storeArtifact(
        name: String, phase: String, deploymentID: String, retentionDays: Int = 365,
        content: () throws -> (sha256: String, size: Int64)
    ) throws -> Artifact {
        try ArtifactStore.validate(name: name)
        guard retentionDays >= 1 else { throw LedgerError.invalid("retention must be at least 1 day") }
        // One name, one artifact, ledger-wide: the projection and the prune key on the name.
        let owner = try projections.artifactOwner(name: name)
        if let owner, owner != deploymentID {
            throw LedgerError.refused("artifact name \(name) is already used by deployment \(owner); choose another name")
        }
        let (digest, size) = try content()
        let artifact = Artifact(name: name, phase: phase, sha256: digest, size: size, retentionDays: retentionDays)
        try execute(.storeArtifact(artifact), on: deploymentID)
        return artifact
    }

    /// Deletes the files of expired artifacts and records one `ArtifactPruned` per artifact.
    /// The events themselves are never deleted.
    ///
    /// Decided from the events alone: what is expired, and whether a newer artifact still needs
    /// the same content, comes from `ArtifactStored` and `ArtifactPruned` events, so an edit of
    /// the projection tables can neither get a live file deleted nor any file outside the store
    /// (only names that are recorded digests, inside the store's directory, are ever unlinked).
    /// `progress` is told (done, total) before the first artifact and after each one.
    public func prune(
        now: Date, dryRun: Bool, in artifacts: any ArtifactBlobs, progress: ((Int, Int) -> Void)? = nil
    ) throws -> [ArtifactRecord] {
        let facts = try artifactFacts()
        let nowText = Timestamp.format(now)
        let live = facts.values.filter { !$0.pruned }
        let needed = Set(live.filter { $0.expiresAt > nowText }.map(\.artifact.sha256))
        let expired = live.filter { $0.expiresAt <= nowText }.sorted { ($0.expiresAt, $0.artifact.name) < ($1.expiresAt, $1.artifact.name) }
        var records: [ArtifactRecord] = []
        progress?(0, expired.count)
        for fact in expired {
            defer { progress?(records.count, expired.count) }
            let a = fact.artifact
            let environment = try load(fact.deploymentID).request?.environment ?? ""
            records.append(
                ArtifactRecord(
                    row: ArtifactRow(
                        name: a.name, deploymentID: fact.deploymentID, environment: environment,
                        phase: a.phase, sha256: a.sha256, size: a.size, retentionDays: a.retentionDays,
                        storedAt: fact.storedAt, expiresAt: fact.expiresAt, prunedAt: nil,
                        storedPosition: fact.position),
                    state: .expired))
            if dryRun { continue }
            // The same content may back a newer, unexpired artifact: keep the file then.
            if !needed.contains(a.sha256) { _ = try artifacts.remove(sha256: a.sha256) }
            try append([
                StreamAppend(
                    stream: Self.stream(artifact: a.name), expected: .any,
                    events: [
                        newEvent(.artifactPruned(name: a.name, sha256: a.sha256, deploymentID: fact.deploymentID))
                    ])
            ])
        }
        return records
    }

    /// One artifact as its events describe it.
    struct ArtifactFact {
        var artifact: Artifact
        var deploymentID: String
        var position: Int64
        var storedAt: String
        var expiresAt: String
        var pruned = false
    }

    /// Every artifact the ledger's own streams recorded, by deployment id and name, read from the events through
    /// their partial index (migrations/0003_artifact_facts.sql).
    func artifactFacts() throws -> [String: ArtifactFact] {
        var facts: [String: ArtifactFact] = [:]
        try store.forEachEvent(ofTypes: ["ArtifactStored", "ArtifactPruned"]) { event in
            guard let decoded = try Projector.decodeOwn(event) else { return }
            switch decoded {
            case .artifactStored(let a):
                guard let id = Identifier.deploymentID(inStream: event.stream), Identifier.isValid(a.sha256, as: .digest),
                    let stored = Timestamp.parse(event.recordedAt)
                else { return }
                let expires = Timestamp.format(stored.addingTimeInterval(Double(a.retentionDays) * 86_400))
                facts[id + "/" + a.name] = ArtifactFact(
                    artifact: a, deploymentID: id, position: event.position, storedAt: event.recordedAt,
                    expiresAt: expires)
            case .artifactPruned(let name, _, let id):
                facts[id + "/" + name]?.pruned = true
            default:
                return
            }
        }
        return facts
    }
}
