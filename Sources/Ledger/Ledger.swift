@_exported import Domain
import EventStore
import Foundation

/// A failure of a ledger operation, phrased for the person who asked.
public enum LedgerError: Error, Equatable, CustomStringConvertible {
    /// No such deployment, stable version or artifact.
    case notFound(String)
    /// The domain refused the command; nothing was written.
    case refused(String)
    /// Input that cannot be used (a malformed import file, a bad artifact name).
    case invalid(String)
    /// A file could not be written (disk full, file-size limit, permissions); nothing was recorded for it.
    case storage(String)
    /// History that does not match what it must (a pinned digest, a recorded SHA-256).
    case mismatch(String)

    public var description: String {
        switch self {
        case .notFound(let m), .refused(let m), .invalid(let m), .storage(let m), .mismatch(let m): m
        }
    }
}

/// The application layer: loads a deployment by folding its stream, asks the domain to
/// decide, and appends the outcome — with its projections — at the expected version.
///
/// A version conflict (another writer got there first) reloads and decides again, a bounded
/// number of times, so concurrent writers never overwrite each other's facts.
public final class Ledger {
    /// The events: the port every backend implements.
    public let store: any EventStore
    /// The projection tables, on the same connection as `store`.
    public let projections: any ProjectionStore
    public let clock: () -> Date
    /// Applied to every free-text field of every event before it is appended
    /// (`DeploymentEvent.mapText`): the process's secret redaction. The ledger is append-only,
    /// so what passes here unredacted can never be removed.
    public let textFilter: @Sendable (String) -> String
    /// How `rebuild` and `verifyProjections` divide a replay between threads.
    public var replaySplit: ReplaySplit = .automatic
    /// Makes the private, in-memory ledger that `asOf` replays the past into.
    let scratch: (_ clock: @escaping () -> Date) throws -> Ledger
    static let maxRetries = 20

    public init(
        store: any EventStore, projections: any ProjectionStore, clock: @escaping () -> Date = Date.init,
        textFilter: @escaping @Sendable (String) -> String = { $0 },
        scratch: @escaping (_ clock: @escaping () -> Date) throws -> Ledger
    ) {
        self.store = store
        self.projections = projections
        self.scratch = scratch
        self.clock = clock
        self.textFilter = textFilter
    }

    /// The same ledger, with `filter` applied to every text field after this ledger's own.
    public func addingTextFilter(_ filter: @escaping @Sendable (String) -> String) -> Ledger {
        let given = textFilter
        return Ledger(store: store, projections: projections, clock: clock, textFilter: { filter(given($0)) }, scratch: scratch)
    }

    public static func stream(deployment id: String) -> String { "deployment-\(id)" }
    public static func stream(environment name: String) -> String { "environment-\(name)" }
    public static func stream(artifact name: String) -> String { "artifact-\(name)" }

    // MARK: Loading

    /// Refuses a malformed identifier before it reaches a stream name, a path or a message.
    public static func require(_ value: String, as kind: Identifier.Kind) throws {
        do { try Identifier.validate(value, as: kind) } catch { throw LedgerError.invalid(error.message) }
    }

    /// The deployment as its events leave it.
    public func load(_ id: String) throws -> DeploymentState {
        try Self.require(id, as: .deploymentID)
        var state = DeploymentState()
        for event in try store.readStream(Self.stream(deployment: id), from: 1) {
            if let decoded = try DeploymentEvent.decode(event) { state.evolve(decoded, at: event.recordedAt) } else { state.version += 1 }
        }
        return state
    }

    /// A deployment another pipeline reports with `shiplog record`.
    ///
    /// - Throws: `LedgerError.notFound` for an unknown id; `LedgerError.refused` for a deployment
    ///   `shiplog deploy` runs: its runner alone records its phases, and a report from outside
    ///   could contradict what the runner is doing.
    public func loadRecorded(_ id: String) throws -> DeploymentState {
        let state = try load(id)
        guard let request = state.request else { throw LedgerError.notFound("no deployment \(id) in the ledger; `shiplog history` lists them") }
        if request.mode == .run {
            throw LedgerError.refused(
                """
                deployment \(id) is run by `shiplog deploy`, which records its phases itself; `shiplog record` reports only \
                deployments begun with `record begin`. Continue it with `shiplog resume \(id)`, or end it with \
                `shiplog unlock --env \(request.environment) --reason TEXT`
                """)
        }
        return state
    }

    /// The deployment holding `environment`, from its lock stream.
    public func activeDeployment(environment: String) throws -> String? {
        try Self.require(environment, as: .environment)
        return try environmentLock(environment).active
    }

    /// The deployment holding `environment`, and the environment stream's version.
    func environmentLock(_ environment: String) throws -> (active: String?, version: Int64?) {
        guard let last = try store.lastEvent(of: Self.stream(environment: environment)) else { return (nil, nil) }
        if case .environmentLocked(let id)? = try DeploymentEvent.decode(last) { return (id, last.version) }
        return (nil, last.version)
    }

