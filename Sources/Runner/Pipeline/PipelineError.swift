/// A mistake in a pipeline file or in the environment that overrides it.
///
/// `description` reads like a compiler diagnostic, so editors and terminals can jump to it:
///
///     shiplog.yml:12:11: health.retries: expected a whole number ≥ 1, found "five"
///
/// `line` and `column` start at 1 and point at the offending node (for a missing key, at the
/// mapping that lacks it). They are `nil` when there is no position, as for a bad value in an
/// environment variable, where `file` is `"environment"` and `path` names the variable.
public struct PipelineError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file the error is in, as it was named to the parser.
    public var file: String
    /// The 1-based line of the offending node, when known.
    public var line: Int?
    /// The 1-based column of the offending node, when known.
    public var column: Int?
    /// Where in the document the error is, such as `health.checks[2].name`; empty for the
    /// document as a whole.
    public var path: String
    /// What was wrong, including what was expected.
    public var message: String
    /// The file's other mistakes, in the order they appear: a file is checked to its end, so
    /// one run reports them all.
    public var more: [PipelineError] = []

    public init(file: String, line: Int? = nil, column: Int? = nil, path: String = "", message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.path = path
        self.message = message
    }

    /// This error and the others, one each.
    public var all: [PipelineError] {
        var first = self
        first.more = []
        return [first] + more
    }

    /// Every error as ``summary`` reads it, one per line.
    public var description: String {
        all.map(\.summary).joined(separator: "\n")
    }

    /// `file:line:column: path: message`, leaving out the parts that are unknown.
    public var summary: String {
        var text = file
        if let line {
            text += ":\(line)"
            if let column { text += ":\(column)" }
        }
        text += ": "
        if !path.isEmpty { text += path + ": " }
        return text + message
    }
}
