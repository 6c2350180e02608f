import Foundation

/// Runs `sql` through the real `sqlite3` shell (found on `PATH`) against `dbPath`.
///
/// The shell runs in batch mode with `-bail`: it stops at the first failing statement and
/// exits non-zero, with SQLite's message on stderr. Nothing of the event store is involved,
/// which is the point: this is how someone would alter a ledger behind Shiplog's back.
public func sqlite3(_ dbPath: String, _ sql: String) -> ProcessOutput {
    guard let shell = SQLiteShell.url else {
        return (127, "", "no sqlite3 shell on PATH")
    }
    return runProcess(shell, ["-batch", "-bail", dbPath], input: sql)
}

/// Where the `sqlite3` shell lives.
public enum SQLiteShell {
    /// The first executable `sqlite3` on `PATH`, or nil.
    public static let url: URL? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent("sqlite3")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }()
}
