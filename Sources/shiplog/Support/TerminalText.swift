import ArgumentParser
import Foundation
import Runner

/// Human-readable output: every line a person reads (results, notes, errors, tables) is
/// built first and then passed through ``visible(_:)``, which redacts the process's secrets
/// and shows control characters as escapes (`VisibleText`). A ref, a reason, an error or an
/// argument echoed back can therefore neither leak a secret nor act on the terminal: no ESC
/// sequence, carriage return, bell, OSC title or forged extra line gets through.
///
/// JSON output does not come here: it is escaped by `JSONText`, and rendering would change
/// the values it carries.
enum TerminalText {
    /// `text` as one terminal line: secrets redacted, every control character an escape.
    static func visible(_ text: String) -> String {
        VisibleText.render(ProcessSecrets.redact(text))
    }

    /// Fields joined by a separator the output format defines (a tab), each shown visibly: a
    /// tab or newline inside a field cannot pass for the separator.
    static func visible(fields: [String], separator: String) -> String {
        fields.map(visible).joined(separator: separator)
    }

    /// A result line on stdout.
    static func out(_ line: String) { Terminal.out(visible(line)) }

    /// A note or progress line on stderr.
    static func note(_ line: String) { Terminal.note(visible(line)) }

    /// An error line on stderr, after `shiplog: `.
    static func error(_ line: String) { Terminal.error(visible(line)) }

    /// A message of several lines (a usage error with its usage text): secrets redacted, each
    /// argument that holds a control character shown as ``visible(_:)`` shows it, then every
    /// control character left but the line breaks shown as an escape.
    static func visible(message: String, arguments: [String]) -> String {
        var message = message
        var echoed: [String] = []
        for argument in arguments {
            echoed.append(argument)
            if argument.hasPrefix("-"), let equals = argument.firstIndex(of: "=") {
                echoed.append(String(argument[argument.index(after: equals)...]))
            }
        }
        for argument in echoed.sorted(by: { $0.count > $1.count }) where !argument.isEmpty {
            let shown = visible(argument)
            if shown != argument { message = message.replacingOccurrences(of: argument, with: shown) }
        }
        return ProcessSecrets.redact(message)
            .split(separator: "\n", omittingEmptySubsequences: false)
            .map { VisibleText.render(String($0)) }
            .joined(separator: "\n")
    }
}

extension Shiplog {
    /// `main()` as swift-argument-parser runs it, except that a usage error, which echoes the
    /// arguments, is shown through ``TerminalText/visible(message:arguments:)``. Help and
    /// version text (exit 0) are printed unchanged.
    static func mainShowingArgumentsVisibly() -> Never {
        do {
            var command = try parseAsRoot()
            Terminal.closedOutput = command is ReadOnlyListing ? .endQuietly : .keepGoing
            try command.run()
            // Output that could not be written is a failed command, unless the command's code is
            // a deployment's outcome: a full disk behind `> out.txt` does not undo a deployment.
            if Terminal.outputFailure != nil && !(command is DrivesDeployment) {
                Foundation.exit(Exit.cannotWrite)
            }
            Foundation.exit(ExitCode.success.rawValue)
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if code == .success {
                if !message.isEmpty { Terminal.out(message) }
            } else if !message.isEmpty {
                let shown = TerminalText.visible(message: message, arguments: Array(CommandLine.arguments.dropFirst()))
                Terminal.write(2, Array((GitHubActions.inert(shown) + "\n").utf8))
            }
            Foundation.exit(code.rawValue)
        }
    }
}
