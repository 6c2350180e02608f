import Foundation
import Testing
import Runner

/// The pipeline of the format reference, line for line: error positions below count on it.
private let workflowExample = """
    environment: staging
    services: [api-gateway, auth-service, education-service, marketplace-service]
    secrets: [STAGING_DATABASE_URL, DOCKER_USERNAME, DOCKER_PASSWORD, STAGING_HOST, STAGING_USER, STAGING_KEY, SLACK_WEBHOOK]
    preflight:                # required status checks, each a command; all must exit 0
      - { name: tests, run: ./scripts/check-status.sh tests }
      - { name: security-scan, run: ./scripts/check-status.sh security }
    migrate:  { run: npx prisma migrate deploy, on_interrupt: fail }
    build:    { run: npm ci && npm run build }
    image:    { run: ./scripts/docker-build-push.sh }
    deploy:   { run: ./scripts/deploy.sh "$SHIPLOG_VERSION" }
    health:
      stabilize: 30s
      retries: 5
      interval: 10s
      timeout: 10s            # per request
      total_timeout: 300s     # per service
      ca_file: ./certs/staging-ca.pem   # optional
      checks:
        - { name: api_gateway,  url: https://staging.example.com/api/health, expect_status: 200 }
        - { name: auth_service, url: https://staging.example.com/auth/health }
        - { name: database,     run: ./scripts/db-ping.sh, critical: true }
      smoke: { run: npm run test:smoke }
    rollback: { run: ./scripts/deploy.sh "$SHIPLOG_ROLLBACK_VERSION" }
    notify:   { slack_webhook_env: SLACK_WEBHOOK }   # names the env var holding the URL; optional section
    artifacts: { dir: deployment-logs, retention: 365d }

    """

/// The staging workflow's example with its 1-based line `number` replaced by `lines` (none to delete it).
private func workflowExample(replacingLine number: Int, with lines: String...) -> String {
    var all = workflowExample.components(separatedBy: "\n")
    all.replaceSubrange((number - 1)...(number - 1), with: lines)
    return all.joined(separator: "\n")
}

private let minimal = """
    environment: staging
    services: [api]
    deploy: { run: ./deploy.sh }

    """

private let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

private func parseError(_ yaml: String) throws -> PipelineError {
    try #require(throws: PipelineError.self) { try Pipeline.parse(yaml: yaml, file: "shiplog.yml") }
}

@Suite("Pipeline file")
struct PipelineParsingTests {
    @Test func workflowExampleParsesWithTheWorkflowsValues() throws {
        let pipeline = try Pipeline.parse(yaml: workflowExample, file: "shiplog.yml")
        #expect(pipeline.environment == "staging")
        #expect(pipeline.services == ["api-gateway", "auth-service", "education-service", "marketplace-service"])
        #expect(
            pipeline.secrets == [
                "STAGING_DATABASE_URL", "DOCKER_USERNAME", "DOCKER_PASSWORD",
                "STAGING_HOST", "STAGING_USER", "STAGING_KEY", "SLACK_WEBHOOK",
            ])
        #expect(pipeline.preflight.map(\.name) == ["tests", "security-scan"])
        #expect(pipeline.preflight[1].step.run == "./scripts/check-status.sh security")
        #expect(pipeline.migrate == CommandStep(run: "npx prisma migrate deploy", onInterrupt: .fail))
        #expect(pipeline.build?.run == "npm ci && npm run build")
        #expect(pipeline.build?.onInterrupt == .rerun)
        #expect(pipeline.image?.run == "./scripts/docker-build-push.sh")
        #expect(pipeline.deploy.run == "./scripts/deploy.sh \"$SHIPLOG_VERSION\"")
        #expect(pipeline.deploy.shellArguments == ["/bin/sh", "-c", "./scripts/deploy.sh \"$SHIPLOG_VERSION\""])
        #expect(pipeline.rollback?.run == "./scripts/deploy.sh \"$SHIPLOG_ROLLBACK_VERSION\"")

