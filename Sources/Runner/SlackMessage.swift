import Ledger

/// The text of the Slack notification for a finished deployment.
enum SlackMessage {
    static func text(for state: DeploymentState, record: DeploymentRecord?) -> String {
        let r = state.request!
        let sha = String(r.gitSHA.prefix(12))
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
