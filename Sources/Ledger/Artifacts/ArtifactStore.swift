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
        // Only a recorded digest names a file here: nothing else is ever unlinked.
        try Ledger.require(sha256, as: .digest)
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

    /// Deletes the files of expired artifacts and records one `ArtifactPruned` per artifact.
    /// The events themselves are never deleted.
    ///
    /// Decided from the events alone: what is expired, and whether a newer artifact still needs
    /// the same content, comes from `ArtifactStored` and `ArtifactPruned` events, so an edit of
    /// the projection tables can neither get a live file deleted nor any file outside the store
    /// (only names that are recorded digests, inside the store's directory, are ever unlinked).
    public func prune(now: Date, dryRun: Bool, in artifacts: ArtifactStore) throws -> [ArtifactRecord] {
        let facts = try artifactFacts()
        let nowText = Timestamp.format(now)
        let live = facts.values.filter { !$0.pruned }
        let needed = Set(live.filter { $0.expiresAt > nowText }.map(\.artifact.sha256))
        let expired = live.filter { $0.expiresAt <= nowText }.sorted { ($0.expiresAt, $0.artifact.name) < ($1.expiresAt, $1.artifact.name) }
        var records: [ArtifactRecord] = []
        for fact in expired {
            let a = fact.artifact
            let environment = try load(fact.deploymentID).request?.environment ?? ""
            records.append(ArtifactRecord(name: a.name, deploymentID: fact.deploymentID, environment: environment, phase: a.phase,
                                          sha256: a.sha256, size: a.size, retentionDays: a.retentionDays, storedAt: fact.storedAt,
                                          expiresAt: fact.expiresAt, prunedAt: nil, state: .expired))
            if dryRun { continue }
            // The same content may back a newer, unexpired artifact: keep the file then.
            if !needed.contains(a.sha256) { _ = try artifacts.remove(sha256: a.sha256) }
            try append([StreamAppend(stream: Self.stream(artifact: a.name), expected: .any, events: [
                newEvent(.artifactPruned(name: a.name, sha256: a.sha256, deploymentID: fact.deploymentID)),
            ])])
        }
        return records
    }

    /// One artifact as its events describe it.
    struct ArtifactFact {
        var artifact: Artifact
        var deploymentID: String
        var storedAt: String
        var expiresAt: String
        var pruned = false
    }

    /// Every artifact the ledger's own streams recorded, by deployment id and name, read from the events through
    /// their partial index (migrations/0003_artifact_facts.sql).
    func artifactFacts() throws -> [String: ArtifactFact] {
        var facts: [String: ArtifactFact] = [:]
        try store.database.withStatement("""
            SELECT \(SQLiteEventStore.columnList) FROM events
            WHERE type IN ('ArtifactStored', 'ArtifactPruned') ORDER BY position
            """) { s in
            while try s.step() {
                let event = SQLiteEventStore.decodeRow(s)
                guard let decoded = try Projector.decodeOwn(event) else { continue }
                switch decoded {
                case .artifactStored(let a):
                    guard let id = Identifier.deploymentID(inStream: event.stream), Identifier.isValid(a.sha256, as: .digest),
                          let stored = Timestamp.parse(event.recordedAt) else { continue }
                    let expires = Timestamp.format(stored.addingTimeInterval(Double(a.retentionDays) * 86_400))
                    facts[id + "/" + a.name] = ArtifactFact(artifact: a, deploymentID: id, storedAt: event.recordedAt, expiresAt: expires)
                case .artifactPruned(let name, _, let id):
                    facts[id + "/" + name]?.pruned = true
                default:
                    continue
                }
            }
        }
        return facts
    }
}