        let health = pipeline.health
        #expect(health.stabilize == .seconds(30))
        #expect(health.retries == 5)
        #expect(health.interval == .seconds(10))
        #expect(health.timeout == .seconds(10))
        #expect(health.totalTimeout == .seconds(300))
        #expect(health.caFile == "./certs/staging-ca.pem")
        #expect(
            health.checks == [
                .http(name: "api_gateway", url: "https://staging.example.com/api/health", expectStatus: 200),
                .http(name: "auth_service", url: "https://staging.example.com/auth/health"),
                .command(name: "database", step: CommandStep(run: "./scripts/db-ping.sh"), critical: true),
            ])
        #expect(health.smoke == CommandStep(run: "npm run test:smoke"))
        #expect(pipeline.notify == NotifyConfig(slackWebhookEnv: "SLACK_WEBHOOK"))
        #expect(pipeline.artifacts == ArtifactsConfig(dir: "deployment-logs", retentionDays: 365))
        #expect(pipeline.validate() == [])
    }

    @Test func omittedSectionsTakeTheWorkflowsDefaults() throws {
        let pipeline = try Pipeline.parse(yaml: minimal, file: "shiplog.yml")
        #expect(pipeline.health.stabilize == .seconds(30))
        #expect(pipeline.health.retries == 5)
        #expect(pipeline.health.interval == .seconds(10))
        #expect(pipeline.health.timeout == .seconds(10))
        #expect(pipeline.health.totalTimeout == .seconds(300))
        #expect(pipeline.health.checks.isEmpty && pipeline.health.isEmpty)
        #expect(pipeline.artifacts.dir == "deployment-logs")
        #expect(pipeline.artifacts.retentionDays == 365)
        #expect(pipeline.migrate == nil && pipeline.build == nil && pipeline.image == nil)
        #expect(pipeline.rollback == nil && pipeline.notify == nil)
        #expect(pipeline.secrets.isEmpty && pipeline.preflight.isEmpty)
        #expect(
            pipeline
                == Pipeline(
                    environment: "staging", services: ["api"],
                    deploy: CommandStep(run: "./deploy.sh")))
    }

    @Test func stepOptionsAreRead() throws {
        let pipeline = try Pipeline.parse(
            yaml: minimal + """
                build:
                  run: make
                  timeout: 15m
                  on_interrupt: fail
                  workdir: app
                  env: { NODE_ENV: production, WORKERS: 4 }
                """, file: "deploy/shiplog.yml")
        let build = try #require(pipeline.build)
        #expect(
            build
                == CommandStep(
                    run: "make", timeout: .seconds(900), onInterrupt: .fail,
                    env: ["NODE_ENV": "production", "WORKERS": "4"], workdir: "app"))
        #expect(pipeline.baseDirectory == "deploy")
        #expect(pipeline.workingDirectory(for: build) == "deploy/app")
        #expect(pipeline.workingDirectory(for: pipeline.deploy) == "deploy")
        #expect(pipeline.resolvePath("/abs/logs") == "/abs/logs")
    }

    @Test(arguments: [
        ("30s", Duration.seconds(30)), ("5m", .seconds(300)), ("1h", .seconds(3600)),
        ("500ms", .milliseconds(500)), ("45", .seconds(45)), ("2.5", .milliseconds(2500)),
        ("1m30s", .seconds(90)), ("0", .zero),
    ])
    func durationsAcceptEveryForm(text: String, expected: Duration) throws {
        let pipeline = try Pipeline.parse(yaml: minimal + "health: { stabilize: \(text) }\n", file: "shiplog.yml")
        #expect(pipeline.health.stabilize == expected)
    }

    @Test func retentionAcceptsDaysOrABareNumber() throws {
        let withUnit = try Pipeline.parse(yaml: minimal + "artifacts: { retention: 30d }\n", file: "shiplog.yml")
        let bare = try Pipeline.parse(yaml: minimal + "artifacts: { retention: 90 }\n", file: "shiplog.yml")
        #expect(withUnit.artifacts.retentionDays == 30)
        #expect(bare.artifacts.retentionDays == 90)
        #expect(bare.artifacts.dir == "deployment-logs")
    }

    @Test func checksAreCriticalUnlessToldOtherwise() throws {
        let pipeline = try Pipeline.parse(
            yaml: minimal + """
                health:
                  checks:
                    - { name: api, url: "https://staging.example.com/health" }
                    - { name: cache, run: ./cache-ping.sh, critical: false }
                """, file: "shiplog.yml")
        #expect(pipeline.health.checks.map(\.critical) == [true, false])
        #expect(pipeline.health.checks[0].kind == .http(url: "https://staging.example.com/health", expectStatus: 200))
        #expect(pipeline.health.checks[1].step == CommandStep(run: "./cache-ping.sh"))
    }

    @Test func demoPipelineLoadsAndItsScriptsExist() throws {
        let path = repositoryRoot.appendingPathComponent("tools/staging/shiplog.yml").path
        let pipeline = try Pipeline.load(path: path)
        #expect(pipeline.sourceFile == path)
        #expect(pipeline.baseDirectory == repositoryRoot.appendingPathComponent("tools/staging").path)
        #expect(pipeline.environment == "staging")
        #expect(pipeline.services.count == 4)
        #expect(pipeline.health.stabilize == .seconds(30))
        #expect(pipeline.health.totalTimeout == .seconds(300))
        #expect(pipeline.referencedVariables == ["STAGING_PORT"])
        #expect(pipeline.validate() == [])

        var steps = pipeline.preflight.map(\.step) + [pipeline.deploy]
        steps += [pipeline.migrate, pipeline.build, pipeline.image, pipeline.rollback, pipeline.health.smoke]
            .compactMap { $0 }
        steps += pipeline.health.checks.compactMap(\.step)
        #expect(steps.count == 10)
        for step in steps {
            let script = try #require(step.run.split(separator: " ").first.map(String.init))
            let scriptPath = pipeline.resolvePath(script)
            #expect(FileManager.default.isExecutableFile(atPath: scriptPath), "\(scriptPath) is not executable")
        }

        let running = try pipeline.applyingEnvironment(["STAGING_PORT": "18080", "SHIPLOG_HEALTH_STABILIZE": "0"])
        #expect(
            running.health.checks.compactMap(\.url) == [
                "http://127.0.0.1:18080/api/health",
                "http://127.0.0.1:18080/auth/health",
            ])
        #expect(running.health.stabilize == .zero)
    }

    @Test func fullExampleOfTheFormatReferenceParses() throws {
        let doc = try String(contentsOf: repositoryRoot.appendingPathComponent("docs/PIPELINE.md"), encoding: .utf8)
        let section = try #require(doc.range(of: "## Full example"))
        let after = doc[section.upperBound...]
        let open = try #require(after.range(of: "```yaml\n"))
        let close = try #require(after[open.upperBound...].range(of: "```"))
        let yaml = String(after[open.upperBound..<close.lowerBound])
        let pipeline = try Pipeline.parse(yaml: yaml, file: "shiplog.yml")
        #expect(pipeline.environment == "staging")
        #expect(pipeline.health.checks.map(\.name) == ["api_gateway", "auth_service", "database"])
        #expect(pipeline.rollback != nil)
    }
}

