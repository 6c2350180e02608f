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

    /// Adds the secrets `pipeline` names, from now on.
    static func include(_ pipeline: Pipeline) {
        shared.lock.withLock {
            shared.redactor = Redactor(environment: shared.environment, pipeline: pipeline)
        }
    }
}
