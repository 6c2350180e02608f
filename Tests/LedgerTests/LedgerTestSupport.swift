import SQLiteStore
import EventStore
import Foundation
import Ledger
import ShiplogTestSupport
import Testing

// MARK: Time

/// A clock the test moves by hand; shared by the store (which stamps `recorded_at`) and the ledger.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date

    init(_ start: Date = TestClock.start) { current = start }

    /// 2024-11-19T10:00:00Z, the morning of the staging workflow's example record.
    static let start = Date(timeIntervalSince1970: 1_732_010_400)

    var now: Date {
        get { lock.withLock { current } }
        set { lock.withLock { current = newValue } }
    }

    func advance(_ seconds: Double) {
        lock.withLock { current = current.addingTimeInterval(seconds) }
    }

    func callAsFunction() -> Date { now }
}

let day: Double = 86_400

func ts(_ date: Date) -> String { Timestamp.format(date) }

// MARK: Ledgers

/// A fresh ledger file in its own temporary directory, with an injected clock and an artifact store beside it.
final class TestLedger {
    let directory: TemporaryDirectory
    let path: String
    let clock: TestClock
    let store: SQLiteEventStore
    let ledger: Ledger
    let artifacts: ArtifactStore

    init(clock: TestClock = TestClock()) throws {
        directory = try TemporaryDirectory(prefix: "shiplog-ledger")
        path = directory.file("ledger.db")
        self.clock = clock
        store = try SQLiteEventStore(path: path, options: Self.options, clock: { clock.now })
        ledger = Ledger(store: store, clock: { clock.now })
        artifacts = ArtifactStore(besideLedger: path)
    }

    /// An empty ledger file next to this one (for imports).
    func sibling(_ name: String) throws -> (store: SQLiteEventStore, ledger: Ledger) {
        let store = try SQLiteEventStore(path: directory.file(name), options: Self.options, clock: { [clock] in clock.now })
        return (store, Ledger(store: store, clock: { [clock] in clock.now }))
    }

    var queries: Queries { Queries(store: store) }

    /// Durability is not under test here: skip the fsync of every commit.
    static var options: Database.Options {
        var o = Database.Options()
        o.synchronousFull = false
        return o
    }

    func events() throws -> [RecordedEvent] { try allEvents(store) }
}

/// Every event of a store, in position order.
func allEvents(_ store: SQLiteEventStore) throws -> [RecordedEvent] {
    var out: [RecordedEvent] = []
    try store.forEachEvent { out.append($0) }
    return out
}

/// Every projection table, every column, in primary-key order, as text (`quote()` keeps NULL apart from 'NULL').
func dumpProjections(_ store: SQLiteEventStore) throws -> [String] {
    let tables = [("deployments", "deployment_id"), ("artifacts", "name"), ("environments", "name"), ("projection_state", "name")]
    var out: [String] = []
    for (table, key) in tables {
        let columns: [String] = try store.database.withStatement("SELECT name FROM pragma_table_info(?) ORDER BY cid") { s in
            s.bind(1, table)
            var names: [String] = []
            while try s.step() { names.append(s.string(0)) }
            return names
        }
        #expect(!columns.isEmpty, "no columns for \(table)")
        let select = columns.map { "quote(\($0))" }.joined(separator: " || '|' || ")
        try store.database.withStatement("SELECT \(select) FROM \(table) ORDER BY \(key)") { s in
            while try s.step() { out.append("\(table): \(s.string(0))") }
        }
    }
    return out
}

/// Every table, index and trigger of the ledger as its defining statement, by name.
func dumpSchema(_ store: SQLiteEventStore) throws -> [String] {
    try store.database.withStatement("SELECT type, name, tbl_name, coalesce(sql, '') FROM main.sqlite_master ORDER BY name") { s in
        var out: [String] = []
        while try s.step() { out.append("\(s.string(0)) \(s.string(1)) on \(s.string(2)): \(s.string(3))") }
        return out
    }
}

/// A deployment list as ids, oldest first.
func history(_ queries: Queries, environment: String? = nil, newestFirst: Bool = false) throws -> [DeploymentRecord] {
    var out: [DeploymentRecord] = []
    try queries.forEachRecord(Queries.Filter(environment: environment), newestFirst: newestFirst) { out.append($0) }
    return out
}

