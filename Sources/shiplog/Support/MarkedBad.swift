import Foundation
import Ledger

/// Releases someone marked bad (`shiplog mark-bad`): `deploy` warns before shipping one of them
/// again, and wants `--allow-marked-bad` to do it.
enum MarkedBad {
    /// The deployments of `sha` (either a prefix of the other) to `environment` that are marked
    /// bad, newest first. The records narrow the search; each one's own events confirm it.
    static func deployments(of sha: String, environment: String, in ledger: Ledger) throws -> [DeploymentState] {
        let sha = sha.lowercased()
        var candidates: [String] = []
        try Queries(ledger: ledger).forEachRecord(Queries.Filter(environment: environment), newestFirst: true) { record in
            guard record.markedBadReason != nil, record.gitSHA.hasPrefix(sha) || sha.hasPrefix(record.gitSHA) else { return }
            candidates.append(record.deploymentID)
        }
        return try candidates.map(ledger.load).filter { $0.markedBad != nil }
    }

    /// "abc123def456 was marked bad in ID by WHO: REASON".
    static func describe(_ state: DeploymentState) -> String {
        let sha = state.request.map { String($0.gitSHA.prefix(12)) } ?? "?"
        return "\(sha) was marked bad in \(state.id ?? "?") by \(state.markedBadBy ?? "?"): \(state.markedBadReason ?? "")"
    }
}
