import SQLiteStore
import EventStore
import Foundation
import ShiplogTestSupport
import Testing

/// Nothing typed into a field (a ref, a reason, who did it, an id) can forge output: the
/// GitHub Actions job summary renders it as text, the output file takes no extra entry, the
/// terminal receives no control sequence, and JSON carries it escaped.
@Suite struct OutputForgingTests {
    /// A ref that tries everything at once: HTML, a table cell break, a code fence, a heading
    /// on a new line, a link, an image, an output entry, and terminal control sequences.
    static let hostileRef =
        "<img src=x onerror=alert(1)>| x |```<script>alert(2)</script>\n## forged\ndeployment-id=forged\r"
        + "[link](http://evil.example) ![i](http://evil.example/i.png) **b** $x$ \u{1B}]0;pwned\u{07}"
    /// Terminal controls: an OSC title, clear screen, carriage return over the line, CSI as a
    /// C1 control, DEL, a bidi override.
    static let terminalHostile = "main\u{1B}]0;pwned\u{07}\u{1B}[2J\rFAKE shiplog: ok\u{9B}31m\u{7F}\u{202E}txet"

    /// The characters that act on a terminal instead of printing (what Shiplog must escape).
    static func isActive(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x061C, 0x200E, 0x200F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    /// The active characters of `text` other than its line breaks (and tabs, where the format has them).
    static func active(in text: String, allowingTabs: Bool = false) -> [String] {
        text.unicodeScalars.filter { isActive($0) && $0 != "\n" && !(allowingTabs && $0 == "\t") }
            .map { "U+" + String($0.value, radix: 16, uppercase: true) }
    }

    func writePipeline(_ ledger: DomainLedger, deploy: String = "true") -> String {
        ledger.write(
            "shiplog.yml",
            """
            environment: staging
            services: [api]
            deploy: { run: '\(deploy)' }
            """)
    }

    @Test func jobSummaryShowsEveryFieldAsText() throws {
        let ledger = try DomainLedger()
        let pipeline = writePipeline(ledger)
        let summary = ledger.directory.file("summary.md")
        ledger.ok(
            ["deploy", "--config", pipeline, "--sha", "abcdef1234567890", "--ref", Self.hostileRef],
            environment: ["GITHUB_STEP_SUMMARY": summary])
        let text = try String(contentsOfFile: summary, encoding: .utf8)
        let lines = text.components(separatedBy: "\n")
        let fence = try #require(lines.firstIndex { $0.hasPrefix("```") })
        let table = lines[..<fence], block = lines[fence...]
        for tag in ["<img", "<script", "](http", "**b**", "$x$"] {
            #expect(!table.joined().contains(tag), "the table holds markup \(tag)")
        }
        #expect(!table.joined().contains("```"), "a code span or fence in the table")
        #expect(lines.filter { $0.hasPrefix("#") } == [lines[0]], "one heading: the deployment's")
        for row in table where row.hasPrefix("|") {
            #expect(row.filter { $0 == "|" }.count == 3, "a row with an extra cell: \(row)")
        }
        #expect(!table.contains { !$0.isEmpty && !$0.hasPrefix("|") && !$0.hasPrefix("###") }, "a line outside the table")
        #expect(table.contains { $0.hasPrefix("| git ref | &lt;img src=x onerror=alert&#40;1&#41;&gt;&#124; x &#124;") })
        // The record's JSON cannot close its fence: the fence is longer than any backtick run in it.
        let opening = block.first!.prefix { $0 == "`" }
        #expect(block.dropFirst().firstIndex { $0.hasPrefix("`") && $0.allSatisfy { $0 == "`" } } == fence + 2)
        #expect(block.last { $0.hasPrefix("`") } == String(opening))
        #expect(Self.active(in: text).isEmpty, "control characters in the summary: \(Self.active(in: text))")
    }

    @Test func outputFileNeverTakesAForgedEntry() throws {
        let ledger = try DomainLedger()
        let pipeline = writePipeline(ledger)
        let outputs = ledger.directory.file("outputs")
        let deployed = ledger.run(
            ["deploy", "--config", pipeline, "--sha", "abcdef1234567890", "--ref", Self.hostileRef],
            environment: ["GITHUB_OUTPUT": outputs])
        #expect(deployed.status == 0, "\(deployed.stderr)")
        let first = try GitHubRunner.outputs(try String(contentsOfFile: outputs, encoding: .utf8))
        #expect(first.map(\.name) == ["deployment-id", "status"] && first[0].value.hasSuffix("-abcdef123456") && first[1].value == "success")

        // An id that holds a line break, as an imported or hand-written stream can (here: a
        // finished deployment written straight to the store): `resume` reports it, and the value
        // goes in the delimiter form and reads back whole, with no second entry.
        let id = "1700000000-abcdef123456\ndeployment-id=forged"
        let store = try SQLiteEventStore(path: ledger.db)
        let request = JSONText.object([
            ("checks", "[]"), ("deployment_id", JSONText.quote(id)), ("environment", JSONText.quote("qa")),
            ("git_ref", JSONText.quote("main")), ("git_sha", JSONText.quote("abcdef1234567890")), ("mode", JSONText.quote("run")),
            ("phases", "[\"deploy\"]"), ("services", "[\"api\"]"), ("triggered_by", JSONText.quote("tester")),
        ])
        let record = JSONText.object([
            ("name", JSONText.quote("deployment-record-\(id)")), ("phase", JSONText.quote("summary")),
            ("sha256", JSONText.quote(String(repeating: "0", count: 64))), ("size", "2"), ("retention_days", "365"),
        ])
        try store.append(
            [
                NewEvent(type: "DeploymentRequested", schema: 2, data: request),
                NewEvent(type: "DeploymentSucceeded", data: #"{"status":"success"}"#),
                NewEvent(type: "ArtifactStored", data: record),
            ], to: "deployment-\(id)", expected: .noStream)
        let qa = ledger.write("qa.yml", "environment: qa\nservices: [api]\ndeploy: { run: 'true' }\n")
        try "".write(toFile: outputs, atomically: true, encoding: .utf8)
        let resumed = ledger.run(["resume", id, "--config", qa], environment: ["GITHUB_OUTPUT": outputs])
        let written = try String(contentsOfFile: outputs, encoding: .utf8)
        let entries = try GitHubRunner.outputs(written)
        #expect(entries.allSatisfy { ($0.name == "deployment-id" && $0.value == id) || ($0.name == "status" && $0.value == "success") }, "forged entries: \(entries)")
        // Today `resume` accepts the id (exit 0); were such ids refused as input, nothing may be written.
        #expect(entries.count == (resumed.status == 0 ? 2 : 0), "\(resumed.stderr)")
        #expect(Self.active(in: resumed.stdout + resumed.stderr).isEmpty)
    }

    @Test func terminalOutputShowsControlCharactersAsEscapes() throws {
        let ledger = try DomainLedger()
        var outputs: [(String, ProcessOutput)] = []
        @discardableResult func run(_ args: [String], status: Int32 = 0, environment: [String: String] = [:]) -> String {
            let out = ledger.run(args, environment: environment)
            #expect(out.status == status, "shiplog \(args.joined(separator: " ")) exited \(out.status): \(out.stderr)")
            outputs.append((args.prefix(2).joined(separator: " "), out))
            return out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let hostile = Self.terminalHostile
        let good = run([
            "record", "begin", "--env", "staging", "--sha", "abcdef1234567890", "--ref", hostile,
            "--triggered-by", "ci\u{1B}[31m", "--services", "api",
        ])
        run(["record", "phase", good, "deploy", "--status", "succeeded"])
        run(["record", "finish", good, "--status", "succeeded"])
        let bad = run(["record", "begin", "--env", "staging", "--sha", "bcdef12345678901", "--ref", hostile])
        run(["record", "phase", bad, "deploy", "--status", "succeeded"])
        run(["record", "finish", bad, "--status", "succeeded"])
        run(["mark-bad", bad, "--reason", hostile, "--by", "ops\u{07}"])
        let failed = run(["record", "begin", "--env", "staging", "--sha", "cdef123456789012", "--ref", hostile])
        run(["record", "phase", failed, "migrate", "--status", "failed", "--reason", hostile])
        run(["record", "finish", failed, "--status", "failed", "--reason", hostile])
        let running = run(["record", "begin", "--env", "staging", "--sha", "def1234567890123", "--ref", hostile])
        let shown = run(["show", failed])
        #expect(shown.contains(#"main\u{1B}]0;pwned\u{07}\u{1B}[2J\rFAKE shiplog: ok\u{9B}31m\u{7F}\u{202E}txet"#))
        run(["show", bad])
        run(["history"])
        run(["status", "--env", "staging"])
        run(["last-stable", "--env", "staging", "--explain"])
        run(["events", "list"])
        run(["unlock", "--env", "staging", "--reason", hostile])
        run(["artifacts", "list"])
        // Errors that echo what was typed: ours, and the argument parser's.
        run(["show", "1-\u{1B}]0;pwned\u{07}"], status: 4)
        run(["history", "--status", "x\u{1B}[2J\ry"], status: 64)
        run(["record", "begin", "--env", "staging", "--sha", "\u{1B}[31m"], status: 64)
        // The runner's progress lines, and step output echoed with --verbose.
        let pipeline = writePipeline(ledger, deploy: #"printf "step says \033]0;pwned\007\r\n""#)
        run(["deploy", "--config", pipeline, "--sha", "ef12345678901234", "--ref", hostile, "--verbose"])
        #expect(!running.isEmpty)
        for (command, out) in outputs {
            let allowTabs = command.hasPrefix("last-stable") || command.hasPrefix("events")
            #expect(Self.active(in: out.stdout, allowingTabs: allowTabs).isEmpty, "shiplog \(command) stdout: \(out.stdout.debugDescription)")
            #expect(Self.active(in: out.stderr).isEmpty, "shiplog \(command) stderr: \(out.stderr.debugDescription)")
        }
    }

    @Test func jsonOutputEscapesEveryControlCharacter() throws {
        let ledger = try DomainLedger()
        let ref = "main\u{1B}[31m\u{9B}0m\u{7F}\u{85}\u{2028}\u{202E}"
        let id = ledger.ok(["record", "begin", "--env", "staging", "--sha", "abcdef1234567890", "--ref", ref, "--json"])
        let deployment = try #require(DomainJSON.object(id)?["deployment_id"] as? String)
        ledger.ok(["record", "finish", deployment, "--status", "failed", "--reason", ref])
        for args in [
            ["history", "--json"], ["show", deployment, "--json"], ["events", "list", "--json"], ["export", "--events"],
            ["export", "--format", "json"], ["last-stable", "--env", "staging", "--explain", "--json"],
        ] {
            let out = ledger.run(args)
            #expect(Self.active(in: out.stdout).isEmpty, "shiplog \(args.joined(separator: " ")): \(Self.active(in: out.stdout))")
        }
        let record = try #require(ledger.record(deployment))
        #expect(record["git_ref"] as? String == ref)
        #expect(record["failure_reason"] as? String == ref)
        let history = DomainJSON.lines(ledger.ok(["history", "--json"]))
        #expect(history.first?["git_ref"] as? String == ref)
    }
}
