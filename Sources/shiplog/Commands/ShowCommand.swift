import EventStore
import SQLiteStore
import ArgumentParser
import Foundation
import Ledger

struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one deployment: its record, every event of its timeline, and its artifacts.",
        discussion: """
            The timeline lists each event with its position and time: every phase, every \
            health-check attempt (status code, latency, error), verdicts, the rollback, the end, \
            a later mark-bad. Artifacts show their retention state now (or at --as-of). \
            Exits 4 when the ledger has no such deployment.

            --json prints one object: {"record": …, "timeline": [{"position", "recorded_at", \
            "type", "data"}, …], "artifacts": […]}.

            Examples:
              shiplog show 1732012200-abc123def456
              shiplog show 1732012200-abc123def456 --as-of 42 --json
            """)

    @OptionGroup var ledger: LedgerOptions
    @Argument(help: "The deployment id.") var id: String
    @OptionGroup var asOf: AsOfOption
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        try reporting {
            let (ledger, now) = try asOf.resolve(try self.ledger.ledger(.readOnly))
            let queries = Queries(ledger: ledger)
            guard let record = try queries.record(id) else {
                let when = asOf.asOf.map { " as of \($0)" } ?? ""
                throw LedgerError.notFound("no deployment \(id) in the ledger\(when); `shiplog history` lists them")
            }
            let events = try ledger.store.readStream(Ledger.stream(deployment: id), from: 1)
            let artifacts = try queries.artifacts(deploymentID: id, now: now)
            if json {
                let timeline = events.map { e in
                    JSONText.object([
                        ("position", String(e.position)), ("recorded_at", JSONText.quote(e.recordedAt)),
                        ("type", JSONText.quote(e.type)),
                        ("data", JSONText.escapingControls(inJSON: e.data)),
                    ])
                }
                Terminal.out(
                    JSONText.object([
                        ("record", record.json), ("timeline", JSONText.array(timeline)),
                        ("artifacts", JSONText.array(artifacts.map(\.json))),
                    ]))
                return
            }
            // Every line through TerminalText: refs, reasons and errors are shown, never obeyed.
            let out = StandardOutput()
            func line(_ text: String) { out.line(TerminalText.visible(text)) }
            for (label, value) in Self.fields(record) { line(Show.column(label, 12) + value) }
            line("")
            line("TIMELINE")
            for e in events {
                let decoded = try DeploymentEvent.decode(e)
                line(
                    "  " + Show.column(String(e.position), 6) + Show.column(e.recordedAt, 24) + Show.column(e.type, 22)
                        + (decoded.map(Self.describe) ?? e.data))
            }
            line("")
            line("ARTIFACTS")
            if artifacts.isEmpty { line("  none") }
            for a in artifacts {
                line(
                    "  " + Show.column(a.name, 40) + Show.column(a.phase, 9) + Show.column(Show.size(a.size), 9)
                        + Show.column("expires " + Show.seconds(a.expiresAt), 28) + a.state.rawValue.replacingOccurrences(of: "_", with: " "))
            }
            out.flush()
        }
    }

    static func fields(_ r: DeploymentRecord) -> [(String, String)] {
        var fields: [(String, String)] = [
            ("deployment", r.deploymentID),
            ("environment", r.environment),
            ("status", r.status + (r.status == "running" ? " (\(r.currentPhase))" : "")),
            ("git sha", r.gitSHA),
            ("git ref", r.gitRef),
            ("services", Show.services(r.servicesDeployed)),
            ("health", Show.healthChecks(r.healthChecks)),
            ("rollback", r.previousStableID.map { "available: \($0)" } ?? "none: no earlier stable version"),
            ("started", Show.seconds(r.startedAt) + " by \(r.triggeredBy) (\(r.mode))"),
        ]
        if let finished = r.finishedAt { fields.append(("finished", Show.seconds(finished) + " after \(Show.duration(ms: r.durationMs))")) }
        if let to = r.rolledBackTo { fields.append(("rolled back", "to \(to)")) }
        if let why = r.failureReason { fields.append(("failure", why)) }
        if let bad = r.markedBadReason { fields.append(("marked bad", "\(bad) (by \(r.markedBadBy ?? "?"))")) }
        return fields + operatorFields(r)
    }

    /// One line per event, in words.
    static func describe(_ event: DeploymentEvent) -> String {
        switch event {
        case .deploymentRequested(let r):
            return "\(r.environment) \(r.gitSHA) \(r.gitRef) by \(r.triggeredBy) (\(r.mode))"
                + (r.previousStableID.map { ", rollback target \($0)" } ?? ", no rollback target")
                + (r.pipelinePath.map { ", pipeline \($0) (SHA-256 \(r.pipelineSHA256?.prefix(12) ?? "?")…)" } ?? "")
        case .stepStarted(let p, let attempt): return "\(p) attempt \(attempt)"
        case .stepSucceeded(let p, let detail): return "\(p) succeeded" + (detail.map { ": \($0)" } ?? "")
        case .stepFailed(let p, let reason): return "\(p) failed: \(reason)"
        case .serviceDeployed(let service): return service
        case .stabilizationWaitStarted(let seconds, let until): return "waiting \(Int(seconds))s, until \(until)"
        case .stabilizationWaitFinished: return "stabilized"
        case .healthCheckAttempted(let a):
            var parts = ["\(a.check) attempt \(a.attempt)", a.healthy ? "healthy" : "unhealthy"]
            parts.append(a.httpStatus.map { "HTTP \($0)" } ?? "no status")
            parts.append("\(a.latencyMs) ms")
            if let error = a.error { parts.append(error) }
            if a.round == .rollback { parts.append("after rollback") }
            return parts.joined(separator: ", ") + " (\(a.target))" + (a.body.map { "; answered: \($0)" } ?? "")
        case .serviceHealthy(let check, let attempts, let round):
            return "\(check) healthy after \(attempts) attempt\(attempts == 1 ? "" : "s")" + (round == .rollback ? " (after rollback)" : "")
        case .serviceUnhealthy(let check, let attempts, let reason, let round):
            return "\(check) unhealthy after \(attempts) attempt\(attempts == 1 ? "" : "s"): \(reason)" + (round == .rollback ? " (after rollback)" : "")
        case .healthChecksPassed(let round): return "all checks passed" + (round == .rollback ? " after rollback" : "")
        case .healthChecksFailed(let round, let failed):
            return "failed: \(failed.joined(separator: ", "))" + (round == .rollback ? " after rollback" : "")
        case .rollbackStarted(let id, let sha, let attempt): return "restoring \(id) (\(sha.prefix(12))), attempt \(attempt)"
        case .notificationSent(let channel, let attempts): return "\(channel) notified (\(attempts) attempt\(attempts == 1 ? "" : "s"))"
        case .notificationFailed(let channel, let attempts, let error): return "\(channel) not notified after \(attempts) attempts: \(error)"
        case .artifactStored(let a): return "\(a.name) (\(Show.size(a.size)), \(a.retentionDays) days, sha256 \(a.sha256.prefix(12)))"
        case .deploymentSucceeded: return "success"
        case .deploymentFailed(let reason, let phase): return "failed" + (phase.map { " in \($0)" } ?? "") + ": \(reason)"
        case .deploymentRolledBack(let id, let sha, let reason): return "rolled back to \(id) (\(sha.prefix(12)))" + (reason.map { " after: \($0)" } ?? "")
        case .deploymentAbandoned(let reason, let by): return "abandoned by \(by): \(reason)"
        case .deploymentMarkedBad(let reason, let by): return "marked bad by \(by): \(reason)"
        case .environmentLocked(let id): return "environment taken by \(id)"
        case .environmentReleased(let id, let status): return "environment released by \(id) (\(status))"
        case .environmentUnlocked(let id, let reason, let by): return "environment unlocked from \(id) by \(by): \(reason)"
        case .artifactPruned(let name, _, _): return "\(name) pruned"
        case .approvalRequested(let gate):
            let who = gate.approvers.isEmpty ? "anyone" : gate.approvers.joined(separator: ", ")
            return "\(gate.required) approval\(gate.required == 1 ? "" : "s") needed before \(gate.before) from \(who), within \(Int(gate.timeoutSeconds)) s"
        case .approvalGranted(let by, let comment): return "approved by \(by)" + (comment.map { ": \($0)" } ?? "")
        case .approvalRejected(let by, let reason): return "rejected by \(by): \(reason)"
        case .approvalTimedOut(let deadline): return "not approved before \(deadline)"
        case .deploymentRolledBackManually(let rollbackID, let targetID, _, let reason, let by):
            return "rolled back by the manual rollback \(rollbackID) to \(targetID), asked by \(by): \(reason)"
        }
    }
}
