import EventStore
import Foundation
import Ledger
import Testing

// Events a deployment of the staging workflow's plan has recorded by the time it reaches each stage.

let previousStable = (id: "1731900000-0123456789ab", sha: "0123456789ab0123456789ab0123456789ab0123")

func throughDeploy(_ plan: DeploymentPlan = workflowPlan(), stable: Bool = true) -> [DeploymentEvent] {
    var events = [runRequest(plan: plan, previousStable: stable ? previousStable : nil)]
    for phase in plan.phases where phase < .deploy {
        events += [.stepStarted(phase, attempt: 1), .stepSucceeded(phase, detail: nil)]
    }
    events.append(.stepStarted(.deploy, attempt: 1))
    events += workflowServices.map { .serviceDeployed(service: $0) }
    return events
}

func throughStabilization(_ plan: DeploymentPlan = workflowPlan(), stable: Bool = true) -> [DeploymentEvent] {
    throughDeploy(plan, stable: stable) + [.stabilizationWaitStarted(seconds: 30, until: "2024-11-19T10:01:00.000Z"), .stabilizationWaitFinished]
}

func throughHealthyChecks(_ plan: DeploymentPlan = workflowPlan()) -> [DeploymentEvent] {
    throughStabilization(plan) + workflowChecks.map { .serviceHealthy(check: $0, attempts: 1, round: .deploy) } + [.healthChecksPassed(round: .deploy)]
}

func throughFailedChecks(_ plan: DeploymentPlan = workflowPlan(), stable: Bool = true) -> [DeploymentEvent] {
    throughStabilization(plan, stable: stable) + [
        .serviceHealthy(check: "api_gateway", attempts: 1, round: .deploy),
        .serviceUnhealthy(check: "auth_service", attempts: 5, reason: "HTTP 503", round: .deploy),
        .serviceHealthy(check: "database", attempts: 1, round: .deploy),
        .healthChecksFailed(round: .deploy, failed: ["auth_service"]),
    ]
}

func throughSmoke() -> [DeploymentEvent] {
    throughHealthyChecks() + [.stepStarted(.smoke, attempt: 1), .stepSucceeded(.smoke, detail: nil)]
}

func succeeded() -> [DeploymentEvent] { throughSmoke() + [.deploymentSucceeded] }

func attempt(_ check: String, _ n: Int, healthy: Bool, round: HealthRound = .deploy) -> HealthAttempt {
    HealthAttempt(
        check: check, target: "https://staging.example.test/\(check)/health", attempt: n, round: round,
        httpStatus: healthy ? 200 : 503, latencyMs: 9, error: healthy ? nil : "HTTP 503", healthy: healthy)
}

