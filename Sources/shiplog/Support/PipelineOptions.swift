import SQLiteStore
import ArgumentParser
import Foundation
import Ledger
import Runner
import ShiplogFiles

/// `--config` and the pieces every pipeline-driven command builds from it.
struct PipelineOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: ArgumentHelp("The pipeline file.", valueName: "file"))
    var config: String = Pipeline.defaultFileName

    @Flag(name: .shortAndLong, help: "Also echo every line of step output.")
    var verbose = false

    /// The pipeline with the environment's overrides (HEALTH_CHECK_*, DEPLOYMENT_LOG_DIR) applied.
    func load(environment: [String: String]) throws -> Pipeline {
        try Self.load(path: config, environment: environment)
    }

    /// The pipeline file at `path`, with the environment's overrides applied. Its secrets join
    /// the process's (`ProcessSecrets`) before the environment is read, so no message about the
    /// pipeline, no record and no line printed can show them.
    static func load(path: String, environment: [String: String]) throws -> Pipeline {
        do {
            let file = try Pipeline.load(path: path)
            ProcessSecrets.include(file)
            return try file.applyingEnvironment(environment)
        } catch {
            throw Failure(pipeline: error)
        }
    }
}

extension DeploymentRunner {
    /// A runner wired to the ledger at `location` (which must exist: only `init` creates one)
    /// and the terminal.
    static func make(ledger: LedgerOptions, at location: LedgerLocation, pipeline: Pipeline, json: Bool, verbose: Bool) throws -> DeploymentRunner {
        let store = try ledger.open(.existing, at: location)
        let environment = ProcessInfo.processInfo.environment
        let output = RunnerOutput(style: json ? .json : .text, verbose: verbose) { line in Terminal.out(line) }
        return DeploymentRunner(
            ledger: LedgerOptions.ledger(on: store, textFilter: ProcessSecrets.filter), pipeline: pipeline, environment: environment,
            artifacts: LedgerOptions.blobs(for: store, ledgerPath: location.path),
            claims: LedgerOptions.claims(for: store, ledgerPath: location.path), output: output)
    }
}

/// GitHub Actions integration: the `deployment-id` output and a Markdown job summary.
///
/// Nothing a user typed (a ref, a reason) can forge either file: an output value that could
/// hold a line break is written in the delimiter form, and every summary field is escaped as
/// text (``markdownText(_:)``).
enum GitHubActions {
    static func writeOutput(deploymentID: String) {
        guard let path = ProcessInfo.processInfo.environment["GITHUB_OUTPUT"], !path.isEmpty else { return }
        append(outputEntry(name: "deployment-id", value: deploymentID), to: path)
    }

    /// One `$GITHUB_OUTPUT` entry, newline included: `name=value` for a value without line
    /// breaks, else `name<<DELIMITER`, the value, `DELIMITER`, with a random delimiter that
    /// occurs nowhere in the value (GitHub's multiline form). Either way the value reads back
    /// exactly and cannot start a second entry.
    static func outputEntry(name: String, value: String) -> String {
        let lineBreaks: Set<UInt32> = [0x0A, 0x0B, 0x0C, 0x0D, 0x85, 0x2028, 0x2029]
        guard value.unicodeScalars.contains(where: { lineBreaks.contains($0.value) }) else {
            return "\(name)=\(value)\n"
        }
        var delimiter: String
        repeat {
            delimiter = "ghadelimiter_" + UUID().uuidString
        } while value.contains(delimiter)
        return "\(name)<<\(delimiter)\n\(value)\n\(delimiter)\n"
    }

    static func writeSummary(_ record: DeploymentRecord?) {
        guard let path = ProcessInfo.processInfo.environment["GITHUB_STEP_SUMMARY"], !path.isEmpty, let r = record else { return }
        append(summary(r), to: path)
    }

    /// The job summary of a deployment: a heading, a table of its fields, its record as JSON.
    static func summary(_ r: DeploymentRecord) -> String {
        let t = markdownText
        var md = "### Deployment \(t(r.deploymentID)) — \(t(r.status))\n\n"
        md += "| field | value |\n|---|---|\n"
        md += "| environment | \(t(r.environment)) |\n| git sha | \(t(r.gitSHA)) |\n| git ref | \(t(r.gitRef)) |\n"
        md += "| duration | \(r.durationMs.map { "\($0 / 1000) s" } ?? "-") |\n| rollback available | \(r.rollbackAvailable) |\n"
        if let to = r.rolledBackTo { md += "| rolled back to | \(t(to)) |\n" }
        if let why = r.failureReason { md += "| failure | \(t(why)) |\n" }
        md += "\n" + codeBlock(r.json, language: "json") + "\n"
        return md
    }

    /// `text` as literal text in a Markdown table cell: every character that GitHub's Markdown
    /// or HTML could read as markup (HTML's `<`, `>`, `&`, `"`; the cell separator `|`; code,
    /// emphasis, strikethrough, links and images, `\\` escapes, `$` math, `:`, `.` and `@` of
    /// autolinks and mentions) is a numeric character reference, and line breaks and other
    /// control characters are shown as escapes (`VisibleText`): one field can neither end its
    /// row nor inject a tag, a link or an image, and renders as the text it is.
    static func markdownText(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in VisibleText.render(text).unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "|": out += "&#124;"
            case "\\", "`", "*", "_", "[", "]", "(", ")", "!", "~", "#", ":", ".", "@", "$":
                out += "&#\(scalar.value);"
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// `text` in a fenced code block whose fence (a run of backticks) is longer than any run
    /// of backticks in the text, so the text cannot close it.
    static func codeBlock(_ text: String, language: String) -> String {
        var longest = 0, run = 0
        for character in text {
            run = character == "`" ? run + 1 : 0
            longest = max(longest, run)
        }
        let fence = String(repeating: "`", count: max(3, longest + 1))
        return "\(fence)\(language)\n\(VisibleText.render(text))\n\(fence)"
    }

    private static func append(_ text: String, to path: String) {
        do { try appendFile(text, to: path) } catch {
            TerminalText.error("cannot write \(path) (GitHub Actions output): \(error); continuing")
        }
    }

    /// Appends to a file GitHub Actions reads ($GITHUB_OUTPUT, $GITHUB_STEP_SUMMARY), never
    /// through a symbolic link planted at its name.
    static func appendFile(_ text: String, to path: String) throws(FileError) {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw FileError("open", path, code: errno) }
        defer { close(fd) }
        try FileSystem.write(fd, Array(text.utf8), path: path)
    }
}
