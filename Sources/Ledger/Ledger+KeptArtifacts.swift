import EventStore
import Foundation

extension Ledger {
    /// The logs and records deployment `id` kept, in the order it stored them, read from its
    /// events (never from the projection table a person could edit), each with its retention
    /// and, from its artifact stream, whether it was pruned.
    ///
    /// - Throws: `LedgerError.notFound` for an unknown deployment.
    public func keptArtifacts(of id: String) throws -> [KeptArtifact] {
        try Self.require(id, as: .deploymentID)
        var kept: [KeptArtifact] = []
        var found = false
        for event in try store.readStream(Self.stream(deployment: id), from: 1) {
            found = true
            guard case .artifactStored(let a)? = try DeploymentEvent.decode(event) else { continue }
            let stored = Timestamp.parse(event.recordedAt) ?? Date(timeIntervalSince1970: 0)
            let expires = Timestamp.format(stored.addingTimeInterval(Double(a.retentionDays) * 86_400))
            kept.append(KeptArtifact(artifact: a, storedAt: event.recordedAt, expiresAt: expires, prunedAt: nil))
        }
        guard found else { throw LedgerError.notFound("no deployment \(id) in the ledger; `shiplog history` lists them") }
        for index in kept.indices {
            let a = kept[index].artifact
            guard let last = try store.lastEvent(of: Self.stream(artifact: a.name)),
                case .artifactPruned(_, let sha, let owner)? = try DeploymentEvent.decode(last), owner == id, sha == a.sha256
            else { continue }
            kept[index].prunedAt = last.recordedAt
        }
        return kept
    }

    /// Hands the bytes of `artifact` to `body` in order, hashing them as they go, and says
    /// whether they are the bytes its event recorded. `body` sees every byte read even when
    /// they turn out altered: write them somewhere that is discarded unless the answer is
    /// `.intact` (or check first with `body` doing nothing).
    public func readArtifact(_ artifact: Artifact, from blobs: any ArtifactBlobs, _ body: ([UInt8]) throws -> Void) throws -> KeptContent {
        let digest = SHA256Stream()
        var size: Int64 = 0
        let present = try blobs.read(sha256: artifact.sha256) { chunk in
            chunk.withUnsafeBytes { digest.update($0) }
            size += Int64(chunk.count)
            try body(chunk)
        }
        guard present else { return .missing }
        let actual = digest.finalizeHex()
        return actual == artifact.sha256 && size == artifact.size ? .intact : .altered(sha256: actual, size: size)
    }
}
