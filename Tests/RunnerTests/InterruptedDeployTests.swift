import EventStore
import Foundation
import Ledger
import SQLiteStore
import ShiplogTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Ctrl-C and `kill` while a deployment runs, and failures: the runner stops its step, records
/// nothing false, says what was interrupted and how to continue; a failure shows the end of its
/// log; `status` says whether a runner is alive.
@Suite(.serialized)
struct InterruptedDeployTests {
    /// True while `pid` is a process that is not a zombie.
    static func alive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }

    static func deploymentID(_ output: String) -> String? {
        output.split(separator: "\n").first { $0.hasPrefix("▶") }.flatMap { $0.split(separator: " ").dropFirst().first }.map { String($0.dropLast()) }
    }

    /// A build step that sleeps in a child on its first attempt, noting its pids.
    static let sleepingBuild = """
        build: { run: 'echo $$ > "$RUNS/shell.pid"; echo "$SHIPLOG_ATTEMPT" >> "$RUNS/build"; if [ "$SHIPLOG_ATTEMPT" = 1 ]; then sleep 60 & echo $! > "$RUNS/sleep.pid"; wait; fi; echo built' }
        deploy: { run: 'echo deployed' }

        """

    @Test(arguments: [SIGINT, SIGTERM])
    func aSignalStopsTheStepRecordsNoOutcomeAndTheResumeCommandFinishesIt(_ signal: Int32) throws {
        let site = try PipelineSite(Self.sleepingBuild)
        let child = try site.start(["deploy", "--config", site.pipeline, "--sha", "abcdef1234567"])
        site.waitFor("sleep.pid")
        let shell = try #require(Int32(site.lines("shell.pid").first ?? ""))
        let sleeper = try #require(Int32(site.lines("sleep.pid").first ?? ""))
        child.signal(signal)
        let stopped = child.wait()
        #expect(stopped.status == 128 + signal, "\(stopped.stdout)\(stopped.stderr)")
        let id = try #require(Self.deploymentID(stopped.stdout))
        let name = signal == SIGINT ? "SIGINT" : "SIGTERM"
        #expect(stopped.stdout.contains("⏸ \(id) interrupted by \(name) (the build step)"), "\(stopped.stdout)")
        #expect(stopped.stdout.contains("resume runs the build step again (SHIPLOG_ATTEMPT=2)"), "\(stopped.stdout)")
        #expect(!Self.alive(shell) && !Self.alive(sleeper), "the step's processes are gone")

        // Nothing false: the build started and has no outcome; the deployment did not end.
        let types = try site.events(id).map(\.type)
        #expect(types.contains("BuildStarted"))
        #expect(!types.contains("BuildFailed") && !types.contains("BuildSucceeded") && !types.contains("DeploymentFailed"), "\(types)")
        let log = try String(contentsOfFile: site.dir.file("logs/build-\(id).log"), encoding: .utf8)
        #expect(log.contains("\(name) reached the runner: stopping the step"), "\(log)")

        let status = site.shiplog(["status", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        let entry = try #require((object["deployments"] as? [[String: Any]])?.first)
        #expect(entry["current_step"] as? String == "build")
        #expect((entry["runner"] as? [String: Any])?["alive"] as? Bool == false)

        // The exact command printed continues it, with no unlock: the runner's claim was released.
        let line = try #require(stopped.stdout.split(separator: "\n").first { $0.contains("continue it with: ") })
        let command = String(line.split(separator: ":", maxSplits: 1)[1]).trimmingCharacters(in: .whitespaces)
        #expect(command == "shiplog resume \(id) --db \(site.db)")
        let words = command.split(separator: " ").dropFirst().map(String.init)
        let resumed = runShiplog(words, environment: site.environment, in: site.dir.url)
        #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
        #expect(site.lines("build") == ["1", "2"])
    }

    /// A step that ignores SIGTERM: the first Ctrl-C asks it to stop, a second kills it at once.
    @Test func aSecondSignalKillsAStepThatIgnoresTheFirst() throws {
        let site = try PipelineSite(
            """
            deploy: { run: 'trap "" TERM; echo $$ > "$RUNS/shell.pid"; while :; do sleep 0.1; done' }

            """)
        let child = try site.start(["deploy", "--config", site.pipeline, "--sha", "abcdef1234567"])
        site.waitFor("shell.pid")
        let shell = try #require(Int32(site.lines("shell.pid").first ?? ""))
        child.signal(SIGINT)
        let logs = site.dir.file("logs")
        let deadline = Date().addingTimeInterval(30)
        func log() -> String {
            let name = (try? FileManager.default.contentsOfDirectory(atPath: logs))?.first { $0.hasPrefix("deployment-") } ?? ""
            return (try? String(contentsOfFile: logs + "/" + name, encoding: .utf8)) ?? ""
        }
        while !log().contains("stopping the step") && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        child.signal(SIGINT)
        let stopped = child.wait()
        #expect(stopped.status == 130, "\(stopped.stdout)\(stopped.stderr)")
        #expect(log().contains("another signal while stopping: killing the step's processes now"), "\(log())")
        #expect(!Self.alive(shell), "no step process is left behind")
    }

    @Test func anInterruptedStepMarkedFailIsFailedByResume() throws {
        let site = try PipelineSite(
            """
            migrate: { run: 'echo "$SHIPLOG_ATTEMPT" >> "$RUNS/migrate"; sleep 60', on_interrupt: fail }
            deploy: { run: 'echo deployed' }

            """)
        let child = try site.start(["deploy", "--config", site.pipeline, "--sha", "abcdef1234567"])
        site.waitFor("migrate")
        child.signal(SIGTERM)
        let stopped = child.wait()
        #expect(stopped.status == 143, "\(stopped.stderr)")
        #expect(stopped.stdout.contains("the migrate step is marked on_interrupt: fail, so resume ends the deployment as failed"), "\(stopped.stdout)")
        let id = try #require(Self.deploymentID(stopped.stdout))
        #expect(try !site.events(id).map(\.type).contains("MigrationFailed"), "an interrupted migration is not recorded as failed")
        let resumed = site.shiplog(["resume", id])
        #expect(resumed.status == 2, "\(resumed.stdout)\(resumed.stderr)")
        #expect(site.lines("migrate") == ["1"])
    }

    @Test func aWaitIsInterruptedAtOnce() throws {
        let site = try PipelineSite(
            """
            deploy: { run: 'touch "$RUNS/deployed"' }
            health:
              stabilize: 1h
              checks: [{ name: app, run: 'true' }]

            """)
        let child = try site.start(["deploy", "--config", site.pipeline, "--sha", "abcdef1234567"])
        site.waitFor("deployed")
        // Until the wait has begun: its start is recorded right after the deploy step's outcome.
        let deadline = Date().addingTimeInterval(30)
        while !site.shiplog(["events", "list"]).stdout.contains("StabilizationWaitStarted") && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        child.signal(SIGINT)
        let stopped = child.wait()
        #expect(stopped.status == 130, "\(stopped.stderr)")
        #expect(stopped.stdout.contains("interrupted by SIGINT (the wait for services to stabilize)"), "\(stopped.stdout)")
    }

    @Test func aFailedStepShowsTheEndOfItsRedactedLogAndWhereTheRestIs() throws {
        let site = try PipelineSite(
            """
            deploy: { run: 'for i in $(seq 1 30); do echo "line $i"; done; echo "cannot reach $STAGING_DATABASE_URL"; exit 3' }

            """)
        let result = site.shiplog(["deploy", "--config", site.pipeline, "--sha", "abcdef1234567"])
        #expect(result.status == 2, "\(result.stderr)")
        let id = try #require(Self.deploymentID(result.stdout))
        #expect(result.stdout.contains("│ line 30") && result.stdout.contains("│ cannot reach [redacted:STAGING_DATABASE_URL]"), "\(result.stdout)")
        #expect(!result.stdout.contains("│ line 5\n"), "only the last lines")
        #expect(!result.stdout.contains("pw-0f9e8d7c") && !result.stderr.contains("pw-0f9e8d7c"))
        #expect(result.stdout.contains("full log: \(site.dir.file("logs/deployment-\(id).log"))"), "\(result.stdout)")
    }

    @Test func aFailedHTTPCheckKeepsABoundedRedactedExcerptOfTheAnswer() throws {
        let server = try HTTPTestServer()
        let token = "tok-body-5a6b7c8d9e"
        let padding = String(repeating: "p", count: 700)
        let site = try PipelineSite(
            """
            deploy: { run: 'echo deployed' }
            health:
              stabilize: 0s
              retries: 1
              checks: [{ name: api, url: "\(server.url("/missing/"))${API_TOKEN}/\(padding)" }]

            """, secrets: ["API_TOKEN"])
        site.environment["API_TOKEN"] = token
        let result = site.shiplog(["deploy", "--config", site.pipeline, "--sha", "abcdef1234567"])
        #expect(result.status == 2, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains(#"answered: {"error":"no route for GET /missing/[redacted:API_TOKEN]/ppp"#), "\(result.stdout)")
        let id = try #require(Self.deploymentID(result.stdout))
        let attempt = try #require(try site.events(id).first { $0.type == "HealthCheckAttempted" })
        let data = try #require(try JSONSerialization.jsonObject(with: Data(attempt.data.utf8)) as? [String: Any])
        let body = try #require(data["body"] as? String)
        #expect(body.hasPrefix(#"{"error":"no route for GET /missing/[redacted:API_TOKEN]/"#), "\(body)")
        #expect(body.hasSuffix("…") && body.utf8.count <= 512 + "…".utf8.count, "\(body.utf8.count) bytes")
        let shown = site.shiplog(["show", id])
        #expect(shown.stdout.contains("answered: {"), "\(shown.stdout)")
        for text in [result.stdout, result.stderr, shown.stdout, try site.events(id).map(\.data).joined()] {
            #expect(!text.contains(token))
        }
    }

    @Test func statusSaysWhetherTheRunnerIsAliveAndWhere() throws {
        let site = try PipelineSite(
            """
            build: { run: 'touch "$RUNS/building"; while [ ! -e "$RUNS/go" ]; do sleep 0.05; done' }
            deploy: { run: 'echo deployed' }

            """)
        let child = try site.start(["deploy", "--config", site.pipeline, "--sha", "abcdef1234567"])
        site.waitFor("building")
        let live = site.shiplog(["status", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(live.stdout.utf8)) as? [String: Any], "\(live.stdout)\(live.stderr)")
        #expect(object["ledger"] as? String == site.db)
        let entry = try #require((object["deployments"] as? [[String: Any]])?.first)
        #expect(entry["current_step"] as? String == "build")
        let runner = try #require(entry["runner"] as? [String: Any])
        #expect(runner["alive"] as? Bool == true)
        #expect((runner["pid"] as? NSNumber)?.int32Value == child.pid)
        #expect((runner["host"] as? String)?.isEmpty == false)
        let text = site.shiplog(["status"])
        #expect(text.stdout.contains("build (attempt 1)") && text.stdout.contains("runner: alive, pid \(child.pid) on host"), "\(text.stdout)")

        child.signal(SIGKILL)
        _ = child.wait()
        let dead = site.shiplog(["status"])
        #expect(dead.stdout.contains("runner: none is alive; continue it with `shiplog resume"), "\(dead.stdout)")
        #expect(FileManager.default.createFile(atPath: site.dir.file("runs/go"), contents: Data()))

        let idle = try PipelineSite("deploy: { run: 'true' }\n")
        let empty = idle.shiplog(["status", "--json"])
        let nothing = try #require(try JSONSerialization.jsonObject(with: Data(empty.stdout.utf8)) as? [String: Any], "\(empty.stdout)")
        #expect((nothing["deployments"] as? [Any])?.isEmpty == true)
    }
}
