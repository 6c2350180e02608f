import Foundation
import ShiplogTestSupport
import Testing

/// The audit answers who: every deployment names who triggered it, never "unknown"; a
/// rolled-back record says why; a release someone marked bad is not deployed again unawares.
@Suite struct AuditTests {
    /// Deploys `$SHIPLOG_VERSION` into runs/current; a version starting with "bad" fails its check.
    static let pipeline = """
        deploy: { run: 'echo "$SHIPLOG_VERSION" > "$RUNS/current"' }
        health:
          stabilize: 0s
          retries: 1
          checks: [{ name: app, run: 'case "$(cat "$RUNS/current")" in bad*) exit 1;; esac' }]
        rollback: { run: 'echo "$SHIPLOG_ROLLBACK_VERSION" > "$RUNS/current"' }

        """

    func deploy(_ site: PipelineSite, _ sha: String, _ extra: [String] = [], environment: [String: String] = [:]) -> ProcessOutput {
        runShiplog(
            ["deploy", "--config", site.pipeline, "--sha", sha, "--db", site.db] + extra, environment: site.environment.merging(environment) { $1 },
            in: site.dir.url)
    }

    @Test func historyShowsWhoTriggeredEachDeployment() throws {
        let site = try PipelineSite(Self.pipeline)
        #expect(deploy(site, "abcdef1234567", environment: ["USER": "alice"]).status == 0)
        Thread.sleep(forTimeInterval: 1.05)
        #expect(deploy(site, "abcdef1234567", ["--triggered-by", "release-bot"]).status == 0)
        let table = site.shiplog(["history"]).stdout.split(separator: "\n").map(String.init)
        #expect(table.first?.contains("  BY  ") == true, "\(table)")
        #expect(table.count == 3 && table[1].contains("release-bot") && table[2].contains("alice"), "\(table)")
    }

    @Test func withoutUserTheAccountNameIsRecordedNeverUnknown() throws {
        let site = try PipelineSite(Self.pipeline)
        let result = deploy(site, "abcdef1234567", environment: ["USER": "", "LOGNAME": "", "GITHUB_ACTOR": ""])
        #expect(result.status == 0, "\(result.stderr)")
        let uid = geteuid()
        let account = getpwuid(uid).flatMap { $0.pointee.pw_name }.map { String(cString: $0) } ?? "uid \(uid)"
        let record = try #require(DomainLines.first(site.shiplog(["history", "--json"]).stdout))
        #expect(record["triggered_by"] as? String == account)
        #expect(record["triggered_by"] as? String != "unknown")
    }

    @Test func aRolledBackRecordCarriesItsFailureReason() throws {
        let site = try PipelineSite(Self.pipeline)
        #expect(deploy(site, "abcdef1234567").status == 0)
        Thread.sleep(forTimeInterval: 1.05)
        let bad = deploy(site, "bad0bad0bad0bad0")
        #expect(bad.status == 1, "\(bad.stdout)\(bad.stderr)")
        let record = try #require(DomainLines.first(site.shiplog(["history", "--json", "--status", "rolled_back"]).stdout))
        #expect(record["failure_reason"] as? String == "health checks failed", "\(record)")
        let id = try #require(record["deployment_id"] as? String)
        #expect(site.shiplog(["show", id]).stdout.contains("failure       health checks failed"))
        #expect(site.shiplog(["verify"]).status == 0, "the projection agrees with a replay of the events")
    }

    @Test func aShaMarkedBadIsNotDeployedAgainUnlessAllowed() throws {
        let site = try PipelineSite(Self.pipeline)
        let first = deploy(site, "abcdef1234567")
        let id = try #require(PipelineSite.deploymentID(first.stdout))
        #expect(site.shiplog(["mark-bad", id, "--reason", "corrupts uploads", "--by", "oncall"]).status == 0)
        Thread.sleep(forTimeInterval: 1.05)
        let refused = deploy(site, "abcdef1234567890")
        #expect(refused.status == 5, "\(refused.stderr)")
        #expect(refused.stderr.contains("abcdef123456 was marked bad in \(id) by oncall: corrupts uploads"), "\(refused.stderr)")
        #expect(refused.stderr.contains("--allow-marked-bad"))
        #expect(site.shiplog(["history", "--json"]).stdout.split(separator: "\n").count == 1, "nothing was recorded")
        let allowed = deploy(site, "abcdef1234567890", ["--allow-marked-bad"])
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(allowed.stderr.contains("warning: deploying although abcdef123456 was marked bad"), "\(allowed.stderr)")
    }
}

/// JSON lines as objects.
enum DomainLines {
    static func first(_ text: String) -> [String: Any]? {
        text.split(separator: "\n").first.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }
}