    // MARK: Commands

    /// Records a new deployment and takes its environment's lock, atomically.
    ///
    /// - Throws: `LedgerError.refused` naming the active deployment when the environment is held.
    public func request(
        environment: String, gitSHA: String, gitRef: String, services: [String], triggeredBy: String,
        mode: DeploymentMode, phases: [Phase] = [], checks: [String] = [],
        pipeline: (path: String, sha256: String)? = nil, commitTime: String? = nil
    ) throws -> DeploymentState {
        try Self.require(environment, as: .environment)
        try Self.require(gitSHA, as: .gitSHA)
        for service in services { try Self.require(service, as: .service) }
        for check in checks { try Self.require(check, as: .check) }
        let now = clock()
        var seconds = now
        for _ in 0..<Self.maxRetries {
            let lock = try environmentLock(environment)
            if let active = lock.active { throw try activeRefusal(active, environment: environment) }
            let stable = try lastStable(environment: environment)
            let id = DeploymentRequest.makeID(at: seconds, sha: gitSHA)
            let request = DeploymentRequest(
                deploymentID: id, environment: environment, gitSHA: gitSHA, gitRef: gitRef,
                services: services, triggeredBy: triggeredBy, mode: mode, phases: phases,
                checks: checks, previousStableID: stable?.deploymentID, previousStableSHA: stable?.gitSHA,
                pipelinePath: pipeline?.path, pipelineSHA256: pipeline?.sha256, commitTime: commitTime)
            do {
                return try appendRequest(request, lockVersion: lock.version)
            } catch EventStoreError.wrongExpectedVersion(let stream, _, _) {
                // Same sha in the same second elsewhere: the next second's id is free. A lost race for
                // the environment: reload and report the winner.
                if stream.hasPrefix("deployment-") { seconds = seconds.addingTimeInterval(1) }
                continue
            }
        }
        throw LedgerError.refused("too many concurrent writers on environment \(environment); retry")
    }

    /// The refusal a new deployment of `environment` meets while `active` holds it.
    func activeRefusal(_ active: String, environment: String) throws -> LedgerError {
        let state = try load(active)
        let continueIt =
            state.request?.mode == .record
            ? "finish it with `shiplog record finish \(active) --status …`"
            : "continue it with `shiplog resume \(active)`"
        return LedgerError.refused(
            """
            environment \(environment) already has an active deployment: \(active) (\(state.currentPhase), started \(state.requestedAt ?? "?")). \
            Wait for it, \(continueIt), or end it with `shiplog unlock --env \(environment) --reason TEXT`.
            """)
    }

    /// Appends a request with its environment's lock (at `lockVersion`) and any `conditions`,
    /// all or nothing; throws `wrongExpectedVersion` naming the stream that moved.
    func appendRequest(_ request: DeploymentRequest, lockVersion: Int64?, conditions: [StreamAppend] = []) throws -> DeploymentState {
        let id = request.deploymentID
        try append(
            [
                StreamAppend(
                    stream: Self.stream(deployment: id), expected: .noStream,
                    events: [newEvent(.deploymentRequested(request))]),
                StreamAppend(
                    stream: Self.stream(environment: request.environment), expected: lockVersion.map { .exactly($0) } ?? .noStream,
                    events: [newEvent(.environmentLocked(deploymentID: id))]),
            ] + conditions)
        return try load(id)
    }

    /// Decides `command` against the deployment's current state and appends the result.
    /// Terminal events release the environment in the same transaction.
    @discardableResult
    public func execute(_ command: DeploymentCommand, on id: String) throws -> (state: DeploymentState, events: [RecordedEvent]) {
        for _ in 0..<Self.maxRetries {
            let state = try load(id)
            guard state.exists else { throw LedgerError.notFound("no deployment \(id) in the ledger; `shiplog history` lists them") }
            let decided: [DeploymentEvent]
            do { decided = try state.decide(command) } catch { throw LedgerError.refused(error.message) }
            if decided.isEmpty { return (state, []) }
            for event in decided {
                do { try event.validateIdentifiers() } catch { throw LedgerError.invalid(error.message) }
            }
            var batches = [
                StreamAppend(
                    stream: Self.stream(deployment: id), expected: .exactly(state.version),
                    events: decided.map(newEvent))
            ]
            if let terminal = decided.first(where: \.isTerminal), let environment = state.request?.environment {
                let lock = try environmentLock(environment)
                if lock.active == id, let version = lock.version {
                    let event: DeploymentEvent
                    if case .deploymentAbandoned(let reason, let by) = terminal {
                        event = .environmentUnlocked(deploymentID: id, reason: reason, by: by)
                    } else {
                        event = .environmentReleased(deploymentID: id, status: terminal.terminalStatus ?? "finished")
                    }
                    batches.append(
                        StreamAppend(
                            stream: Self.stream(environment: environment), expected: .exactly(version),
                            events: [newEvent(event)]))
                }
            }
            // A manual rollback that succeeds records, in the same append, that the release it
            // replaced is rolled back (conditioned on that release's stream version).
            if let replacement = try replacementBatch(decided, of: state) { batches.append(replacement) }
            do {
                let recorded = try append(batches)
                return (try load(id), recorded)
            } catch EventStoreError.wrongExpectedVersion {
                continue
            }
        }
        throw LedgerError.refused("deployment \(id) is being changed by another writer; retry")
    }