@Suite("Decider: a run-mode deployment driven by next(plan:now:)")
struct RunModeNextTests {
    @Test func happyPathTakesEveryStepOnceInOrder() throws {
        let plan = workflowPlan()
        var sim = Given([runRequest(plan: plan)]).simulation(plan)
        let steps = try sim.run()
        let until = try #require(sim.state.stabilizationUntil)
        #expect(
            steps == [
                .runStep(.preflight, attempt: 1), .runStep(.migrate, attempt: 1), .runStep(.build, attempt: 1),
                .runStep(.image, attempt: 1), .runStep(.deploy, attempt: 1),
                .stabilize(until: nil), .stabilize(until: until),
                .probe(workflowChecks, round: .deploy),
                .runStep(.smoke, attempt: 1),
                .finish(.succeeded), .storeRecord, .notify, .done,
            ])
        #expect(sim.state.status == .success)
        #expect(sim.state.servicesDeployed == workflowServices)
        #expect(sim.state.healthPassed[.deploy] == true)
        #expect(sim.state.notified == true)
        #expect(sim.state.artifacts[Phase.recordArtifactName(deploymentID: sim.state.id!)] != nil)
    }

    @Test func stabilizationWaitsThePlannedSeconds() throws {
        let plan = workflowPlan()
        var given = Given(throughDeploy(plan))
        let start = given.clock.now
        #expect(given.state.next(plan: plan, now: start) == .stabilize(until: nil))
        try given.when(.startStabilization(seconds: 30, until: ts(start.addingTimeInterval(30))))
        #expect(given.state.next(plan: plan, now: given.clock.now) == .stabilize(until: ts(start.addingTimeInterval(30))))
    }

    @Test func aCheckFailingTwiceThenHealthyIsHealthyAfterThreeAttempts() throws {
        let plan = workflowPlan(policy: HealthPolicy(retries: 5, interval: 10, totalTimeout: 300))
        let box = GivenBox(Given([runRequest(plan: plan)]))
        var sim = Self.simulation(plan, Script(unhealthyAttempts: ["api_gateway": 2]), box)
        let steps = try sim.run()
        let history = box.given.history
        let apiAttempts = history.compactMap { e -> Int? in
            if case .healthCheckAttempted(let a) = e, a.check == "api_gateway" { return a.attempt } else { return nil }
        }
        #expect(apiAttempts == [1, 2, 3])
        #expect(history.contains(.serviceHealthy(check: "api_gateway", attempts: 3, round: .deploy)))
        #expect(!history.contains { if case .serviceUnhealthy = $0 { true } else { false } })
        #expect(history.contains(.healthChecksPassed(round: .deploy)))
        // Between attempts the runner waits the interval, then probes only the pending check.
        #expect(steps.filter { if case .wait = $0 { true } else { false } }.count == 2)
        #expect(steps.contains(.probe(["api_gateway"], round: .deploy)))
        #expect(sim.state.status == .success)
    }

    /// The runner's loop played against the given history, sending each command through `when`.
    static func simulation(_ plan: DeploymentPlan, _ script: Script, _ box: GivenBox) -> RunnerSimulation {
        RunnerSimulation(plan: plan, script: script, clock: box.given.clock, state: box.given.state) { command in
            try box.given.when(command)
            return box.given.state
        }
    }

    @Test func exhaustedRetriesFailTheChecksAndRollBackToThePreviousStable() throws {
        let plan = workflowPlan()
        let box = GivenBox(Given([runRequest(plan: plan)]))
        var sim = Self.simulation(plan, Script(unhealthyAttempts: ["auth_service": .max]), box)
        let steps = try sim.run()
        let history = box.given.history
        #expect(history.contains(.serviceUnhealthy(check: "auth_service", attempts: 5, reason: "HTTP 503", round: .deploy)))
        #expect(history.contains(.healthChecksFailed(round: .deploy, failed: ["auth_service"])))
        let lastDeployProbe = try #require(steps.lastIndex { if case .probe(_, .deploy) = $0 { true } else { false } })
        #expect(
            Array(steps[(lastDeployProbe + 1)...]) == [
                .rollback(targetID: previousStable.id, targetSHA: previousStable.sha, attempt: 1),
                .probe(workflowChecks, round: .rollback),
                .finish(.rolledBack), .storeRecord, .notify, .done,
            ])
        #expect(!steps.contains(.runStep(.smoke, attempt: 1)), "smoke tests never run after failed checks")
        #expect(history.contains(.healthChecksPassed(round: .rollback)))
        #expect(history.contains(.deploymentRolledBack(targetID: previousStable.id, targetSHA: previousStable.sha, reason: "health checks failed")))
        #expect(sim.state.status == .rolledBack)
    }

    @Test func noStableTargetFailsSayingThereIsNoStableVersion() throws {
        let plan = workflowPlan()
        var sim = Given([runRequest(plan: plan, previousStable: nil)]).simulation(plan, Script(unhealthyAttempts: ["database": .max]))
        let steps = try sim.run()
        guard case .finish(.failed(let reason))? = steps.first(where: { if case .finish = $0 { true } else { false } }) else {
            Issue.record("no finish(.failed) in \(steps)")
            return
        }
        #expect(reason.contains("no stable version of staging"))
        #expect(!steps.contains { if case .rollback = $0 { true } else { false } })
        #expect(sim.state.status == .failed)
        #expect(sim.state.failureReason == reason)
    }

    @Test func aFailingRollbackFailsTheDeploymentWithItsReason() throws {
        let plan = workflowPlan()
        var sim = Given([runRequest(plan: plan)])
            .simulation(plan, Script(failing: [.rollback: "rollback exited with status 3"], unhealthyAttempts: ["api_gateway": .max]))
        let steps = try sim.run()
        #expect(
            steps.suffix(4) == [
                .finish(.failed(reason: "health checks failed; rollback failed: rollback exited with status 3")), .storeRecord, .notify, .done,
            ])
        #expect(sim.state.status == .failed)
        #expect(sim.state.failedPhase == .health)
    }

    @Test func aRestoredVersionFailingItsChecksFailsTheDeployment() throws {
        let plan = workflowPlan()
        var sim = Given([runRequest(plan: plan)])
            .simulation(plan, Script(unhealthyAttempts: ["api_gateway": .max], unhealthyAfterRollback: ["api_gateway"]))
        let steps = try sim.run()
        #expect(steps.contains(.finish(.failed(reason: "health checks failed; the restored version failed its health checks"))))
        #expect(sim.state.status == .failed)
    }

    @Test func aSmokeTestFailureRollsBack() throws {
        let plan = workflowPlan()
        var sim = Given([runRequest(plan: plan)]).simulation(plan, Script(failing: [.smoke: "smoke exited with status 1"]))
        let steps = try sim.run()
        #expect(steps.contains(.rollback(targetID: previousStable.id, targetSHA: previousStable.sha, attempt: 1)))
        #expect(sim.state.status == .rolledBack)
    }

    @Test func aFailureBeforeDeployFailsWithoutRollback() throws {
        let plan = workflowPlan()
        var sim = Given([runRequest(plan: plan)]).simulation(plan, Script(failing: [.migrate: "migrate exited with status 1"]))
        let steps = try sim.run()
        #expect(
            steps == [
                .runStep(.preflight, attempt: 1), .runStep(.migrate, attempt: 1),
                .finish(.failed(reason: "migrate failed: migrate exited with status 1")), .storeRecord, .notify, .done,
            ])
        #expect(sim.state.failedPhase == .migrate)
    }

    @Test func aNonCriticalCheckFailingDoesNotFailTheDeployment() throws {
        let plan = workflowPlan(policy: HealthPolicy(retries: 2, interval: 10, totalTimeout: 300, nonCritical: ["api_gateway"]))
        var sim = Given([runRequest(plan: plan)]).simulation(plan, Script(unhealthyAttempts: ["api_gateway": .max, "database": 1]))
        let steps = try sim.run()
        #expect(steps.contains(.runStep(.smoke, attempt: 1)))
        #expect(steps.contains(.finish(.succeeded)))
        #expect(sim.state.checks[.deploy]?["api_gateway"]?.verdict == false)
        #expect(sim.state.status == .success)
    }

    @Test func anInterruptedStepRunsAgainWithTheNextAttempt() throws {
        let plan = workflowPlan()
        let given = Given([
            runRequest(plan: plan), .stepStarted(.preflight, attempt: 1), .stepSucceeded(.preflight, detail: nil),
            .stepStarted(.migrate, attempt: 1),
        ])
        #expect(given.state.runningStep == .migrate)
        #expect(given.state.next(plan: plan, now: given.clock.now) == .runStep(.migrate, attempt: 2))
        var sim = given.simulation(plan)
        let steps = try sim.run()
        #expect(steps.first == .runStep(.migrate, attempt: 2))
        #expect(sim.state.steps[.migrate]?.attempts == 2)
        #expect(sim.state.status == .success)
    }

    @Test func anInterruptedStepTheplanSaysNotToRepeatFailsTheDeployment() throws {
        let plan = workflowPlan(failOnInterrupt: [.migrate])
        let given = Given([
            runRequest(plan: plan), .stepStarted(.preflight, attempt: 1), .stepSucceeded(.preflight, detail: nil),
            .stepStarted(.migrate, attempt: 1),
        ])
        #expect(given.state.next(plan: plan, now: given.clock.now) == .failInterrupted(.migrate))
        var sim = given.simulation(plan)
        let steps = try sim.run()
        #expect(
            steps == [
                .failInterrupted(.migrate),
                .finish(.failed(reason: "migrate failed: interrupted by a runner crash")), .storeRecord, .notify, .done,
            ])
    }

    @Test func anInterruptedRollbackIsStartedAgain() throws {
        let plan = workflowPlan()
        let given = Given(throughFailedChecks(plan) + [.rollbackStarted(targetID: previousStable.id, targetSHA: previousStable.sha, attempt: 1)])
        #expect(
            given.state.next(plan: plan, now: given.clock.now)
                == .rollback(targetID: previousStable.id, targetSHA: previousStable.sha, attempt: 2))
        var sim = given.simulation(plan)
        _ = try sim.run()
        #expect(sim.state.steps[.rollback]?.attempts == 2)
        #expect(sim.state.status == .rolledBack)
    }

    @Test func stabilizationResumesWithItsOriginalUntil() throws {
        let plan = workflowPlan()
        let until = "2024-11-19T10:00:30.000Z"
        let given = Given(throughDeploy(plan) + [.stabilizationWaitStarted(seconds: 30, until: until)])
        for offset in [0.0, 10, 29.999, 30, 3_600] {
            #expect(given.state.next(plan: plan, now: TestClock.start.addingTimeInterval(offset)) == .stabilize(until: until))
        }
        var sim = given.simulation(plan)
        let steps = try sim.run()
        #expect(steps.first == .stabilize(until: until))
        #expect(!steps.contains(.stabilize(until: nil)))
        #expect(sim.state.stabilizationUntil == until)
    }

    @Test func probesWaitTheIntervalSinceTheLastAttempt() throws {
        let plan = workflowPlan(policy: HealthPolicy(retries: 5, interval: 10, totalTimeout: 300))
        var given = Given(throughStabilization(plan))
        let t0 = given.clock.now
        try given.when(
            .recordHealthAttempts(
                [
                    attempt("api_gateway", 1, healthy: false), attempt("auth_service", 1, healthy: true),
                    attempt("database", 1, healthy: true),
                ], policy: plan.policy, now: ts(t0)))
        let last = try #require(given.state.checks[.deploy]?["api_gateway"]?.lastAttemptAt)
        let lastDate = try #require(Timestamp.parse(last))
        #expect(given.state.next(plan: plan, now: lastDate.addingTimeInterval(9.999)) == .wait(until: ts(lastDate.addingTimeInterval(10))))
        #expect(given.state.next(plan: plan, now: lastDate.addingTimeInterval(10)) == .probe(["api_gateway"], round: .deploy))
    }

    @Test func aCheckPastItsTotalTimeoutIsUnhealthyBeforeItsRetriesRunOut() throws {
        let policy = HealthPolicy(retries: 5, interval: 10, totalTimeout: 25)
        var given = Given(throughStabilization(workflowPlan(policy: policy)))
        let t0 = given.clock.now
        try given.when(.recordHealthAttempts([attempt("api_gateway", 1, healthy: false)], policy: policy, now: ts(t0)))
        given.clock.now = t0.addingTimeInterval(10)
        try given.when(.recordHealthAttempts([attempt("api_gateway", 2, healthy: false)], policy: policy, now: ts(given.clock.now)))
        // A third try would start 20 s + 10 s after the first: past the 25 s budget.
        #expect(given.state.checks[.deploy]?["api_gateway"]?.verdict == nil)
        given.clock.now = t0.addingTimeInterval(20)
        let events = try given.when(.recordHealthAttempts([attempt("api_gateway", 3, healthy: false)], policy: policy, now: ts(given.clock.now)))
        #expect(events.contains(.serviceUnhealthy(check: "api_gateway", attempts: 3, reason: "HTTP 503", round: .deploy)))
    }
}

