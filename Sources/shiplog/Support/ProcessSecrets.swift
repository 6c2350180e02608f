import Foundation
import Ledger
import Runner

/// The secrets of this process, redacted from everything it records or prints: the staging
/// workflow's secret variables, those named in `SHIPLOG_SECRETS`, and, once a command has read
/// a pipeline file, that file's `secrets:` and notify webhook variable (see `Redactor`).
///
/// Every ledger the CLI opens appends through ``filter`` (`Ledger.textFilter`), and every
/// human-readable line and error it prints goes through it (`TerminalText`).
final class ProcessSecrets: @unchecked Sendable {
    private static let shared = ProcessSecrets()

    private let lock = NSLock()
    private let environment: [String: String]
    private var redactor: Redactor
    /// The values the GitHub Actions runner was already asked to mask.
    private var masked = Set<String>()

    private init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
        self.redactor = Redactor(environment: environment)
    }

    /// `text` with every secret's value replaced by `[redacted:NAME]`.
    static func redact(_ text: String) -> String {
        shared.lock.withLock { shared.redactor }.redact(text)
    }

    /// `bytes` with every secret's value replaced.
    static func redact(_ bytes: [UInt8]) -> [UInt8] {
        shared.lock.withLock { shared.redactor }.redact(bytes)
    }

    /// A redactor of these secrets for output that arrives in chunks (a log streamed into the
    /// artifact store): a secret cut by a chunk boundary is still redacted.
    static func stream() -> RedactingStream {
        shared.lock.withLock { shared.redactor }.stream()
    }

    /// The text filter every ledger of the CLI appends through.
    static let filter: @Sendable (String) -> String = { redact($0) }

    /// Adds the secrets `pipeline` names, from now on (masked in a GitHub Actions job's log
    /// before the caller prints anything).
    static func include(_ pipeline: Pipeline) {
        shared.lock.withLock {
            shared.redactor = Redactor(environment: shared.environment, pipeline: pipeline)
        }
        maskInWorkflow()
    }

    /// Inside GitHub Actions, asks the runner to mask every value redacted here that it was
    /// not asked to mask yet (`::add-mask::`): the job's log then hides them too, in whatever a
    /// step prints. Called first thing, and again when a pipeline file adds secrets.
    static func maskInWorkflow() {
        guard GitHubActions.isRunning else { return }
        let fresh = shared.lock.withLock { () -> [String] in
            let fresh = shared.redactor.values.filter { !shared.masked.contains($0) }
            shared.masked.formUnion(fresh)
            return fresh
        }
        for value in fresh { GitHubActions.addMask(value) }
    }
}
