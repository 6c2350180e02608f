import Foundation
import Ledger
import Runner
import ShiplogFiles

/// GitHub Actions integration: step outputs, the job summary, and workflow commands.
///
/// - Outputs (`$GITHUB_OUTPUT`): `deployment-id` and `status` after every command that concerns
///   one deployment, `rollback-target` when it has one, `reason` once it failed,
///   `rolled-back-to` once it was rolled back. A value
///   that could hold a line break is written in the delimiter form, so it reads back exactly and
///   cannot start a second entry.
/// - Job summary (`$GITHUB_STEP_SUMMARY`): the deployment record when a deployment ends, in run
///   and in record mode alike, every field escaped as text (``markdownText(_:)``).
/// - Workflow commands, only where `GITHUB_ACTIONS=true`: every secret value is masked
///   (`::add-mask::`) before anything is printed, and a deployment that ends failed or rolled
///   back raises one `::error` annotation with its reason. They go to standard error, which the
///   runner reads as it reads standard output, so `id=$(shiplog record begin …)` captures only
///   the id. Nothing else Shiplog prints can pass for a workflow command (``inert(_:)``).
enum GitHubActions {
    /// True inside a GitHub Actions job (the runner sets `GITHUB_ACTIONS=true`).
    static let isRunning = ProcessInfo.processInfo.environment["GITHUB_ACTIONS"] == "true"

    // MARK: outputs

    /// The outputs of a deployment as its record now stands; `reason` is why it failed
    /// (``reason(of:summary:)``).
    static func outputs(of record: DeploymentRecord, reason: String?) -> [(name: String, value: String)] {
        var outputs = [(name: "deployment-id", value: record.deploymentID), (name: "status", value: record.status)]
        if let target = record.previousStableID { outputs.append((name: "rollback-target", value: target)) }
        if let reason { outputs.append((name: "reason", value: reason)) }
        if let target = record.rolledBackTo { outputs.append((name: "rolled-back-to", value: target)) }
        return outputs
    }

    /// Why a deployment that ended failed or rolled back did so: the reason its record holds,
    /// else `summary` (what its events say failed: a rolled-back deployment records no reason of
    /// its own). Nil for any other status.
    static func reason(of record: DeploymentRecord, summary: @autoclosure () throws -> String?) rethrows -> String? {
        guard record.status == "failed" || record.status == "rolled_back" else { return nil }
        return try record.failureReason ?? summary()
    }

    /// Appends `outputs` to `$GITHUB_OUTPUT`; does nothing when it is not set.
    static func writeOutputs(_ outputs: [(name: String, value: String)]) throws(FileError) {
        guard let path = ProcessInfo.processInfo.environment["GITHUB_OUTPUT"], !path.isEmpty else { return }
        try appendFile(outputs.map { outputEntry(name: $0.name, value: $0.value) }.joined(), to: path)
    }

    /// The path of `$GITHUB_OUTPUT`, for messages.
    static var outputPath: String { ProcessInfo.processInfo.environment["GITHUB_OUTPUT"] ?? "" }

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

    // MARK: the end of a deployment

    /// What a deployment that just ended gives the workflow: its outputs (a file that cannot be
    /// written is reported, and the command goes on: the deployment's outcome stands), its job
    /// summary, and an annotation when it failed or was rolled back.
    static func deploymentEnded(_ id: String, status: String, record: DeploymentRecord?, reason: String?) {
        do { try writeOutputs(record.map { outputs(of: $0, reason: reason) } ?? [("deployment-id", id), ("status", status)]) } catch {
            TerminalText.error("cannot write \(outputPath) (GitHub Actions output): \(error); continuing")
        }
        guard let record else { return }
        writeSummary(record)
        annotateFailure(record, reason: reason)
    }

    // MARK: job summary

