import EventStore

/// The record fields of what operators do between deployments, as JSON object text for the
/// projection row: a manual rollback's request, the release it replaced, the approval gate.
extension Projector {
    /// The record's `services_deployed`: a manual rollback's are the services its rollback step
    /// restored, once it succeeded.
    static func servicesDeployed(_ state: DeploymentState) -> [String] {
        guard let r = state.request, r.manualRollback != nil else { return state.servicesDeployed }
        return state.steps[.rollback]?.succeeded == true ? r.services : []
    }

    /// `{"target", "target_sha", "replaces", "reason", "requested_by"}` for a manual rollback.
    static func manualRollbackJSON(_ state: DeploymentState) -> String? {
        guard let r = state.request, let m = r.manualRollback else { return nil }
        return JSONText.object([
            ("target", JSONText.quote(m.targetID)), ("target_sha", JSONText.quote(m.targetSHA)),
            ("replaces", m.replaces.map(JSONText.quote) ?? "null"), ("reason", JSONText.quote(m.reason)),
            ("requested_by", JSONText.quote(r.triggeredBy)),
        ])
    }

    /// `{"deployment_id", "reason", "by", "at"}` for a release a manual rollback replaced.
    static func rolledBackByJSON(_ state: DeploymentState) -> String? {
        guard let mark = state.rolledBackManually else { return nil }
        return JSONText.object([
            ("deployment_id", JSONText.quote(mark.rollbackID)), ("reason", JSONText.quote(mark.reason)),
            ("by", JSONText.quote(mark.by)), ("at", JSONText.quote(mark.at)),
        ])
    }

    /// The approval gate: its rule, its state, and every approval with who and when.
    static func approvalJSON(_ state: DeploymentState) -> String? {
        guard let a = state.approval else { return nil }
        let status = a.rejection != nil ? "rejected" : a.timedOutAt != nil ? "timed_out" : a.isOpen ? "approved" : "pending"
        return JSONText.object([
            ("state", JSONText.quote(status)), ("before", JSONText.quote(a.gate.before.rawValue)),
            ("required", String(a.gate.required)), ("approvers", JSONText.array(a.gate.approvers.map(JSONText.quote))),
            ("requested_at", JSONText.quote(a.requestedAt)), ("deadline", JSONText.quote(a.deadline)),
            (
                "approvals",
                JSONText.array(
                    a.grants.map { g in
                        JSONText.object([("by", JSONText.quote(g.by)), ("at", JSONText.quote(g.at)), ("comment", g.comment.map(JSONText.quote) ?? "null")])
                    })
            ),
            (
                "rejection",
                a.rejection.map { r in JSONText.object([("by", JSONText.quote(r.by)), ("at", JSONText.quote(r.at)), ("reason", JSONText.quote(r.reason))]) }
                    ?? "null"
            ),
            ("timed_out_at", a.timedOutAt.map(JSONText.quote) ?? "null"),
        ])
    }
}
