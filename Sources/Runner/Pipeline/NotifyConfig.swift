/// Where the team is told of a deployment's outcome.
///
/// The file names the environment variable that holds the Slack webhook URL, never the URL
/// itself; that variable is redacted from logs whether or not it is listed in `secrets`. When
/// the variable is unset at run time, notifications are skipped (they are optional).
public struct NotifyConfig: Sendable, Equatable {
    /// The name of the environment variable holding the Slack incoming-webhook URL.
    public var slackWebhookEnv: String

    public init(slackWebhookEnv: String) {
        self.slackWebhookEnv = slackWebhookEnv
    }
}
