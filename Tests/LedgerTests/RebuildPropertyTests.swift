import SQLiteStore
import EventStore
import Foundation
import Ledger
import SeededRandom
import Testing

/// Rebuilding the projections from the events gives, table for table and column for column,
/// what incremental maintenance gave — over many random but valid ledgers.
///
/// Each case is one seed; a failure names it. To replay one seed alone:
/// `SHIPLOG_REBUILD_SEED=<seed> swift test --filter rebuildGivesWhatIncrementalMaintenanceGave`.
@Suite("Rebuild equality (property)")
struct RebuildPropertyTests {
    static let baseSeed: UInt64 = 0x5EED_0001
    static let seeds: [UInt64] = {
        if let text = ProcessInfo.processInfo.environment["SHIPLOG_REBUILD_SEED"], let seed = UInt64(text) { return [seed] }
        return (0..<60).map { baseSeed &+ UInt64($0) }
    }()

    @Test(arguments: seeds)
    func rebuildGivesWhatIncrementalMaintenanceGave(seed: UInt64) throws {
        var world = try RandomLedger(seed: seed)
        try world.play()
        let t = world.t

        // An integration's raw append to its own stream bypasses the projector, so the incremental
        // read position trails the head when such an event came last; every table is compared otherwise.
        let head = try t.store.head().position
        let lastIsOwn = try allEvents(t.store).last.map { ["deployment-", "environment-", "artifact-"].contains(where: $0.stream.hasPrefix) } ?? true
        let keep: (String) -> Bool = { lastIsOwn || !$0.hasPrefix("projection_state") }
        let incremental = try dumpProjections(t.store).filter(keep)
        let schema = try dumpSchema(t.store)
        let replayed = try t.ledger.rebuild()
        let rebuilt = try dumpProjections(t.store).filter(keep)
        // A rebuild sets the projections' indexes aside and makes them again: the same ones.
        #expect(try dumpSchema(t.store) == schema, "seed \(seed): the schema changed in the rebuild")
        #expect(schema.contains { $0.hasPrefix("index deployments_stable on deployments") })
        #expect(replayed == head)
        #expect(try dumpProjections(t.store).last == "projection_state: 'all'|\(head)")
        if incremental != rebuilt {
            let first = zip(incremental, rebuilt).first { $0 != $1 }
            print("rebuild mismatch for seed \(seed): first difference \(String(describing: first)); \(incremental.count) vs \(rebuilt.count) rows")
        }
        #expect(incremental == rebuilt, "seed \(seed): rebuild differs from incremental maintenance")

        // Replaying the same events into an empty ledger gives the same tables too.
        let copy = try t.sibling("copy.db")
        try copy.ledger.importEvents(try t.events())
        #expect(try dumpProjections(copy.store) == dumpProjections(t.store), "seed \(seed): an imported copy differs")
        #expect(try t.store.verify(expect: nil, progress: nil).isIntact, "seed \(seed)")
        #expect(world.coverage.count >= 4, "seed \(seed) exercised only \(world.coverage.sorted())")
    }

