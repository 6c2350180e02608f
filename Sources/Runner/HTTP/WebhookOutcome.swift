/// How a webhook delivery ended, after all its attempts.
public struct WebhookOutcome: Sendable, Equatable, Codable {
    /// True when the last attempt got a 2xx answer.
    public var delivered: Bool
    /// Requests actually sent (0 when the request could not even be set up).
    public var attempts: Int
    /// The status of the last attempt, or nil when it got no response.
    public var httpStatus: Int?
    /// Why delivery failed, in a few words; never contains the webhook URL or any part of it.
    public var error: String?

    public init(delivered: Bool, attempts: Int, httpStatus: Int?, error: String?) {
        self.delivered = delivered
        self.attempts = attempts
        self.httpStatus = httpStatus
        self.error = error
    }
}
