import Foundation
import ShiplogTestSupport
import Testing

/// A temporary ledger that the deployment-domain tests drive through the built `shiplog`.
///
/// Every run gets `--db` and an environment without the CI's own GitHub variables, so a test
/// run inside GitHub Actions never writes to the job's real output file.
final class DomainLedger {
    let directory: TemporaryDirectory
    let db: String

    init() throws {
        directory = try TemporaryDirectory(prefix: "shiplog-domain")
        db = directory.file("ledger.db")
        // Only `init` creates a ledger.
        let created = runShiplog(["init", "--db", db])
        #expect(created.status == 0, "shiplog init: \(created.stderr)")
    }

    /// Runs `shiplog args… --db <ledger>` in the ledger's directory.
    @discardableResult
    func run(_ args: [String], environment: [String: String] = [:]) -> ProcessOutput {
        var env = ["GITHUB_OUTPUT": "", "GITHUB_ACTOR": "", "USER": "tester"]
        env.merge(environment) { $1 }
        return runShiplog(args + ["--db", db], environment: env, in: directory.url)
    }

    /// Runs a command that must succeed, and returns its stdout.
    @discardableResult
    func ok(_ args: [String], environment: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation) -> String {
        let out = run(args, environment: environment)
        #expect(out.status == 0, "shiplog \(args.joined(separator: " ")) exited \(out.status): \(out.stderr)", sourceLocation: sourceLocation)
        return out.stdout
    }

    /// Runs a command that must be refused with `status`; returns its stderr.
    @discardableResult
    func fails(_ status: Int32, _ args: [String], sourceLocation: SourceLocation = #_sourceLocation) -> String {
        let out = run(args)
        #expect(
            out.status == status, "shiplog \(args.joined(separator: " ")) exited \(out.status), expected \(status): \(out.stderr)",
            sourceLocation: sourceLocation)
        return out.stderr
    }

    /// `record begin`; returns the deployment id.
    func begin(
        env: String = "staging", sha: String, services: [String] = ["api-gateway"],
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> String {
        var args = ["record", "begin", "--env", env, "--sha", sha]
        if !services.isEmpty { args += ["--services", services.joined(separator: ",")] }
        return ok(args, sourceLocation: sourceLocation).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A deployment that deploys and succeeds; returns its id.
    func stable(env: String = "staging", sha: String, sourceLocation: SourceLocation = #_sourceLocation) -> String {
        let id = begin(env: env, sha: sha, sourceLocation: sourceLocation)
        ok(["record", "phase", id, "deploy", "--status", "succeeded"], sourceLocation: sourceLocation)
        ok(["record", "finish", id, "--status", "succeeded"], sourceLocation: sourceLocation)
        return id
    }

    /// The ledger's head position.
    func head(sourceLocation: SourceLocation = #_sourceLocation) -> Int {
        let object = DomainJSON.object(ok(["init", "--json"], sourceLocation: sourceLocation))
        return (object?["events"] as? NSNumber)?.intValue ?? -1
    }

    /// A deployment's record as `show --json` prints it.
    func record(_ id: String, asOf: String? = nil) -> [String: Any]? {
        var args = ["show", id, "--json"]
        if let asOf { args += ["--as-of", asOf] }
        return DomainJSON.object(ok(args))?["record"] as? [String: Any]
    }

    /// The file a stored artifact's content lives in (artifacts/ beside the ledger).
    func artifactFile(sha256: String) -> String { directory.file("artifacts/\(sha256)") }

    /// Writes a file in the ledger's directory; returns its path.
    func write(_ name: String, _ text: String) -> String {
        let path = directory.file(name)
        let created = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        #expect(created, "cannot write \(path)")
        return path
    }
}

enum DomainJSON {
    static func object(_ text: String) -> [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
    }

    static func array(_ text: String) -> [[String: Any]]? {
        try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]]
    }

    /// One object per non-empty line.
    static func lines(_ text: String) -> [[String: Any]] {
        text.split(separator: "\n").compactMap { object(String($0)) }
    }

    /// A day as `YYYY-MM-DD` in UTC, `days` from now.
    static func day(fromNow days: Int) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: Date().addingTimeInterval(Double(days) * 86_400))
    }
}