@Suite("Pipeline file errors")
struct PipelineErrorTests {
    @Test func wrongTypeIsReportedAtTheValue() throws {
        let error = try parseError(workflowExample(replacingLine: 13, with: "  retries: five"))
        #expect(error.line == 13)
        #expect(error.column == 12)
        #expect(error.path == "health.retries")
        #expect(error.description == "shiplog.yml:13:12: health.retries: expected a whole number ≥ 1, found \"five\"")
    }

    @Test func listWhereMappingExpectedIsReported() throws {
        let error = try parseError(workflowExample(replacingLine: 8, with: "build:    [npm ci]"))
        #expect((error.line, error.column) == (8, 11))
        #expect(error.path == "build")
        #expect(error.message.hasPrefix("expected a command step"))
        #expect(error.message.hasSuffix("found a list"))
    }

    @Test func unknownKeyListsTheAllowedKeys() throws {
        let error = try parseError(workflowExample(replacingLine: 13, with: "  retires: 5"))
        #expect((error.line, error.column) == (13, 3))
        #expect(error.path == "health.retires")
        #expect(error.message.contains("unknown key \"retires\""))
        #expect(error.message.contains("did you mean \"retries\"?"))
        #expect(error.message.contains("stabilize, retries, interval, timeout, total_timeout, ca_file, checks, smoke"))
    }

    @Test func unknownTopLevelKeyIsReported() throws {
        let error = try parseError(minimal + "rolback: { run: ./rollback.sh }\n")
        #expect((error.line, error.column) == (4, 1))
        #expect(error.message.contains("did you mean \"rollback\"?"))
    }

