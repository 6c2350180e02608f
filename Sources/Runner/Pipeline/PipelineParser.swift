import Foundation
import Yams

/// Yams' node, named so that it cannot be confused with any other `Node`.
typealias YAMLNode = Yams.Node

/// Turns the node tree of a `shiplog.yml` into a ``Pipeline``, positioning every error at the
/// node it is about.
struct PipelineParser {
    static let topLevelKeys = [
        "environment", "services", "secrets", "preflight", "migrate", "build",
        "image", "deploy", "health", "rollback", "notify", "artifacts", "ledger",
    ]
    static let stepKeys = ["run", "timeout", "on_interrupt", "env", "workdir"]
    static let healthKeys = [
        "stabilize", "retries", "interval", "timeout", "total_timeout",
        "ca_file", "checks", "smoke",
    ]
    static let httpCheckKeys = ["name", "url", "expect_status", "critical"]
    static let commandCheckKeys = ["name"] + stepKeys + ["critical"]
    static let notifyKeys = ["slack_webhook_env", "timeout"]
    static let artifactsKeys = ["dir", "retention"]

    /// The variables the runner gives every step; a step's `env` cannot set them.
    static let reservedVariables: Set<String> = [
        "SHIPLOG_DEPLOYMENT_ID", "SHIPLOG_ENVIRONMENT", "SHIPLOG_VERSION", "SHIPLOG_ATTEMPT",
        "SHIPLOG_ROLLBACK_VERSION", "DEPLOYMENT_LOG_DIR",
    ]

    /// The key the deployment record uses for the smoke tests' result, so no check may take it.
    static let smokeResultName = "smoke_tests"

    let file: String
    private var positions: [String: PipelineOrigin.Position] = [:]
    private var declaredSecrets: Set<String> = []

    init(file: String) {
        self.file = file
    }

