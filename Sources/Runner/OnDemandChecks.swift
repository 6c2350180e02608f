import Foundation
import Ledger

/// The pipeline's health checks, run now and recorded nowhere (`shiplog check`): is staging
/// healthy before a deploy, after an incident, while a deployment waits?
///
/// Each check runs as a deployment's checks run — HTTP checks concurrently with the request
/// timeout, command checks in the pipeline's directory with its environment — up to `attempts`
/// times, `interval` apart, until it is healthy. Nothing is recorded and no step runs.
public struct OnDemandChecks {
    /// One check's verdict and its attempts, in order.
    public struct Verdict: Sendable {
        public var check: HealthCheck
        public var attempts: [HealthAttempt]
        public var healthy: Bool { attempts.last?.healthy ?? false }
    }

    let pipeline: Pipeline
    let environment: [String: String]
    let redactor: Redactor

    /// - Parameter environment: what command checks inherit; its secrets are redacted.
    public init(pipeline: Pipeline, environment: [String: String]) {
        self.pipeline = pipeline
        self.environment = environment
        self.redactor = Redactor(environment: environment, pipeline: pipeline)
    }

    /// Runs `checks` (all when nil) up to `attempts` times each, telling `report` of every
    /// attempt as it ends; `echo`, when given, receives every line a command check prints.
    public func run(
        checks names: [String]? = nil, attempts: Int, report: (HealthAttempt) -> Void, echo: (@Sendable (String) -> Void)? = nil
    ) throws -> [Verdict] {
        let checks = pipeline.health.checks.filter { names?.contains($0.name) ?? true }
        var verdicts = checks.map { Verdict(check: $0, attempts: []) }
        let timeout = Double(pipeline.health.timeout.components.seconds) + Double(pipeline.health.timeout.components.attoseconds) / 1e18
        let interval = Double(pipeline.health.interval.components.seconds) + Double(pipeline.health.interval.components.attoseconds) / 1e18
        let caFile = pipeline.health.caFile.map(pipeline.resolvePath)
        // Command checks' output goes to a scratch log (and to `echo`), removed at the end.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("shiplog-check-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        for attempt in 1...max(1, attempts) {
            let pending = verdicts.indices.filter { !verdicts[$0].healthy }
            if pending.isEmpty || Interruption.requested { break }
            if attempt > 1 { Interruption.sleep(seconds: interval) }
            let http = pending.compactMap { index -> (Int, HealthProbeRequest)? in
                guard case .http(let url, let expect) = verdicts[index].check.kind else { return nil }
                return (index, HealthProbeRequest(service: verdicts[index].check.name, url: url, expectedStatus: expect, timeout: timeout, caFile: caFile))
            }
            for ((index, _), result) in zip(http, HealthProbe.probeAll(http.map(\.1), stop: { Interruption.requested })) {
                let a = HealthAttempt(
                    check: result.service, target: redactor.redact(result.url), attempt: attempt, round: .deploy,
                    httpStatus: result.httpStatus, latencyMs: result.latencyMs, error: result.error.map(redactor.redact),
                    healthy: result.healthy, body: result.body.map { redactor.excerpt(of: $0, truncated: result.bodyTruncated) })
                verdicts[index].attempts.append(a)
                report(a)
            }
            for index in pending {
                guard case .command(let step) = verdicts[index].check.kind else { continue }
                var env = environment
                env["SHIPLOG_ENVIRONMENT"] = pipeline.environment
                env["SHIPLOG_SERVICES"] = pipeline.services.joined(separator: ",")
                env["SHIPLOG_ATTEMPT"] = String(attempt)
                for (k, v) in step.env { env[k] = v }
                let started = Date()
                let log = try StepLog(path: scratch + "/check.log", redactor: redactor, echo: echo)
                defer { log.close() }
                let outcome = try StepProcess.run(
                    StepCommand(
                        command: step.run, environment: env, workdir: pipeline.workingDirectory(for: step),
                        timeout: step.timeout.map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 }), log: log)
                let a = HealthAttempt(
                    check: verdicts[index].check.name, target: redactor.redact(step.run), attempt: attempt, round: .deploy,
                    httpStatus: nil, latencyMs: Int(Date().timeIntervalSince(started) * 1000), error: outcome.succeeded ? nil : outcome.summary,
                    healthy: outcome.succeeded)
                verdicts[index].attempts.append(a)
                report(a)
            }
        }
        return verdicts
    }
}
