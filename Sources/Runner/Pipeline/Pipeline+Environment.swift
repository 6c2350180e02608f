import Foundation

/// The environment variables that override a pipeline file, in the order they are applied.
extension Pipeline {
    /// The variables read by ``applyingEnvironment(_:)``, with the setting each overrides.
    public static let environmentOverrides: [(variable: String, setting: String)] = [
        ("HEALTH_CHECK_TIMEOUT", "health.total_timeout"),
        ("HEALTH_CHECK_RETRIES", "health.retries"),
        ("HEALTH_CHECK_INTERVAL", "health.interval"),
        ("DEPLOYMENT_LOG_DIR", "artifacts.dir"),
        ("SHIPLOG_HEALTH_STABILIZE", "health.stabilize"),
        ("SHIPLOG_HEALTH_REQUEST_TIMEOUT", "health.timeout"),
    ]

    /// The pipeline as it runs in `env`: the environment's overrides replace the file's
    /// settings, and `${VAR}` references in health check URLs are replaced by their values.
    ///
    /// - `HEALTH_CHECK_TIMEOUT`: `health.total_timeout`, in seconds (or a duration such as `5m`).
    /// - `HEALTH_CHECK_RETRIES`: `health.retries`, a whole number ≥ 1.
    /// - `HEALTH_CHECK_INTERVAL`: `health.interval`, in seconds (or a duration).
    /// - `DEPLOYMENT_LOG_DIR`: `artifacts.dir`.
    /// - `SHIPLOG_HEALTH_STABILIZE`: `health.stabilize`, in seconds (or a duration).
    /// - `SHIPLOG_HEALTH_REQUEST_TIMEOUT`: `health.timeout`, in seconds (or a duration).
    ///
    /// A variable that is unset or empty leaves the file's value. A value that cannot be read
    /// is an error naming the variable and the form it should take; so is a URL that refers to
    /// a variable that is unset or empty.
    public func applyingEnvironment(_ env: [String: String]) throws(PipelineError) -> Pipeline {
        var pipeline = self
        if let value = Self.overrideValue("HEALTH_CHECK_TIMEOUT", in: env) {
            pipeline.health.totalTimeout = try Self.durationOverride(
                "HEALTH_CHECK_TIMEOUT", value,
                setting: "health.total_timeout",
                example: "300", allowZero: false)
        }
        if let value = Self.overrideValue("HEALTH_CHECK_RETRIES", in: env) {
            guard let retries = PipelineSyntax.parseWholeNumber(value), retries >= 1 else {
                throw Self.overrideError(
                    "HEALTH_CHECK_RETRIES", value,
                    expected: "a whole number ≥ 1 (such as 5)", setting: "health.retries")
            }
            pipeline.health.retries = retries
        }
        if let value = Self.overrideValue("HEALTH_CHECK_INTERVAL", in: env) {
            pipeline.health.interval = try Self.durationOverride(
                "HEALTH_CHECK_INTERVAL", value,
                setting: "health.interval",
                example: "10", allowZero: true)
        }
        if let value = Self.overrideValue("DEPLOYMENT_LOG_DIR", in: env) {
            pipeline.artifacts.dir = value
        }
        if let value = Self.overrideValue("SHIPLOG_HEALTH_STABILIZE", in: env) {
            pipeline.health.stabilize = try Self.durationOverride(
                "SHIPLOG_HEALTH_STABILIZE", value,
                setting: "health.stabilize",
                example: "30", allowZero: true)
        }
        if let value = Self.overrideValue("SHIPLOG_HEALTH_REQUEST_TIMEOUT", in: env) {
            pipeline.health.timeout = try Self.durationOverride(
                "SHIPLOG_HEALTH_REQUEST_TIMEOUT", value,
                setting: "health.timeout",
                example: "10", allowZero: false)
        }

        let secretNames = Redactor.secretNames(environment: env, pipeline: self)
        for index in pipeline.health.checks.indices {
            guard case let .http(url, expectStatus) = pipeline.health.checks[index].kind else { continue }
            let path = "health.checks[\(index)].url"
            let expanded = try expandVariables(in: url, path: path, env: env)
            if expanded != url, let problem = PipelineSyntax.urlProblem(expanded) {
                // The problem quotes the expanded URL, shortened: a secret in it could be cut
                // where no redactor recognizes it. Name the variables instead.
                let secrets = Self.variables(in: url).filter(secretNames.contains)
                guard secrets.isEmpty else {
                    let names = secrets.map { "${\($0)}" }.joined(separator: ", ")
                    throw origin.error(
                        at: path,
                        "\(PipelineSyntax.quoted(url)) is not an http:// or https:// URL with a host once "
                            + "its variables are replaced; check the value of \(names) (a secret, not shown)")
                }
                throw origin.error(at: path, problem + " (after replacing the variables in \(PipelineSyntax.quoted(url)))")
            }
            pipeline.health.checks[index].kind = .http(url: expanded, expectStatus: expectStatus)
        }
        return pipeline
    }

    /// The variables referred to as `${VAR}` in the health check URLs, in order, once each.
    public var referencedVariables: [String] {
        var names: [String] = []
        for check in health.checks {
            guard let url = check.url else { continue }
            for name in Self.variables(in: url) where !names.contains(name) {
                names.append(name)
            }
        }
        return names
    }

    /// The variables `text` refers to as `${VAR}`, in order.
    static func variables(in text: String) -> [String] {
        guard case let .success(pieces) = PipelineSyntax.pieces(of: text) else { return [] }
        var names: [String] = []
        for case let .variable(name) in pieces { names.append(name) }
        return names
    }

    private func expandVariables(
        in text: String, path: String,
        env: [String: String]
    ) throws(PipelineError) -> String {
        let pieces: [PipelineSyntax.Piece]
        switch PipelineSyntax.pieces(of: text) {
        case let .success(value): pieces = value
        case let .failure(problem): throw origin.error(at: path, problem.message)
        }
        var result = ""
        for piece in pieces {
            switch piece {
            case let .literal(literal):
                result += literal
            case let .variable(name):
                guard let value = env[name], !value.isEmpty else {
                    throw origin.error(at: path, "${\(name)} is not set in the environment")
                }
                result += value
            }
        }
        return result
    }

    private static func overrideValue(_ variable: String, in env: [String: String]) -> String? {
        guard let value = env[variable], !value.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
        return value
    }

    private static func durationOverride(
        _ variable: String, _ value: String, setting: String,
        example: String, allowZero: Bool
    ) throws(PipelineError) -> Duration {
        guard let duration = PipelineSyntax.parseDuration(value), allowZero || duration > .zero else {
            let bound = allowZero ? "" : " greater than zero"
            throw overrideError(
                variable, value,
                expected: "a number of seconds\(bound) (such as \(example)) or a duration such as 30s or 5m",
                setting: setting)
        }
        return duration
    }

    private static func overrideError(
        _ variable: String, _ value: String, expected: String,
        setting: String
    ) -> PipelineError {
        PipelineError(
            file: "environment", path: variable,
            message: "expected \(expected), found \(PipelineSyntax.quoted(value)) (it overrides \(setting))")
    }
}
