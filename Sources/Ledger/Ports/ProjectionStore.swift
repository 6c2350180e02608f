import EventStore

/// What the projector writes, inside the event store's transaction.
///
/// Rows may arrive out of position order: a replay in two halves writes the second half's rows
/// while the first half is still being read. Each write says which event it comes from, and a
/// row written from an earlier event never replaces one written from a later event, so the
/// tables end up as a replay in order leaves them.
public protocol ProjectionWrites: AnyObject {
    /// Inserts a deployment's row, or replaces it unless the row there was written from a later
    /// event (a greater `lastPosition`).
    func upsert(deployment row: DeploymentRecord) throws
    /// Inserts an artifact's row, or replaces it unless the row there was stored by a later event
    /// (a greater `storedPosition`).
    func upsert(artifact row: ArtifactRow) throws
    /// Marks the row of `name` pruned at `time`, if the event at `position` follows the one that
    /// stored it.
    func markPruned(artifact name: String, at time: String, position: Int64) throws
    func setActive(environment: String, deploymentID: String?, at time: String) throws
    /// How far the projections have read.
    func setPosition(_ position: Int64) throws
}

/// The port for the projection tables: where the ledger keeps the records it derives from the
/// events (deployments, artifacts, environments), and how it reads them back.
///
/// A backend implements it on the same connection as its event store, so the projector's
/// writes commit in the append's transaction: a reader never sees an event without its
/// projection. The ledger's decisions never read these tables unchecked (see
/// `Ledger.lastStable`); they serve people's queries, fast, and `verify` compares them with a
/// replay of the events through `makeReplica` and `firstDifference`.
public protocol ProjectionStore: ProjectionWrites {
    // MARK: Writing, inside the event store's transaction (and `ProjectionWrites`)

    /// Empties every table (a rebuild follows).
    func removeAll() throws
    /// Called after `removeAll` and before a replay refills the tables, then once it is done,
    /// in the same transaction: a backend may set aside what it maintains row by row (indexes)
    /// and build it once at the end. The tables end up the same either way.
    func beginReplay() throws
    func endReplay() throws

    // MARK: Reading

    func record(_ id: String) throws -> DeploymentRecord?
    /// Deployments matching `filter`, newest or oldest first, streamed to `body` without a cap.
    func forEachRecord(_ filter: RecordFilter, newestFirst: Bool, limit: Int?, _ body: (DeploymentRecord) throws -> Void) throws
    /// The deployments of `environment` requested after `position`, newest first.
    func records(environment: String, requestedAfter position: Int64) throws -> [DeploymentRecord]
    /// Artifacts matching `filter`, by expiry then name.
    func artifacts(_ filter: ArtifactFilter) throws -> [ArtifactRow]
    /// The deployment that stored an artifact of this name, if any.
    func artifactOwner(name: String) throws -> String?
    /// The running deployments, with the environment each holds.
    func activeDeployments(environment: String?) throws -> [DeploymentRecord]

    // MARK: Verifying

    /// A private, empty copy of these tables on the same connection, which a replay of the
    /// events fills through the same projector; `discardReplica` drops it.
    func makeReplica() throws -> ProjectionStore
    /// The first row where these tables and `replica` differ, by table and key.
    func firstDifference(from replica: ProjectionStore) throws -> ProjectionDifference?
    func discardReplica(_ replica: ProjectionStore)
}

extension ProjectionStore {
    public func beginReplay() throws {}
    public func endReplay() throws {}
}

/// A filter for `history` and `export`.
public struct RecordFilter: Sendable {
    public var environment: String?
    public var status: String?
    public var since: String?
    public var until: String?
    public init(environment: String? = nil, status: String? = nil, since: String? = nil, until: String? = nil) {
        self.environment = environment
        self.status = status
        self.since = since
        self.until = until
    }
}

/// Which artifact rows to read. Times are `Timestamp` text, compared as text.
public struct ArtifactFilter: Sendable {
    public var environment: String?
    public var deploymentID: String?
    /// Unpruned rows expiring after `.after` and at or before `.through`.
    public var expiring: (after: String, through: String)?
    /// Unpruned rows expired at this time.
    public var expiredAt: String?

    public init(
        environment: String? = nil, deploymentID: String? = nil, expiring: (after: String, through: String)? = nil,
        expiredAt: String? = nil
    ) {
        self.environment = environment
        self.deploymentID = deploymentID
        self.expiring = expiring
        self.expiredAt = expiredAt
    }
}

/// One artifact row as the projection keeps it.
public struct ArtifactRow: Sendable, Equatable {
    public var name: String
    public var deploymentID: String
    public var environment: String
    public var phase: String
    public var sha256: String
    public var size: Int64
    public var retentionDays: Int
    public var storedAt: String
    public var expiresAt: String
    public var prunedAt: String?
    public var storedPosition: Int64

    public init(
        name: String, deploymentID: String, environment: String, phase: String, sha256: String, size: Int64,
        retentionDays: Int, storedAt: String, expiresAt: String, prunedAt: String?, storedPosition: Int64
    ) {
        self.name = name
        self.deploymentID = deploymentID
        self.environment = environment
        self.phase = phase
        self.sha256 = sha256
        self.size = size
        self.retentionDays = retentionDays
        self.storedAt = storedAt
        self.expiresAt = expiresAt
        self.prunedAt = prunedAt
        self.storedPosition = storedPosition
    }
}