    @Test func missingDeployIsReportedAtTheMappingThatLacksIt() throws {
        let error = try parseError(workflowExample(replacingLine: 10))
        #expect((error.line, error.column) == (1, 1))
        #expect(error.path == "")
        #expect(error.description == "shiplog.yml:1:1: missing required key \"deploy\"")
    }

    @Test func missingRunIsReportedAtItsStep() throws {
        let error = try parseError(workflowExample(replacingLine: 9, with: "image:    { timeout: 5m }"))
        #expect((error.line, error.column) == (9, 11))
        #expect(error.path == "image")
        #expect(error.message == "missing required key \"run\"")
    }

    @Test func duplicateCheckNameIsReportedAtTheSecondName() throws {
        let error = try parseError(
            workflowExample(
                replacingLine: 20, with: "    - { name: api_gateway, url: https://staging.example.com/auth/health }"))
        #expect((error.line, error.column) == (20, 15))
        #expect(error.path == "health.checks[1].name")
        #expect(error.message == "duplicate check name \"api_gateway\" (first at 19:15)")
    }

    @Test func badCheckNameIsReported() throws {
        let error = try parseError(
            workflowExample(
                replacingLine: 21, with: "    - { name: Database, run: ./scripts/db-ping.sh }"))
        #expect((error.line, error.column) == (21, 15))
        #expect(error.path == "health.checks[2].name")
        #expect(error.message.contains("lowercase letters, digits and '_'"))
    }

    @Test func badDurationIsReported() throws {
        let error = try parseError(workflowExample(replacingLine: 14, with: "  interval: ten seconds"))
        #expect((error.line, error.column) == (14, 13))
        #expect(error.path == "health.interval")
        #expect(error.message.contains("expected a duration such as 30s, 5m, 1h or 500ms, or a number of seconds"))
        #expect(error.message.hasSuffix("found \"ten seconds\""))
    }

    @Test func zeroRequestTimeoutIsRefused() throws {
        let error = try parseError(workflowExample(replacingLine: 15, with: "  timeout: 0s"))
        #expect((error.line, error.column) == (15, 12))
        #expect(error.message.contains("greater than zero"))
    }

    @Test func badServiceNameIsReported() throws {
        let error = try parseError(
            workflowExample(
                replacingLine: 2, with: "services: [api-gateway, \"auth service\", education-service]"))
        #expect((error.line, error.column) == (2, 25))
        #expect(error.path == "services[1]")
        #expect(error.message == "expected a service name, a name made of letters, digits, '.', '_' and '-', found \"auth service\"")
    }

    @Test func duplicateServiceIsReported() throws {
        let error = try parseError(workflowExample(replacingLine: 2, with: "services: [api, web, api]"))
        #expect((error.line, error.column) == (2, 22))
        #expect(error.message == "duplicate service \"api\" (first at 2:12)")
    }

    @Test func yamlSyntaxErrorHasAPosition() throws {
        let error = try parseError(workflowExample(replacingLine: 12, with: "  stabilize: 30s: extra"))
        #expect((error.line, error.column) == (12, 17))
        #expect(error.message.hasPrefix("invalid YAML: mapping values are not allowed"))
        #expect(error.description.hasPrefix("shiplog.yml:12:17: invalid YAML"))
    }

    @Test func unclosedFlowMappingHasAPosition() throws {
        let error = try parseError(workflowExample(replacingLine: 8, with: "build:    { run: npm ci && npm run build"))
        #expect(error.line == 9)
        #expect(error.message.contains("while parsing a flow mapping at 8:11"))
    }

    @Test func repeatedKeyIsReported() throws {
        let error = try parseError(workflowExample(replacingLine: 13, with: "  retries: 5", "  retries: 3"))
        #expect((error.line, error.column) == (13, 3))
        #expect(error.message.contains("\"retries\" appears more than once"))
    }

    @Test func checkWithBothUrlAndRunIsRefused() throws {
        let error = try parseError(
            workflowExample(
                replacingLine: 20, with: "    - { name: auth_service, url: https://staging.example.com/auth/health, run: ./x.sh }"))
        #expect((error.line, error.column) == (20, 75))
        #expect(error.path == "health.checks[1]")
        #expect(error.message.contains("not both"))
    }