    mutating func parse(yaml: String) throws(PipelineError) -> Pipeline {
        let root: YAMLNode?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw syntaxError(error, yaml: yaml)
        } catch {
            throw PipelineError(file: file, line: 1, column: 1, message: "invalid YAML: \(error)")
        }
        guard let root, !isNull(root) else {
            throw PipelineError(
                file: file, line: 1, column: 1,
                message: "the file is empty; expected a mapping with at least environment, services and deploy")
        }
        var pipeline = try pipeline(root)
        var directory = (file as NSString).deletingLastPathComponent
        if directory.isEmpty { directory = "." }
        pipeline.origin = PipelineOrigin(file: file, baseDirectory: directory, positions: positions)
        return pipeline
    }

    /// Only the top-level `ledger:` of a document, nil when absent.
    mutating func ledgerKey(yaml: String) throws(PipelineError) -> String? {
        let root: YAMLNode?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw syntaxError(error, yaml: yaml)
        } catch {
            throw PipelineError(file: file, line: 1, column: 1, message: "invalid YAML: \(error)")
        }
        guard let root, case let .mapping(mapping) = root, let node = mapping["ledger"] else { return nil }
        return try nonEmptyString(node, path: "ledger", expected: "the ledger: a path relative to this file, or a postgres:// URL")
    }

    // MARK: The document

    private mutating func pipeline(_ root: YAMLNode) throws(PipelineError) -> Pipeline {
        let top = try fields(
            root, path: "", allowed: Self.topLevelKeys,
            expected: "a mapping of pipeline sections (environment, services, deploy, ...)",
            keyOwner: "the top level")
        let environmentNode = try top.required("environment", parser: self)
        let environment = try nonEmptyString(environmentNode, path: "environment", expected: "an environment name")
        guard PipelineSyntax.isServiceName(environment) else {
            throw mismatch(
                environmentNode, path: "environment",
                expected: "an environment name made of letters, digits, '.', '_' and '-'")
        }

        let services = try names(
            try top.required("services", parser: self), path: "services",
            what: "service", isValid: PipelineSyntax.isServiceName,
            form: PipelineSyntax.serviceNameForm)
        if services.isEmpty, let node = top["services"] {
            throw error(node, path: "services", "expected at least one service")
        }

        var secrets: [String] = []
        if let node = top["secrets"] {
            secrets = try names(
                node, path: "secrets", what: "secret", isValid: PipelineSyntax.isVariableName,
                form: PipelineSyntax.variableNameForm)
        }
        declaredSecrets = Set(secrets)

        var preflight: [PreflightCheck] = []
        if let node = top["preflight"] {
            preflight = try preflightChecks(node, path: "preflight")
        }

        // The phases in the order they run, which is the order they are usually written in.
        let migrate = try optionalStep(top, "migrate")
        let build = try optionalStep(top, "build")
        let image = try optionalStep(top, "image")
        let deploy = try step(try top.required("deploy", parser: self), path: "deploy", optional: false)
        var pipeline = Pipeline(
            environment: environment, services: services, secrets: secrets,
            preflight: preflight, migrate: migrate, build: build, image: image, deploy: deploy)
        if let node = top["health"], !isNull(node) {
            pipeline.health = try health(node, path: "health")
        }
        pipeline.rollback = try optionalStep(top, "rollback")
        if let node = top["notify"], !isNull(node) {
            pipeline.notify = try notify(node, path: "notify")
        }
        if let node = top["artifacts"], !isNull(node) {
            pipeline.artifacts = try artifacts(node, path: "artifacts")
        }
        if let node = top["ledger"] {
            pipeline.ledger = try nonEmptyString(node, path: "ledger", expected: "the ledger: a path relative to this file, or a postgres:// URL")
        }
        return pipeline
    }

    private func preflightChecks(_ node: YAMLNode, path: String) throws(PipelineError) -> [PreflightCheck] {
        var checks: [PreflightCheck] = []
        var seen: [String: YAMLNode] = [:]
        for (index, item) in try list(node, path: path, expected: "a list of checks, each with name and run")
            .enumerated()
        {
            let itemPath = "\(path)[\(index)]"
            let (step, fields) = try commandStep(
                item, path: itemPath, extraKeys: ["name"],
                expected: "a check (a mapping with name and run)",
                keyOwner: "a preflight check")
            let nameNode = try fields.required("name", parser: self)
            let name = try nonEmptyString(nameNode, path: itemPath + ".name", expected: "a check name")
            guard PipelineSyntax.isServiceName(name) else {
                throw mismatch(nameNode, path: itemPath + ".name", expected: PipelineSyntax.serviceNameForm)
            }
            if let first = seen[name] {
                throw error(
                    nameNode, path: itemPath + ".name",
                    "duplicate preflight check \"\(name)\" (first at \(position(first)))")
            }
            seen[name] = nameNode
            checks.append(PreflightCheck(name: name, step: step))
        }
        return checks
    }

    // MARK: Steps

    private func optionalStep(_ fields: Fields, _ key: String) throws(PipelineError) -> CommandStep? {
        guard let node = fields[key] else { return nil }
        return try step(node, path: key)
    }

    /// A command step: `run`, `timeout`, `on_interrupt`, `env`, `workdir`.
    private func step(_ node: YAMLNode, path: String, optional: Bool = true) throws(PipelineError) -> CommandStep {
        let expected = "a command step (a mapping with run)"
        if isNull(node) {
            throw error(
                node, path: path,
                "expected \(expected), found nothing"
                    + (optional ? "; remove the key to skip this phase" : ""))
        }
        if case let .scalar(scalar) = node {
            throw error(
                node, path: path,
                "expected \(expected), found \(describe(node)); write it as { run: \(scalar.string) }")
        }
        return try commandStep(node, path: path, extraKeys: [], expected: expected, keyOwner: "a command step").step
    }

    private func commandStep(
        _ node: YAMLNode, path: String, extraKeys: [String], expected: String,
        keyOwner: String
    ) throws(PipelineError) -> (step: CommandStep, fields: Fields) {
        let fields = try fields(
            node, path: path, allowed: Self.stepKeys + extraKeys,
            expected: expected, keyOwner: keyOwner)
        let run = try nonEmptyString(
            try fields.required("run", parser: self), path: path + ".run",
            expected: "a command to run")
        var step = CommandStep(run: run)
        if let timeout = fields["timeout"] {
            step.timeout = try duration(timeout, path: path + ".timeout", allowZero: false)
        }
        if let policy = fields["on_interrupt"] {
            let text = try nonEmptyString(policy, path: path + ".on_interrupt", expected: "rerun or fail")
            guard let value = InterruptPolicy(rawValue: text) else {
                throw mismatch(policy, path: path + ".on_interrupt", expected: "rerun or fail")
            }
            step.onInterrupt = value
        }
        if let env = fields["env"], !isNull(env) {
            step.env = try environmentMap(env, path: path + ".env")
        }
        if let workdir = fields["workdir"] {
            step.workdir = try nonEmptyString(workdir, path: path + ".workdir", expected: "a directory")
        }
        return (step, fields)
    }

    private func environmentMap(_ node: YAMLNode, path: String) throws(PipelineError) -> [String: String] {
        guard case let .mapping(mapping) = node else {
            throw mismatch(node, path: path, expected: "a mapping of variable names to values")
        }
        var values: [String: String] = [:]
        for (keyNode, valueNode) in mapping {
            guard case let .scalar(key) = keyNode, PipelineSyntax.isVariableName(key.string) else {
                throw mismatch(keyNode, path: path, expected: PipelineSyntax.variableNameForm)
            }
            let name = key.string
            let valuePath = path + "." + name
            if Self.reservedVariables.contains(name) || name.hasPrefix("SHIPLOG_") {
                throw error(
                    keyNode, path: valuePath,
                    "\(name) is set by the runner for every step and cannot be set here")
            }
            if declaredSecrets.contains(name) {
                throw error(
                    keyNode, path: valuePath,
                    "\(name) is a secret: it comes from the runner's environment, never from the file")
            }
            guard case let .scalar(value) = valueNode, !isNull(valueNode) else {
                throw mismatch(valueNode, path: valuePath, expected: "a value (text or a number)")
            }
            values[name] = value.string
        }
        return values
    }

    // MARK: Health

    private mutating func health(_ node: YAMLNode, path: String) throws(PipelineError) -> HealthConfig {
        let fields = try fields(
            node, path: path, allowed: Self.healthKeys,
            expected: "a mapping of health settings", keyOwner: "health")
        var health = HealthConfig()
        if let node = fields["stabilize"] {
            health.stabilize = try duration(node, path: path + ".stabilize", allowZero: true)
        }
        if let node = fields["retries"] {
            health.retries = try wholeNumber(
                node, path: path + ".retries", in: 1...1_000_000,
                expected: "a whole number ≥ 1")
        }
        if let node = fields["interval"] {
            health.interval = try duration(node, path: path + ".interval", allowZero: true)
        }
        if let node = fields["timeout"] {
            health.timeout = try duration(node, path: path + ".timeout", allowZero: false)
        }
        if let node = fields["total_timeout"] {
            health.totalTimeout = try duration(node, path: path + ".total_timeout", allowZero: false)
        }
        if let node = fields["ca_file"] {
            health.caFile = try nonEmptyString(node, path: path + ".ca_file", expected: "the path of a PEM file")
        }
        if let node = fields["checks"] {
            health.checks = try checks(node, path: path + ".checks")
        }
        if let node = fields["smoke"] {
            health.smoke = try step(node, path: path + ".smoke")
        }
        return health
    }

    private mutating func checks(_ node: YAMLNode, path: String) throws(PipelineError) -> [HealthCheck] {
        var checks: [HealthCheck] = []
        var seen: [String: YAMLNode] = [:]
        let expected = "a check (a mapping with name and either url or run)"
        for (index, item) in try list(node, path: path, expected: "a list of checks").enumerated() {
            let itemPath = "\(path)[\(index)]"
            guard case let .mapping(mapping) = item else { throw mismatch(item, path: itemPath, expected: expected) }
            let urlKey = mapping.first { $0.key.string == "url" }?.key
            let runKey = mapping.first { $0.key.string == "run" }?.key
            let fields: Fields
            let kind: HealthCheck.Kind
            switch (urlKey, runKey) {
            case (_?, let run?):
                throw error(
                    run, path: itemPath,
                    "a check has either url (an HTTP check) or run (a command check), not both")
            case (nil, nil):
                throw error(
                    item, path: itemPath,
                    "missing url (for an HTTP check) or run (for a command check)")
            case (_?, nil):
                fields = try self.fields(
                    item, path: itemPath, allowed: Self.httpCheckKeys,
                    expected: expected, keyOwner: "an HTTP check")
                let urlNode = try fields.required("url", parser: self)
                let urlPath = itemPath + ".url"
                let url = try nonEmptyString(urlNode, path: urlPath, expected: "an http:// or https:// URL")
                if case let .failure(problem) = PipelineSyntax.pieces(of: url) {
                    throw error(urlNode, path: urlPath, problem.message)
                }
                if let problem = PipelineSyntax.urlProblem(url) {
                    throw error(urlNode, path: urlPath, problem)
                }
                if let mark = urlNode.mark {
                    positions[urlPath] = .init(line: mark.line, column: mark.column)
                }
                var status = HealthCheck.defaultExpectStatus
                if let node = fields["expect_status"] {
                    status = try wholeNumber(
                        node, path: itemPath + ".expect_status", in: 100...599,
                        expected: "an HTTP status code (100 to 599)")
                }
                kind = .http(url: url, expectStatus: status)
            case (nil, _?):
                let parsed = try commandStep(
                    item, path: itemPath, extraKeys: ["name", "critical"],
                    expected: expected, keyOwner: "a command check")
                fields = parsed.fields
                kind = .command(parsed.step)
            }
            let nameNode = try fields.required("name", parser: self)
            let namePath = itemPath + ".name"
            let name = try nonEmptyString(nameNode, path: namePath, expected: "a check name")
            guard PipelineSyntax.isCheckName(name) else {
                throw mismatch(nameNode, path: namePath, expected: PipelineSyntax.checkNameForm)
            }
            if name == Self.smokeResultName {
                throw error(
                    nameNode, path: namePath,
                    "\"\(name)\" is reserved for the smoke tests' result; choose another name")
            }
            if let first = seen[name] {
                throw error(
                    nameNode, path: namePath,
                    "duplicate check name \"\(name)\" (first at \(position(first)))")
            }
            seen[name] = nameNode
            var critical = true
            if let node = fields["critical"] {
                critical = try boolean(node, path: itemPath + ".critical")
            }
            checks.append(HealthCheck(name: name, kind: kind, critical: critical))
        }
        return checks
    }

    // MARK: Notify and artifacts

    private func notify(_ node: YAMLNode, path: String) throws(PipelineError) -> NotifyConfig {
        let fields = try fields(
            node, path: path, allowed: Self.notifyKeys,
            expected: "a mapping with slack_webhook_env", keyOwner: "notify")
        let variableNode = try fields.required("slack_webhook_env", parser: self)
        let variable = try nonEmptyString(
            variableNode, path: path + ".slack_webhook_env",
            expected: "the name of the environment variable holding the webhook URL")
        guard PipelineSyntax.isVariableName(variable) else {
            if variable.contains("://") {
                throw error(
                    variableNode, path: path + ".slack_webhook_env",
                    "expected the name of the environment variable holding the webhook URL, not the URL itself (it is a secret)")
            }
            throw mismatch(variableNode, path: path + ".slack_webhook_env", expected: PipelineSyntax.variableNameForm)
        }
        var config = NotifyConfig(slackWebhookEnv: variable)
        if let node = fields["timeout"] {
            config.timeout = try duration(node, path: path + ".timeout", allowZero: false)
        }
        return config
    }

    private func artifacts(_ node: YAMLNode, path: String) throws(PipelineError) -> ArtifactsConfig {
        let fields = try fields(
            node, path: path, allowed: Self.artifactsKeys,
            expected: "a mapping with dir and retention", keyOwner: "artifacts")
        var artifacts = ArtifactsConfig()
        if let node = fields["dir"] {
            artifacts.dir = try nonEmptyString(node, path: path + ".dir", expected: "a directory")
        }
        if let node = fields["retention"] {
            let text = try nonEmptyString(node, path: path + ".retention", expected: PipelineSyntax.retentionForm)
            guard let days = PipelineSyntax.parseRetentionDays(text) else {
                throw mismatch(node, path: path + ".retention", expected: PipelineSyntax.retentionForm)
            }
            artifacts.retentionDays = days
        }
        return artifacts
    }

    // MARK: Mappings

    /// The entries of a mapping whose keys have all been checked against `allowed`.
    struct Fields {
        let node: YAMLNode
        let path: String
        let values: [String: YAMLNode]

        /// The value of `key`, if the key is present.
        subscript(key: String) -> YAMLNode? { values[key] }

        /// The value of `key`, which must be present.
        func required(_ key: String, parser: PipelineParser) throws(PipelineError) -> YAMLNode {
            guard let value = values[key] else {
                throw parser.error(node, path: path, "missing required key \"\(key)\"")
            }
            return value
        }
    }

    private func fields(
        _ node: YAMLNode, path: String, allowed: [String], expected: String,
        keyOwner: String
    ) throws(PipelineError) -> Fields {
        guard case let .mapping(mapping) = node else { throw mismatch(node, path: path, expected: expected) }
        var values: [String: YAMLNode] = [:]
        for (keyNode, value) in mapping {
            guard case let .scalar(scalar) = keyNode else {
                throw mismatch(keyNode, path: path, expected: "a key (one of \(allowed.joined(separator: ", ")))")
            }
            let key = scalar.string
            guard allowed.contains(key) else {
                var message = "unknown key \(PipelineSyntax.quoted(key))"
                if let guess = PipelineSyntax.suggestion(for: key, among: allowed) {
                    message += "; did you mean \"\(guess)\"?"
                }
                message += " Allowed keys for \(keyOwner): \(allowed.joined(separator: ", "))"
                throw error(keyNode, path: join(path, key), message)
            }
            values[key] = value
        }
        return Fields(node: node, path: path, values: values)
    }

    // MARK: Lists

    private func list(_ node: YAMLNode, path: String, expected: String) throws(PipelineError) -> [YAMLNode] {
        if isNull(node) { return [] }
        guard case let .sequence(sequence) = node else { throw mismatch(node, path: path, expected: expected) }
        return Array(sequence)
    }

    /// A list of unique names, each valid by `isValid`.
    private func names(
        _ node: YAMLNode, path: String, what: String, isValid: (String) -> Bool,
        form: String
    ) throws(PipelineError) -> [String] {
        var names: [String] = []
        var seen: [String: YAMLNode] = [:]
        for (index, item) in try list(node, path: path, expected: "a list of \(what) names").enumerated() {
            let itemPath = "\(path)[\(index)]"
            let name = try nonEmptyString(item, path: itemPath, expected: "a \(what) name, \(form)")
            guard isValid(name) else { throw mismatch(item, path: itemPath, expected: "a \(what) name, \(form)") }
            if let first = seen[name] {
                throw error(item, path: itemPath, "duplicate \(what) \"\(name)\" (first at \(position(first)))")
            }
            seen[name] = item
            names.append(name)
        }
        return names
    }

    // MARK: Scalars

    private func isNull(_ node: YAMLNode) -> Bool {
        guard case let .scalar(scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    private func nonEmptyString(_ node: YAMLNode, path: String, expected: String) throws(PipelineError) -> String {
        guard case let .scalar(scalar) = node, !isNull(node),
            !scalar.string.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        else {
            throw mismatch(node, path: path, expected: expected)
        }
        return scalar.string
    }

    private func wholeNumber(
        _ node: YAMLNode, path: String, in range: ClosedRange<Int>,
        expected: String
    ) throws(PipelineError) -> Int {
        guard case let .scalar(scalar) = node, let value = PipelineSyntax.parseWholeNumber(scalar.string),
            range.contains(value)
        else {
            throw mismatch(node, path: path, expected: expected)
        }
        return value
    }

    private func duration(_ node: YAMLNode, path: String, allowZero: Bool) throws(PipelineError) -> Duration {
        let expected =
            allowZero
            ? PipelineSyntax.durationForm
            : PipelineSyntax.durationForm + ", greater than zero"
        guard case let .scalar(scalar) = node, let value = PipelineSyntax.parseDuration(scalar.string),
            allowZero || value > .zero
        else {
            throw mismatch(node, path: path, expected: expected)
        }
        return value
    }

    private func boolean(_ node: YAMLNode, path: String) throws(PipelineError) -> Bool {
        if case let .scalar(scalar) = node {
            switch scalar.string.lowercased() {
            case "true": return true
            case "false": return false
            default: break
            }
        }
        throw mismatch(node, path: path, expected: "true or false")
    }

    // MARK: Errors

    func error(_ node: YAMLNode?, path: String, _ message: String) -> PipelineError {
        PipelineError(file: file, line: node?.mark?.line, column: node?.mark?.column, path: path, message: message)
    }

    private func mismatch(_ node: YAMLNode, path: String, expected: String) -> PipelineError {
        error(node, path: path, "expected \(expected), found \(describe(node))")
    }

    private func describe(_ node: YAMLNode) -> String {
        switch node {
        case .scalar(let scalar):
            if isNull(node) { return scalar.string.isEmpty ? "nothing" : "null" }
            return PipelineSyntax.quoted(scalar.string)
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    private func position(_ node: YAMLNode) -> String {
        guard let mark = node.mark else { return "an earlier line" }
        return "\(mark.line):\(mark.column)"
    }

    private func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : path + "." + key
    }

    /// The character at a 1-based line and column (counted in Unicode scalars, as libyaml does).
    private static func character(in text: String, line: Int, column: Int) -> Unicode.Scalar? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard line >= 1, line <= lines.count else { return nil }
        let scalars = Array(lines[line - 1].unicodeScalars)
        guard column >= 1, column <= scalars.count else { return nil }
        return scalars[column - 1]
    }

    private func syntaxError(_ error: YamlError, yaml: String) -> PipelineError {
        switch error {
        case let .scanner(context, problem, mark, _),
            let .parser(context, problem, mark, _),
            let .composer(context, problem, mark, _):
            var message = "invalid YAML: \(problem)"
            if problem == "but found another document" {
                message = "invalid YAML: a pipeline file holds one document, but another starts here"
            } else if let context {
                message += " (\(context.text) at \(context.mark.line):\(context.mark.column))"
            }
            if Self.character(in: yaml, line: mark.line, column: mark.column) == "\t" {
                message += "; indent with spaces, not tabs"
            }
            return PipelineError(file: file, line: mark.line, column: mark.column, message: message)
        case let .reader(problem, offset, _, _):
            var line: Int?
            var column: Int?
            if let offset {
                let prefix = yaml.prefix(offset)
                line = prefix.reduce(1) { $1 == "\n" ? $0 + 1 : $0 }
                column = prefix.count - (prefix.lastIndex(of: "\n").map { prefix.distance(from: prefix.startIndex, to: $0) + 1 } ?? 0) + 1
            }
            return PipelineError(file: file, line: line, column: column, message: "invalid YAML: \(problem)")
        case let .duplicatedKeysInMapping(duplicates, context):
            let keys = duplicates.map { "\"\($0)\"" }.joined(separator: ", ")
            return PipelineError(
                file: file, line: context.mark.line, column: context.mark.column,
                message: "the key \(keys) appears more than once in the same mapping")
        default:
            return PipelineError(file: file, line: 1, column: 1, message: "invalid YAML: \(error)")
        }
    }
}
