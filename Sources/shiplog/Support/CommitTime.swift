import EventStore
import Foundation
import Ledger
import ShiplogFiles

/// When the deployed commit was made, for the lead time for changes: `--commit-time` when
/// given, else the committer time git knows where the runner has the repository. Never a reason
/// to fail or delay a deployment: without git, outside a repository, or for a commit git does
/// not have, the deployment simply records no commit time.
enum CommitTime {
    /// How long git may take before the deployment goes on without it.
    static let gitTimeout: Double = 5

    /// The time to record, as the ledger writes times, or nil.
    /// - Parameters:
    ///   - option: `--commit-time`, already validated.
    ///   - sha: the commit deployed.
    ///   - directory: where to ask git: the pipeline file's directory, or the current one.
    static func resolve(option: String?, sha: String, directory: String) -> String? {
        if let option { return TimeArgument.parse(option).map(Timestamp.format) }
        return fromGit(sha: sha, directory: directory).map(Timestamp.format)
    }

    /// `git show -s --format=%cI SHA` in `directory`: the commit's strict ISO 8601 committer time.
    static func fromGit(sha: String, directory: String) -> Date? {
        guard sha.allSatisfy({ $0.isASCII && $0.isHexDigit }) else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", directory, "show", "-s", "--no-show-signature", "--format=%cI", sha + "^{commit}", "--"]
        var environment = ProcessInfo.processInfo.environment
        // Never a prompt, a pager or a fetch from a promisor remote: a local question only.
        environment["GIT_TERMINAL_PROMPT"] = "0"
        environment["GIT_PAGER"] = "cat"
        environment["GIT_NO_LAZY_FETCH"] = "1"
        environment["GIT_OPTIONAL_LOCKS"] = "0"
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        let done = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in done.signal() }
        do { try process.run() } catch { return nil }
        if done.wait(timeout: .now() + gitTimeout) == .timedOut {
            process.terminate()
            kill(process.processIdentifier, SIGKILL)
            return nil
        }
        guard process.terminationStatus == 0 else { return nil }
        let bytes = output.fileHandleForReading.readDataToEndOfFile().prefix(200)
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return TimeArgument.parse(text)
    }
}
