import Foundation

/// The built `shiplog` executable the CLI tests run.
public enum ShiplogBinary {
    /// `$SHIPLOG_BIN` when set; otherwise the `shiplog` built next to the running test bundle:
    /// the directory of `CommandLine.arguments[0]`, then its parents up to the build-configuration
    /// directory (`…/debug` or `…/release`), so any `--scratch-path` works.
    ///
    /// When nothing is found, this names where it was expected; running it then fails with
    /// status 127 and a message saying to build first.
    public static let url: URL = locate()

    private static func locate() -> URL {
        let environment = ProcessInfo.processInfo.environment
        if let override = environment["SHIPLOG_BIN"], !override.isEmpty {
            return URL(fileURLWithPath: override)
        }
        let argument0 = CommandLine.arguments.first ?? ""
        var directory = URL(fileURLWithPath: argument0).resolvingSymlinksInPath().deletingLastPathComponent()
        let start = directory
        // …/debug/ShiplogPackageTests.xctest (Linux) or …/debug/ShiplogPackageTests.xctest/Contents/MacOS/…
        for _ in 0..<5 {
            let candidate = directory.appendingPathComponent("shiplog")
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue,
                FileManager.default.isExecutableFile(atPath: candidate.path)
            {
                return candidate
            }
            let name = directory.lastPathComponent
            if name == "debug" || name == "release" || directory.path == "/" { break }
            directory.deleteLastPathComponent()
        }
        return start.appendingPathComponent("shiplog")
    }
}

/// Runs the built `shiplog` with `args`, in `dir` (the current directory when nil).
///
/// The child gets this process's environment without any `SHIPLOG_*` variable, plus `environment`,
/// so a developer's own settings never leak into a test.
public func runShiplog(_ args: [String], environment: [String: String] = [:], in dir: URL? = nil) -> ProcessOutput {
    guard FileManager.default.isExecutableFile(atPath: ShiplogBinary.url.path) else {
        return (127, "", "no shiplog executable at \(ShiplogBinary.url.path): run `swift build` first, or set SHIPLOG_BIN")
    }
    return runProcess(ShiplogBinary.url, args, environment: environment, in: dir)
}
