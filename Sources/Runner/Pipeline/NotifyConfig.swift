/// Where the team is told of a deployment's outcome.
///
/// The file names the environment variable that holds the Slack webhook URL, never the URL
/// itself; that variable is redacted from logs whether or not it is listed in `secrets`. When
/// the variable is unset at run time, notifications are skipped (they are optional).
public struct NotifyConfig: Sendable, Equatable {
    /// The name of the environment variable holding the Slack incoming-webhook URL.
    public var slackWebhookEnv: String
    /// The longest the runner waits for the webhook, every attempt and pause included. A
    /// webhook that never answers costs this much, then `NotificationFailed` is recorded and
    /// the deployment ends as it would have.
    public var timeout: Duration

    /// The default `timeout`: 30 seconds.
    public static let defaultTimeout: Duration = .seconds(30)

    public init(slackWebhookEnv: String, timeout: Duration = NotifyConfig.defaultTimeout) {
        self.slackWebhookEnv = slackWebhookEnv
        self.timeout = timeout
    }
}
