import EventStore
import Ledger
import Foundation
import ShiplogTestSupport
import Testing
@testable import Runner

/// The redactor's laws, the process-wide secret names, and the escapes that keep recorded text
/// from acting on a terminal.
@Suite("Redaction and visible text")
struct RedactionTests {
    /// A small deterministic generator, so a failing case can be reproduced.
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 33
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    static let secrets = ["A": "hunter2hunter2", "B": "hunter", "PAD": "  s3cr3t-pad\n", "KEY": "line-one-xx\nline-two-yy"]
    static let redactor = Redactor(secretNames: ["A", "B", "PAD", "KEY"], environment: secrets)

    /// Texts made of secret values, their pieces and prefixes, whitespace and filler.
    static func texts(count: Int, seed: UInt64) -> [[UInt8]] {
        var random = Generator(state: seed)
        let pieces = [
            "hunter2hunter2", "hunter", "hunt", "hunter2", "  s3cr3t-pad\n", "s3cr3t-pad", "s3cr3t-pa", "line-one-xx\nline-two-yy",
            "line-one-xx", "line-two-y", " ", "\n", "x", "é", "[redacted:A]", "\u{1B}[31m",
        ]
        return (0..<count).map { _ in
            (0..<random.below(12)).flatMap { _ in Array(pieces[random.below(pieces.count)].utf8) }
        }
    }

    @Test func secretWithSurroundingWhitespaceIsRedactedTrimmedToo() {
        let redactor = Redactor(secretNames: ["STAGING_KEY"], environment: ["STAGING_KEY": "  s3cr3t-value\n"])
        #expect(redactor.redact("token=s3cr3t-value;") == "token=[redacted:STAGING_KEY];")
        #expect(redactor.redact("  s3cr3t-value\n") == "[redacted:STAGING_KEY]")
        let pem = Redactor(secretNames: ["K"], environment: ["K": "-----BEGIN-----\n  MIIEvQIBADAN  \n-----END-----\n"])
        #expect(pem.redact("line MIIEvQIBADAN here") == "line [redacted:K] here")
    }

