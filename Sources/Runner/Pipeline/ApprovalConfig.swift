import Ledger

/// An approval gate for critical changes: before `before` runs, `required` distinct people
/// approve the deployment (`shiplog approve ID --by NAME`), from any machine that shares the
/// ledger, within `timeout`; one rejection, or the timeout, fails it before the gated phase.
///
///     approval: { before: deploy, required: 2, approvers: [alice, bob, carol], timeout: 4h }
public struct ApprovalConfig: Sendable, Equatable {
    /// `migrate` or `deploy`.
    public var before: Phase
    /// Distinct approvals needed (1 by default).
    public var required: Int
    /// Who may approve or reject; empty: anyone with access to the ledger.
    public var approvers: [String]
    /// How long the deployment waits, from the moment the gate is reached.
    public var timeout: Duration

    public init(before: Phase, required: Int = 1, approvers: [String] = [], timeout: Duration) {
        self.before = before
        self.required = required
        self.approvers = approvers
        self.timeout = timeout
    }

    /// The gate as the domain records it (`ApprovalRequested`).
    public var gate: ApprovalGate {
        ApprovalGate(
            before: before, required: required, approvers: approvers,
            timeoutSeconds: Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18)
    }
}
