import Ledger

/// The text of the Slack notification for a finished deployment.
///
/// Recorded text (an unlock reason, say) can hold anything a person typed: the message is
/// shown as one line with control characters escaped (`VisibleText`), and `&`, `<`, `>` are
/// escaped as Slack requires, so no field can mention `<!channel>`, make a link or start a
/// line that looks like another message.
enum SlackMessage {
    static func text(for state: DeploymentState, record: DeploymentRecord?) -> String {
        escaped(VisibleText.render(plainText(for: state)))
    }

    /// Slack's escaping of message text: `&`, `<` and `>` as entities.
    static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    private static func plainText(for state: DeploymentState) -> String {
        let r = state.request!
        let sha = String(r.gitSHA.prefix(12))
        if let manual = r.manualRollback {
            let replaced = manual.replaces.map { ", replacing \($0)" } ?? ""
            if state.status == .success {
                return "↩️ \(r.environment): rolled back by hand to \(sha) (\(manual.targetID))\(replaced), by \(r.triggeredBy): \(manual.reason)"
            }
            return "❌ \(r.environment): manual rollback \(r.deploymentID) to \(sha) failed: \(state.failureReason ?? "unknown reason")"
        }
        switch state.status ?? .failed {
        case .success:
            return "✅ \(r.environment): deployed \(sha) (\(r.deploymentID)) — services: \(r.services.joined(separator: ", "))"
        case .rolledBack:
            return "⚠️ \(r.environment): \(sha) (\(r.deploymentID)) failed its health checks and was rolled back to \(state.rollbackTargetSHA?.prefix(12) ?? "?")"
        case .abandoned:
            return "⚠️ \(r.environment): deployment \(r.deploymentID) was abandoned: \(state.failureReason ?? "")"
        case .failed, .running:
            return "❌ \(r.environment): deployment of \(sha) (\(r.deploymentID)) failed: \(state.failureReason ?? "unknown reason")"
        }
    }
}
