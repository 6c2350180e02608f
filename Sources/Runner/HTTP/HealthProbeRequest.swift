/// One HTTP health check to run: which service, where, what counts as healthy, and how long to wait.
///
///     HealthProbeRequest(service: "api_gateway", url: "https://staging.example.com/api/health",
///                        timeout: 10)
public struct HealthProbeRequest: Sendable, Equatable, Codable {
    /// The service name recorded with the result, such as `api_gateway`.
    public var service: String
    /// An `http` or `https` URL; any other scheme fails the probe without a request.
    public var url: String
    /// The status that means healthy; anything else, including other 2xx codes, is unhealthy.
    public var expectedStatus: Int
    /// Seconds the whole request may take, connect and redirects included.
    public var timeout: Double
    /// A PEM file of CA certificates to trust instead of the system store, for private CAs.
    public var caFile: String?

    public init(
        service: String, url: String, expectedStatus: Int = 200, timeout: Double = 10,
        caFile: String? = nil
    ) {
        self.service = service
        self.url = url
        self.expectedStatus = expectedStatus
        self.timeout = timeout
        self.caFile = caFile
    }
}
