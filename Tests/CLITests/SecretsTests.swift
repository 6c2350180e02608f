import Foundation
import ShiplogTestSupport
import Testing

/// No secret reaches the ledger, an export, the SQLite files, a log, a job summary or the
/// terminal, whichever field it was typed into. The ledger is append-only: a secret recorded
/// once could never be removed, so each case runs the real binary and searches every place.
@Suite struct SecretsTests {
    /// Named by `SHIPLOG_SECRETS`.
    static let token = "tok-s3cr3t-4242"
    /// `STAGING_KEY` (a staging workflow secret) holds it with surrounding whitespace, as a
    /// value pasted into a CI setting often does; the text typed holds it trimmed.
    static let key = "key-s3cr3t-9911"
    static let environment = ["SHIPLOG_SECRETS": "DEPLOY_TOKEN", "DEPLOY_TOKEN": token, "STAGING_KEY": "  \(key)\n"]

    /// Records every output of the commands a test runs, to search them all at the end.
    final class Transcript {
        let ledger: DomainLedger
        var outputs: [(String, String)] = []

        init(_ ledger: DomainLedger) { self.ledger = ledger }

        @discardableResult
        func run(
            _ args: [String], environment: [String: String] = [:], expect status: Int32? = 0, db: Bool = true,
            sourceLocation: SourceLocation = #_sourceLocation
        ) -> String {
            let merged = SecretsTests.environment.merging(environment) { $1 }
            let out =
                db
                ? ledger.run(args, environment: merged)
                : runShiplog(
                    args, environment: merged.merging(["GITHUB_OUTPUT": "", "GITHUB_STEP_SUMMARY": ""]) { $1 },
                    in: ledger.directory.url)
            if let status {
                #expect(
                    out.status == status, "shiplog \(args.joined(separator: " ")) exited \(out.status): \(out.stderr)",
                    sourceLocation: sourceLocation)
            }
            outputs.append(("shiplog \(args.first ?? "") stdout", out.stdout))
            outputs.append(("shiplog \(args.first ?? "") stderr", out.stderr))
            return out.stdout
        }

