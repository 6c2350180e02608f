import EventStore
import Foundation
import Ledger

/// Where the runner reports progress: live lines for people, or one JSON object per event.
/// Every text line passes through ``line(_:)``, which shows control characters as escapes.
public final class RunnerOutput: @unchecked Sendable {
    public enum Style: Sendable { case text, json }

    let style: Style
    /// Echo every line of step output too (`--verbose`).
    public let echoesStepOutput: Bool
    private let write: @Sendable (String) -> Void
    private let lock = NSLock()

    public init(style: Style, verbose: Bool, write: @escaping @Sendable (String) -> Void) {
        self.style = style
        self.echoesStepOutput = verbose && style == .text
        self.write = write
    }

    /// Writes one line. Progress lines are shown with ``VisibleText``: a ref, a reason, an
    /// error or a line of step output cannot act on the terminal. JSON lines are escaped already.
    func line(_ text: String) {
        let shown = style == .text ? VisibleText.render(text) : text
        lock.lock()
        defer { lock.unlock() }
        write(shown)
    }

    func started(id: String, state: DeploymentState) {
        guard style == .text, let r = state.request else { return }
        line("▶ \(id): deploying \(r.gitSHA.prefix(12)) (\(r.gitRef)) to \(r.environment) — services: \(r.services.joined(separator: ", "))")
        if let stable = r.previousStableID { line("  rollback target: \(stable) (\(r.previousStableSHA?.prefix(12) ?? "?"))") } else { line("  no stable version to roll back to yet") }
    }

    func resumed(id: String, state: DeploymentState) {
        guard style == .text else { return }
        line("↻ \(id): resuming from its events (\(state.currentPhase), stream version \(state.version))")
    }

    func step(_ step: NextStep, state: DeploymentState) {
        guard style == .text else { return }
        switch step {
        case .runStep(let phase, let attempt):
            line("• \(phase.rawValue)\(attempt > 1 ? " (attempt \(attempt), after an interruption)" : "")…")
        case .failInterrupted(let phase):
            line("✗ \(phase.rawValue) was interrupted and is marked on_interrupt: fail")
        case .stabilize(nil):
            break
        case .stabilize(let until?):
            let remaining = max(0, (Timestamp.parse(until)?.timeIntervalSinceNow ?? 0))
            line("• waiting \(String(format: "%.0f", remaining)) s for services to stabilize (until \(until))")
        case .probe(let checks, let round):
            line("• \(round == .rollback ? "verifying the rollback: " : "")health checks: \(checks.joined(separator: ", "))")
        case .wait(let until):
            let remaining = max(0, (Timestamp.parse(until)?.timeIntervalSinceNow ?? 0))
            line("  retrying in \(String(format: "%.1f", remaining)) s")
        case .rollback(let id, let sha, let attempt):
            line("↩ rolling back to \(id) (\(sha.prefix(12)))\(attempt > 1 ? ", attempt \(attempt)" : "")")
        case .finish, .storeRecord, .notify, .done, .requestApproval, .awaitApproval, .expireApproval:
            break
        }
    }

    func recorded(_ event: RecordedEvent) {
        if style == .json {
            line(event.jsonLine)
            return
        }
        guard let decoded = try? DeploymentEvent.decode(event) else { return }
        switch decoded {
        case .stepSucceeded(let phase, _): line("  ✓ \(phase.rawValue) succeeded")
        case .stepFailed(let phase, let reason): line("  ✗ \(phase.rawValue) failed: \(reason)")
        case .serviceDeployed(let s): line("  ✓ deployed \(s)")
        case .healthCheckAttempted(let a):
            let status = a.httpStatus.map { "HTTP \($0)" } ?? ""
            line("  \(a.healthy ? "✓" : "✗") \(a.check) attempt \(a.attempt): \(a.healthy ? "healthy" : "unhealthy") \(status) \(a.latencyMs) ms\(a.error.map { " — \($0)" } ?? "")")
            if let body = a.body { line("    answered: \(body)") }
        case .serviceUnhealthy(let check, let attempts, let reason, _): line("  ✗ \(check) unhealthy after \(attempts) attempts: \(reason)")
        case .healthChecksPassed(let round): line("  ✓ health checks passed\(round == .rollback ? " on the restored version" : "")")
        case .healthChecksFailed(let round, let failed): line("  ✗ health checks failed\(round == .rollback ? " on the restored version" : ""): \(failed.joined(separator: ", "))")
        case .deploymentSucceeded: line("✔ deployment succeeded")
        case .deploymentFailed(let reason, _): line("✘ deployment failed: \(reason)")
        case .deploymentRolledBack(let id, let sha, _): line("↩ deployment rolled back to \(id) (\(sha.prefix(12)))")
        case .notificationSent: line("  ✓ team notified")
        case .notificationFailed(_, _, let error): line("  ! notification failed (the deployment is unaffected): \(error)")
        default: operatorEvent(decoded, stream: event.stream)
        }
    }

    /// The end of a failed step's log, and where the whole of it is.
    func logTail(_ lines: [String], path: String, artifact: String) {
        guard style == .text else { return }
        if !lines.isEmpty {
            line("  last lines of its log:")
            for text in lines { line("    │ \(text)") }
        }
        line("  full log: \(path) (kept as \(artifact))")
    }

    func artifact(_ artifact: Artifact) {
        guard style == .text else { return }
        line("  ⧉ stored \(artifact.name) (\(artifact.size) bytes, sha256 \(artifact.sha256.prefix(12))…, kept \(artifact.retentionDays) days)")
    }

    func stepOutput(phase: Phase, line text: String) {
        line("    \(phase.rawValue)| \(text)")
    }
}
