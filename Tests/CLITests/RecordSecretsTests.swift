import Foundation
import Testing

/// Logs a recording pipeline hands to `shiplog record … --log` are kept with its secrets redacted.
@Suite struct RecordSecretsTests {
    @Test func recordedLogsAreKeptWithSecretsRedacted() throws {
        let ledger = try DomainLedger()
        let id = ledger.begin(sha: "abcdef1234567890")
        let log = ledger.write("migrate.log", "connecting to postgresql://deploy:s3cret-db-pass@db/staging\ntoken custom-token-42\n")
        let environment = [
            "STAGING_DATABASE_URL": "postgresql://deploy:s3cret-db-pass@db/staging",
            "SHIPLOG_SECRETS": "DEPLOY_TOKEN", "DEPLOY_TOKEN": "custom-token-42",
        ]
        let output = ledger.ok(["record", "phase", id, "migrate", "--status", "succeeded", "--log", log, "--json"], environment: environment)
        #expect(!output.contains("s3cret-db-pass"))
        let artifacts = try FileManager.default.contentsOfDirectory(atPath: ledger.directory.file("artifacts"))
        let stored = try #require(artifacts.first { !$0.hasPrefix(".") })
        let text = try String(contentsOfFile: ledger.artifactFile(sha256: stored), encoding: .utf8)
        #expect(text.contains("[redacted:STAGING_DATABASE_URL]"))
        #expect(text.contains("[redacted:DEPLOY_TOKEN]"))
        #expect(!text.contains("s3cret-db-pass") && !text.contains("custom-token-42"))
    }
}
