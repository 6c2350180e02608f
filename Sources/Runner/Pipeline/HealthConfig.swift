/// The health phase: wait for the services to stabilize, then run every check with retries,
/// then the smoke tests.
///
/// Each check is tried up to `retries` times, `interval` apart, each request limited to
/// `timeout`, and the whole of one check's attempts to `totalTimeout`.
public struct HealthConfig: Sendable, Equatable {
    /// 30 seconds, the wait before the first check.
    public static let defaultStabilize: Duration = .seconds(30)
    /// 5 attempts per service.
    public static let defaultRetries = 5
    /// 10 seconds between attempts.
    public static let defaultInterval: Duration = .seconds(10)
    /// 10 seconds per request.
    public static let defaultTimeout: Duration = .seconds(10)
    /// 300 seconds (about 5 minutes) for all of one service's attempts.
    public static let defaultTotalTimeout: Duration = .seconds(300)

    /// How long to wait after the deployment before the first check.
    public var stabilize: Duration
    /// How many attempts each check gets (at least 1).
    public var retries: Int
    /// The delay between two attempts of a check.
    public var interval: Duration
    /// The limit on one request (or one run of a command check without its own timeout).
    public var timeout: Duration
    /// The limit on all attempts of one check together.
    public var totalTimeout: Duration
    /// A PEM file of certificate authorities to trust for HTTPS checks, for a staging
    /// environment whose certificates are signed by its own authority. Relative to the
    /// pipeline file's directory.
    public var caFile: String?
    /// The checks, in the order of the file.
    public var checks: [HealthCheck]
    /// The smoke tests, run after the checks pass.
    public var smoke: CommandStep?

    public init(
        stabilize: Duration = defaultStabilize,
        retries: Int = defaultRetries,
        interval: Duration = defaultInterval,
        timeout: Duration = defaultTimeout,
        totalTimeout: Duration = defaultTotalTimeout,
        caFile: String? = nil,
        checks: [HealthCheck] = [],
        smoke: CommandStep? = nil
    ) {
        self.stabilize = stabilize
        self.retries = retries
        self.interval = interval
        self.timeout = timeout
        self.totalTimeout = totalTimeout
        self.caFile = caFile
        self.checks = checks
        self.smoke = smoke
    }

    /// True when there is nothing to check: no checks and no smoke tests.
    public var isEmpty: Bool { checks.isEmpty && smoke == nil }
}