@Suite("Decider: refusals")
struct RefusalTests {
    @Test func successAfterAFailedHealthCheckIsRefused() {
        let given = Given(throughFailedChecks())
        #expect(given.state.hasFailure)
        #expect(given.refusal(.finish(.succeeded))?.message.contains("cannot succeed") == true)
        #expect(given.refusal(.completeStep(.smoke, succeeded: true, reason: nil)) != nil)
        #expect(given.refusal(.startStep(.smoke, attempt: 1)) != nil)
    }

    @Test func successAfterARecordedUnhealthyVerdictIsRefused() throws {
        var given = Given([recordRequest()])
        try given.when(.completeStep(.deploy, succeeded: true, reason: nil))
        try given.when(.recordHealthVerdict(check: "api_gateway", healthy: false, attempts: 5, reason: "HTTP 503"))
        #expect(given.state.healthPassed[.deploy] == nil, "a recorded verdict carries no aggregate")
        #expect(given.state.hasFailure)
        #expect(given.refusal(.finish(.succeeded)) != nil)
        #expect(given.refusal(.completeStep(.smoke, succeeded: true, reason: nil)) != nil)
        #expect(given.state.acceptsNext.contains("rollback"))
        // The round is still open: the other checks' verdicts are recorded; then a rollback is accepted.
        try given.when(.recordHealthVerdict(check: "auth_service", healthy: true, attempts: 1, reason: nil))
        #expect(given.refusal(.finish(.succeeded)) != nil)
        try given.when(.completeStep(.rollback, succeeded: true, reason: nil))
        try given.when(.finish(.rolledBack))
        #expect(given.state.status == .rolledBack)
    }

