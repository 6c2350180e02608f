/// One health check run after the deployment has had time to stabilize: either an HTTP request
/// that must answer with an expected status, or a command that must exit 0.
public struct HealthCheck: Sendable, Equatable {
    /// How a check probes its service.
    public enum Kind: Sendable, Equatable {
        /// A GET request to `url` that must answer `expectStatus`.
        case http(url: String, expectStatus: Int)
        /// A command that must exit 0.
        case command(CommandStep)
    }

    /// The status an HTTP check expects unless it says otherwise.
    public static let defaultExpectStatus = 200

    /// A unique name made of `[a-z0-9_]`, used as the key in the deployment record's
    /// `health_checks`.
    public var name: String
    /// What the check does.
    public var kind: Kind
    /// Whether a failure of this check fails the deployment (and so triggers the rollback).
    /// A failing non-critical check is only reported.
    public var critical: Bool

    public init(name: String, kind: Kind, critical: Bool = true) {
        self.name = name
        self.kind = kind
        self.critical = critical
    }

    /// An HTTP check.
    public static func http(
        name: String, url: String,
        expectStatus: Int = defaultExpectStatus,
        critical: Bool = true
    ) -> HealthCheck {
        HealthCheck(name: name, kind: .http(url: url, expectStatus: expectStatus), critical: critical)
    }

    /// A command check.
    public static func command(name: String, step: CommandStep, critical: Bool = true) -> HealthCheck {
        HealthCheck(name: name, kind: .command(step), critical: critical)
    }

    /// The URL of an HTTP check, `nil` for a command check.
    public var url: String? {
        if case let .http(url, _) = kind { return url }
        return nil
    }

    /// The command of a command check, `nil` for an HTTP check.
    public var step: CommandStep? {
        if case let .command(step) = kind { return step }
        return nil
    }
}