    static func writeSummary(_ record: DeploymentRecord) {
        guard let path = ProcessInfo.processInfo.environment["GITHUB_STEP_SUMMARY"], !path.isEmpty else { return }
        do { try appendFile(summary(record), to: path) } catch {
            TerminalText.error("cannot write \(path) (GitHub Actions job summary): \(error); continuing")
        }
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

    // MARK: workflow commands

    /// Asks the runner to mask `value` in the job's log from now on. Only inside Actions.
    static func addMask(_ value: String) {
        guard isRunning else { return }
        command("add-mask", data: value)
    }

    /// One `::error` annotation for a deployment that ended failed or rolled back, titled with
    /// the environment, the deployment and where it rolled back to, with its failure reason as
    /// the message. Only inside Actions.
    static func annotateFailure(_ record: DeploymentRecord, reason: String?) {
        guard isRunning else { return }
        let title: String
        switch record.status {
        case "failed": title = "\(record.environment) deployment \(record.deploymentID) failed"
        case "rolled_back":
            title = "\(record.environment) deployment \(record.deploymentID) rolled back" + (record.rolledBackTo.map { " to \($0)" } ?? "")
        default: return
        }
        // The message keeps its line breaks (annotations have several lines); everything else
        // that acts on a terminal is shown as an escape, and secrets are redacted.
        let reason = (reason ?? "no reason was recorded")
            .split(separator: "\n", omittingEmptySubsequences: false).map { TerminalText.visible(String($0)) }.joined(separator: "\n")
        command("error", properties: [("title", TerminalText.visible(title))], data: reason)
    }

    /// Writes `::name key=value,…::data` on standard error, escaped as the runner unescapes it.
    private static func command(_ name: String, properties: [(String, String)] = [], data: String) {
        Terminal.write(2, Array((commandLine(name, properties: properties, data: data) + "\n").utf8))
    }

    /// A workflow command line: property values escaped by ``escapeProperty(_:)``, the data by
    /// ``escapeData(_:)``.
    static func commandLine(_ name: String, properties: [(String, String)] = [], data: String) -> String {
        let list = properties.map { "\($0.0)=\(escapeProperty($0.1))" }.joined(separator: ",")
        return "::\(name)\(list.isEmpty ? "" : " " + list)::\(escapeData(data))"
    }

    /// A command's data as the runner reads it back: `%`, CR and LF as `%25`, `%0D`, `%0A`.
    static func escapeData(_ text: String) -> String {
        escape(text, ["%": "%25", "\r": "%0D", "\n": "%0A"])
    }

    /// A property value as the runner reads it back: the data's escapes, and `:` and `,` (which
    /// end the properties and separate them) as `%3A` and `%2C`.
    static func escapeProperty(_ text: String) -> String {
        escape(text, ["%": "%25", "\r": "%0D", "\n": "%0A", ":": "%3A", ",": "%2C"])
    }

    /// `text` with the scalars `map` names replaced, scalar by scalar as the runner compares
    /// (never as Swift compares characters, where a CR LF or a combining mark joins its neighbour).
    private static func escape(_ text: String, _ map: [Unicode.Scalar: String]) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if let replacement = map[scalar] { out.append(contentsOf: replacement.unicodeScalars) } else { out.append(scalar) }
        }
        return String(out)
    }

    /// `text` (lines Shiplog prints) made inert for the runner inside Actions: the runner reads
    /// every line of a step's output, on either stream, as a workflow command when it starts
    /// with `::` after white space, or holds `##[` anywhere (the older form, which can still set
    /// an output or raise an annotation). A ref or a reason printed back could otherwise forge
    /// either. Such a `#` or `:` is shown as an escape (`\u0023` in a JSON line, where it reads
    /// back as the same character; `\u{23}` and `\u{3A}` elsewhere, as `VisibleText` shows
    /// escapes). Outside Actions, `text` is returned as it is.
    static func inert(_ text: String) -> String {
        guard isRunning else { return text }
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var lineStart = true, json = false, index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            if lineStart && scalar.properties.isWhitespace && scalar != "\n" && scalar != "\r" {
                out.append(scalar)
                index += 1
                continue
            }
            if lineStart {
                json = scalar == "{" || scalar == "["
                lineStart = false
                if scalar == ":" && index + 1 < scalars.count && scalars[index + 1] == ":" {
                    out.append(contentsOf: "\\u{3A}".unicodeScalars)
                    index += 1
                    continue
                }
            }
            if scalar == "#" && index + 2 < scalars.count && scalars[index + 1] == "#" && scalars[index + 2] == "[" {
                out.append(contentsOf: (json ? "#\\u0023[" : "#\\u{23}[").unicodeScalars)
                index += 3
                continue
            }
            if scalar == "\n" || scalar == "\r" { lineStart = true }
            out.append(scalar)
            index += 1
        }
        return String(out)
    }

    // MARK: files

    /// Appends to a file GitHub Actions reads ($GITHUB_OUTPUT, $GITHUB_STEP_SUMMARY), never
    /// through a symbolic link planted at its name. When the file's last line is unfinished (a
    /// step wrote `name=value` without its newline), a newline goes first, so that line and
    /// the first of `text` are both read as they were written.
    static func appendFile(_ text: String, to path: String) throws(FileError) {
        var fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        // A file one may write but not read: append without looking at its last line.
        if fd < 0 && errno == EACCES { fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW) }
        guard fd >= 0 else { throw FileError("open", path, code: errno) }
        defer { close(fd) }
        var bytes = Array(text.utf8)
        var status = stat()
        if fstat(fd, &status) == 0, status.st_size > 0 {
            var last: UInt8 = 0
            if pread(fd, &last, 1, status.st_size - 1) == 1, last != 0x0A { bytes.insert(0x0A, at: 0) }
        }
        try FileSystem.write(fd, bytes, path: path)
    }
}
