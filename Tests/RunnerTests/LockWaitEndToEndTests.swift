import EventStore
import Foundation
import Ledger
import ShiplogTestSupport
import Testing

/// `deploy --wait-for-lock`: two real runners on one environment, the wait giving up, and a
/// waiting runner stopped by SIGINT with nothing started.
@Suite(.serialized)
struct LockWaitEndToEndTests {
    typealias Staging = DeployEndToEndTests.Staging

    static func history(_ staging: Staging) -> [[String: Any]] {
        staging.shiplog(["history", "--json"]).stdout.split(separator: "\n")
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    @Test func aSecondRunnerWaitsForTheFirstThenDeploys() throws {
        let staging = try Staging(buildSleep: "3")
        let first = try staging.startDeploy("abc123def4567890")
        staging.waitForRun("build")
        let second = try ChildProcess(
            ShiplogBinary.url,
            ["deploy", "--db", staging.db, "--config", staging.pipelinePath, "--sha", "def456def4567890", "--wait-for-lock", "2m"],
            environment: staging.environment, in: staging.dir.url)
        let one = first.wait()
        let two = second.wait()
        #expect(one.status == 0, "\(one.stderr)")
        #expect(two.status == 0, "\(two.stderr)")
        let firstID = try #require(Staging.deploymentID(in: one.stdout))
        #expect(two.stdout.contains("⏳ staging is held by \(firstID)"), "the waiting runner names the deployment it waits for: \(two.stdout)")
        #expect(Self.history(staging).map { $0["status"] as? String } == ["success", "success"])
        #expect(staging.runs("build") == ["1", "1"])
    }

    @Test func theWaitGivesUpAfterItsDurationWithExit5() throws {
        let staging = try Staging()
        let holder = staging.shiplog(["record", "begin", "--env", "staging", "--sha", "ccccccc3333333"])
        let holderID = holder.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let waited = staging.deploy("abc123def4567890", extra: ["--wait-for-lock", "2s"])
        #expect(waited.status == 5, "\(waited.stderr)")
        #expect(waited.stderr.contains("still held by \(holderID)") && waited.stderr.contains("nothing was started"), "\(waited.stderr)")
        #expect(Self.history(staging).count == 1)
        #expect(staging.deploy("abc123def4567890", extra: ["--wait-for-lock", "soon"]).status == 64)
    }

    @Test func sigintEndsTheWaitWithNothingStarted() throws {
        let staging = try Staging()
        _ = staging.shiplog(["record", "begin", "--env", "staging", "--sha", "ccccccc3333333"])
        let out = staging.dir.file("waiting.out")
        // exec: the shell becomes shiplog, so the signal reaches it; its output goes to a file read meanwhile.
        let waiting = try ChildProcess(
            URL(fileURLWithPath: "/bin/sh"),
            [
                "-c", #"exec "$0" deploy --db "$1" --config "$2" --sha abc123def4567890 --wait-for-lock 10m > "$3" 2>&1"#,
                ShiplogBinary.url.path, staging.db, staging.pipelinePath, out,
            ], environment: staging.environment, in: staging.dir.url)
        #expect(RunnerOwnershipTests.eventually { ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").contains("⏳") })
        waiting.signal(SIGINT)
        let result = waiting.wait()
        #expect(result.status == 130)
        let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        #expect(text.contains("interrupted by SIGINT (the wait for environment staging") && text.contains("nothing was recorded"), "\(text)")
        #expect(Self.history(staging).count == 1, "nothing was recorded for the runner that waited")
    }
}