    @Test func successAfterAnUnhealthyVerdictInAnOpenRoundIsRefused() throws {
        var given = Given(throughStabilization())
        try given.when(.recordHealthVerdict(check: "database", healthy: false, attempts: 5, reason: "connection refused"))
        #expect(given.refusal(.finish(.succeeded)) != nil)
        #expect(given.refusal(.startStep(.smoke, attempt: 1)) != nil)
        // The runner keeps probing the open round rather than rolling back half-way through it.
        #expect(given.state.next(plan: workflowPlan(), now: given.clock.now) == .probe(["api_gateway", "auth_service"], round: .deploy))
        #expect(given.state.acceptsNext.contains("remaining health verdicts"))
        // Recording the remaining checks still works, and the aggregate then says failed.
        try given.when(
            .recordHealthAttempts(
                [attempt("api_gateway", 1, healthy: true), attempt("auth_service", 1, healthy: true)],
                policy: HealthPolicy(), now: ts(given.clock.now)))
        #expect(given.state.healthPassed[.deploy] == false)
        #expect(
            given.state.next(plan: workflowPlan(), now: given.clock.now)
                == .rollback(targetID: previousStable.id, targetSHA: previousStable.sha, attempt: 1))
    }

    @Test func verdictsWithoutAnAggregateAreJudgedByProbingNothing() throws {
        var given = Given(throughStabilization())
        for check in workflowChecks {
            try given.when(.recordHealthVerdict(check: check, healthy: true, attempts: 1, reason: nil))
        }
        #expect(given.state.healthPassed[.deploy] == nil)
        #expect(given.refusal(.finish(.succeeded)) != nil, "a run-mode success waits for the aggregate")
        #expect(given.state.next(plan: workflowPlan(), now: given.clock.now) == .probe([], round: .deploy))
        #expect(try given.when(.recordHealthAttempts([], policy: HealthPolicy(), now: ts(given.clock.now))) == [.healthChecksPassed(round: .deploy)])
        #expect(given.state.next(plan: workflowPlan(), now: given.clock.now) == .runStep(.smoke, attempt: 1))
    }

    @Test func aSecondTerminalEventIsRefused() {
        for ending in [
            succeeded(), throughFailedChecks() + [.deploymentFailed(reason: "x", phase: .health)],
            [recordRequest(), .deploymentAbandoned(reason: "runner died", by: "ops")],
        ] {
            let given = Given(ending)
            #expect(given.state.isFinished)
            for command: DeploymentCommand in [
                .finish(.succeeded), .finish(.failed(reason: "again")), .finish(.rolledBack),
                .abandon(reason: "again", by: "ops"),
            ] {
                #expect(given.refusal(command) != nil, "\(command) accepted after \(given.state.status!)")
            }
        }
    }

    @Test func aPhaseOutOfOrderIsRefused() throws {
        var given = Given([recordRequest()])
        try given.when(.completeStep(.build, succeeded: true, reason: nil))
        #expect(given.refusal(.completeStep(.migrate, succeeded: true, reason: nil))?.message.contains("cannot follow build") == true)
        #expect(given.refusal(.completeStep(.build, succeeded: true, reason: nil)) != nil)
        try given.when(.completeStep(.deploy, succeeded: true, reason: nil))
        #expect(given.refusal(.startStep(.image, attempt: 1)) != nil)
        #expect(given.refusal(.completeStep(.preflight, succeeded: true, reason: nil)) != nil)
    }

    @Test func aRunModePhaseBeforeItsPlannedPredecessorsIsRefused() {
        let given = Given([runRequest()])
        #expect(given.refusal(.startStep(.deploy, attempt: 1)) != nil)
        #expect(given.refusal(.completeStep(.deploy, succeeded: true, reason: nil)) != nil)
        #expect(given.refusal(.startStabilization(seconds: 30, until: "2024-11-19T10:00:30.000Z")) != nil)
        #expect(given.refusal(.startStep(.preflight, attempt: 1)) == nil)
        // Smoke tests follow passing health checks.
        #expect(Given(throughStabilization()).refusal(.startStep(.smoke, attempt: 1)) != nil)
        #expect(Given(throughHealthyChecks()).refusal(.startStep(.smoke, attempt: 1)) == nil)
    }

    @Test func runModeSuccessNeedsEveryPlannedPhaseAndPassingChecks() {
        #expect(Given(throughDeploy()).refusal(.finish(.succeeded)) != nil)
        #expect(Given(throughHealthyChecks()).refusal(.finish(.succeeded)) != nil, "the plan has smoke tests")
        #expect(Given(throughSmoke()).refusal(.finish(.succeeded)) == nil)
        let noSmoke = workflowPlan(phases: [.deploy, .rollback])
        #expect(Given(throughHealthyChecks(noSmoke)).refusal(.finish(.succeeded)) == nil)
    }

    @Test func aStepWhileAnotherIsRunningIsRefused() {
        let given = Given([recordRequest(), .stepStarted(.build, attempt: 1)])
        #expect(given.refusal(.startStep(.deploy, attempt: 1))?.message.contains("build is still running") == true)
        #expect(given.refusal(.completeStep(.deploy, succeeded: true, reason: nil)) != nil)
        #expect(given.refusal(.completeStep(.build, succeeded: true, reason: nil)) == nil)
    }

    @Test func aPhaseAfterFinishIsRefused() {
        let given = Given(succeeded())
        for command: DeploymentCommand in [
            .completeStep(.smoke, succeeded: true, reason: nil), .startStep(.smoke, attempt: 2),
            .startStabilization(seconds: 30, until: "2024-11-19T11:00:00.000Z"),
            .recordHealthVerdict(check: "api_gateway", healthy: true, attempts: 1, reason: nil),
            .startRollback(targetID: previousStable.id, targetSHA: previousStable.sha, attempt: 1),
        ] {
            #expect(given.refusal(command)?.message.contains("already finished") == true, "\(command)")
        }
    }

    @Test func aRollbackWithoutAFailureIsRefused() {
        for events in [throughHealthyChecks(), throughSmoke(), [recordRequest()]] {
            let given = Given(events)
            #expect(given.refusal(.startRollback(targetID: previousStable.id, targetSHA: previousStable.sha, attempt: 1)) != nil)
            #expect(given.refusal(.completeStep(.rollback, succeeded: true, reason: nil)) != nil)
            #expect(given.refusal(.finish(.rolledBack)) != nil)
        }
    }

    @Test func aRollbackWithoutAStableVersionIsRefused() {
        let given = Given(throughFailedChecks(stable: false))
        #expect(given.refusal(.completeStep(.rollback, succeeded: true, reason: nil))?.message.contains("no stable version") == true)
        #expect(given.refusal(.finish(.failed(reason: "no stable version"))) == nil)
    }

    @Test func rolledBackIsRefusedWhenTheRestoredVersionFailedItsChecks() throws {
        var given = Given(throughFailedChecks())
        try given.when(.startRollback(targetID: previousStable.id, targetSHA: previousStable.sha, attempt: 1))
        try given.when(.completeStep(.rollback, succeeded: true, reason: nil))
        try given.when(.recordHealthVerdict(check: "auth_service", healthy: false, attempts: 5, reason: "HTTP 503"))
        #expect(given.refusal(.finish(.rolledBack)) != nil)
        #expect(given.refusal(.finish(.failed(reason: "restored version unhealthy"))) == nil)
    }

    @Test func aRollbackIsRefusedWhenThePipelineHasNone() {
        let plan = workflowPlan(phases: [.deploy, .smoke])
        let given = Given(throughFailedChecks(plan))
        #expect(given.refusal(.startRollback(targetID: previousStable.id, targetSHA: previousStable.sha, attempt: 1)) != nil)
        #expect(given.state.next(plan: plan, now: given.clock.now) == .finish(.failed(reason: "health checks failed")))
    }

    @Test func anUnknownDeploymentRefusesEverything() {
        #expect(Given([]).refusal(.finish(.succeeded))?.message == "no such deployment")
    }

    @Test func aFinishedDeploymentStillAcceptsMarkBadArtifactsAndNotification() throws {
        var given = Given(succeeded())
        #expect(try given.when(.markBad(reason: "memory leak", by: "ops")) == [.deploymentMarkedBad(reason: "memory leak", by: "ops")])
        #expect(try given.when(.storeArtifact(Artifact(name: "late.log", phase: "deploy", sha256: sha(1), size: 1, retentionDays: 365))).count == 1)
        #expect(try given.when(.recordNotification(sent: true, attempts: 1, error: nil)).count == 1)
        #expect(Given(throughSmoke()).refusal(.markBad(reason: "x", by: "y")) != nil, "mark-bad waits for the end")
    }

    @Test func failureOrderingIsDeterministic() throws {
        // Smoke failed, then the rollback failed: the summary names the smoke tests first, every time.
        let events =
            throughHealthyChecks() + [
                .stepStarted(.smoke, attempt: 1), .stepFailed(.smoke, reason: "smoke exit 1"),
                .rollbackStarted(targetID: previousStable.id, targetSHA: previousStable.sha, attempt: 1),
                .stepFailed(.rollback, reason: "rollback exit 2"),
            ]
        for _ in 0..<20 {
            let given = Given(events)
            #expect(
                given.state.next(plan: workflowPlan(), now: given.clock.now)
                    == .finish(.failed(reason: "smoke failed: smoke exit 1; rollback failed: rollback exit 2")))
            #expect(try given.state.decide(.finish(.failed(reason: "r"))) == [.deploymentFailed(reason: "r", phase: .smoke)])
        }
    }
}

