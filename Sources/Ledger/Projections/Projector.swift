import EventStore
import Foundation

/// Keeps the projection tables in step with the events, inside the append's transaction.
///
/// A deployment's row is rewritten from the fold of its stream, so the table can never
/// disagree with the events; `rebuild` replays everything through the same code and keeps
/// folded states in memory instead of re-reading streams.
public final class Projector {
    /// The events, read when a deployment not folded yet is touched.
    let events: any EventStore
    /// Where the rows go: the ledger's projection tables, a replica `verify` compares with them,
    /// or the hand-over of a replay's second half.
    let tables: any ProjectionWrites
    // A projector is used by one thread, inside one transaction: the properties touched per
    // event skip Swift's run-time exclusivity checks.

    /// Folded deployments by stream name, updated in place: a rebuild touches each once per event.
    @exclusivity(unchecked) private var cache: [String: Entry] = [:]
    /// The entries used last: consecutive events mostly belong to the same few deployments,
    /// and comparing a stream name costs less than hashing it.
    @exclusivity(unchecked) private var recent: [Entry] = []
    /// Entries changed since the last flush, each once.
    @exclusivity(unchecked) private var dirty: [Entry] = []
    /// Environments whose holder changed since the last flush: only the latest is written.
    @exclusivity(unchecked) private var environments: [String: (id: String?, time: String)] = [:]
    private let cacheStreams: Bool
    private let admission: Admission
    /// Checked mode: who holds each environment touched so far (nil: nobody).
    private var holders: [String: String?] = [:]
    /// Checked mode: deployments requested without their environment's lock yet, with the environment.
    private var awaitingLock: [String: String] = [:]
    /// Imports: the time of each stream's last event, to refuse times that go backwards.
    private var lastTimes: [String: String] = [:]

    /// How events are checked before they are projected.
    enum Admission {
        /// Events already in the ledger (rebuild, replay): projected as they are.
        case trusted
        /// Appends: every event must pass the domain's invariants (`DeploymentState.admit`).
        case checked
        /// Imports: the invariants, and times that run forward within each stream and lie no
        /// further than `maxClockSkew` past `now`.
        case imported(now: Date)

        var isChecked: Bool { if case .trusted = self { false } else { true } }
    }

    /// How far an imported event's time may lie past the importing machine's clock.
    public static let maxClockSkew: TimeInterval = 300

    /// One folded deployment; like the projector, used by one thread (no run-time exclusivity
    /// checks on what changes per event).
    private final class Entry {
        let id: String
        let stream: String
        @exclusivity(unchecked) var state: DeploymentState
        @exclusivity(unchecked) var requestPosition: Int64
        @exclusivity(unchecked) var lastPosition: Int64 = 0
        @exclusivity(unchecked) var isDirty = false

        init(id: String, stream: String, state: DeploymentState, requestPosition: Int64) {
            self.id = id
            self.stream = stream
            self.state = state
            self.requestPosition = requestPosition
        }
    }

    /// - Parameter cacheStreams: keep folded states across calls (rebuild and replay);
    ///   incremental appends re-read each touched stream instead.
    init(events: any EventStore, tables: any ProjectionWrites, cacheStreams: Bool, admission: Admission = .trusted) {
        self.events = events
        self.tables = tables
        self.cacheStreams = cacheStreams
        self.admission = admission
    }

    /// Applies newly recorded events, in position order.
    func apply(_ recorded: [RecordedEvent]) throws {
        for event in recorded {
            guard let decoded = try Self.decodeOwn(event) else {
                if admission.isChecked, StreamKind(event.stream) != nil {
                    throw HistoryViolation(event, "\(event.type) is not an event this version of shiplog records on \(event.stream)")
                }
                continue
            }
            try apply(event, decoded)
        }
        if let last = recorded.last { try endBatch(at: last.position) }
    }

    /// Checked mode: every deployment requested so far took its environment's lock.
    func requireLocksTaken() throws {
        guard let (id, environment) = awaitingLock.min(by: { $0.key < $1.key }) else { return }
        throw HistoryViolation(position: nil, "deployment \(id) was requested without taking environment \(environment)'s lock (no EnvironmentLocked follows its request)")
    }

    /// The event as the projections read it: only the ledger's own streams (an integration's
    /// stream may reuse a domain type name with other data).
    static func decodeOwn(_ event: RecordedEvent) throws -> DeploymentEvent? {
        guard StreamKind(event.stream) != nil else { return nil }
        return try DeploymentEvent.decode(event)
    }