// MARK: Deterministic randomness (the generator itself is SeededRandom's SeededRNG)

/// FNV-1a of the text: the same in every process, unlike `hashValue`.
func stableHash(_ text: String) -> Int {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
    return Int(truncatingIfNeeded: h)
}

/// A 40-digit hex sha derived from `n`.
func sha(_ n: Int) -> String {
    let hex = String(UInt64(bitPattern: Int64(n)) &* 0x9E37_79B9_7F4A_7C15 | 1, radix: 16)
    return String((String(repeating: "0", count: 16 - hex.count) + hex + "abcdef0123456789abcdef01").prefix(40))
}

// MARK: The staging workflow's pipeline

let workflowServices = ["api-gateway", "auth-service", "education-service", "marketplace-service"]
let workflowChecks = ["api_gateway", "auth_service", "database"]

/// The staging workflow as a plan: every phase, the three checks, 30 s stabilization, 5 × 10 s retries.
func workflowPlan(
    phases: [Phase] = [.preflight, .migrate, .build, .image, .deploy, .smoke, .rollback],
    checks: [String] = workflowChecks, stabilize: Double = 30, policy: HealthPolicy = HealthPolicy(),
    failOnInterrupt: Set<Phase> = [], notify: Bool = true, approval: ApprovalGate? = nil
) -> DeploymentPlan {
    DeploymentPlan(
        phases: phases, checks: checks, stabilizeSeconds: stabilize, policy: policy,
        failOnInterrupt: failOnInterrupt, notify: notify, approval: approval)
}

// MARK: Driving a deployment the way the runner does

/// What the simulated world answers: which steps fail, which checks stay unhealthy for how long.
struct Script {
    /// Phases whose command fails, with the reason (every attempt).
    var failing: [Phase: String] = [:]
    /// Deploy-round checks and how many attempts fail before one is healthy (`Int.max`: never healthy).
    var unhealthyAttempts: [String: Int] = [:]
    /// Rollback-round checks that never become healthy.
    var unhealthyAfterRollback: Set<String> = []
    /// Answer `.notify` with a delivered message.
    var notificationDelivered = true
    /// Steps whose first attempt dies after it started: the runner crashed.
    var crashOnce: Set<Phase> = []
    /// How people answer an approval gate.
    var approvalAnswer: ApprovalAnswer = .approve

    enum ApprovalAnswer { case approve, reject, timeOut }

    static let allGood = Script()
}

/// Plays the runner's loop: ask `next(plan:now:)`, perform that one step by sending the
/// commands a runner sends, fold again. `send` decides and applies a command (purely, or through a ledger).
struct RunnerSimulation {
    let plan: DeploymentPlan
    let script: Script
    let clock: TestClock
    let send: (DeploymentCommand) throws -> DeploymentState
    var state: DeploymentState
    private(set) var steps: [NextStep] = []
    /// Answers `.storeRecord` instead of the default `storeArtifact` command (a ledger stores real bytes).
    var storeRecord: ((DeploymentState) throws -> DeploymentState)?
    /// Starts a rollback as the runner does through a ledger (the target chosen from the events then).
    var beginRollback: ((Int) throws -> DeploymentState)?

    init(
        plan: DeploymentPlan, script: Script, clock: TestClock, state: DeploymentState,
        send: @escaping (DeploymentCommand) throws -> DeploymentState
    ) {
        self.plan = plan
        self.script = script
        self.clock = clock
        self.state = state
        self.send = send
    }

