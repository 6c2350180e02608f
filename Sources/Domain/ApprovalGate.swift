/// An approval gate: before a phase runs, this many distinct people must approve the
/// deployment, within the timeout; one rejection ends it.
///
/// A pipeline asks for one with `approval: { before: deploy, required: 2, approvers: [alice,
/// bob], timeout: 4h }`; the `ApprovalRequested` event carries it, so whoever approves, from
/// whichever machine shares the ledger, is judged by the same rule the runner waits for.
public struct ApprovalGate: Sendable, Equatable, Codable {
    /// The phase that waits: `migrate` or `deploy`.
    public var before: Phase
    /// Distinct approvals needed (at least 1).
    public var required: Int
    /// Who may approve or reject; empty: anyone.
    public var approvers: [String]
    /// Seconds from `ApprovalRequested` after which the deployment fails unapproved.
    public var timeoutSeconds: Double

    /// The phases a gate may stand before.
    public static let gatedPhases: [Phase] = [.migrate, .deploy]

    public init(before: Phase, required: Int, approvers: [String] = [], timeoutSeconds: Double) {
        self.before = before
        self.required = required
        self.approvers = approvers
        self.timeoutSeconds = timeoutSeconds
    }

    enum CodingKeys: String, CodingKey {
        case before, required, approvers, timeoutSeconds = "timeout_seconds"
    }

    /// Why the gate cannot be met as written, or nil.
    public var problem: String? {
        if !Self.gatedPhases.contains(before) { return "an approval gate stands before migrate or deploy, not \(before)" }
        if required < 1 { return "an approval gate needs at least 1 approval" }
        if Set(approvers).count != approvers.count { return "an approver is named twice" }
        if !approvers.isEmpty, approvers.count < required {
            return "\(required) approvals are required but only \(approvers.count) approver\(approvers.count == 1 ? " is" : "s are") named"
        }
        if !(timeoutSeconds > 0) { return "an approval gate needs a timeout greater than zero" }
        return nil
    }

    /// True when `name` may approve or reject.
    public func admits(_ name: String) -> Bool { approvers.isEmpty || approvers.contains(name) }
}

/// One approval, as recorded.
public struct ApprovalGrant: Sendable, Equatable {
    public var by: String
    public var at: String
    public var comment: String?
}

/// A rejection, as recorded.
public struct ApprovalRejection: Sendable, Equatable {
    public var by: String
    public var at: String
    public var reason: String
}

/// Where a deployment's approval gate stands: the fold of its approval events.
public struct ApprovalProgress: Sendable, Equatable {
    public var gate: ApprovalGate
    /// When `ApprovalRequested` was recorded: the timeout runs from here.
    public var requestedAt: String
    /// `requestedAt` + the timeout: no approval counts after it.
    public var deadline: String
    public var grants: [ApprovalGrant] = []
    public var rejection: ApprovalRejection?
    public var timedOutAt: String?

    /// Enough distinct approvals: the gated phase may run.
    public var isOpen: Bool { grants.count >= gate.required }
    /// Neither open nor ended: approvals and a rejection are still accepted.
    public var isPending: Bool { !isOpen && rejection == nil && timedOutAt == nil }

    /// Why the gate failed the deployment, or nil.
    public var failure: String? {
        if let r = rejection { return "approval rejected by \(r.by): \(r.reason)" }
        if timedOutAt != nil {
            return "not approved before \(deadline): \(grants.count) of \(gate.required) approval\(gate.required == 1 ? "" : "s")"
        }
        return nil
    }

    /// "1 of 2 (alice)".
    public var summary: String {
        "\(grants.count) of \(gate.required)" + (grants.isEmpty ? "" : " (\(grants.map(\.by).joined(separator: ", ")))")
    }
}