/// One command, applied to a state that accepts it.
struct IdempotencyCase: Sendable, CustomTestStringConvertible {
    var name: String
    var given: [DeploymentEvent]
    var command: DeploymentCommand
    var testDescription: String { name }

    static let all: [IdempotencyCase] = {
        let artifact = Artifact(name: "deployment-1732010400-abc123def456.log", phase: "deploy", sha256: sha(7), size: 42, retentionDays: 365)
        let rollingBack =
            throughFailedChecks() + [
                .rollbackStarted(targetID: previousStable.id, targetSHA: previousStable.sha, attempt: 1),
                .stepSucceeded(.rollback, detail: nil),
            ]
        let gate = ApprovalGate(before: .deploy, required: 2, approvers: ["alice", "bob"], timeoutSeconds: 3_600)
        let gated = workflowPlan(approval: gate)
        let atGate = throughImage(gated) + [.approvalRequested(gate)]
        return [
            IdempotencyCase(name: "startStep", given: [runRequest()], command: .startStep(.preflight, attempt: 1)),
            IdempotencyCase(
                name: "startStep after an interruption", given: [runRequest(), .stepStarted(.preflight, attempt: 1)],
                command: .startStep(.preflight, attempt: 2)),
            IdempotencyCase(
                name: "completeStep succeeded", given: [runRequest(), .stepStarted(.preflight, attempt: 1)],
                command: .completeStep(.preflight, succeeded: true, reason: nil)),
            IdempotencyCase(
                name: "completeStep failed", given: [runRequest(), .stepStarted(.preflight, attempt: 1)],
                command: .completeStep(.preflight, succeeded: false, reason: "exit 1")),
            IdempotencyCase(name: "completeStep deploy", given: [recordRequest()], command: .completeStep(.deploy, succeeded: true, reason: nil)),
            IdempotencyCase(
                name: "completeStep rollback without a start", given: throughFailedChecks(),
                command: .completeStep(.rollback, succeeded: true, reason: nil)),
            IdempotencyCase(
                name: "startStabilization", given: throughDeploy(),
                command: .startStabilization(seconds: 30, until: "2024-11-19T10:00:30.000Z")),
            IdempotencyCase(
                name: "finishStabilization", given: throughDeploy() + [.stabilizationWaitStarted(seconds: 30, until: "2024-11-19T10:00:30.000Z")],
                command: .finishStabilization),
            IdempotencyCase(
                name: "recordHealthAttempts, no verdict yet", given: throughStabilization(),
                command: .recordHealthAttempts([attempt("api_gateway", 1, healthy: false)], policy: HealthPolicy(), now: "2024-11-19T10:01:00.000Z")),
            IdempotencyCase(
                name: "recordHealthAttempts, round judged", given: throughStabilization(),
                command: .recordHealthAttempts(workflowChecks.map { attempt($0, 1, healthy: true) }, policy: HealthPolicy(), now: "2024-11-19T10:01:00.000Z")),
            IdempotencyCase(
                name: "recordHealthAttempts, rollback round", given: rollingBack,
                command: .recordHealthAttempts([attempt("api_gateway", 1, healthy: false, round: .rollback)], policy: HealthPolicy(), now: "2024-11-19T10:09:00.000Z")),
            IdempotencyCase(
                name: "recordHealthVerdict", given: [recordRequest(), .serviceDeployed(service: "api-gateway")],
                command: .recordHealthVerdict(check: "api_gateway", healthy: true, attempts: 2, reason: nil)),
            IdempotencyCase(
                name: "startRollback", given: throughFailedChecks(),
                command: .startRollback(targetID: previousStable.id, targetSHA: previousStable.sha, attempt: 1)),
            IdempotencyCase(name: "recordNotification sent", given: succeeded(), command: .recordNotification(sent: true, attempts: 1, error: nil)),
            IdempotencyCase(
                name: "recordNotification failed", given: succeeded(),
                command: .recordNotification(sent: false, attempts: 3, error: "HTTP 500")),
            IdempotencyCase(name: "storeArtifact", given: throughDeploy(), command: .storeArtifact(artifact)),
            IdempotencyCase(name: "finish succeeded", given: throughSmoke(), command: .finish(.succeeded)),
            IdempotencyCase(name: "finish failed", given: throughFailedChecks(), command: .finish(.failed(reason: "health checks failed"))),
            IdempotencyCase(name: "finish rolled back", given: rollingBack, command: .finish(.rolledBack)),
            IdempotencyCase(name: "abandon", given: throughDeploy(), command: .abandon(reason: "runner died", by: "ops")),
            IdempotencyCase(name: "markBad", given: succeeded(), command: .markBad(reason: "memory leak", by: "ops")),
            IdempotencyCase(name: "requestApproval", given: throughImage(gated), command: .requestApproval(gate)),
            IdempotencyCase(name: "approve", given: atGate, command: .approve(by: "alice", comment: "ok", at: "2024-11-19T10:00:30.000Z")),
            IdempotencyCase(name: "reject", given: atGate, command: .reject(by: "bob", reason: "not now", at: "2024-11-19T10:00:30.000Z")),
            IdempotencyCase(name: "expireApproval", given: atGate, command: .expireApproval(at: "2024-11-19T12:00:00.000Z")),
            IdempotencyCase(
                name: "recordManualRollback", given: succeeded(),
                command: .recordManualRollback(rollbackID: "1732020000-0123456789ab", targetID: previousStable.id, targetSHA: previousStable.sha, reason: "regression", by: "ops")),
        ]
    }()
}

