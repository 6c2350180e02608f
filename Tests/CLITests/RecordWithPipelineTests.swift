import Foundation
import ShiplogTestSupport
import Testing

/// `record begin --config shiplog.yml`: a recorded deployment follows its pipeline file — its
/// services, its phases and checks, and above all its secrets, redacted from every log kept
/// later without SHIPLOG_SECRETS.
@Suite struct RecordWithPipelineTests {
    static let secret = "sk-app-7c1d2e3f4a5b"

    static func pipeline(_ ledger: DomainLedger) -> String {
        ledger.write(
            "shiplog.yml",
            """
            environment: staging
            services: [api-gateway, auth-service]
            secrets: [APP_SIGNING_KEY]
            migrate: { run: 'true' }
            deploy: { run: 'true' }
            health:
              checks:
                - { name: api_gateway, url: "https://staging.example.com/api/health" }
                - { name: database, run: 'true' }
            """)
    }

    @Test func aRecordedDeploymentTakesItsPipelinesServicesPhasesChecksAndSecrets() throws {
        let ledger = try DomainLedger()
        let config = Self.pipeline(ledger)
        let env = ["APP_SIGNING_KEY": Self.secret]
        let id = ledger.ok(["record", "begin", "--config", config, "--sha", "abcdef1234567"], environment: env)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(ledger.record(id)?["environment"] as? String == "staging")

        let build = ledger.fails(5, ["record", "phase", id, "build", "--status", "succeeded"])
        #expect(build.contains("has no build phase"), "\(build)")
        let early = ledger.fails(5, ["record", "health", id, "api_gateway", "--status", "healthy"])
        #expect(early.contains("follow its deploy phase"), "record health before deploy is refused, as its help says: \(early)")

        // No SHIPLOG_SECRETS and no --config: the file the deployment began with names the secret.
        let log = ledger.write("migrate.log", "applying 0042 signed with \(Self.secret)\n")
        ledger.ok(["record", "phase", id, "migrate", "--status", "succeeded", "--log", log], environment: env)
        ledger.ok(["record", "phase", id, "deploy", "--status", "succeeded"], environment: env)
        #expect(ledger.record(id)?["services_deployed"] as? [String] == ["api-gateway", "auth-service"])
        let unknown = ledger.fails(5, ["record", "health", id, "cache", "--status", "healthy"])
        #expect(unknown.contains("has no health check cache"), "\(unknown)")
        ledger.ok(["record", "health", id, "api_gateway", "--status", "healthy"], environment: env)
        ledger.ok(["record", "health", id, "database", "--status", "healthy"], environment: env)
        ledger.ok(["record", "finish", id, "--status", "succeeded"], environment: env)
        #expect(ledger.record(id)?["health_checks"] as? [String: String] == ["api_gateway": "healthy", "database": "healthy"])

        let artifacts = DomainJSON.lines(ledger.ok(["artifacts", "list", "--json", "--deployment", id]))
        let digest = try #require(artifacts.first { ($0["name"] as? String) == "migration-logs-\(id)" }?["sha256"] as? String)
        let kept = try String(contentsOfFile: ledger.artifactFile(sha256: digest), encoding: .utf8)
        #expect(kept == "applying 0042 signed with [redacted:APP_SIGNING_KEY]\n")
        #expect(!ledger.ok(["export", "--events"]).contains(Self.secret))
    }

    @Test func recordBeginNeedsAnEnvironmentOrAPipeline() throws {
        let ledger = try DomainLedger()
        let result = ledger.run(["record", "begin", "--sha", "abcdef1234567"])
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains("--env, or --config"), "\(result.stderr)")
    }
}
