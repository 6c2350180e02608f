import Foundation
import ShiplogTestSupport
import Testing

/// `shiplog validate`: every mistake of a pipeline file at once, a key suggested for a
/// misspelt one at any level, and an unquoted `${VAR}` explained.
@Suite struct ValidateTests {
    func validate(_ yaml: String, json: Bool = false) throws -> ProcessOutput {
        let dir = try TemporaryDirectory(prefix: "shiplog-validate")
        try yaml.write(toFile: dir.file("shiplog.yml"), atomically: true, encoding: .utf8)
        return runShiplog(["validate", "--config", "shiplog.yml"] + (json ? ["--json"] : []), environment: ["PORT": "8080"], in: dir.url)
    }

    static let fourMistakes = """
        environment: staging
        services: [web, web]
        migrations: { run: ./migrate.sh }
        deploy: { runs: ./deploy.sh }
        health:
          retries: five
          checks:
            - { url: "http://127.0.0.1:8080/health" }

        """

    @Test func everyMistakeIsReportedAtOnceInFileOrder() throws {
        let result = try validate(Self.fourMistakes)
        #expect(result.status == 65, "\(result.stderr)")
        let lines = result.stderr.split(separator: "\n").map(String.init)
        let expected = [
            "shiplog: shiplog.yml:2:17: services[1]: duplicate service \"web\" (first at 2:12)",
            "shiplog: shiplog.yml:3:1: migrations: unknown key \"migrations\"; did you mean \"migrate\"?",
            "shiplog: shiplog.yml:4:11: deploy.runs: unknown key \"runs\"; did you mean \"run\"?",
            "shiplog: shiplog.yml:4:9: deploy: missing required key \"run\"",
            "shiplog: shiplog.yml:6:12: health.retries: expected a whole number ≥ 1, found \"five\"",
            "shiplog: shiplog.yml:8:7: health.checks[0]: missing required key \"name\"",
        ]
        for line in expected {
            #expect(lines.contains { $0.hasPrefix(line) }, "\(line)\n---\n\(result.stderr)")
        }
        #expect(lines.count == expected.count, "one line per mistake: \(result.stderr)")
        let json = try validate(Self.fourMistakes, json: true)
        #expect(json.status == 65)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], "\(json.stdout)")
        #expect(object["ok"] as? Bool == false)
        #expect((object["errors"] as? [String])?.count == expected.count)
    }

    @Test func aReferenceUnquotedInAFlowMappingIsExplained() throws {
        let unquoted = """
            environment: staging
            services: [web]
            deploy: { run: ./deploy.sh }
            health:
              checks:
                - { name: api, url: http://127.0.0.1:${PORT}/health }

            """
        let result = try validate(unquoted)
        #expect(result.status == 65)
        #expect(result.stderr.contains("shiplog.yml:6:"), "\(result.stderr)")
        #expect(result.stderr.contains("a value holding ${VAR} inside { … } or [ … ] must be quoted"), "\(result.stderr)")
        let quoted = try validate(unquoted.replacingOccurrences(of: "url: http://127.0.0.1:${PORT}/health", with: #"url: "http://127.0.0.1:${PORT}/health""#))
        #expect(quoted.status == 0, "\(quoted.stderr)")
    }

    @Test func aReferenceWhereNoneIsReplacedIsExplained() throws {
        let result = try validate("environment: ${TARGET_ENV}\nservices: [web]\ndeploy: { run: ./deploy.sh }\n")
        #expect(result.status == 65)
        #expect(result.stderr.contains("${VAR} is replaced only in health check URLs"), "\(result.stderr)")
    }
}