@Suite("Decider: idempotency")
struct IdempotencyTests {
    @Test(arguments: IdempotencyCase.all)
    func decidingACommandAgainAfterItsEventsAddsNothing(_ c: IdempotencyCase) throws {
        var given = Given(c.given)
        let first = try given.when(c.command)
        #expect(!first.isEmpty, "the command should be accepted with events the first time")
        let versionAfter = given.state.version
        var again: [DeploymentEvent] = []
        do {
            again = try given.state.decide(c.command)
        } catch {
            // A refusal is fine; a duplicate is not.
        }
        #expect(again.isEmpty, "deciding \(c.name) again produced \(again)")
        #expect(given.state.version == versionAfter)
    }

    @Test func everyCommandKindIsCovered() {
        func kind(_ c: DeploymentCommand) -> String { String(String(describing: c).prefix { $0 != "(" }) }
        let covered = Set(IdempotencyCase.all.map { kind($0.command) })
        #expect(
            covered == [
                "startStep", "completeStep", "startStabilization", "finishStabilization", "recordHealthAttempts",
                "recordHealthVerdict", "startRollback", "recordNotification", "storeArtifact", "finish", "abandon", "markBad",
                "requestApproval", "approve", "reject", "expireApproval", "recordManualRollback",
            ])
    }
}