        /// Every output and every file under the ledger's directory (the SQLite file and its
        /// WAL read as raw bytes, artifacts, logs, summaries) is free of both secrets.
        func expectNoSecret(ledgerFile: Bool = true, also extra: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) {
            let secrets = [SecretsTests.token, SecretsTests.key] + extra
            for (what, text) in outputs {
                for secret in secrets {
                    #expect(!text.contains(secret), "\(what) shows \(secret): \(text)", sourceLocation: sourceLocation)
                }
            }
            let root = ledger.directory.path
            let files = FileManager.default.enumerator(atPath: root)?.compactMap { $0 as? String } ?? []
            #expect(files.contains("ledger.db") == ledgerFile, sourceLocation: sourceLocation)
            for file in files {
                guard let data = FileManager.default.contents(atPath: root + "/" + file) else { continue }
                for secret in secrets {
                    #expect(data.range(of: Data(secret.utf8)) == nil, "\(file) holds \(secret)", sourceLocation: sourceLocation)
                }
            }
        }
    }

    @Test func recordedTextFieldsAreRedactedBeforeTheyAreAppended() throws {
        let ledger = try DomainLedger()
        let t = Transcript(ledger)
        let token = Self.token, key = Self.key
        // --ref, --triggered-by, a health verdict's reason, a finish reason, mark-bad --reason and --by.
        let first = t.run([
            "record", "begin", "--env", "staging", "--sha", "abcdef1234567890", "--ref", "refs/heads/\(token)",
            "--triggered-by", "ci for \(key)", "--services", "api-gateway",
        ]).trimmingCharacters(in: .whitespacesAndNewlines)
        t.run(["record", "phase", first, "deploy", "--status", "succeeded"])
        t.run(["record", "health", first, "api_gateway", "--status", "unhealthy", "--attempts", "2", "--reason", "401 with \(token)"])
        t.run(["record", "finish", first, "--status", "failed", "--reason", "gave up: \(key)"])
        t.run(["mark-bad", first, "--reason", "leaked \(token)", "--by", "ops \(key)"])
        t.run(["mark-bad", first, "--reason", "again \(token)", "--json"])
        // A failed step's reason, carried into the failure reason of the record.
        let second = t.run(["record", "begin", "--env", "qa", "--sha", "bcdef12345678901"]).trimmingCharacters(in: .whitespacesAndNewlines)
        t.run(["record", "phase", second, "migrate", "--status", "failed", "--reason", "cannot log in as \(key)"])
        t.run(["record", "finish", second, "--status", "failed"])
        // unlock --reason and --by.
        t.run(["record", "begin", "--env", "dev", "--sha", "cdef123456789012"])
        t.run(["unlock", "--env", "dev", "--reason", "runner lost \(token)", "--by", "\(key) on call"])

        let events = t.run(["events", "list", "--json"])
        #expect(events.contains("[redacted:DEPLOY_TOKEN]") && events.contains("[redacted:STAGING_KEY]"))
        t.run(["events", "list"])
        t.run(["export", "--events"])
        t.run(["export", "--format", "json"])
        t.run(["show", first, "--json"])
        t.run(["show", first])
        t.run(["show", second])
        t.run(["history"])
        t.run(["history", "--json"])
        t.run(["last-stable", "--env", "staging", "--explain"], expect: 4)
        t.run(["status"])
        let record = try #require(ledger.record(first))
        #expect(record["git_ref"] as? String == "refs/heads/[redacted:DEPLOY_TOKEN]")
        #expect(record["triggered_by"] as? String == "ci for [redacted:STAGING_KEY]")
        t.expectNoSecret()
    }

    @Test func deployRedactsRefTriggeredByHealthCheckTargetsAndStepOutput() throws {
        let ledger = try DomainLedger()
        let t = Transcript(ledger)
        // The token is no pipeline secret: SHIPLOG_SECRETS alone names it. Port 1 refuses the check.
        let pipeline = ledger.write(
            "shiplog.yml",
            """
            environment: staging
            services: [api]
            deploy: { run: 'echo "deploying with $DEPLOY_TOKEN and $STAGING_KEY"' }
            health:
              stabilize: 0s
              retries: 1
              interval: 0s
              timeout: 2s
              checks:
                - { name: api, url: "http://127.0.0.1:1/health?token=${DEPLOY_TOKEN}" }
            artifacts: { dir: logs }
            """)
        let summary = ledger.directory.file("summary.md")
        t.run(
            [
                "deploy", "--config", pipeline, "--sha", "abcdef1234567890", "--ref", "refs/tags/\(Self.key)",
                "--triggered-by", Self.token, "--verbose",
            ], environment: ["GITHUB_STEP_SUMMARY": summary], expect: 2)
        let events = t.run(["events", "list", "--json"])
        #expect(events.contains("HealthCheckAttempted") && events.contains("token=[redacted:DEPLOY_TOKEN]"))
        t.run(["export", "--events"])
        t.run(["history", "--json"])
        #expect(FileManager.default.fileExists(atPath: summary))
        t.expectNoSecret()
    }

    @Test func validateNeverPrintsAnExpandedSecret() throws {
        let ledger = try DomainLedger()
        let t = Transcript(ledger)
        let host = "internal-\(Self.key).example.com"
        let pipeline = ledger.write(
            "shiplog.yml",
            """
            environment: staging
            services: [api]
            deploy: { run: 'true' }
            health:
              checks:
                - { name: api, url: "http://${STAGING_HOST}/health" }
            """)
        // A plain-http warning quotes the URL with its variables replaced.
        let text = t.run(["validate", "--config", pipeline], environment: ["STAGING_HOST": host], db: false)
        #expect(text.contains("http://[redacted:STAGING_HOST]/health is plain http"))
        t.run(["validate", "--config", pipeline, "--json"], environment: ["STAGING_HOST": host], db: false)
        // A value that makes the URL invalid: the message must not quote it, not even cut short
        // where no redactor could recognize it.
        let long = "not a host: host-s3cr3t-7788 and a sentence long enough to be shortened in a quote"
        t.run(["validate", "--config", pipeline], environment: ["STAGING_HOST": long], expect: 65, db: false)
        t.run(["deploy", "--config", pipeline, "--sha", "abcdef1234567"], environment: ["STAGING_HOST": long], expect: 65)
        #expect(t.outputs.last?.1.contains("${STAGING_HOST}") == true)
        t.expectNoSecret(also: ["host-s3cr3t-7788"])
    }

    @Test func argumentsEchoedInUsageErrorsAreRedacted() throws {
        let ledger = try DomainLedger()
        let t = Transcript(ledger)
        t.run(["init"])
        t.run(["record", "begin", "--env", "staging", "--sha", Self.token], expect: 64)
        t.run(["history", "--status", "x\(Self.key)"], expect: 64)
        t.run(["show", "1-\(Self.token)"], expect: 4)
        #expect(t.outputs.contains { $0.1.contains("[redacted:DEPLOY_TOKEN]") })
        t.expectNoSecret()
    }
}