    /// `decodeOwn` for an event whose data comes as bytes (a replay).
    static func decodeOwn(_ event: RecordedEvent, data: UnsafeBufferPointer<UInt8>) throws -> DeploymentEvent? {
        guard StreamKind(event.stream) != nil else { return nil }
        return try DeploymentEvent.decode(event, data: data)
    }

    /// Applies one decoded event; `endBatch` completes a batch.
    private func apply(_ event: RecordedEvent, _ decoded: DeploymentEvent) throws {
        // The time is read several times below: a scan's inline time becomes one string first.
        if event.recordedAtText.isInline {
            var event = event
            event.recordedAtText = InlineText(event.recordedAt)
            return try apply(event, decoded)
        }
        let kind = StreamKind(event.stream)
        if admission.isChecked { try checkTime(event) }
        if kind == .deployment {
            let entry: Entry
            if let cached = recent.first(where: { $0.stream == event.stream }) ?? cache[event.stream] {
                entry = cached
            } else {
                let id = String(event.stream.dropFirst("deployment-".count))
                if admission.isChecked, !Identifier.isValid(id, as: .deploymentID) {
                    throw HistoryViolation(event, "stream \(Identifier.quoted(event.stream)) does not name a deployment: ids are \(Identifier.Kind.deploymentID.form)")
                }
                let folded = try cachedState(id: id, stream: event.stream, before: event)
                entry = Entry(id: id, stream: event.stream, state: folded.state, requestPosition: folded.requestPosition)
                cache[event.stream] = entry
            }
            if admission.isChecked {
                do {
                    try entry.state.admit(decoded, deploymentID: entry.id, at: event.recordedAt) { try self.state(of: $0, before: event.position) }
                } catch { throw HistoryViolation(event, error.message) }
                if case .deploymentRequested(let r) = decoded { awaitingLock[entry.id] = r.environment }
            }
            if recent.first !== entry {
                if recent.count == 4 { recent.removeLast() }
                recent.insert(entry, at: 0)
            }
            entry.state.evolve(decoded, at: event.recordedAt)
            if case .deploymentRequested = decoded { entry.requestPosition = event.position }
            entry.lastPosition = event.position
            if !entry.isDirty {
                entry.isDirty = true
                dirty.append(entry)
            }
            if case .artifactStored(let artifact) = decoded, let request = entry.state.request {
                try insertArtifact(artifact, deploymentID: entry.id, environment: request.environment, at: event)
            }
        } else if kind == .environment {
            let name = String(event.stream.dropFirst("environment-".count))
            if admission.isChecked {
                guard Identifier.isValid(name, as: .environment) else {
                    throw HistoryViolation(event, "stream \(Identifier.quoted(event.stream)) does not name an environment: names are \(Identifier.Kind.environment.form)")
                }
                let holder = try self.holder(of: name, before: event)
                do {
                    try EnvironmentRules.admit(decoded, environment: name, holder: holder) { try self.state(of: $0, before: event.position) }
                } catch { throw HistoryViolation(event, error.message) }
                switch decoded {
                case .environmentLocked(let id):
                    holders[name] = .some(id)
                    awaitingLock[id] = nil
                default: holders[name] = .some(nil)
                }
            }
            switch decoded {
            case .environmentLocked(let id): environments[name] = (id, event.recordedAt)
            case .environmentReleased, .environmentUnlocked: environments[name] = (nil, event.recordedAt)
            default: break
            }
        } else if admission.isChecked, kind == .artifact {
            let name = String(event.stream.dropFirst("artifact-".count))
            do {
                try EnvironmentRules.admitPrune(decoded, stream: name) { try self.state(of: $0, before: event.position) }
            } catch { throw HistoryViolation(event, error.message) }
        }
        if kind == .artifact, case .artifactPruned(let name, _, _) = decoded {
            try tables.markPruned(artifact: name, at: event.recordedAt, position: event.position)
        }
    }

    /// Ends a batch of applied events: the rows changed in it are written, and the position recorded.
    /// (Holding finished deployments for several batches saved nothing and cost a rebuild of a
    /// million events 14 MiB more memory.)
    private func endBatch(at position: Int64) throws {
        try flush()
        try tables.setPosition(position)
    }

    static func isOwnStream(_ stream: String) -> Bool { StreamKind(stream) != nil }

    /// The ledger's own streams, told apart by their prefix bytes (once per event in a rebuild).
    enum StreamKind {
        case deployment, environment, artifact

