import SQLiteStore
import EventStore
import Foundation
import Ledger
import Testing

/// How a recorded (mode `record`) deployment ends.
enum Ending: String, CaseIterable, Sendable {
    case success, failed, rolledBack, markedBad, abandoned
}

extension TestLedger {
    /// Records a whole deployment the way another pipeline reports it; returns its id.
    @discardableResult
    func record(_ ending: Ending, environment: String = "staging", n: Int) throws -> String {
        clock.advance(60)
        let id = try #require(
            try ledger.request(
                environment: environment, gitSHA: sha(n), gitRef: "refs/heads/main", services: workflowServices,
                triggeredBy: "github-actions", mode: .record
            ).id)
        func send(_ command: DeploymentCommand) throws {
            clock.advance(5)
            try ledger.execute(command, on: id)
        }
        switch ending {
        case .success, .markedBad:
            try send(.completeStep(.deploy, succeeded: true, reason: nil))
            try send(.finish(.succeeded))
            if ending == .markedBad { try send(.markBad(reason: "memory leak in \(n)", by: "oncall")) }
        case .failed:
            try send(.completeStep(.migrate, succeeded: false, reason: "migration 0042 failed"))
            try send(.finish(.failed(reason: "migration 0042 failed")))
        case .rolledBack:
            try send(.completeStep(.deploy, succeeded: true, reason: nil))
            try send(.recordHealthVerdict(check: "api_gateway", healthy: false, attempts: 5, reason: "HTTP 503"))
            try send(.completeStep(.rollback, succeeded: true, reason: nil))
            try send(.finish(.rolledBack))
        case .abandoned:
            try send(.completeStep(.build, succeeded: true, reason: nil))
            clock.advance(5)
            try ledger.unlock(environment: environment, reason: "runner lost", by: "oncall")
        }
        return id
    }
}

/// The keys of a JSON object's top level, in the order they are written.
func topLevelKeys(_ json: String) -> [String] {
    var keys: [String] = []
    var depth = 0
    var inString = false
    var escaped = false
    var current = ""
    var expectingKey = false
    for ch in json {
        if inString {
            if escaped { escaped = false; current.append(ch); continue }
            if ch == "\\" { escaped = true; continue }
            if ch == "\"" {
                inString = false
                if expectingKey { keys.append(current); expectingKey = false }
                continue
            }
            current.append(ch)
            continue
        }
        switch ch {
        case "\"":
            inString = true
            current = ""
        case "{", "[":
            depth += 1
            if depth == 1 && ch == "{" { expectingKey = true }
        case "}", "]":
            depth -= 1
        case ",":
            if depth == 1 { expectingKey = true }
        case ":":
            expectingKey = false
        default:
            break
        }
    }
    return keys
}

@Suite("Projections and queries")
struct ProjectionTests {
    static let workflowFields = [
        "timestamp", "deployment_id", "environment", "status", "git_sha", "git_ref", "services_deployed",
        "health_checks", "rollback_available",
    ]

