/// Where a pipeline came from: its file, the directory its relative paths are resolved
/// against, and the positions of the nodes that are checked again once the environment is
/// known (the `url` of HTTP checks).
///
/// It is not part of a pipeline's value: two pipelines that say the same thing are equal
/// wherever they were read from.
struct PipelineOrigin: Sendable, Equatable {
    struct Position: Sendable, Equatable {
        var line: Int
        var column: Int
    }

    var file: String
    var baseDirectory: String
    var positions: [String: Position]
    /// The SHA-256 of the file's bytes, when it was read from a file.
    var sha256: String?

    init(file: String, baseDirectory: String, positions: [String: Position] = [:]) {
        self.file = file
        self.baseDirectory = baseDirectory
        self.positions = positions
    }

    static func == (lhs: PipelineOrigin, rhs: PipelineOrigin) -> Bool { true }

    /// An error about the node at `path`, positioned when the position is known.
    func error(at path: String, _ message: String) -> PipelineError {
        let position = positions[path]
        return PipelineError(
            file: file, line: position?.line, column: position?.column,
            path: path, message: message)
    }
}