    /// A rebuild that fails partway (here on a payload the domain cannot read) rolls back
    /// whole: the indexes it set aside are there again, and the rows are the ones it started from.
    @Test func aFailedRebuildLeavesTablesAndIndexesAsTheyWere() throws {
        let t = try TestLedger()
        let request = try t.ledger.request(
            environment: "staging", gitSHA: "abc123def4567890abc123def4567890abc12345", gitRef: "refs/heads/main",
            services: ["api"], triggeredBy: "ci", mode: .record)
        let id = try #require(request.id)
        let schema = try dumpSchema(t.store)
        let tables = try dumpProjections(t.store)
        // Written at the store, below the ledger's checks: its payload lacks `service`.
        try t.store.append([NewEvent(type: "ServiceDeployed", data: #"{"service":1}"#)], to: Ledger.stream(deployment: id), expected: .any)
        #expect(throws: EventDecodingError.self) { try t.ledger.rebuild() }
        #expect(try dumpSchema(t.store) == schema)
        #expect(try dumpProjections(t.store) == tables)
    }

    @Test func theSeedsTogetherCoverEveryOutcome() throws {
        var coverage = Set<String>()
        for seed in Self.seeds.prefix(40) {
            var world = try RandomLedger(seed: seed)
            try world.play()
            coverage.formUnion(world.coverage)
        }
        for outcome in [
            "success", "failed", "rolled_back", "abandoned", "marked bad", "artifact", "prune", "pruned file",
            "rollback failed", "no stable target", "interrupted", "record mode", "running at the end",
            "manual rollback", "replaced by a manual rollback", "approved", "approval rejected", "approval timed out",
        ] {
            #expect(coverage.contains(outcome), "no seed produced \(outcome)")
        }
    }
}

/// A random, valid ledger: several environments, deployments run and recorded with random
/// outcomes, interleaved, with artifacts, prunes, mark-bad, unlocks and clock jumps.
struct RandomLedger {
    let seed: UInt64
    let t: TestLedger
    var rng: SeededRNG
    var simulations: [(id: String, sim: RunnerSimulation)] = []
    var deployments: [String] = []
    var counter = 0
    var coverage = Set<String>()
    let environments: [String]

    init(seed: UInt64) throws {
        self.seed = seed
        rng = SeededRNG(seed: seed)
        t = try TestLedger()
        environments = Array(["staging", "production", "qa-1"].prefix(Int.random(in: 1...3, using: &rng)))
    }

    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &rng) < p }

    mutating func randomPlan() -> DeploymentPlan {
        var phases: [Phase] = []
        for phase in [Phase.preflight, .migrate, .build, .image] where chance(0.6) { phases.append(phase) }
        phases.append(.deploy)
        if chance(0.6) { phases.append(.smoke) }
        if chance(0.8) { phases.append(.rollback) }
        let checks = workflowChecks.filter { _ in chance(0.75) }
        let nonCritical = Set(checks.filter { _ in chance(0.15) })
        let failOnInterrupt = Set(phases.filter { _ in chance(0.2) })
        var approval: ApprovalGate?
        if chance(0.3) {
            let approvers = chance(0.5) ? [] : ["alice", "bob", "carol"]
            approval = ApprovalGate(
                before: phases.contains(.migrate) && chance(0.5) ? .migrate : .deploy, required: Int.random(in: 1...2, using: &rng),
                approvers: approvers, timeoutSeconds: 3_600)
        }
        return DeploymentPlan(
            phases: phases, checks: checks, stabilizeSeconds: chance(0.7) ? 30 : 0,
            policy: HealthPolicy(retries: Int.random(in: 1...5, using: &rng), interval: 10, totalTimeout: 300, nonCritical: nonCritical),
            failOnInterrupt: failOnInterrupt, notify: chance(0.7), approval: approval)
    }

    mutating func randomScript(_ plan: DeploymentPlan) -> Script {
        var script = Script()
        switch Int.random(in: 0..<10, using: &rng) {
        case 0...3: break
        case 4, 5:
            if let check = plan.checks.randomElement(using: &rng) { script.unhealthyAttempts[check] = .max }
        case 6:
            if let check = plan.checks.randomElement(using: &rng) { script.unhealthyAttempts[check] = .max }
            script.failing[.rollback] = "rollback exited with status 1"
            if let check = plan.checks.randomElement(using: &rng), chance(0.5) { script.unhealthyAfterRollback.insert(check) }
        case 7:
            let phase = plan.phases.filter { $0 <= .deploy }.randomElement(using: &rng)!
            script.failing[phase] = "\(phase) exited with status 2"
        case 8:
            script.failing[.smoke] = "smoke tests failed: 2 of 40"
        default:
            for check in plan.checks where chance(0.5) { script.unhealthyAttempts[check] = Int.random(in: 1...3, using: &rng) }
        }
        if chance(0.25), let phase = plan.phases.randomElement(using: &rng) { script.crashOnce.insert(phase) }
        script.notificationDelivered = chance(0.8)
        script.approvalAnswer = chance(0.7) ? .approve : chance(0.5) ? .reject : .timeOut
        return script
    }

    func freeEnvironments() throws -> [String] {
        let busy = Set(try t.queries.activeDeployments().map(\.environment))
        return environments.filter { !busy.contains($0) }
    }

    mutating func play() throws {
        let actions = Int.random(in: 40...120, using: &rng)
        for _ in 0..<actions {
            switch Int.random(in: 0..<100, using: &rng) {
            case 0..<18: try startDeployment()
            case 18..<62: try stepSomeSimulation()
            case 62..<70: try manualRollback()
            case 70..<78: try storeArtifact()
            case 78..<86: t.clock.advance(Double(Int.random(in: 1...(20 * 86_400), using: &rng)))
            case 86..<90: try prune()
            case 90..<95: try markBad()
            case 95..<98: try unlock()
            default:
                try t.store.append([NewEvent(type: "ServiceDeployed", data: #"{"integration":true}"#)], to: "integration-notes", expected: .any)
            }
        }
        // Most simulations end; some are left mid-way, as a crashed runner leaves them.
        for index in simulations.indices where chance(0.7) {
            simulations[index].sim.state = try t.ledger.load(simulations[index].id)
            _ = try simulations[index].sim.run()
        }
        for (id, _) in simulations {
            let state = try t.ledger.load(id)
            if let status = state.status { coverage.insert(status == .running ? "running at the end" : status.rawValue) }
            if state.steps[.rollback]?.failure != nil { coverage.insert("rollback failed") }
            if state.failureReason?.contains("no stable version") == true { coverage.insert("no stable target") }
            if state.steps.values.contains(where: { $0.attempts > 1 }) { coverage.insert("interrupted") }
            if state.isManualRollback { coverage.insert("manual rollback") }
            if let approval = state.approval {
                coverage.insert(approval.rejection != nil ? "approval rejected" : approval.timedOutAt != nil ? "approval timed out" : approval.isOpen ? "approved" : "awaiting approval")
            }
        }
        if try t.queries.artifacts(now: t.clock.now).contains(where: { $0.state == .pruned }) { coverage.insert("pruned file") }
        for id in deployments where try t.ledger.load(id).rolledBackManually != nil { coverage.insert("replaced by a manual rollback") }
    }

    mutating func startDeployment() throws {
        guard let environment = try freeEnvironments().randomElement(using: &rng) else { return }
        counter += 1
        let stable = try t.ledger.lastStableRecord(environment: environment)
        if chance(0.25) {
            // A recorded rollback needs a stable version to return to.
            let ending = Ending.allCases.filter { stable != nil || $0 != .rolledBack }.randomElement(using: &rng)!
            let id = try t.record(ending, environment: environment, n: counter)
            deployments.append(id)
            coverage.insert("record mode")
            coverage.insert(ending == .markedBad ? "marked bad" : ending.rawValue == "rolledBack" ? "rolled_back" : ending.rawValue)
            try checkRollbackTarget(id, expected: stable)
            return
        }
        let plan = randomPlan()
        let script = randomScript(plan)
        t.clock.advance(Double(Int.random(in: 1...600, using: &rng)))
        let state = try t.ledger.request(
            environment: environment, gitSHA: sha(counter), gitRef: "refs/heads/main", services: workflowServices,
            triggeredBy: "ci", mode: .run, phases: plan.phases, checks: plan.checks)
        let id = state.id!
        deployments.append(id)
        try checkRollbackTarget(id, expected: stable)
        simulations.append((id, try t.simulation(id, plan: plan, script: script)))
    }

    /// A manual rollback of a free environment, when one of its older releases is stable; it
    /// restores that release and, once it succeeds, retires the one it replaced.
    mutating func manualRollback() throws {
        guard let environment = try freeEnvironments().randomElement(using: &rng) else { return }
        t.clock.advance(Double(Int.random(in: 1...600, using: &rng)))
        let checks = workflowChecks.filter { _ in chance(0.7) }
        let state: DeploymentState
        do {
            state = try t.ledger.requestManualRollback(
                environment: environment, to: nil, reason: "regression in checkout", by: "oncall", services: workflowServices, checks: checks)
        } catch LedgerError.notFound {
            return
        }
        let id = state.id!
        deployments.append(id)
        let replaced = state.request?.manualRollback?.replaces
        #expect(state.request?.manualRollback?.targetID != replaced, "seed \(seed)")
        var script = Script()
        if chance(0.15) { script.failing[.rollback] = "rollback exited with status 1" }
        if chance(0.1), let check = checks.randomElement(using: &rng) { script.unhealthyAfterRollback.insert(check) }
        if chance(0.2) { script.crashOnce.insert(.rollback) }
        let plan = DeploymentPlan(
            phases: [.rollback], checks: checks, stabilizeSeconds: 0, policy: HealthPolicy(retries: 2, interval: 10, totalTimeout: 300),
            notify: chance(0.5))
        var sim = try t.simulation(id, plan: plan, script: script)
        // Often driven to its end at once, as an operator's rollback usually is.
        if chance(0.6) { _ = try sim.run() }
        simulations.append((id, sim))
    }

    /// The target recorded at request time is the environment's last stable deployment then: a success not marked bad.
    func checkRollbackTarget(_ id: String, expected: DeploymentRecord?) throws {
        let request = try #require(try t.ledger.load(id).request)
        #expect(request.previousStableID == expected?.deploymentID, "seed \(seed)")
        if let target = request.previousStableID {
            let record = try #require(try t.queries.record(target))
            #expect(record.status == "success" && record.markedBadReason == nil, "seed \(seed): \(id) targets \(target) (\(record.status))")
        }
    }

    mutating func stepSomeSimulation() throws {
        guard !simulations.isEmpty else { return try startDeployment() }
        let index = Int.random(in: 0..<simulations.count, using: &rng)
        simulations[index].sim.state = try t.ledger.load(simulations[index].id)
        for _ in 0..<Int.random(in: 1...6, using: &rng) {
            guard try simulations[index].sim.advance() else { break }
        }
    }

    mutating func storeArtifact() throws {
        guard let id = deployments.randomElement(using: &rng) else { return }
        counter += 1
        let content = Array("log \(Int.random(in: 0..<4, using: &rng))\n".utf8)  // shared contents, shared files
        let retention = [1, 2, 7, 30, 365].randomElement(using: &rng)!
        try t.ledger.storeArtifact(
            name: "custom-\(counter).log", phase: "deploy", bytes: content, deploymentID: id,
            retentionDays: retention, in: t.artifacts)
        coverage.insert("artifact")
    }

    mutating func prune() throws {
        let pruned = try t.ledger.prune(now: t.clock.now, dryRun: false, in: t.artifacts)
        if !pruned.isEmpty { coverage.insert("prune") }
        for artifact in pruned {
            // A file goes only when no unexpired artifact still names its content.
            let stillNeeded = try t.queries.artifacts(now: t.clock.now).contains { $0.sha256 == artifact.sha256 && $0.state != .pruned && $0.state != .expired }
            #expect(FileManager.default.fileExists(atPath: t.artifacts.path(for: artifact.sha256)) == stillNeeded, "seed \(seed): \(artifact.name)")
        }
    }

    mutating func markBad() throws {
        let finished = try history(t.queries).filter { $0.status == "success" && $0.markedBadReason == nil }
        // Often the oldest release (a regression found late), so that newer ones stay rollback targets.
        guard let victim = chance(0.7) ? finished.first : finished.randomElement(using: &rng) else { return }
        try t.ledger.execute(.markBad(reason: "regression found", by: "oncall"), on: victim.deploymentID)
        coverage.insert("marked bad")
    }

    mutating func unlock() throws {
        guard let active = try t.queries.activeDeployments().randomElement(using: &rng) else { return }
        try t.ledger.unlock(environment: active.environment, reason: "runner lost", by: "oncall")
        coverage.insert("abandoned")
    }
}
