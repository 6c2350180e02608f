import Foundation
import ShiplogTestSupport
import Testing

/// The projection tables are plain SQL anyone with the ledger file can edit: rollback targets,
/// the environment lock and artifact deletion must follow the hash-chained events instead, and
/// `verify` must find the edit.
@Suite("Decisions come from the events, not from editable tables")
struct DecisionsFromEventsTests {
    /// A stable deployment, then a failed one.
    static func ledger() throws -> (DomainLedger, stable: String, failed: String) {
        let l = try DomainLedger()
        let stable = l.stable(sha: "aaaaaaa1111111")
        let failed = l.begin(sha: "bbbbbbb2222222")
        l.ok(["record", "phase", failed, "deploy", "--status", "succeeded"])
        l.ok(["record", "finish", failed, "--status", "failed", "--reason", "smoke tests failed"])
        return (l, stable, failed)
    }

    static func sql(_ l: DomainLedger, _ statement: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let out = sqlite3(l.db, statement)
        #expect(out.status == 0, "\(out.stderr)", sourceLocation: sourceLocation)
    }

    @Test func aFailedReleaseEditedToSuccessIsNeverARollbackTarget() throws {
        let (l, stable, failed) = try Self.ledger()
        Self.sql(l, "UPDATE deployments SET status = 'success', failure_reason = NULL WHERE deployment_id = '\(failed)'")

        #expect(l.ok(["last-stable", "--env", "staging"]).contains(stable))
        let begun = DomainJSON.object(l.ok(["record", "begin", "--env", "staging", "--sha", "ccccccc3333333", "--json"]))
        #expect(begun?["rollback_target"] as? String == stable, "\(String(describing: begun))")
    }

    @Test func verifyNamesAnEditedDeploymentRowAndRebuildMendsIt() throws {
        let (l, _, failed) = try Self.ledger()
        l.ok(["verify"])
        Self.sql(l, "UPDATE deployments SET status = 'success' WHERE deployment_id = '\(failed)'")
        let out = l.run(["verify"])
        #expect(out.status == 3, "\(out.stderr)")
        #expect(
            out.stderr.contains("deployments row deployment_id=\"\(failed)\": status is \"success\" in the table, but \"failed\" by the events"),
            "\(out.stderr)")
        #expect(out.stderr.contains("shiplog rebuild"))
        let json = DomainJSON.object(l.run(["verify", "--json"]).stdout)
        #expect(json?["projections_match"] as? Bool == false)
        l.ok(["rebuild"])
        l.ok(["verify"])
    }

    @Test(arguments: [
        ("DELETE FROM deployments WHERE status = 'failed'", "is missing from the table"),
        (
            "INSERT INTO environments (name, active_deployment_id, updated_at) VALUES ('qa', NULL, '2026-01-01T00:00:00.000Z')",
            "is in the table, but the events produce no such row"
        ),
        ("UPDATE artifacts SET expires_at = '2000-01-01T00:00:00.000Z'", "expires_at is"),
    ])
    func verifyFindsEveryKindOfTableEdit(edit: String, finding: String) throws {
        let (l, _, _) = try Self.ledger()
        Self.sql(l, edit)
        let out = l.run(["verify"])
        #expect(out.status == 3, "\(edit): \(out.stderr)")
        #expect(out.stderr.contains(finding), "\(edit): \(out.stderr)")
    }

    @Test func anEditedEnvironmentRowNeitherBlocksNorFreesTheEnvironment() throws {
        let (l, _, _) = try Self.ledger()
        // The table claims staging is held; the events say it is free.
        Self.sql(l, "UPDATE environments SET active_deployment_id = 'x' WHERE name = 'staging'")
        let held = l.begin(sha: "ddddddd4444444")
        // Now the table claims it is free; the events say it is held.
        Self.sql(l, "UPDATE environments SET active_deployment_id = NULL WHERE name = 'staging'")
        let refused = l.fails(5, ["record", "begin", "--env", "staging", "--sha", "eeeeeee5555555"])
        #expect(refused.contains(held), "\(refused)")
    }

    @Test func pruneFollowsTheEventsNotAnEditedRetention() throws {
        let (l, stable, _) = try Self.ledger()
        let log = l.write("deploy.log", "deployed fine\n")
        let other = l.begin(sha: "fffffff6666666")
        l.ok(["record", "phase", other, "deploy", "--status", "succeeded", "--log", log])
        let artifacts = DomainJSON.lines(l.ok(["artifacts", "list", "--json"]))
        let digest = try #require(artifacts.first?["sha256"] as? String)
        #expect(FileManager.default.fileExists(atPath: l.artifactFile(sha256: digest)))
        _ = stable

        // Claim the live log expired long ago, and point another row's digest at the ledger itself.
        Self.sql(l, "UPDATE artifacts SET expires_at = '2000-01-01T00:00:00.000Z'")
        Self.sql(
            l,
            """
            INSERT INTO artifacts (name, deployment_id, environment, phase, sha256, size, retention_days, stored_at, expires_at, stored_position)
            VALUES ('forged', '\(other)', 'staging', 'deploy', '../ledger.db', 1, 1, '2000-01-01T00:00:00.000Z', '2000-01-01T00:00:00.000Z', 1)
            """)
        let dry = l.ok(["artifacts", "prune", "--dry-run", "--json"])
        #expect(!dry.contains("\"name\""), "a dry run lists what the events do not call expired: \(dry)")
        l.ok(["artifacts", "prune"])
        #expect(FileManager.default.fileExists(atPath: l.artifactFile(sha256: digest)), "a live log was deleted")
        #expect(FileManager.default.fileExists(atPath: l.db), "prune deleted the ledger")
        #expect(l.run(["verify"]).status == 3, "the edited table is still reported")
    }
}
