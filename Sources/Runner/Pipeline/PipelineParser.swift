import Foundation
import Ledger
import Yams

/// Yams' node, named so that it cannot be confused with any other `Node`.
typealias YAMLNode = Yams.Node

/// Turns the node tree of a `shiplog.yml` into a ``Pipeline``, positioning every error at the
/// node it is about.
struct PipelineParser {
    static let topLevelKeys = [
        "environment", "services", "secrets", "preflight", "migrate", "build",
        "image", "deploy", "health", "rollback", "notify", "artifacts", "approval", "ledger",
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
    static let approvalKeys = ["before", "required", "approvers", "timeout"]

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
    /// The mistakes found so far: the parser goes on after one, so a file's every mistake is
    /// reported at once, not one per run.
    private let problems = Problems()

    /// A reference, so the non-mutating checks can note what they find.
    final class Problems {
        var list: [PipelineError] = []
    }

    init(file: String) {
        self.file = file
    }

    /// Runs one independent check; its error is noted and nil returned, so the rest of the file
    /// is still checked.
    private func noting<T>(_ body: () throws(PipelineError) -> T) -> T? {
        do {
            return try body()
        } catch {
            problems.list.append(error)
            return nil
        }
    }

    /// As ``noting(_:)``, for a check of a mutating parser.
    private mutating func notingMutating<T>(_ body: (inout PipelineParser) throws(PipelineError) -> T) -> T? {
        do {
            return try body(&self)
        } catch {
            problems.list.append(error)
            return nil
        }
    }

    /// Every mistake noted, as one error: the first in the file, the others after it.
    private func throwProblems() throws(PipelineError) {
        guard !problems.list.isEmpty else { return }
        let sorted = problems.list.enumerated().sorted { a, b in
            (a.element.line ?? .max, a.element.column ?? .max, a.offset) < (b.element.line ?? .max, b.element.column ?? .max, b.offset)
        }.map(\.element)
        var first = sorted[0]
        first.more = Array(sorted.dropFirst())
        throw first
    }

    /// The document's root node, or the syntax error said with its line and column.
    private func compose(_ yaml: String) throws(PipelineError) -> YAMLNode? {
        do {
            return try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw syntaxError(error, yaml: yaml)
        } catch {
            throw PipelineError(file: file, line: 1, column: 1, message: "invalid YAML: \(error)")
        }
    }

    mutating func parse(yaml: String) throws(PipelineError) -> Pipeline {
        let root = try compose(yaml)
        guard let root, !isNull(root) else {
            throw PipelineError(
                file: file, line: 1, column: 1,
                message: "the file is empty; expected a mapping with at least environment, services and deploy")
        }
        var pipeline = try pipeline(root)
        try throwProblems()
        var directory = (file as NSString).deletingLastPathComponent
        if directory.isEmpty { directory = "." }
        pipeline.origin = PipelineOrigin(file: file, baseDirectory: directory, positions: positions)
        return pipeline
    }

    /// Only the top-level `ledger:` of a document, nil when absent.
    mutating func ledgerKey(yaml: String) throws(PipelineError) -> String? {
        let root = try compose(yaml)
        guard let root, case let .mapping(mapping) = root, let node = mapping["ledger"] else { return nil }
        return try nonEmptyString(node, path: "ledger", expected: "the ledger: a path relative to this file, or a postgres:// URL")
    }

    // MARK: The document

    private mutating func pipeline(_ root: YAMLNode) throws(PipelineError) -> Pipeline {
        let top = try fields(
            root, path: "", allowed: Self.topLevelKeys,
            expected: "a mapping of pipeline sections (environment, services, deploy, ...)",
            keyOwner: "the top level")
        let environment =
            noting { () throws(PipelineError) -> String in
                let environmentNode = try top.required("environment", parser: self)
                let environment = try nonEmptyString(environmentNode, path: "environment", expected: "an environment name")
                guard PipelineSyntax.isServiceName(environment) else {
                    throw mismatch(
                        environmentNode, path: "environment",
                        expected: "an environment name made of letters, digits, '.', '_' and '-'")
                }
                return environment
            } ?? ""

        let services =
            noting { () throws(PipelineError) -> [String] in
                let services = try names(
                    try top.required("services", parser: self), path: "services",
                    what: "service", isValid: PipelineSyntax.isServiceName,
                    form: PipelineSyntax.serviceNameForm)
                if services.isEmpty, let node = top["services"] {
                    throw error(node, path: "services", "expected at least one service")
                }
                return services
            } ?? []

        var secrets: [String] = []
        if let node = top["secrets"] {
            secrets =
                noting { () throws(PipelineError) -> [String] in
                    try names(
                        node, path: "secrets", what: "secret", isValid: PipelineSyntax.isVariableName,
                        form: PipelineSyntax.variableNameForm)
                } ?? []
        }
        declaredSecrets = Set(secrets)

        var preflight: [PreflightCheck] = []
        if let node = top["preflight"] {
            preflight = noting { () throws(PipelineError) -> [PreflightCheck] in try preflightChecks(node, path: "preflight") } ?? []
        }

        // The phases in the order they run, which is the order they are usually written in.
        let migrate = optionalStep(top, "migrate")
        let build = optionalStep(top, "build")
        let image = optionalStep(top, "image")
        let deploy =
            noting { () throws(PipelineError) -> CommandStep in
                try step(try top.required("deploy", parser: self), path: "deploy", optional: false)
            } ?? CommandStep(run: "")
        var pipeline = Pipeline(
            environment: environment, services: services, secrets: secrets,
            preflight: preflight, migrate: migrate, build: build, image: image, deploy: deploy)
        if let node = top["health"], !isNull(node) {
            pipeline.health =
                notingMutating { (parser: inout PipelineParser) throws(PipelineError) -> HealthConfig in
                    try parser.health(node, path: "health")
                } ?? HealthConfig()
        }
        pipeline.rollback = optionalStep(top, "rollback")
        if let node = top["notify"], !isNull(node) {
            pipeline.notify = noting { () throws(PipelineError) -> NotifyConfig in try notify(node, path: "notify") }
        }
        if let node = top["artifacts"], !isNull(node) {
            pipeline.artifacts = noting { () throws(PipelineError) -> ArtifactsConfig in try artifacts(node, path: "artifacts") } ?? ArtifactsConfig()
        }
        if let node = top["ledger"] {
            pipeline.ledger = noting { () throws(PipelineError) -> String in
                try nonEmptyString(node, path: "ledger", expected: "the ledger: a path relative to this file, or a postgres:// URL")
            }
        }
        if let node = top["approval"], !isNull(node) {
            pipeline.approval = noting { () throws(PipelineError) -> ApprovalConfig in try approval(node, path: "approval") }
        }
        return pipeline
    }

    private func preflightChecks(_ node: YAMLNode, path: String) throws(PipelineError) -> [PreflightCheck] {
        var checks: [PreflightCheck] = []
        var seen: [String: YAMLNode] = [:]
        for (index, item) in try list(node, path: path, expected: "a list of checks, each with name and run")
            .enumerated()
        {
            guard let check = noting({ () throws(PipelineError) -> PreflightCheck in try preflightCheck(item, index: index, path: path, seen: &seen) }) else { continue }
            checks.append(check)
        }
        return checks
    }

    private func preflightCheck(_ item: YAMLNode, index: Int, path: String, seen: inout [String: YAMLNode]) throws(PipelineError) -> PreflightCheck {
        do {
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
            return PreflightCheck(name: name, step: step)
        }
    }

    // MARK: Steps

    /// The step under `key`, nil when absent or wrong (the mistake is noted).
    private func optionalStep(_ fields: Fields, _ key: String) -> CommandStep? {
        guard let node = fields[key] else { return nil }
        return noting { () throws(PipelineError) -> CommandStep in try step(node, path: key) }
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
        // Each setting is checked on its own: a step with several mistakes reports them all.
        let run = noting { () throws(PipelineError) -> String in
            try nonEmptyString(
                try fields.required("run", parser: self), path: path + ".run",
                expected: "a command to run")
        }
        var step = CommandStep(run: run ?? "")
        if let timeout = fields["timeout"] {
            step.timeout = noting { () throws(PipelineError) -> Duration in try duration(timeout, path: path + ".timeout", allowZero: false) }
        }
        if let policy = fields["on_interrupt"] {
            step.onInterrupt =
                noting { () throws(PipelineError) -> InterruptPolicy in
                    let text = try nonEmptyString(policy, path: path + ".on_interrupt", expected: "rerun or fail")
                    guard let value = InterruptPolicy(rawValue: text) else {
                        throw mismatch(policy, path: path + ".on_interrupt", expected: "rerun or fail")
                    }
                    return value
                } ?? step.onInterrupt
        }
        if let env = fields["env"], !isNull(env) {
            step.env = noting { () throws(PipelineError) -> [String: String] in try environmentMap(env, path: path + ".env") } ?? [:]
        }
        if let workdir = fields["workdir"] {
            step.workdir = noting { () throws(PipelineError) -> String in try nonEmptyString(workdir, path: path + ".workdir", expected: "a directory") }
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
            health.stabilize = noting { () throws(PipelineError) -> Duration in try duration(node, path: path + ".stabilize", allowZero: true) } ?? health.stabilize
        }
        if let node = fields["retries"] {
            health.retries =
                noting { () throws(PipelineError) -> Int in
                    try wholeNumber(node, path: path + ".retries", in: 1...1_000_000, expected: "a whole number ≥ 1")
                } ?? health.retries
        }
        if let node = fields["interval"] {
            health.interval = noting { () throws(PipelineError) -> Duration in try duration(node, path: path + ".interval", allowZero: true) } ?? health.interval
        }
        if let node = fields["timeout"] {
            health.timeout = noting { () throws(PipelineError) -> Duration in try duration(node, path: path + ".timeout", allowZero: false) } ?? health.timeout
        }
        if let node = fields["total_timeout"] {
            health.totalTimeout =
                noting { () throws(PipelineError) -> Duration in try duration(node, path: path + ".total_timeout", allowZero: false) } ?? health.totalTimeout
        }
        if let node = fields["ca_file"] {
            health.caFile = noting { () throws(PipelineError) -> String in try nonEmptyString(node, path: path + ".ca_file", expected: "the path of a PEM file") }
        }
        if let node = fields["checks"] {
            health.checks = notingMutating { (parser: inout PipelineParser) throws(PipelineError) -> [HealthCheck] in try parser.checks(node, path: path + ".checks") } ?? []
        }
        if let node = fields["smoke"] {
            health.smoke = noting { () throws(PipelineError) -> CommandStep in try step(node, path: path + ".smoke") }
        }
        return health
    }

    private mutating func checks(_ node: YAMLNode, path: String) throws(PipelineError) -> [HealthCheck] {
        var checks: [HealthCheck] = []
        var seen: [String: YAMLNode] = [:]
        for (index, item) in try list(node, path: path, expected: "a list of checks").enumerated() {
            if let check = notingMutating({ (parser: inout PipelineParser) throws(PipelineError) -> HealthCheck in
                try parser.check(item, index: index, path: path, seen: &seen)
            }) {
                checks.append(check)
            }
        }
        return checks
    }

    private mutating func check(_ item: YAMLNode, index: Int, path: String, seen: inout [String: YAMLNode]) throws(PipelineError) -> HealthCheck {
        let expected = "a check (a mapping with name and either url or run)"
        do {
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
                critical = noting { () throws(PipelineError) -> Bool in try boolean(node, path: itemPath + ".critical") } ?? true
            }
            return HealthCheck(name: name, kind: kind, critical: critical)
        }
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

    /// `approval: { before: migrate|deploy, required: N, approvers: [names], timeout: DURATION }`.
    private func approval(_ node: YAMLNode, path: String) throws(PipelineError) -> ApprovalConfig {
        let fields = try fields(
            node, path: path, allowed: Self.approvalKeys,
            expected: "a mapping with before and timeout (and required, approvers)", keyOwner: "approval")
        let beforeNode = try fields.required("before", parser: self)
        let before = try nonEmptyString(beforeNode, path: path + ".before", expected: "migrate or deploy")
        guard let phase = Phase(rawValue: before), ApprovalGate.gatedPhases.contains(phase) else {
            throw mismatch(beforeNode, path: path + ".before", expected: "migrate or deploy")
        }
        let timeout = try duration(try fields.required("timeout", parser: self), path: path + ".timeout", allowZero: false)
        var config = ApprovalConfig(before: phase, timeout: timeout)
        if let node = fields["approvers"] {
            config.approvers = try names(
                node, path: path + ".approvers", what: "approver", isValid: { Identifier.isValid($0, as: .approver) },
                form: Identifier.Kind.approver.form)
        }
        if let node = fields["required"] {
            config.required = try wholeNumber(node, path: path + ".required", in: 1...1_000, expected: "a whole number ≥ 1")
            if !config.approvers.isEmpty, config.required > config.approvers.count {
                throw error(
                    node, path: path + ".required",
                    "\(config.required) approvals are required but approvers names only \(config.approvers.count); name more approvers or require fewer")
            }
        }
        return config
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
                // Noted, not thrown: the other keys are still checked.
                problems.list.append(error(keyNode, path: join(path, key), message))
                continue
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
            let name = noting { () throws(PipelineError) -> String in
                let name = try nonEmptyString(item, path: itemPath, expected: "a \(what) name, \(form)")
                guard isValid(name) else { throw mismatch(item, path: itemPath, expected: "a \(what) name, \(form)") }
                if let first = seen[name] {
                    throw error(item, path: itemPath, "duplicate \(what) \"\(name)\" (first at \(position(first)))")
                }
                return name
            }
            guard let name else { continue }
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
        var message = "expected \(expected), found \(describe(node))"
        if case let .scalar(scalar) = node, scalar.string.contains("${") {
            message += "; ${VAR} is replaced only in health check URLs (a step's run gets the variable from its environment as $VAR)"
        }
        return error(node, path: path, message)
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

    /// True when one of `lines` (1-based) holds a `${` outside quotes: the usual cause of a YAML
    /// error in a flow mapping such as `{ name: api, url: http://host:${PORT}/health }`.
    private static func unquotedReference(in text: String, lines numbers: [Int]) -> Bool {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for number in Set(numbers) where number >= 1 && number <= lines.count {
            var quote: Character?
            var previous: Character?
            for character in lines[number - 1] {
                if let open = quote {
                    if character == open { quote = nil }
                } else if character == "\"" || character == "'" {
                    quote = character
                } else if character == "{", previous == "$" {
                    return true
                }
                previous = character
            }
        }
        return false
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
            if Self.unquotedReference(in: yaml, lines: [mark.line, context?.mark.line].compactMap { $0 }) {
                message +=
                    "; a value holding ${VAR} inside { … } or [ … ] must be quoted, as YAML reads { and } there as the mapping's own: "
                    + "url: \"https://host/${PORT}/health\""
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
