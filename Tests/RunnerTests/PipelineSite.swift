import EventStore
import Foundation
import SQLiteStore
import ShiplogTestSupport
import Testing

/// A pipeline whose steps are shell snippets, an initialized ledger beside it, and a directory
/// (`$RUNS`) the steps write to; the tests of the runner's edges drive it through the binary.
final class PipelineSite {
    let dir: TemporaryDirectory
    var pipeline: String { dir.file("shiplog.yml") }
    var db: String { dir.file("ledger.db") }
    var environment: [String: String] = [:]

    init(_ body: String, secrets: [String] = ["STAGING_DATABASE_URL"]) throws {
        dir = try TemporaryDirectory(prefix: "shiplog-site")
        try FileManager.default.createDirectory(atPath: dir.file("runs"), withIntermediateDirectories: true)
        environment = ["RUNS": dir.file("runs"), "USER": "tester", "GITHUB_OUTPUT": "", "STAGING_DATABASE_URL": "postgresql://app:pw-0f9e8d7c@db/app"]
        try ("environment: staging\nservices: [web]\nsecrets: [\(secrets.joined(separator: ", "))]\nartifacts: { dir: logs }\n" + body)
            .write(toFile: pipeline, atomically: true, encoding: .utf8)
        let created = runShiplog(["init", "--db", db])
        #expect(created.status == 0, "\(created.stderr)")
    }

    func start(_ args: [String]) throws -> ChildProcess {
        try ChildProcess(ShiplogBinary.url, args + ["--db", db], environment: environment, in: dir.url)
    }

    func shiplog(_ args: [String]) -> ProcessOutput {
        runShiplog(args + ["--db", db], environment: environment, in: dir.url)
    }

    /// Waits until `file` (under runs/) exists.
    func waitFor(_ file: String) {
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: dir.file("runs/\(file)")) && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
    }

    func lines(_ file: String) -> [String] {
        ((try? String(contentsOfFile: dir.file("runs/\(file)"), encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func events(_ id: String) throws -> [RecordedEvent] {
        try SQLiteEventStore(path: db, mode: .readOnly).readStream("deployment-\(id)", from: 1)
    }

    /// The deployment id on the `▶` line a deploy prints first.
    static func deploymentID(_ output: String) -> String? {
        output.split(separator: "\n").first { $0.hasPrefix("▶") }.flatMap { $0.split(separator: " ").dropFirst().first }.map { String($0.dropLast()) }
    }
}
