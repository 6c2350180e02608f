import Foundation

/// The projection tables' columns in the order both backends bind and read them
/// (migrations/0002_projections.sql and the migrations after it), spelled once.
public enum ProjectionColumns {
    /// `deployments`, in `DeploymentRecord` order.
    public static let deployment = """
        deployment_id, environment, status, git_sha, git_ref, services_deployed, health_checks, triggered_by, mode, current_phase,
        started_at, finished_at, duration_ms, previous_stable_id, rolled_back_to, failure_reason, marked_bad_reason, marked_bad_by,
        request_position, last_position, commit_time, manual_rollback, rolled_back_by, approval
        """

    /// `artifacts`, in `ArtifactRow` order.
    public static let artifact = "name, deployment_id, environment, phase, sha256, size, retention_days, stored_at, expires_at, pruned_at, stored_position"

    /// `column = excluded.column` for every column after the first (the key): an upsert's new values.
    public static func replacing(_ columns: String) -> String {
        names(columns).dropFirst().map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
    }

    /// The column names of a list.
    public static func names(_ columns: String) -> [String] {
        columns.split(separator: ",").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// A table prefix without its schema (`temp.replay_` → `replay_`): how an upsert's condition
    /// names the row already there.
    public static func unqualified(_ prefix: String) -> String {
        prefix.split(separator: ".", omittingEmptySubsequences: false).last.map(String.init) ?? ""
    }
}