    /// Takes one step; false once the deployment says `.done`.
    @discardableResult
    mutating func advance() throws -> Bool {
        let step = state.next(plan: plan, now: clock.now)
        steps.append(step)
        clock.advance(1)
        switch step {
        case .done:
            return false
        case .runStep(let phase, let attempt):
            state = try send(.startStep(phase, attempt: attempt))
            if attempt == 1 && script.crashOnce.contains(phase) { return true }
            clock.advance(2)
            let failure = script.failing[phase]
            state = try send(.completeStep(phase, succeeded: failure == nil, reason: failure))
        case .failInterrupted(let phase):
            state = try send(.completeStep(phase, succeeded: false, reason: "interrupted by a runner crash"))
        case .stabilize(nil):
            state = try send(
                .startStabilization(
                    seconds: plan.stabilizeSeconds,
                    until: ts(clock.now.addingTimeInterval(plan.stabilizeSeconds))))
        case .stabilize(let until?):
            clock.now = max(clock.now, Timestamp.parse(until)!)
            state = try send(.finishStabilization)
        case .wait(let until):
            clock.now = max(clock.now, Timestamp.parse(until)!)
        case .probe(let names, let round):
            let attempts = names.map { name -> HealthAttempt in
                let previous = state.checks[round]?[name]?.attempts ?? 0
                let healthy =
                    round == .deploy
                    ? previous >= (script.unhealthyAttempts[name] ?? 0)
                    : !script.unhealthyAfterRollback.contains(name)
                return HealthAttempt(
                    check: name, target: "https://staging.example.test/\(name)/health", attempt: previous + 1,
                    round: round, httpStatus: healthy ? 200 : 503, latencyMs: 12,
                    error: healthy ? nil : "HTTP 503", healthy: healthy)
            }
            state = try send(.recordHealthAttempts(attempts, policy: plan.policy, now: ts(clock.now)))
        case .rollback(let targetID, let targetSHA, let attempt):
            if let beginRollback {
                state = try beginRollback(attempt)
                if state.steps[.rollback]?.running != true { return true }
            } else {
                state = try send(.startRollback(targetID: targetID, targetSHA: targetSHA, attempt: attempt))
            }
            if attempt == 1 && script.crashOnce.contains(.rollback) { return true }
            clock.advance(2)
            let failure = script.failing[.rollback]
            state = try send(.completeStep(.rollback, succeeded: failure == nil, reason: failure))
        case .finish(let outcome):
            state = try send(.finish(outcome))
        case .storeRecord:
            if let storeRecord {
                state = try storeRecord(state)
                return true
            }
            let name = Phase.recordArtifactName(deploymentID: state.id!)
            state = try send(.storeArtifact(Artifact(name: name, phase: "summary", sha256: sha(stableHash(name)), size: 300, retentionDays: 365)))
        case .requestApproval(let gate):
            state = try send(.requestApproval(gate))
        case .awaitApproval(let until):
            let approval = try #require(state.approval)
            switch script.approvalAnswer {
            case .approve:
                let name = approval.gate.approvers.first { n in !approval.grants.contains { $0.by == n } } ?? "approver-\(approval.grants.count + 1)"
                state = try send(.approve(by: name, comment: "reviewed", at: ts(clock.now)))
            case .reject:
                state = try send(.reject(by: approval.gate.approvers.first ?? "reviewer", reason: "not this week", at: ts(clock.now)))
            case .timeOut:
                clock.now = max(clock.now, Timestamp.parse(until)!)
            }
        case .expireApproval:
            state = try send(.expireApproval(at: ts(clock.now)))
        case .notify:
            state = try send(
                .recordNotification(
                    sent: script.notificationDelivered, attempts: 1,
                    error: script.notificationDelivered ? nil : "HTTP 500"))
        }
        return true
    }

    /// Runs to `.done`; the steps taken, `.done` included.
    mutating func run(limit: Int = 500) throws -> [NextStep] {
        var n = 0
        while try advance() {
            n += 1
            if n > limit { Issue.record("no end after \(limit) steps: \(steps.suffix(5))"); break }
        }
        return steps
    }
}

extension TestLedger {
    /// A runner simulation sending its commands through this ledger, storing the real record as the runner does.
    func simulation(_ id: String, plan: DeploymentPlan, script: Script = .allGood) throws -> RunnerSimulation {
        var sim = RunnerSimulation(plan: plan, script: script, clock: clock, state: try ledger.load(id)) { [ledger] command in
            try ledger.execute(command, on: id).state
        }
        sim.beginRollback = { [ledger] attempt in try ledger.beginRollback(id, attempt: attempt) }
        sim.storeRecord = { [ledger, artifacts] state in
            let record = try #require(try Queries(ledger: ledger).record(id))
            try ledger.storeArtifact(
                name: Phase.recordArtifactName(deploymentID: id), phase: "summary",
                bytes: Array((record.json + "\n").utf8), deploymentID: id, in: artifacts)
            return try ledger.load(id)
        }
        return sim
    }