    /// Ends the deployment holding `environment` as abandoned, so a dead runner never wedges it.
    ///
    /// With `expected`, refuses when another deployment holds the environment by now.
    @discardableResult
    public func unlock(environment: String, reason: String, by: String, expected: String? = nil) throws -> String {
        guard let active = try activeDeployment(environment: environment) else {
            throw LedgerError.notFound("environment \(environment) has no active deployment; nothing to unlock")
        }
        if let expected, expected != active {
            throw LedgerError.refused("environment \(environment) is held by \(active) now, not \(expected); run unlock again if \(active) must end too")
        }
        try execute(.abandon(reason: reason, by: by), on: active)
        return active
    }

    /// The event as it is appended: every free-text field through `textFilter`.
    func newEvent(_ event: DeploymentEvent) -> NewEvent {
        event.mapText(textFilter).makeNewEvent()
    }

    /// Appends batches and updates the projections in the same transaction.
    ///
    /// Every event passes the domain's invariants (`DeploymentState.admit`) first: an event
    /// they refuse is not written, and the append is refused.
    @discardableResult
    func append(_ batches: [StreamAppend]) throws -> [RecordedEvent] {
        var recorded: [RecordedEvent] = []
        do {
            try store.append(batches) { events in
                recorded = events
                let projector = Projector(events: store, tables: projections, cacheStreams: false, admission: .checked)
                try projector.apply(events)
                try projector.requireLocksTaken()
            }
        } catch let violation as HistoryViolation {
            throw LedgerError.refused("the ledger refuses this append: \(violation.message)")
        }
        return recorded
    }

    /// Loads an event export, batch by batch, into an empty ledger: the chain is recomputed and
    /// every event must obey the same invariants as an append (see `DeploymentState.admit`),
    /// with times that run forward within each stream and do not lie in the future.
    ///
    /// Call `load` for each batch and `finish` at the end, all inside one transaction of the
    /// store's, so a refused import leaves nothing behind.
    public final class Import {
        let ledger: Ledger
        let projector: Projector

        init(_ ledger: Ledger) {
            self.ledger = ledger
            projector = Projector(events: ledger.store, tables: ledger.projections, cacheStreams: false, admission: .imported(now: ledger.clock()))
        }

        /// Loads the next events, in position order. Throws `HistoryViolation` naming the event.
        public func load(_ events: [RecordedEvent]) throws {
            try ledger.store.importRecorded(events) { recorded in
                try projector.apply(recorded)
            }
        }

        /// Checks what only the whole history shows (every request took its lock); with
        /// `expect`, the imported history must hold that event at that position.
        public func finish(expect: Head? = nil) throws {
            try projector.requireLocksTaken()
            if let expect {
                let found = try ledger.store.event(at: expect.position)
                guard let found, found.hash == expect.hash else {
                    let head = try ledger.store.head()
                    let actual = found.map { "holds \($0.hash)" } ?? "does not reach it (head \(head))"
                    throw LedgerError.mismatch("the import does not match --expect \(expect): position \(expect.position) \(actual); nothing was imported")
                }
            }
        }
    }

    public func makeImport() -> Import { Import(self) }

    /// Imports a whole export at once (checked as `Import` does).
    public func importEvents(_ events: [RecordedEvent]) throws {
        try store.inTransaction {
            let importing = makeImport()
            try importing.load(events)
            try importing.finish()
        }
    }

    /// Copies events of this very ledger (already verified and admitted) into a scratch ledger.
    func replay(_ events: [RecordedEvent]) throws {
        try store.importRecorded(events) { recorded in
            try Projector(events: store, tables: projections, cacheStreams: false).apply(recorded)
        }
    }

    /// Empties the projections and replays every event; returns the number replayed.
    @discardableResult
    public func rebuild(progress: ((Int64) -> Void)? = nil) throws -> Int64 {
        try store.inTransaction { try Projector.replay(events: store, into: projections, split: replaySplit, progress: progress) }
    }
}

extension DeploymentEvent {
    var isTerminal: Bool { terminalStatus != nil }

    var terminalStatus: String? {
        switch self {
        case .deploymentSucceeded: "success"
        case .deploymentFailed: "failed"
        case .deploymentRolledBack: "rolled_back"
        case .deploymentAbandoned: "abandoned"
        default: nil
        }
    }
}
