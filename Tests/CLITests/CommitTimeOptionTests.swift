import Foundation
import ShiplogTestSupport
import Testing

/// `--commit-time` on `deploy` and `record begin`, and the commit time read with git where the
/// runner has the repository: recorded in the request, never a reason for a deployment to fail.
@Suite("Commit time of a deployment")
struct CommitTimeOptionTests {
    /// A git repository in `directory` with one commit made at `date`; returns the commit's sha.
    static func repository(in directory: String, date: String) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let git = URL(fileURLWithPath: "/usr/bin/env")
        let environment = [
            "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_NOSYSTEM": "1", "HOME": directory,
        ]
        for args in [["init", "-q"], ["commit", "-q", "--allow-empty", "-m", "release"]] {
            let out = runProcess(git, ["git", "-C", directory] + args, environment: environment)
            try #require(out.status == 0, "git \(args.joined(separator: " ")): \(out.stderr)")
        }
        let head = runProcess(git, ["git", "-C", directory, "rev-parse", "HEAD"], environment: environment)
        return head.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func commitTime(_ ledger: DomainLedger, _ id: String) -> Any? {
        ledger.record(id)?["commit_time"]
    }

    @Test func anExplicitCommitTimeIsRecordedAsTheLedgerWritesTimes() throws {
        let ledger = try DomainLedger()
        let id = ledger.ok(["record", "begin", "--env", "staging", "--sha", "abc1234def", "--commit-time", "2024-11-19T12:30:00+02:00"])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(Self.commitTime(ledger, id) as? String == "2024-11-19T10:30:00.000Z")
        let stderr = ledger.fails(64, ["record", "begin", "--env", "qa", "--sha", "abc1234def", "--commit-time", "yesterday"])
        #expect(stderr.contains("--commit-time"))
    }

    @Test func recordBeginReadsTheCommitTimeWithGitInTheCurrentDirectory() throws {
        let ledger = try DomainLedger()
        let sha = try Self.repository(in: ledger.directory.path, date: "2024-11-19T09:15:00+01:00")
        let id = ledger.begin(sha: sha)
        #expect(Self.commitTime(ledger, id) as? String == "2024-11-19T08:15:00.000Z")
        // The option wins over git.
        ledger.ok(["record", "finish", id, "--status", "failed", "--reason", "test"])
        let given = ledger.ok(["record", "begin", "--env", "staging", "--sha", sha, "--commit-time", "2024-11-18"])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(Self.commitTime(ledger, given) as? String == "2024-11-18T00:00:00.000Z")
    }

    @Test func withoutGitOrTheCommitTheDeploymentIsRecordedWithoutATime() throws {
        let ledger = try DomainLedger()
        let unknown = ledger.begin(sha: "fedcba9876543210")
        #expect(Self.commitTime(ledger, unknown) is NSNull, "no repository here: nothing recorded")
        _ = try Self.repository(in: ledger.directory.path, date: "2024-11-19T09:15:00Z")
        ledger.ok(["record", "finish", unknown, "--status", "failed", "--reason", "test"])
        let missing = ledger.begin(env: "qa", sha: "0123456789abcdef")
        #expect(Self.commitTime(ledger, missing) is NSNull, "a commit the repository lacks: nothing recorded")
        let noGit = ledger.run(["record", "begin", "--env", "dev", "--sha", "0123456789abcdef"], environment: ["PATH": ledger.directory.file("empty")])
        #expect(noGit.status == 0, "\(noGit.stderr)")
        #expect(Self.commitTime(ledger, noGit.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) is NSNull)
    }

    @Test func deployReadsTheCommitTimeInThePipelinesDirectory() throws {
        let ledger = try DomainLedger()
        let repo = ledger.directory.file("checkout")
        let sha = try Self.repository(in: repo, date: "2024-11-19T07:00:00Z")
        let pipeline = repo + "/shiplog.yml"
        try "environment: staging\nservices: [api]\ndeploy: { run: 'true' }\n".write(toFile: pipeline, atomically: true, encoding: .utf8)
        ledger.ok(["deploy", "--config", pipeline, "--sha", sha])
        let id = try #require(DomainJSON.lines(ledger.ok(["history", "--json"])).first?["deployment_id"] as? String)
        #expect(Self.commitTime(ledger, id) as? String == "2024-11-19T07:00:00.000Z")
        ledger.ok(["deploy", "--config", pipeline, "--sha", sha, "--commit-time", "2024-11-19T06:00:00Z"])
        let second = try #require(DomainJSON.lines(ledger.ok(["history", "--json"])).first?["deployment_id"] as? String)
        #expect(second != id && Self.commitTime(ledger, second) as? String == "2024-11-19T06:00:00.000Z")
    }
}