    /// Requests a run-mode deployment of `plan` and drives it to the end.
    @discardableResult
    func run(environment: String = "staging", sha gitSHA: String, plan: DeploymentPlan = workflowPlan(), script: Script = .allGood) throws -> DeploymentState {
        let state = try ledger.request(
            environment: environment, gitSHA: gitSHA, gitRef: "refs/heads/main", services: workflowServices,
            triggeredBy: "ci", mode: .run, phases: plan.phases, checks: plan.checks)
        var sim = try simulation(state.id!, plan: plan, script: script)
        _ = try sim.run()
        return sim.state
    }
}

// MARK: Pure given/when/then

/// A deployment folded from events alone: `given` events, `when` a command, `then` the events it decided.
struct Given {
    var state = DeploymentState()
    let clock: TestClock
    private(set) var history: [DeploymentEvent] = []

    init(_ events: [DeploymentEvent], clock: TestClock = TestClock()) {
        self.clock = clock
        apply(events)
    }

    mutating func apply(_ events: [DeploymentEvent]) {
        for event in events {
            state.evolve(event, at: ts(clock.now))
            history.append(event)
        }
    }

    /// Decides `command` and applies what it decided.
    @discardableResult
    mutating func when(_ command: DeploymentCommand) throws(DomainError) -> [DeploymentEvent] {
        let events = try state.decide(command)
        apply(events)
        clock.advance(1)
        return events
    }

    /// The refusal `command` meets, or nil when it is accepted (the state is left unchanged).
    func refusal(_ command: DeploymentCommand) -> DomainError? {
        do {
            _ = try state.decide(command)
            return nil
        } catch {
            return error
        }
    }

    func simulation(_ plan: DeploymentPlan, _ script: Script = .allGood) -> RunnerSimulation {
        let box = GivenBox(self)
        return RunnerSimulation(plan: plan, script: script, clock: clock, state: state) { command in
            try box.given.when(command)
            return box.given.state
        }
    }
}

/// Lets the simulation's closure keep folding one `Given`.
final class GivenBox {
    var given: Given
    init(_ given: Given) { self.given = given }
}

/// A request as the runner makes it for `plan`.
func runRequest(
    _ id: String = "1732010400-abc123def456", environment: String = "staging", plan: DeploymentPlan = workflowPlan(),
    previousStable: (id: String, sha: String)? = ("1731900000-0123456789ab", "0123456789ab0123456789ab0123456789ab0123")
)
    -> DeploymentEvent
{
    .deploymentRequested(
        DeploymentRequest(
            deploymentID: id, environment: environment, gitSHA: "abc123def4567890abc123def4567890abc12345", gitRef: "refs/heads/main",
            services: workflowServices, triggeredBy: "ci", mode: .run, phases: plan.phases, checks: plan.checks,
            previousStableID: previousStable?.id, previousStableSHA: previousStable?.sha))
}

/// A request as a recording pipeline makes it: no plan, any subset of phases.
func recordRequest(_ id: String = "1732010400-abc123def456", previousStable: String? = "1731900000-0123456789ab") -> DeploymentEvent {
    .deploymentRequested(
        DeploymentRequest(
            deploymentID: id, environment: "staging", gitSHA: "abc123def4567890abc123def4567890abc12345", gitRef: "refs/heads/main",
            services: workflowServices, triggeredBy: "github-actions", mode: .record,
            previousStableID: previousStable, previousStableSHA: previousStable.map { _ in "0123456789ab0123456789ab0123456789ab0123" }))
}

extension DeploymentEvent {
    var isHealthVerdict: Bool {
        switch self {
        case .serviceHealthy, .serviceUnhealthy, .healthChecksPassed, .healthChecksFailed: true
        default: false
        }
    }
}