        init?(_ stream: String) {
            var stream = stream
            let kind: StreamKind? = stream.withUTF8 { name in
                func starts(_ prefix: StaticString) -> Bool {
                    name.count >= prefix.utf8CodeUnitCount && memcmp(name.baseAddress!, prefix.utf8Start, prefix.utf8CodeUnitCount) == 0
                }
                if starts("deployment-") { return .deployment }
                if starts("environment-") { return .environment }
                if starts("artifact-") { return .artifact }
                return nil
            }
            guard let kind else { return nil }
            self = kind
        }
    }

    /// Writes every changed deployment row; finished deployments leave the cache.
    func flush() throws {
        for entry in dirty {
            try writeRow(entry.state, requestPosition: entry.requestPosition, lastPosition: entry.lastPosition)
            entry.isDirty = false
            if !cacheStreams || entry.state.isFinished { cache[entry.stream] = nil }
        }
        dirty.removeAll(keepingCapacity: true)
        recent.removeAll(keepingCapacity: true)
        for (name, holder) in environments { try setActive(name, holder.id, at: holder.time) }
        environments.removeAll(keepingCapacity: true)
    }

    private func cachedState(id: String, stream: String, before event: RecordedEvent) throws -> (state: DeploymentState, requestPosition: Int64) {
        var state = DeploymentState()
        var requestPosition = event.position
        // A stream's first event has nothing before it to fold.
        if event.version == 1 { return (state, requestPosition) }
        // Fold what the stream held before this event (it may be one of several in a batch).
        for e in try events.readStream(stream, below: .version(event.version)) {
            if let d = try DeploymentEvent.decode(e) {
                if case .deploymentRequested = d { requestPosition = e.position }
                state.evolve(d, at: e.recordedAt)
            }
        }
        return (state, requestPosition)
    }

    /// Another deployment as the events before `position` leave it (checked mode).
    private func state(of id: String, before position: Int64) throws -> DeploymentState? {
        let stream = Ledger.stream(deployment: id)
        if let cached = recent.first(where: { $0.stream == stream }) ?? cache[stream] { return cached.state }
        var state = DeploymentState()
        for e in try events.readStream(stream, below: .position(position)) {
            if let d = try DeploymentEvent.decode(e) { state.evolve(d, at: e.recordedAt) }
        }
        return state.exists ? state : nil
    }

    /// Who held `environment` just before `event` (checked mode), from the events.
    private func holder(of environment: String, before event: RecordedEvent) throws -> String? {
        if let known = holders[environment] { return known }
        guard let last = try events.lastEvent(of: event.stream, belowVersion: event.version) else { return nil }
        if case .environmentLocked(let id)? = try DeploymentEvent.decode(last) { return id }
        return nil
    }

    /// Imports: times run forward within a stream and do not lie in the future.
    private func checkTime(_ event: RecordedEvent) throws {
        guard case .imported(let now) = admission else { return }
        if let last = lastTimes[event.stream], event.recordedAt < last {
            throw HistoryViolation(event, "recorded_at \(event.recordedAt) is earlier than the stream's previous event (\(last)): time never runs backwards within a stream")
        }
        if event.recordedAt > Timestamp.format(now.addingTimeInterval(Self.maxClockSkew)) {
            throw HistoryViolation(
                event, "recorded_at \(event.recordedAt) lies in the future (this machine's clock reads \(Timestamp.format(now)); at most \(Int(Self.maxClockSkew)) s of clock skew is accepted)")
        }
        lastTimes[event.stream] = event.recordedAt
    }

    private func setActive(_ environment: String, _ id: String?, at time: String) throws {
        try tables.setActive(environment: environment, deploymentID: id, at: time)
    }

    private func insertArtifact(_ a: Artifact, deploymentID: String, environment: String, at event: RecordedEvent) throws {
        let stored = Timestamp.parse(event.recordedAt) ?? Date(timeIntervalSince1970: 0)
        let expires = Timestamp.format(stored.addingTimeInterval(Double(a.retentionDays) * 86_400))
        try tables.upsert(
            artifact: ArtifactRow(
                name: a.name, deploymentID: deploymentID, environment: environment, phase: a.phase,
                sha256: a.sha256, size: a.size, retentionDays: a.retentionDays, storedAt: event.recordedAt,
                expiresAt: expires, prunedAt: nil, storedPosition: event.position))
    }

