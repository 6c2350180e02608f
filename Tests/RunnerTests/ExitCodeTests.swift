import Foundation
import ShiplogTestSupport
import Testing

/// Exit codes say what happened to the environment: 6 when a deployment failed before anything
/// in it changed, 2 when it failed after a migration or the deploy step ran and nothing rolled
/// it back; the verdict line says the same in words.
@Suite struct ExitCodeTests {
    static let migrate = "migrate: { run: 'echo migrated' }\n"
    static let deploy = "deploy: { run: 'echo deployed' }\n"

    static let cases: [(String, Int32)] = [
        ("preflight: [{ name: tests, run: 'exit 1' }]\n" + deploy, 6),
        ("build: { run: 'exit 1' }\n" + deploy, 6),
        ("image: { run: 'exit 1' }\n" + deploy, 6),
        (migrate + "build: { run: 'exit 1' }\n" + deploy, 2),
        ("migrate: { run: 'exit 1' }\n" + deploy, 2),
        ("deploy: { run: 'exit 1' }\n", 2),
        (deploy + "health: { stabilize: 0s, retries: 1, checks: [{ name: app, run: 'exit 1' }] }\n", 2),
    ]

    @Test(arguments: cases)
    func aFailureSaysWhetherTheEnvironmentChanged(pipeline: String, expected: Int32) throws {
        let site = try PipelineSite(pipeline)
        let result = runShiplog(["deploy", "--config", site.pipeline, "--sha", "abcdef1234567", "--db", site.db], environment: site.environment, in: site.dir.url)
        #expect(result.status == expected, "\(result.stdout)\(result.stderr)")
        let id = try #require(PipelineSite.deploymentID(result.stdout))
        let verdict = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        if expected == 6 {
            #expect(verdict.hasPrefix("\(id): failed before anything in staging changed: nothing to roll back (exit 6)"), "\(verdict)")
        } else {
            #expect(verdict.hasPrefix("\(id): failed without a successful rollback: staging may be broken (exit 2)"), "\(verdict)")
        }
        #expect(!result.stderr.contains(id), "the verdict goes with the progress, on stdout: \(result.stderr)")
    }

    @Test func helpListsEveryExitCode() {
        let help = runShiplog(["--help"])
        #expect(help.status == 0)
        for line in [
            "6   deploy/resume: the deployment failed before anything in the environment",
            "7   deploy/resume --no-wait: the deployment waits for approval",
            "130 deploy/resume: interrupted by SIGINT", "143 deploy/resume: interrupted by SIGTERM",
            "2   deploy/resume: the deployment failed and the environment may be broken",
            "1   deploy/resume: the deployment failed and was rolled back;",
            "78  newer schema, altered migrations, or no ledger yet (run init)",
        ] {
            #expect(help.stdout.contains(line), "\(line)")
        }
    }
}
