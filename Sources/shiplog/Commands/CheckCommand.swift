import ArgumentParser
import EventStore
import Foundation
import Runner

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Run the pipeline's health checks now, without deploying; nothing is recorded.",
        discussion: """
            Each check runs as it does in a deployment (HTTP checks at once, with the request \\
            timeout; command checks in the pipeline's directory), up to health.retries times, \\
            health.interval apart, until it is healthy; --once tries each check once. No \\
            stabilization wait, no smoke tests, no ledger. The HEALTH_CHECK_* overrides apply.

            Exit codes: 0 every critical check is healthy; 1 a critical check is unhealthy \\
            (a non-critical one only warns); 65 the pipeline file is wrong.

            Examples:
              shiplog check --config shiplog.yml
              shiplog check --config shiplog.yml --only api_gateway,database --once --json
            """)

    @OptionGroup var pipelineOptions: PipelineOptions
    @Option(help: ArgumentHelp("Only these checks, comma-separated.", valueName: "a,b,…")) var only: String?
    @Flag(help: "Try each check once instead of health.retries times.") var once = false
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        try reporting { try check() }
    }

    func check() throws {
        do {
            let environment = ProcessInfo.processInfo.environment
            let pipeline = try pipelineOptions.load(environment: environment)
            let names = only?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            if let unknown = names?.first(where: { name in !pipeline.health.checks.contains { $0.name == name } }) {
                throw Failure(
                    "\(pipelineOptions.config) has no health check \(unknown); its checks are \(pipeline.health.checks.map(\.name).joined(separator: ", "))",
                    code: Exit.usage)
            }
            if pipeline.health.checks.isEmpty {
                throw Failure("\(pipelineOptions.config) has no health checks (health.checks)", code: Exit.dataError)
            }
            Interruption.install()
            var echo: (@Sendable (String) -> Void)?
            if pipelineOptions.verbose && !json {
                echo = { @Sendable (line: String) in TerminalText.out("    | \(line)") }
            }
            let verdicts = try OnDemandChecks(pipeline: pipeline, environment: environment).run(
                checks: names, attempts: once ? 1 : pipeline.health.retries,
                report: { a in
                    guard !json else { return }
                    let status = a.httpStatus.map { " HTTP \($0)" } ?? ""
                    TerminalText.out("\(a.healthy ? "✓" : "✗") \(a.check) attempt \(a.attempt): \(a.healthy ? "healthy" : "unhealthy")\(status) \(a.latencyMs) ms\(a.error.map { " — \($0)" } ?? "")")
                    if let body = a.body { TerminalText.out("    answered: \(body)") }
                }, echo: echo)
            let failing = verdicts.filter { !$0.healthy && $0.check.critical }
            if let signal = Interruption.signal { throw ExitCode(Interruption.exitCode(for: signal)) }
            if json {
                let checks = verdicts.map { v in
                    JSONText.object([
                        ("name", JSONText.quote(v.check.name)), ("critical", v.check.critical ? "true" : "false"),
                        ("healthy", v.healthy ? "true" : "false"), ("attempts", String(v.attempts.count)),
                        ("http_status", v.attempts.last?.httpStatus.map(String.init) ?? "null"),
                        ("error", v.attempts.last?.error.map { JSONText.quote(ProcessSecrets.redact($0)) } ?? "null"),
                        ("body", v.attempts.last?.body.map { JSONText.quote(ProcessSecrets.redact($0)) } ?? "null"),
                    ])
                }
                Terminal.out(JSONText.object([("ok", failing.isEmpty ? "true" : "false"), ("checks", JSONText.array(checks))]))
            } else {
                let healthy = verdicts.filter(\.healthy).count
                var line = "\(pipeline.environment): \(healthy) of \(verdicts.count) check\(verdicts.count == 1 ? "" : "s") healthy"
                let unhealthy = verdicts.filter { !$0.healthy }.map { "\($0.check.name)\($0.check.critical ? "" : " (not critical)")" }
                if !unhealthy.isEmpty { line += "; unhealthy: \(unhealthy.joined(separator: ", "))" }
                TerminalText.out(line)
            }
            if !failing.isEmpty { throw ExitCode(Exit.rolledBack) }
        }
    }
}