    @Test func processSecretsAreTheWorkflowsTheListedAndThePipelines() throws {
        let pipeline = try Pipeline.parse(
            yaml: "environment: staging\nservices: [api]\nsecrets: [API_TOKEN]\ndeploy: { run: 'true' }\n",
            file: "shiplog.yml")
        let environment = [
            "SHIPLOG_SECRETS": " DEPLOY_TOKEN , ,OTHER", "DEPLOY_TOKEN": "deploy-token-1", "API_TOKEN": "api-token-22",
            "DOCKER_PASSWORD": "dckr-pass-333", "OTHER": "other-4444", "PATH": "/usr/bin",
        ]
        #expect(
            Redactor.secretNames(environment: environment, pipeline: pipeline)
                == Redactor.workflowSecretNames + ["DEPLOY_TOKEN", "OTHER", "API_TOKEN"])
        let redactor = Redactor(environment: environment, pipeline: pipeline)
        #expect(
            redactor.redact("deploy-token-1 api-token-22 dckr-pass-333 other-4444 /usr/bin")
                == "[redacted:DEPLOY_TOKEN] [redacted:API_TOKEN] [redacted:DOCKER_PASSWORD] [redacted:OTHER] /usr/bin")
        #expect(Redactor(environment: environment).redact("api-token-22") == "api-token-22", "API_TOKEN is the pipeline's")
    }

    /// Feeding a text in pieces cut anywhere, then finishing, gives what redacting it whole gives.
    @Test func streamCutAtEveryOffsetEqualsWhole() {
        var random = Generator(state: 7)
        for text in Self.texts(count: 300, seed: 1) {
            let whole = Self.redactor.redact(text)
            for cut in 0...text.count {
                var stream = Self.redactor.stream()
                let output = stream.feed(Array(text[..<cut])) + stream.feed(Array(text[cut...])) + stream.finish()
                #expect(output == whole, "\(String(decoding: text, as: UTF8.self).debugDescription) cut at \(cut)")
            }
            var stream = Self.redactor.stream()
            var output: [UInt8] = []
            var offset = 0
            while offset < text.count {
                let size = 1 + random.below(5)
                output += stream.feed(Array(text[offset..<min(offset + size, text.count)]))
                offset += size
            }
            #expect(output + stream.finish() == whole)
        }
    }

    /// Redacting the two sides of a safe cut apart gives what redacting them together gives.
    /// (Each text starts with a byte no secret starts with: a cut is never moved back to 0.)
    @Test func safeCutNeverSplitsASecret() {
        for text in Self.texts(count: 300, seed: 2).map({ Array("#".utf8) + $0 }) {
            let whole = Self.redactor.redact(text)
            for limit in 1..<text.count {
                let cut = Self.redactor.safeCut(in: text, atOrBefore: limit)
                #expect(cut > 0 && cut <= limit)
                let apart = Self.redactor.redact(Array(text[..<cut])) + Self.redactor.redact(Array(text[cut...]))
                #expect(apart == whole, "\(String(decoding: text, as: UTF8.self).debugDescription) limit \(limit) cut \(cut)")
            }
        }
    }

    /// A line longer than the step log keeps whole is cut in pieces; a secret across the cut is
    /// still redacted, and no piece of the log holds any part of it.
    @Test func secretAcrossTheCutOfAVeryLongLineIsRedacted() throws {
        let dir = try TemporaryDirectory()
        let secret = "s3cr3t-across-the-cut-0123456789"
        let redactor = Redactor(secretNames: ["STAGING_KEY"], environment: ["STAGING_KEY": secret])
        for offset in [1, 10, secret.count - 1] {
            let path = dir.file("step-\(offset).log")
            let log = try StepLog(path: path, redactor: redactor)
            let filler = StepLog.maxLineBytes - offset
            // More output follows on the same line, so the line outgrows the limit before its newline.
            let command = "head -c \(filler) /dev/zero | tr '\\000' x; printf '%s tail' \"$STAGING_KEY\"; head -c 200000 /dev/zero | tr '\\000' y; echo"
            let outcome = try StepProcess.run(
                StepCommand(command: command, environment: ["PATH": "/usr/bin:/bin", "STAGING_KEY": secret]),
                log: log)
            log.close()
            #expect(outcome.succeeded)
            let text = try String(contentsOfFile: path, encoding: .utf8)
            // (Booleans, not the text: a failure must not print a megabyte.)
            let redacted = text.contains("[redacted:STAGING_KEY] tail")
            #expect(redacted, "offset \(offset)")
            for piece in [String(secret.prefix(offset)), String(secret.suffix(secret.count - offset))] where piece.count >= 8 {
                let leaked = text.contains(piece)
                #expect(!leaked, "offset \(offset): \(piece) is in the log")
            }
            #expect(text.split(separator: "\n").count == 2, "the line was cut once")
        }
    }

    // MARK: Visible text

    @Test func controlCharactersAreShownAsEscapes() {
        #expect(VisibleText.render("main") == "main")
        #expect(VisibleText.render("a\u{1B}]0;title\u{07}b\rc\nd\te") == #"a\u{1B}]0;title\u{07}b\rc\nd\te"#)
        #expect(VisibleText.render("\u{1B}[2J\u{7F}\u{9B}31m\u{0}") == #"\u{1B}[2J\u{7F}\u{9B}31m\u{00}"#)
        #expect(VisibleText.render("abc\u{202E}cba\u{2066}x\u{2028}y") == #"abc\u{202E}cba\u{2066}x\u{2028}y"#)
        #expect(VisibleText.render("→ — ✓ é 日本") == "→ — ✓ é 日本")
    }

    /// Whatever the input, the rendering holds no active character, and text without one is unchanged.
    @Test func renderingLeavesNoActiveCharacter() {
        var random = Generator(state: 3)
        let alphabet: [Unicode.Scalar] = [
            "a", " ", "\\", "{", "\u{1B}", "\u{07}", "\r", "\n", "\t", "\u{7F}", "\u{85}", "\u{9B}", "\u{9F}",
            "\u{A0}", "é", "\u{61C}", "\u{200E}", "\u{202E}", "\u{2069}", "\u{2028}", "\u{2014}", "✓",
        ]
        for _ in 0..<2_000 {
            var text = ""
            for _ in 0..<random.below(20) { text.unicodeScalars.append(alphabet[random.below(alphabet.count)]) }
            let shown = VisibleText.render(text)
            #expect(!shown.unicodeScalars.contains(where: VisibleText.isActive), "\(text.debugDescription)")
            if !text.unicodeScalars.contains(where: VisibleText.isActive) { #expect(shown == text) }
        }
    }

    @Test func slackMessageCannotMentionLinkOrBreakTheLine() {
        var state = DeploymentState()
        state.evolve(
            .deploymentRequested(
                DeploymentRequest(
                    deploymentID: "1700000000-abcdef123456", environment: "staging",
                    gitSHA: "abcdef1234567890", gitRef: "main", services: ["api"],
                    triggeredBy: "ci", mode: .run)), at: "2026-01-01T00:00:00.000Z")
        state.evolve(
            .deploymentAbandoned(reason: "<!channel> see <https://evil.example|the fix> & \n✅ staging: deployed", by: "x"),
            at: "2026-01-01T00:01:00.000Z")
        let text = SlackMessage.text(for: state, record: nil)
        #expect(text == #"⚠️ staging: deployment 1700000000-abcdef123456 was abandoned: &lt;!channel&gt; see &lt;https://evil.example|the fix&gt; &amp; \n✅ staging: deployed"#)
    }

    @Test func jsonEscapesEveryCharacterThatActsOnATerminal() throws {
        let text = "ref\u{7F}\u{9B}31m\u{1B}]0;x\u{07}é\u{2028}\u{202E}—"
        let quoted = JSONText.quote(text)
        #expect(quoted == #""ref\u007f\u009b31m\u001b]0;x\u0007é\u2028\u202e—""#)
        let decoded = try JSONSerialization.jsonObject(with: Data("[\(quoted)]".utf8)) as? [String]
        #expect(decoded == [text])
        let payload = "{\"git_ref\":\"a\u{9B}b\u{7F}\"}"
        let escaped = JSONText.escapingControls(inJSON: payload)
        #expect(escaped == #"{"git_ref":"a\u009bb\u007f"}"#)
        let object = try JSONSerialization.jsonObject(with: Data(escaped.utf8)) as? [String: String]
        #expect(object == ["git_ref": "a\u{9B}b\u{7F}"])
    }
}