    @Test func theWorkflowsExampleRecordIsReproducedFromEvents() throws {
        let t = try TestLedger(clock: TestClock(try #require(Timestamp.parse("2024-11-19T09:00:00Z"))))
        let stable = try t.record(.success, n: 1)
        t.clock.advance(600)
        let plan = workflowPlan()
        let request = try t.ledger.request(
            environment: "staging", gitSHA: "abc123def4567890abc123def4567890abc12345", gitRef: "refs/heads/main",
            services: workflowServices, triggeredBy: "ci", mode: .run, phases: plan.phases, checks: plan.checks)
        let id = try #require(request.id)
        var sim = try t.simulation(id, plan: plan)
        for _ in 0..<100 where sim.state.next(plan: plan, now: t.clock.now) != .finish(.succeeded) {
            try sim.advance()
        }
        #expect(sim.state.next(plan: plan, now: t.clock.now) == .finish(.succeeded))
        #expect(t.clock.now < Timestamp.parse("2024-11-19T10:29:59Z")!)
        // The record is completed at the staging workflow's example instant.
        t.clock.now = try #require(Timestamp.parse("2024-11-19T10:30:00Z")).addingTimeInterval(-1)
        try sim.advance()
        _ = try sim.run()

        let record = try #require(try t.queries.record(id))
        let json = record.json
        #expect(Array(topLevelKeys(json).prefix(9)) == Self.workflowFields)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["timestamp"] as? String == "2024-11-19T10:30:00Z")
        #expect((object["deployment_id"] as? String)?.hasSuffix("-abc123def456") == true)
        #expect((object["deployment_id"] as? String)?.split(separator: "-").first.flatMap { Int($0) } != nil)
        #expect(object["environment"] as? String == "staging")
        #expect(object["status"] as? String == "success")
        #expect(object["git_sha"] as? String == "abc123def4567890abc123def4567890abc12345")
        #expect(object["git_ref"] as? String == "refs/heads/main")
        #expect(object["services_deployed"] as? [String] == ["api-gateway", "auth-service", "education-service", "marketplace-service"])
        #expect(json.contains(#""health_checks":{"api_gateway":"healthy","auth_service":"healthy","database":"healthy","smoke_tests":"passed"}"#))
        #expect(object["rollback_available"] as? Bool == true)
        #expect(object["rollback_target"] as? String == stable)

        // The record artifact holds the same JSON, and the first deployment had nothing to roll back to.
        let artifact = try #require(try t.queries.artifacts(deploymentID: id, now: t.clock.now).first { $0.name == "deployment-record-\(id)" })
        let stored = try #require(FileManager.default.contents(atPath: t.artifacts.path(for: artifact.sha256)))
        #expect(String(decoding: stored, as: UTF8.self) == json + "\n")
        #expect(try t.queries.record(stable)?.rollbackAvailable == false)
    }

    @Test func failedAndRolledBackRecordsSayWhy() throws {
        let t = try TestLedger()
        let stable = try t.record(.success, n: 1)
        let failed = try t.record(.failed, n: 2)
        let rolledBack = try t.record(.rolledBack, n: 3)
        let f = try #require(try t.queries.record(failed))
        #expect(f.status == "failed")
        #expect(f.failureReason == "migration 0042 failed")
        let r = try #require(try t.queries.record(rolledBack))
        #expect(r.status == "rolled_back")
        #expect(r.rolledBackTo == stable)
        #expect(r.healthChecks == #"{"api_gateway":"unhealthy"}"#)
        #expect(r.json.contains(#""rolled_back_to":"\#(stable)""#))
    }

    @Test func lastStableSkipsFailedRolledBackMarkedBadAndAbandonedDeployments() throws {
        let t = try TestLedger()
        let a = try t.record(.success, n: 1)
        let b = try t.record(.failed, n: 2)
        let c = try t.record(.rolledBack, n: 3)
        let d = try t.record(.markedBad, n: 4)
        let e = try t.record(.abandoned, n: 5)
        try t.record(.success, environment: "production", n: 6)

        let stable = try #require(try t.ledger.lastStableRecord(environment: "staging"))
        #expect(stable.deploymentID == a)
        let skipped = try t.queries.skippedSinceLastStable(environment: "staging", stable: stable)
        #expect(skipped.map(\.0.deploymentID) == [e, d, c, b])
        #expect(
            skipped.map(\.1) == [
                "abandoned: runner lost",
                "marked bad by oncall: memory leak in 4",
                "rolled back to \(a)",
                "failed: migration 0042 failed",
            ])
    }

    @Test func aNewDeploymentsRollbackTargetIsNeverFailedRolledBackOrMarkedBad() throws {
        let t = try TestLedger()
        let a = try t.record(.success, n: 1)
        for (n, ending) in [Ending.failed, .rolledBack, .markedBad, .abandoned].enumerated() {
            try t.record(ending, n: 10 + n)
            t.clock.advance(60)
            let next = try t.ledger.request(
                environment: "staging", gitSHA: sha(100 + n), gitRef: "refs/heads/main", services: workflowServices,
                triggeredBy: "ci", mode: .record)
            #expect(next.request?.previousStableID == a, "after a \(ending) deployment")
            #expect(next.rollbackTarget?.id == a)
            try t.ledger.unlock(environment: "staging", reason: "probe only", by: "test")
        }
        // Marking the only stable version bad leaves no target at all.
        try t.ledger.execute(.markBad(reason: "data loss", by: "oncall"), on: a)
        let lonely = try t.ledger.request(
            environment: "staging", gitSHA: sha(200), gitRef: "refs/heads/main", services: workflowServices,
            triggeredBy: "ci", mode: .record)
        #expect(lonely.request?.previousStableID == nil)
        #expect(try t.queries.record(lonely.id!)?.rollbackAvailable == false)
    }

    @Test func aRunModeRollbackRestoresTheLastStableNotTheNewestDeployment() throws {
        let t = try TestLedger()
        let a = try t.record(.success, n: 1)
        try t.record(.markedBad, n: 2)
        try t.record(.rolledBack, n: 3)
        t.clock.advance(60)
        let state = try t.run(sha: sha(4), script: Script(unhealthyAttempts: ["auth_service": .max]))
        #expect(state.status == .rolledBack)
        #expect(state.rollbackTargetID == a)
        #expect(try t.queries.record(state.id!)?.rolledBackTo == a)
        #expect(try t.ledger.lastStableRecord(environment: "staging")?.deploymentID == a)
    }

    @Test func historyIsNeverCapped() throws {
        let t = try TestLedger()
        var ids: [String] = []
        for n in 0..<60 {
            ids.append(try t.record(n % 7 == 3 ? .failed : .success, n: n))
            if n % 10 == 0 { try t.record(.success, environment: "production", n: 1_000 + n) }
        }
        let staging = try history(t.queries, environment: "staging", newestFirst: true)
        #expect(staging.count == 60)
        #expect(staging.map(\.deploymentID) == ids.reversed())
        #expect(try history(t.queries).count == 66)
        #expect(try history(t.queries, environment: "staging").map(\.deploymentID) == ids)
        var failed = 0
        try t.queries.forEachRecord(Queries.Filter(environment: "staging", status: "failed"), newestFirst: false) { _ in failed += 1 }
        #expect(failed == ids.indices.filter { $0 % 7 == 3 }.count)
    }

    @Test func eventsOfOtherStreamsAreNoConcernOfTheProjections() throws {
        let t = try TestLedger()
        let id = try t.record(.success, n: 1)
        try t.ledger.storeArtifact(name: "deployment-record-\(id)", phase: "summary", bytes: Array("{}".utf8), deploymentID: id, in: t.artifacts)
        // An integration's own stream may use any type name, even one of the domain's, with its own data.
        try t.store.append(
            [
                NewEvent(type: "ServiceDeployed", data: #"{"build":17}"#),
                NewEvent(type: "ArtifactPruned", data: #"{"name":"deployment-record-\#(id)"}"#),
            ],
            to: "integration-builds", expected: .any)
        let before = try dumpProjections(t.store).filter { !$0.hasPrefix("projection_state") }
        try t.ledger.rebuild()
        #expect(try dumpProjections(t.store).filter { !$0.hasPrefix("projection_state") } == before)
        // And the ledger still takes appends after them.
        try t.record(.success, n: 2)
    }
}
