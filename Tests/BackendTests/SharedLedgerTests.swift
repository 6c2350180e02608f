import EventStore
import Foundation
import Synchronization
import PostgresClient
import PostgresStore
import ShiplogTestSupport
import Testing

/// Many runners, one PostgreSQL ledger: the built `shiplog`, real processes started from
/// different working directories, a real server, and the server crashed under them.
@Suite(.serialized)
struct SharedLedgerTests {
    /// A pipeline for `environment` whose deploy step takes a moment (so racers overlap).
    static func pipeline(_ environment: String, in dir: TemporaryDirectory, deploy: String = "sleep 0.5") throws -> String {
        let path = dir.file("shiplog-\(environment).yml")
        try """
        environment: \(environment)
        services: [api]
        deploy: { run: '\(deploy)' }
        health:
          stabilize: 0s
          retries: 2
          interval: 0s
          timeout: 5s
          checks:
            - { name: server_up, run: 'true' }
        rollback: { run: 'true' }
        artifacts: { dir: logs, retention: 365d }
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func events(_ url: String) throws -> [RecordedEvent] {
        let out = runShiplog(["events", "list", "--json", "--db", url])
        guard out.status == 0 else { throw TestFailure("events list: \(out.stderr)") }
        return try out.stdout.split(separator: "\n").map { try JSONDecoder().decode(RecordedEvent.self, from: Data($0.utf8)) }
    }

    @Test func eightRunnersFromEightDirectoriesShareOneLedger() throws {
        let url = try PostgresCluster.shared.makeDatabase()
        let base = try TemporaryDirectory(prefix: "shiplog-runners")
        #expect(runShiplog(["init", "--db", url]).status == 0)
        let gate = base.file("go")
        let perWriter = 40
        var children: [(env: String, dir: String, process: ChildProcess)] = []
        for i in 0..<8 {
            let env = "env\(i % 4)"
            let dir = base.file("runner\(i)")
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let config = try Self.pipeline(env, in: base)
            let sha = String(format: "%07x", 0xabc0000 + i) + "def0123"
            // Every runner waits for the gate, then races: a deploy (two per environment) and appends to one shared stream.
            let script = """
                while [ ! -e "$GATE" ]; do sleep 0.005; done
                "$SHIPLOG" deploy --config "$CONFIG" --sha \(sha) --db "$URL" > deploy.out 2> deploy.err; echo $? > deploy.rc
                "$SHIPLOG" debug append-loop --db "$URL" --stream shared-load --count \(perWriter) --mode shared > loop.out 2> loop.err; echo $? > loop.rc
                """
            let child = try ChildProcess(
                URL(fileURLWithPath: "/bin/sh"), ["-c", script],
                environment: ["GATE": gate, "SHIPLOG": ShiplogBinary.url.path, "CONFIG": config, "URL": url],
                in: URL(fileURLWithPath: dir))
            children.append((env, dir, child))
        }
        #expect(FileManager.default.createFile(atPath: gate, contents: nil))
        for child in children { _ = child.process.wait() }

        func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "missing" }
        for env in ["env0", "env1", "env2", "env3"] {
            let codes = children.filter { $0.env == env }.map { read($0.dir + "/deploy.rc") }.sorted()
            // Exactly one winner; the other was refused (5) while the winner held the environment,
            // or, arriving after it finished, deployed second (0).
            #expect(codes == ["0", "5"] || codes == ["0", "0"], "\(env): exit codes \(codes)")
            let listed = runShiplog(["history", "--env", env, "--json", "--db", url]).stdout.split(separator: "\n")
            #expect(listed.count == codes.filter { $0 == "0" }.count, "\(env): \(listed.count) deployments for \(codes)")
        }
        #expect(children.map { read($0.dir + "/loop.rc") } == Array(repeating: "0", count: 8))

        let events = try Self.events(url)
        #expect(events.map(\.position) == Array(1...Int64(events.count)), "positions are not gapless")
        let load = events.filter { $0.stream == "shared-load" }
        #expect(load.count == 8 * perWriter)
        #expect(load.map(\.version) == Array(1...Int64(8 * perWriter)))
        var versions: [String: Int64] = [:]
        for e in events {
            #expect(e.version == (versions[e.stream] ?? 0) + 1, "\(e.stream) at \(e.position)")
            versions[e.stream] = e.version
        }
        let verified = runShiplog(["verify", "--db", url])
        #expect(verified.status == 0, "\(verified.stderr)")
    }

    @Test(.enabled(if: !PostgresCluster.usesExistingServer))
    func aServerCrashMidDeploymentIsAClearErrorAndResumeFinishesIt() throws {
        let cluster = PostgresCluster.dedicated()
        let url = try cluster.makeDatabase()
        #expect(runShiplog(["init", "--db", url]).status == 0)
        let dir = try TemporaryDirectory(prefix: "shiplog-crash")
        let marker = dir.file("deploying")
        let config = try Self.pipeline("staging", in: dir, deploy: "touch \(marker); sleep 2")
        let runner = try ChildProcess(ShiplogBinary.url, ["deploy", "--config", config, "--sha", "abcdef1234567", "--db", url], in: dir.url)
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: marker) && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        try cluster.kill9()
        let crashed = runner.wait()
        #expect([74, 75].contains(crashed.status), "exit \(crashed.status): \(crashed.stderr)")
        #expect(crashed.stderr.contains("connection to the server was lost") || crashed.stderr.contains("cannot connect"), "\(crashed.stderr)")
        #expect(!crashed.stderr.contains("Fatal error") && !crashed.stderr.contains("Precondition"))

        try cluster.restart()
        let history = runShiplog(["history", "--json", "--db", url]).stdout
        let id = try #require(
            history.split(separator: "\n").first.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }?["deployment_id"] as? String,
            "the request was acknowledged before the crash: \(history)")
        let resumed = runShiplog(["resume", id, "--db", url], in: dir.url)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let verified = runShiplog(["verify", "--db", url])
        #expect(verified.status == 0, "\(verified.stderr)")
    }

    /// `status` on a shared ledger names the runner that holds a deployment (its session's
    /// advisory lock), without taking the lock.
    @Test func statusNamesTheLiveRunnerOfADeploymentOnTheServer() throws {
        let url = try PostgresCluster.shared.makeDatabase()
        #expect(runShiplog(["init", "--db", url]).status == 0)
        let dir = try TemporaryDirectory(prefix: "shiplog-status")
        let started = dir.file("started"), go = dir.file("go")
        let config = try Self.pipeline("staging", in: dir, deploy: "touch \(started); while [ ! -e \(go) ]; do sleep 0.05; done")
        let runner = try ChildProcess(ShiplogBinary.url, ["deploy", "--config", config, "--sha", "abcdef1234567", "--db", url], in: dir.url)
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: started) && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        let status = runShiplog(["status", "--json", "--db", url])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any], "\(status.stderr)")
        let entry = try #require((object["deployments"] as? [[String: Any]])?.first)
        let holder = try #require(entry["runner"] as? [String: Any])
        #expect(holder["alive"] as? Bool == true)
        #expect((holder["pid"] as? NSNumber)?.int32Value == runner.pid)
        #expect(entry["current_step"] as? String == "deploy")
        #expect(FileManager.default.createFile(atPath: go, contents: Data()))
        #expect(runner.wait().status == 0)
        let idle = runShiplog(["status", "--json", "--db", url])
        #expect(idle.stdout.contains(#""deployments":[]"#), "\(idle.stdout)")
    }

    @Test func twoRunnersKeepingTheSameBytesAtOnceBothSucceedWithOneBlob() throws {
        let url = try PostgresCluster.shared.makeDatabase()
        for round in 0..<10 {
            let bytes = Array("the same log, round \(round)\n".utf8)
            let results = Mutex<[Result<String, any Error>]>([])
            DispatchQueue.concurrentPerform(iterations: 4) { _ in
                let outcome = Result { try PostgresArtifactBlobs(store: try PostgresEventStore(url: url)).put(bytes).sha256 }
                results.withLock { $0.append(outcome) }
            }
            let digests = try results.withLock { try $0.map { try $0.get() } }
            #expect(Set(digests).count == 1)
            var read: [UInt8] = []
            #expect(try PostgresArtifactBlobs(store: try PostgresEventStore(url: url)).read(sha256: digests[0]) { read += $0 })
            #expect(read == bytes)
        }
    }

    @Test(.enabled(if: !PostgresCluster.usesExistingServer))
    func anAppendWhoseConnectionIsKilledIsRetriedWithTheSameIdsAndLandsOnce() throws {
        let (name, url) = try PostgresCluster.shared.createDatabase()
        let store = try PostgresEventStore(url: url)
        try store.append([NewEvent(type: "Before", data: "{}")], to: "a", expected: .noStream)
        let batch = [NewEvent(type: "Retried", data: #"{"n":1}"#), NewEvent(type: "Retried", data: #"{"n":2}"#)]
        // The connection dies inside the append's transaction, after the rows went in, before COMMIT.
        #expect(throws: EventStoreError.self) {
            try store.append([StreamAppend(stream: "a", expected: .exactly(1), events: batch)]) { _ in
                try PostgresCluster.shared.terminateBackends(database: name)
                // Make the server notice: the next statement on the dead session fails.
                _ = try store.head()
            }
        }
        let retry = try PostgresEventStore(url: url)
        let first = try retry.append(batch, to: "a", expected: .exactly(1))
        #expect(!first.wasAlreadyCommitted && first.firstPosition == 2)
        let again = try retry.append(batch, to: "a", expected: .exactly(1))
        #expect(again.wasAlreadyCommitted && again.firstPosition == 2)
        #expect(try retry.head().position == 3)
        #expect(try retry.verify(expect: nil, progress: nil).isIntact)
    }
}