    @Test func httpCheckRefusesCommandKeys() throws {
        let error = try parseError(
            workflowExample(
                replacingLine: 20, with: "    - { name: auth_service, url: https://staging.example.com/auth/health, timeout: 5s }"))
        #expect(error.path == "health.checks[1].timeout")
        #expect(error.message.contains("Allowed keys for an HTTP check: name, url, expect_status, critical"))
    }

    @Test func secretCannotBeSetInAStepsEnvironment() throws {
        let error = try parseError(
            workflowExample(
                replacingLine: 8, with: "build:    { run: make, env: { DOCKER_PASSWORD: hunter22 } }"))
        #expect((error.line, error.column) == (8, 31))
        #expect(error.path == "build.env.DOCKER_PASSWORD")
        #expect(error.message.contains("is a secret"))
    }

    @Test func runnerVariablesCannotBeSetInAStepsEnvironment() throws {
        let error = try parseError(minimal + "build: { run: make, env: { SHIPLOG_VERSION: v2 } }\n")
        #expect(error.path == "build.env.SHIPLOG_VERSION")
        #expect(error.message.contains("set by the runner"))
    }

    @Test func badInterruptPolicyIsReported() throws {
        let error = try parseError(
            workflowExample(
                replacingLine: 7, with: "migrate:  { run: npx prisma migrate deploy, on_interrupt: retry }"))
        #expect((error.line, error.column) == (7, 59))
        #expect(error.description.hasSuffix("migrate.on_interrupt: expected rerun or fail, found \"retry\""))
    }

    @Test func emptyFileIsReported() throws {
        let error = try parseError("# nothing yet\n")
        #expect((error.line, error.column) == (1, 1))
        #expect(error.message.contains("the file is empty"))
    }

    @Test func missingFileIsReported() throws {
        let error = try #require(throws: PipelineError.self) {
            try Pipeline.load(path: "/nonexistent/shiplog.yml")
        }
        #expect(error.description == "/nonexistent/shiplog.yml: no such file")
    }

    @Test func webhookUrlInsteadOfVariableNameIsRefused() throws {
        let error = try parseError(minimal + "notify: { slack_webhook_env: \"https://hooks.slack.com/services/T0/B0/x\" }\n")
        #expect((error.line, error.column) == (4, 30))
        #expect(error.message.contains("not the URL itself"))
    }
}

@Suite("Pipeline environment overrides")
struct PipelineEnvironmentTests {
    @Test func workflowVariablesOverrideTheFile() throws {
        let pipeline = try Pipeline.parse(yaml: workflowExample, file: "shiplog.yml")
        let running = try pipeline.applyingEnvironment([
            "HEALTH_CHECK_TIMEOUT": "120",
            "HEALTH_CHECK_RETRIES": "3",
            "HEALTH_CHECK_INTERVAL": "2",
            "DEPLOYMENT_LOG_DIR": "/var/log/shiplog",
            "SHIPLOG_HEALTH_STABILIZE": "1",
            "SHIPLOG_HEALTH_REQUEST_TIMEOUT": "500ms",
        ])
        #expect(running.health.totalTimeout == .seconds(120))
        #expect(running.health.retries == 3)
        #expect(running.health.interval == .seconds(2))
        #expect(running.artifacts.dir == "/var/log/shiplog")
        #expect(running.health.stabilize == .seconds(1))
        #expect(running.health.timeout == .milliseconds(500))
        #expect(running.health.checks == pipeline.health.checks)
        #expect(pipeline.health.retries == 5, "the original is unchanged")
    }

    @Test func unsetOrEmptyVariablesLeaveTheFile() throws {
        let pipeline = try Pipeline.parse(yaml: workflowExample, file: "shiplog.yml")
        let running = try pipeline.applyingEnvironment(["HEALTH_CHECK_RETRIES": "", "PATH": "/usr/bin"])
        #expect(running == pipeline)
    }