    private func writeRow(_ state: DeploymentState, requestPosition: Int64, lastPosition: Int64) throws {
        guard let r = state.request else { return }
        let duration: Int64? = {
            guard let f = state.finishedAt.flatMap(Timestamp.parse), let s = state.requestedAt.flatMap(Timestamp.parse) else { return nil }
            return Int64((f.timeIntervalSince(s) * 1000).rounded())
        }()
        try tables.upsert(
            deployment: DeploymentRecord(
                deploymentID: r.deploymentID, environment: r.environment, status: (state.status ?? .running).rawValue, gitSHA: r.gitSHA,
                gitRef: r.gitRef, servicesDeployed: JSONText.array(Self.servicesDeployed(state).map(JSONText.quote)),
                healthChecks: Self.healthChecksJSON(state), triggeredBy: r.triggeredBy, mode: r.mode.rawValue, currentPhase: state.currentPhase,
                startedAt: state.requestedAt ?? "", finishedAt: state.finishedAt, durationMs: duration, previousStableID: r.previousStableID,
                rolledBackTo: state.status == .rolledBack ? state.rollbackTargetID : nil, failureReason: state.failureReason,
                markedBadReason: state.markedBadReason, markedBadBy: state.markedBadBy, requestPosition: requestPosition,
                lastPosition: lastPosition, commitTime: r.commitTime, manualRollback: Self.manualRollbackJSON(state), rolledBackBy: Self.rolledBackByJSON(state),
                approval: Self.approvalJSON(state)))
    }

    /// The staging workflow's `health_checks` object: each check healthy/unhealthy, then `smoke_tests` passed/failed.
    /// A manual rollback's are the checks of the release it restored (the rollback round).
    static func healthChecksJSON(_ state: DeploymentState) -> String {
        var members: [(String, String)] = []
        members.reserveCapacity(8)
        let deploy = state.checks[state.isManualRollback ? .rollback : .deploy] ?? [:]
        let names = (state.request?.checks.isEmpty == false ? state.request!.checks : deploy.keys.sorted())
        for name in names {
            guard let verdict = deploy[name]?.verdict else { continue }
            members.append((name, verdict ? #""healthy""# : #""unhealthy""#))
        }
        if let smoke = state.steps[.smoke], smoke.succeeded || smoke.failure != nil {
            members.append(("smoke_tests", smoke.succeeded ? #""passed""# : #""failed""#))
        }
        return JSONText.object(members)
    }

    /// Empties `tables` and replays every event of `events` into them, folding in memory without
    /// re-reading streams: at the end of each batch of 1,000 events the rows that changed in it
    /// are written and finished deployments leave memory. A long ledger is replayed in two halves
    /// at once (see `replayInHalves`). Run it in a transaction.
    static func replay(
        events: any EventStore, into tables: any ProjectionStore, split: ReplaySplit = .automatic,
        maxHeldPrunes: Int = SecondHalf.maxHeldPrunes, secondHalfFirst: Bool = false,
        reader: (@Sendable () throws -> any EventStore)? = nil, progress: ((Int64) -> Void)? = nil
    ) throws -> Int64 {
        try tables.removeAll()
        try tables.beginReplay()
        let last = try events.head().position
        let count: Int64
        if let seam = split.seam(last: last), let reader = reader ?? events.concurrentReader() {
            count = try replayInHalves(
                events: events, reader: reader, into: tables, seam: seam, last: last, maxHeldPrunes: maxHeldPrunes, secondHalfFirst: secondHalfFirst,
                progress: progress)
        } else {
            let projector = Projector(events: events, tables: tables, cacheStreams: true)
            count = try projector.replay(events, from: 1, through: last) { count in
                if count % 10_000 == 0 { progress?(count) }
            }
        }
        if last > 0 { try tables.setPosition(last) }
        try tables.endReplay()
        return count
    }

    /// Folds the events from `first` through `last` into this projector's tables; returns how
    /// many were read. `batchEnded` is called with that count every 1,000 events.
    func replay(_ events: any EventStore, from first: Int64, through last: Int64, batchEnded: (Int64) throws -> Void) throws -> Int64 {
        var count: Int64 = 0
        var position: Int64 = 0
        try events.forEachEventForReplay(
            from: first, through: last,
            dataBytes: { event, data in
                if let decoded = try Projector.decodeOwn(event, data: data) { try apply(event, decoded) }
                count += 1
                position = event.position
                if count % 1_000 == 0 {
                    try endBatch(at: position)
                    try batchEnded(count)
                }
            })
        if position > 0 { try endBatch(at: position) }
        try flush()
        return count
    }
}
