import Foundation

/// A log or record a deployment kept, as its events describe it: what was stored (name, phase,
/// SHA-256, size), when, until when it is retained, and whether it was pruned.
public struct KeptArtifact: Sendable, Equatable {
    public var artifact: Artifact
    public var storedAt: String
    /// `storedAt` + the retention: from this instant on, the artifact is expired.
    public var expiresAt: String
    /// When `artifacts prune` deleted its file; nil while it is kept.
    public var prunedAt: String?

    public init(artifact: Artifact, storedAt: String, expiresAt: String, prunedAt: String?) {
        self.artifact = artifact
        self.storedAt = storedAt
        self.expiresAt = expiresAt
        self.prunedAt = prunedAt
    }

    public var name: String { artifact.name }

    /// True once retention has run out at `now` (pruned or not).
    public func isExpired(at now: String) -> Bool { expiresAt <= now }
}

/// What reading a kept artifact's bytes found.
public enum KeptContent: Sendable, Equatable {
    /// Every byte was read and they hash to the recorded SHA-256.
    case intact
    /// The store has no bytes under the recorded digest.
    case missing
    /// The bytes read hash to something else than the event recorded.
    case altered(sha256: String, size: Int64)
}