    @Test(arguments: [
        ("HEALTH_CHECK_RETRIES", "abc"), ("HEALTH_CHECK_RETRIES", "0"), ("HEALTH_CHECK_RETRIES", "2.5"),
        ("HEALTH_CHECK_TIMEOUT", "five minutes"), ("HEALTH_CHECK_TIMEOUT", "0"),
        ("HEALTH_CHECK_INTERVAL", "-1"), ("SHIPLOG_HEALTH_STABILIZE", "soon"),
        ("SHIPLOG_HEALTH_REQUEST_TIMEOUT", "0s"),
    ])
    func badValuesAreRefusedNamingTheVariable(variable: String, value: String) throws {
        let pipeline = try Pipeline.parse(yaml: workflowExample, file: "shiplog.yml")
        let error = try #require(throws: PipelineError.self) {
            try pipeline.applyingEnvironment([variable: value])
        }
        #expect(error.path == variable)
        #expect(error.line == nil)
        #expect(error.description.hasPrefix("environment: \(variable): expected "))
        #expect(error.message.contains("found \"\(value)\""))
    }

    @Test func retriesErrorSaysWhatIsExpected() throws {
        let pipeline = try Pipeline.parse(yaml: workflowExample, file: "shiplog.yml")
        let error = try #require(throws: PipelineError.self) {
            try pipeline.applyingEnvironment(["HEALTH_CHECK_RETRIES": "abc"])
        }
        #expect(error.description == "environment: HEALTH_CHECK_RETRIES: expected a whole number ≥ 1 (such as 5), found \"abc\" (it overrides health.retries)")
    }

    @Test func urlVariablesAreExpanded() throws {
        let pipeline = try Pipeline.parse(
            yaml: minimal + """
                health:
                  checks:
                    - { name: api, url: "http://${STAGING_HOST_NAME}:${STAGING_PORT}/api/health?x=$y", expect_status: 204 }
                """, file: "shiplog.yml")
        #expect(pipeline.referencedVariables == ["STAGING_HOST_NAME", "STAGING_PORT"])
        let running = try pipeline.applyingEnvironment(["STAGING_HOST_NAME": "127.0.0.1", "STAGING_PORT": "8080"])
        #expect(running.health.checks[0].kind == .http(url: "http://127.0.0.1:8080/api/health?x=$y", expectStatus: 204))
    }

    @Test func unsetUrlVariableIsNamedAtItsPosition() throws {
        let pipeline = try Pipeline.parse(
            yaml: minimal + """
                health:
                  checks:
                    - { name: api, url: "http://127.0.0.1:${STAGING_PORT}/api/health" }
                """, file: "shiplog.yml")
        let error = try #require(throws: PipelineError.self) {
            try pipeline.applyingEnvironment(["STAGING_PORT": ""])
        }
        #expect((error.line, error.column) == (6, 25))
        #expect(error.description == "shiplog.yml:6:25: health.checks[0].url: ${STAGING_PORT} is not set in the environment")
    }

    @Test func malformedUrlVariableIsRefusedWhenParsed() throws {
        let error = try parseError(
            minimal + """
                health:
                  checks:
                    - { name: api, url: "http://127.0.0.1:${STAGING PORT}/health" }
                """)
        #expect((error.line, error.column) == (6, 25))
        #expect(error.message.contains("does not name an environment variable"))
    }
}

