import EventStore
import SQLiteStore
import ArgumentParser
import Foundation
import Ledger
import Runner

struct UnlockCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unlock",
        abstract: "Free an environment held by an unfinished deployment, ending that deployment as abandoned.",
        discussion: """
            For a runner or pipeline that died and will not come back. The deployment ends as \
            abandoned, with the reason and who unlocked it; the environment accepts a new \
            deployment at once. Exits 4 when nothing holds the environment.

            A deployment that a live `shiplog deploy` or `resume` on this machine is driving is \
            not unlocked (exit 5, naming its pid): stop that runner first. One held by a runner \
            on another host is refused too, unless --force says that host is gone. Steps of the \
            deployment still running on this machine are refused without --force; with it, they \
            are killed before the deployment ends.

            Example:
              shiplog unlock --env staging --reason "runner lost during deploy (job 8812)"
              shiplog unlock --env staging --reason "runner host ci-7 decommissioned" --force
            """)

    @OptionGroup var ledger: LedgerOptions
    @Option(help: "The environment to free.") var env: String
    @OptionGroup var attribution: Attribution
    @Flag(help: "The runner's host is gone: unlock although its lock names it, killing any step of the deployment left on this machine.")
    var force = false
    @Flag(help: "Print a JSON object instead of text.") var json = false

    func run() throws {
        try reporting {
            let ledger = try self.ledger.ledger(.existing, textFilter: ProcessSecrets.filter)
            guard let active = try ledger.activeDeployment(environment: env) else {
                throw LedgerError.notFound("environment \(env) has no active deployment; nothing to unlock")
            }
            // Hold the deployment's runner lock while ending it: no runner can start driving it meanwhile.
            var lock: (any RunnerClaim)?
            do {
                lock = try LedgerOptions.claims(for: ledger.store, ledgerPath: self.ledger.path).claim(active)
            } catch let refused as RunnerClaimRefused {
                if refused.remote {
                    guard force else {
                        throw Failure(
                            """
                            deployment \(active) is held by a runner on another host (\(refused.holder ?? "unknown")); if that host is gone for \
                            good, run unlock again with --force
                            """, code: Exit.refused)
                    }
                } else {
                    throw Failure(
                        """
                        deployment \(active) is being driven by a live runner (\(refused.holder ?? "another shiplog process on this machine")); \
                        stop it first\(refused.localPID.map { " (kill -TERM \($0))" } ?? "") or let it finish: unlock is for a runner that is gone
                        """, code: Exit.refused)
                }
            }
            defer { lock?.release() }
            let leftovers = LeftoverSteps.find(deploymentID: active)
            if !leftovers.isEmpty {
                guard force else {
                    throw Failure(
                        """
                        steps of deployment \(active) are still running on this machine (pid \(leftovers.map(String.init).joined(separator: ", "))); \
                        wait for them, or run unlock again with --force to kill them first
                        """, code: Exit.refused)
                }
                let alive = LeftoverSteps.kill(deploymentID: active)
                if !alive.isEmpty {
                    throw Failure(
                        "cannot stop the steps of \(active) still running here (pid \(alive.map(String.init).joined(separator: ", "))); nothing was recorded",
                        code: Exit.refused)
                }
            }
            let abandoned = try ledger.unlock(environment: env, reason: attribution.reason, by: attribution.who, expected: active)
            if json {
                Terminal.out(
                    JSONText.object([
                        ("environment", JSONText.quote(env)), ("abandoned", JSONText.quote(abandoned)),
                        ("killed_steps", JSONText.array(leftovers.map { String($0) })),
                    ]))
            } else {
                if !leftovers.isEmpty { TerminalText.note("killed \(leftovers.count) leftover step process\(leftovers.count == 1 ? "" : "es") of \(abandoned)") }
                TerminalText.out("\(env) is free; \(abandoned) ended as abandoned")
            }
        }
    }
}
