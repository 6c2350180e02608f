import Foundation
import ShiplogTestSupport
import Testing

/// Inside a GitHub Actions job, read back exactly as the runner reads it (`GitHubRunner`): each
/// output holds the value Shiplog meant whatever the ref, reason or ids hold; secrets are masked
/// before any line is printed; a failed or rolled-back deployment raises exactly one annotation;
/// nothing printed passes for a workflow command; the action passes each input as one argument.
@Suite struct GitHubActionsTests {
    /// Text that tries every way into an output file or a workflow command: line breaks of
    /// every kind, an entry of each form, a delimiter line, escapes, commands of both forms.
    static let hostile =
        "one\nstatus=forged\r\ndeployment-id<<EOF\nforged\nEOF\n\nreason=forged\u{2028}%0A%25:,=<<"
        + "\n::error title=forged::forged\n##[error]forged ##[set-output name=status]forged\n  ::warning::forged"

    /// Runs shiplog as a step of a job: `GITHUB_ACTIONS=true`, fresh output and summary files,
    /// stdout and stderr joined in the order they were written. Returns the exit status, the
    /// joined output and the outputs as the runner reads them.
    static func step(
        _ ledger: DomainLedger, _ args: [String], environment: [String: String] = [:], earlierOutput: String = "",
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> (status: Int32, printed: String, outputs: [String: String]) {
        let outputFile = ledger.directory.file("output-\(UUID().uuidString)")
        try earlierOutput.write(toFile: outputFile, atomically: true, encoding: .utf8)
        var env = ["GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": outputFile, "GITHUB_STEP_SUMMARY": "", "GITHUB_ACTOR": "", "USER": "tester"]
        env.merge(environment) { $1 }
        let out = runProcess(
            URL(fileURLWithPath: "/bin/sh"), ["-c", #"exec "$0" "$@" 2>&1"#, ShiplogBinary.url.path] + args + ["--db", ledger.db],
            environment: env, in: ledger.directory.url)
        let written = try String(contentsOfFile: outputFile, encoding: .utf8)
        return (out.status, out.stdout, try GitHubRunner.outputMap(written))
    }

    /// The outputs a deployment's record calls for; `reason` when the record holds none (a
    /// rolled-back deployment's is what failed).
    static func expectedOutputs(_ record: [String: Any], reason: String? = nil) -> [String: String] {
        var expected = ["deployment-id": record["deployment_id"] as? String ?? "?", "status": record["status"] as? String ?? "?"]
        expected["rollback-target"] = record["rollback_target"] as? String
        expected["reason"] = record["failure_reason"] as? String ?? reason
        expected["rolled-back-to"] = record["rolled_back_to"] as? String
        return expected
    }

    @Test func everyOutputReadsBackAsTheRecordHoldsIt() throws {
        let ledger = try DomainLedger()
        let stable = ledger.stable(sha: "aaaaaaa1111111")
        // A deployment with a hostile ref whose smoke tests fail with a hostile reason; rolled back.
        var step = try Self.step(ledger, ["record", "begin", "--env", "staging", "--sha", "bbbbbbb2222222", "--ref", Self.hostile])
        #expect(step.status == 0, "\(step.printed)")
        let id = try #require(step.outputs["deployment-id"])
        var record = try #require(ledger.record(id))
        #expect(record["git_ref"] as? String == Self.hostile)
        #expect(step.outputs == Self.expectedOutputs(record) && step.outputs["rollback-target"] == stable && step.outputs["status"] == "running")
        // A step that wrote `name=value` without its newline first: both entries read back.
        step = try Self.step(ledger, ["record", "phase", id, "deploy", "--status", "succeeded"], earlierOutput: "earlier=1")
        #expect(step.outputs["earlier"] == "1" && step.outputs["deployment-id"] == id)
        for args in [
            ["record", "phase", id, "smoke", "--status", "failed", "--reason", Self.hostile],
            ["record", "phase", id, "rollback", "--status", "succeeded"],
            ["record", "finish", id, "--status", "rolled-back", "--rollback-to", stable],
        ] {
            step = try Self.step(ledger, args)
            #expect(step.status == 0, "shiplog \(args.prefix(3).joined(separator: " ")): \(step.printed)")
            record = try #require(ledger.record(id))
            let reason = record["status"] as? String == "rolled_back" ? "smoke failed: \(Self.hostile)" : nil
            #expect(step.outputs == Self.expectedOutputs(record, reason: reason), "shiplog \(args.prefix(3).joined(separator: " "))")
        }
        #expect(step.outputs["status"] == "rolled_back" && step.outputs["rolled-back-to"] == stable)

        // A failure whose reason is typed into `finish`.
        let failed = ledger.begin(sha: "ccccccc3333333")
        step = try Self.step(ledger, ["record", "finish", failed, "--status", "failed", "--reason", Self.hostile])
        #expect(step.outputs == Self.expectedOutputs(try #require(ledger.record(failed))) && step.outputs["reason"] == Self.hostile)
    }

    /// `deploy` gives the same outputs as `record`; the id is the one the record holds.
    @Test func deployGivesTheSameOutputs() throws {
        let ledger = try DomainLedger()
        let pipeline = ledger.write("shiplog.yml", "environment: staging\nservices: [api]\ndeploy: { run: 'exit 3' }\n")
        let step = try Self.step(ledger, ["deploy", "--config", pipeline, "--sha", "abcdef1234567890", "--ref", Self.hostile])
        #expect(step.status == 2, "\(step.printed)")
        let id = try #require(step.outputs["deployment-id"])
        #expect(step.outputs == Self.expectedOutputs(try #require(ledger.record(id))) && step.outputs["status"] == "failed")
    }

    @Test func secretsAreMaskedBeforeAnythingIsPrinted() throws {
        let ledger = try DomainLedger()
        let key = "-----BEGIN KEY-----\nline-one-s3cret\n  line-two%0As3cret  \n-----END KEY-----\n"
        let environment = [
            "STAGING_KEY": key, "SHIPLOG_SECRETS": "API_TOKEN", "API_TOKEN": "tok:en,with%25percent",
            "PIPE_SECRET": "pipe-s3cret-value",
        ]
        // The pipeline names one more secret: it is masked once the file is read, before the
        // first progress line; the step prints all three, which the runner must never show.
        let pipeline = ledger.write(
            "shiplog.yml",
            """
            environment: staging
            services: [api]
            secrets: [PIPE_SECRET]
            deploy: { run: 'echo "$PIPE_SECRET $API_TOKEN"; printf "%s" "$STAGING_KEY"' }

            """)
        let step = try Self.step(ledger, ["deploy", "--config", pipeline, "--sha", "abcdef1234567890", "--verbose"], environment: environment)
        #expect(step.status == 0, "\(step.printed)")
        let lines = GitHubRunner.lines(step.printed)
        let masks = lines.compactMap { $0.command?.name == "add-mask" ? $0.command?.data : nil }
        let firstText = try #require(lines.firstIndex { $0.command == nil && !$0.line.isEmpty })
        #expect(lines[..<firstText].allSatisfy { $0.command?.name == "add-mask" }, "\(lines.prefix(firstText + 1))")
        #expect(masks.count == lines[..<firstText].count, "a mask after the first printed line")
        let secrets = [key, "line-one-s3cret", "line-two%0As3cret", "tok:en,with%25percent", "pipe-s3cret-value"]
        for secret in secrets {
            #expect(masks.contains(secret), "\(secret.debugDescription) is not masked: \(masks)")
        }
        for (line, command) in lines where command?.name != "add-mask" {
            for secret in secrets {
                #expect(!line.contains(secret), "printed: \(line)")
            }
        }
        // Outside Actions, no mask is printed (it would show the secret).
        let plain = runShiplog(["validate", "--config", pipeline], environment: environment, in: ledger.directory.url)
        #expect(!(plain.stdout + plain.stderr).contains("add-mask") && plain.status == 0)
    }

    @Test func aFailedDeploymentRaisesExactlyOneAnnotation() throws {
        let ledger = try DomainLedger()
        let env = "staging"
        let reason = "migration 0042: relation \"users\" exists, 100% sure\n::error::forged\n##[error]forged"
        var printed = ""
        func run(_ args: [String]) throws -> [String: String] {
            let step = try Self.step(ledger, args)
            #expect(step.status == 0, "\(step.printed)")
            printed += step.printed
            return step.outputs
        }
        let id = try #require(try run(["record", "begin", "--env", env, "--sha", "ddddddd4444444", "--ref", Self.hostile])["deployment-id"])
        _ = try run(["record", "phase", id, "migrate", "--status", "failed", "--reason", reason])
        _ = try run(["record", "finish", id, "--status", "failed", "--reason", reason])
        _ = try run(["show", id])
        _ = try run(["history"])
        let commands = GitHubRunner.lines(printed).compactMap(\.command).filter { $0.name != "add-mask" }
        #expect(commands == [GitHubRunner.Command(name: "error", properties: ["title": "\(env) deployment \(id) failed"], data: reason)], "\(commands)")

        // A success raises none, and outside Actions nothing is a command.
        let good = ledger.begin(sha: "eeeeeee5555555")
        ledger.ok(["record", "phase", good, "deploy", "--status", "succeeded"])
        #expect(try Self.step(ledger, ["record", "finish", good, "--status", "succeeded"]).printed.contains("::") == false)
        let bad = ledger.begin(sha: "fffffff6666666")
        let plain = ledger.run(["record", "finish", bad, "--status", "failed", "--reason", reason])
        #expect(GitHubRunner.lines(plain.stdout + plain.stderr).allSatisfy { $0.line.hasPrefix("::") == false } && plain.status == 0)
    }

    @Test func aRolledBackDeploymentRaisesOneAnnotationNamingItsTarget() throws {
        let ledger = try DomainLedger()
        let state = ledger.directory.file("current")
        let pipeline = ledger.write(
            "shiplog.yml",
            """
            environment: staging
            services: [api]
            deploy: { run: 'echo "$SHIPLOG_VERSION" > "\(state)"' }
            health:
              stabilize: 0s
              retries: 1
              interval: 0s
              checks:
                - { name: app, run: 'case "$(cat "\(state)")" in bad*) echo "unhealthy: ##[error]forged"; exit 1;; esac' }
            rollback: { run: 'echo "$SHIPLOG_ROLLBACK_VERSION" > "\(state)"' }

            """)
        let first = try Self.step(ledger, ["deploy", "--config", pipeline, "--sha", "abc1234567890"])
        #expect(first.status == 0, "\(first.printed)")
        let stable = try #require(first.outputs["deployment-id"])
        let second = try Self.step(ledger, ["deploy", "--config", pipeline, "--sha", "bad1234567890", "--verbose"])
        #expect(second.status == 1, "\(second.printed)")
        let id = try #require(second.outputs["deployment-id"])
        let record = try #require(ledger.record(id))
        let reason = "health checks failed"
        #expect(second.outputs == Self.expectedOutputs(record, reason: reason) && second.outputs["rolled-back-to"] == stable)
        let commands = GitHubRunner.lines(second.printed).compactMap(\.command).filter { $0.name != "add-mask" }
        #expect(commands == [GitHubRunner.Command(name: "error", properties: ["title": "staging deployment \(id) rolled back to \(stable)"], data: reason)], "\(commands)")
    }

    @Test func recordFinishWritesTheJobSummary() throws {
        let ledger = try DomainLedger()
        let id = ledger.begin(sha: "1234567abcdef0")
        let summary = ledger.directory.file("summary.md")
        ledger.ok(["record", "finish", id, "--status", "failed", "--reason", "smoke | failed"], environment: ["GITHUB_STEP_SUMMARY": summary])
        let text = try String(contentsOfFile: summary, encoding: .utf8)
        #expect(text.hasPrefix("### Deployment \(id) — failed\n"), "\(text)")
        #expect(text.contains("| failure | smoke &#124; failed |"))
    }

    /// `tools/github/run.sh`, the action's last step: each input is one argument, never shell text.
    @Test func theActionPassesEachInputAsOneArgument() throws {
        let ledger = try DomainLedger()
        let runScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("tools/github/run.sh").path
        let injected = "$(touch pwned1) `touch pwned2`; touch pwned3 --db=elsewhere.db"
        func action(_ inputs: [String: String]) throws -> (status: Int32, stdout: String, stderr: String, outputs: [String: String]) {
            let outputFile = ledger.directory.file("action-output-\(UUID().uuidString)")
            #expect(FileManager.default.createFile(atPath: outputFile, contents: nil))
            var env = ["SHIPLOG_BIN": ShiplogBinary.url.path, "GITHUB_OUTPUT": outputFile, "INPUT_DB": ledger.db, "USER": "tester"]
            for (name, value) in inputs { env["INPUT_" + name] = value }
            let out = runProcess(URL(fileURLWithPath: "/bin/bash"), [runScript], environment: env, in: ledger.directory.url)
            return (out.status, out.stdout, out.stderr, try GitHubRunner.outputMap(try String(contentsOfFile: outputFile, encoding: .utf8)))
        }
        let begun = try action(["COMMAND": "record begin", "ENVIRONMENT": "staging", "SHA": "abcdef1234567", "REF": injected, "SERVICES": "api,web"])
        #expect(begun.status == 0, "\(begun.stderr)")
        let id = try #require(begun.outputs["deployment-id"])
        let failed = try action(["COMMAND": "record phase", "DEPLOYMENT_ID": id, "PHASE": "migrate", "STATUS": "failed", "REASON": "-x " + injected])
        #expect(failed.status == 0 && failed.outputs["status"] == "running", "\(failed.stderr)")
        let finished = try action(["COMMAND": "record finish", "DEPLOYMENT_ID": id, "STATUS": "failed"])
        #expect(finished.status == 0 && finished.outputs["status"] == "failed", "\(finished.stderr)")
        let record = try #require(ledger.record(id))
        #expect(record["git_ref"] as? String == injected)
        #expect((record["failure_reason"] as? String)?.hasSuffix("-x " + injected) == true, "\(record)")
        // An id that looks like an option is an id (refused as one), and no other ledger is opened.
        let optionLike = try action(["COMMAND": "record finish", "DEPLOYMENT_ID": "--db=elsewhere.db", "STATUS": "failed"])
        #expect(optionLike.status == 65 && optionLike.stderr.contains("deployment id \"--db=elsewhere.db\" is not valid"), "\(optionLike.stderr)")
        // The command is one or two command words; more arguments go in `args`, one per line.
        #expect(try action(["COMMAND": "history; touch pwned4"]).status == 64)
        #expect(try action(["COMMAND": "history\n--json"]).status == 64)
        let shown = try action(["COMMAND": "show", "ARGS": "\(id)\n--json\n"])
        #expect(shown.status == 0 && DomainJSON.object(shown.stdout)?["record"] != nil, "\(shown.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: ledger.directory.path)
        #expect(!files.contains { $0.hasPrefix("pwned") || $0 == "elsewhere.db" }, "\(files)")
    }
}