@Suite("Pipeline redactor")
struct PipelineRedactorTests {
    @Test func secretValuesAreReplacedByTheirNames() {
        let redactor = Redactor(
            secretNames: ["DOCKER_PASSWORD", "STAGING_USER"],
            environment: [
                "DOCKER_PASSWORD": "dckr_pat_123", "STAGING_USER": "deploy",
                "PATH": "/usr/bin",
            ])
        #expect(
            redactor.redact("login deploy with dckr_pat_123; again dckr_pat_123 /usr/bin")
                == "login [redacted:STAGING_USER] with [redacted:DOCKER_PASSWORD]; again [redacted:DOCKER_PASSWORD] /usr/bin")
    }

    @Test func longestValueIsReplacedFirst() {
        let redactor = Redactor(
            secretNames: ["STAGING_HOST", "STAGING_DATABASE_URL"],
            environment: [
                "STAGING_HOST": "staging.example.com",
                "STAGING_DATABASE_URL": "postgresql://app:pw@staging.example.com:5432/db",
            ])
        #expect(
            redactor.redact("url=postgresql://app:pw@staging.example.com:5432/db host=staging.example.com")
                == "url=[redacted:STAGING_DATABASE_URL] host=[redacted:STAGING_HOST]")
        #expect(redactor.redactedNames == ["STAGING_DATABASE_URL", "STAGING_HOST"])
    }

    @Test func shortValuesAreIgnored() {
        let redactor = Redactor(
            secretNames: ["SHORT", "EMPTY", "SPACES", "LONG"],
            environment: ["SHORT": "abc", "EMPTY": "", "SPACES": "      ", "LONG": "abcd"])
        #expect(redactor.redact("abc ab abcd        x") == "abc ab [redacted:LONG]        x")
        #expect(redactor.redactedNames == ["LONG"])
    }

    @Test func bytesAreRedactedWithoutDecoding() {
        let redactor = Redactor(secretNames: ["KEY"], environment: ["KEY": "s3cr3t-é"])
        let input: [UInt8] = [0xff, 0x00] + Array("s3cr3t-é".utf8) + [0xfe] + Array("s3cr3t-".utf8)
        let expected: [UInt8] = [0xff, 0x00] + Array("[redacted:KEY]".utf8) + [0xfe] + Array("s3cr3t-".utf8)
        #expect(redactor.redact(input) == expected)
    }

    @Test func notifyWebhookIsRedactedEvenWhenNotListed() throws {
        let pipeline = try Pipeline.parse(
            yaml: minimal + "secrets: [API_TOKEN]\nnotify: { slack_webhook_env: TEAM_HOOK }\n",
            file: "shiplog.yml")
        #expect(pipeline.secretNames == ["API_TOKEN", "TEAM_HOOK"])
        let redactor = Redactor(
            environment: ["TEAM_HOOK": "https://hooks.slack.com/services/T0/B0/x", "API_TOKEN": "tok-1234"],
            pipeline: pipeline)
        #expect(
            redactor.redact("posting to https://hooks.slack.com/services/T0/B0/x with tok-1234")
                == "posting to [redacted:TEAM_HOOK] with [redacted:API_TOKEN]")
        #expect(pipeline.missingSecrets(in: [:]) == ["API_TOKEN"])
    }

    @Test func multiLineSecretIsRedactedWholeAndLineByLine() {
        let key = "-----BEGIN KEY-----\nMIIEvQIBADANBgkq\nhkiG9w0BAQEFAASC\n-----END KEY-----"
        let redactor = Redactor(secretNames: ["STAGING_KEY"], environment: ["STAGING_KEY": key])
        #expect(redactor.redact("key:\n\(key)\ndone") == "key:\n[redacted:STAGING_KEY]\ndone")
        #expect(redactor.redact("line 2 is hkiG9w0BAQEFAASC") == "line 2 is [redacted:STAGING_KEY]")
        #expect(redactor.redactedNames == ["STAGING_KEY"])
    }

    @Test func secretSplitAcrossChunksIsRedacted() {
        let redactor = Redactor(secretNames: ["A", "B"], environment: ["A": "hunter2hunter2", "B": "hunter"])
        let text = Array("x hunter2hunter2 y hunter z hunter2hunt".utf8)
        let whole = redactor.redact(text)
        #expect(
            String(decoding: whole, as: UTF8.self)
                == "x [redacted:A] y [redacted:B] z [redacted:B]2hunt")
        for split in 0...text.count {
            var stream = redactor.stream()
            let output = stream.feed(Array(text[..<split])) + stream.feed(Array(text[split...])) + stream.finish()
            #expect(output == whole, "split at \(split)")
        }
        var stream = redactor.stream()
        let bytewise = text.flatMap { stream.feed([$0]) } + stream.finish()
        #expect(bytewise == whole)
    }
}

@Suite("Pipeline warnings")
struct PipelineValidationTests {
    @Test func missingRollbackAndChecksAreWarned() throws {
        let warnings = try Pipeline.parse(yaml: minimal, file: "shiplog.yml").validate()
        #expect(warnings.contains("no rollback step: a failed health check will leave the deployment failed"))
        #expect(warnings.contains { $0.hasPrefix("no health checks") })
        #expect(warnings.contains { $0.hasPrefix("no preflight checks") })
    }

    @Test func totalTimeoutTooShortForTheRetriesIsWarned() throws {
        let pipeline = try Pipeline.parse(
            yaml: workflowExample(replacingLine: 16, with: "  total_timeout: 60s"),
            file: "shiplog.yml")
        #expect(
            pipeline.validate() == [
                "health: total_timeout 1m ends before all 5 attempts can run (up to 90s with timeout 10s and interval 10s)"
            ])
    }
}
