import EventStore
import Foundation

/// A running child process whose stdout and stderr are collected in the background, so a
/// chatty child never blocks on a full pipe and a test can signal it at any moment.
///
///     let child = try ChildProcess(ShiplogBinary.url, ["debug", "append-loop", …])
///     child.signal(SIGKILL)
///     let (status, stdout, _) = child.wait()
///
/// The child's environment is this process's without any `SHIPLOG_*` or `GITHUB_*` variable, plus `environment`.
/// Its stdin is a pipe: write with `send(_:)`, end it with `closeInput()` (or `wait()`).
public final class ChildProcess: @unchecked Sendable {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private let errors = Pipe()
    private let readers = DispatchGroup()
    private let lock = NSLock()
    private var collected: [Data] = [Data(), Data()]
    private var inputClosed = false

    /// The child's process id.
    public let pid: Int32

    public init(_ executable: URL, _ arguments: [String], environment: [String: String] = [:], in directory: URL? = nil) throws {
        ignoreBrokenPipes
        process.executableURL = executable
        process.arguments = arguments
        // Nor any GITHUB_* one: a test run inside GitHub Actions must not write to the job's own
        // output files or speak to its runner.
        var merged = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SHIPLOG_") && !$0.key.hasPrefix("GITHUB_") }
        merged.merge(environment) { $1 }
        process.environment = merged
        if let directory { process.currentDirectoryURL = directory }
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        pid = process.processIdentifier
        for (index, pipe) in [output, errors].enumerated() {
            let handle = pipe.fileHandleForReading
            DispatchQueue.global().async(group: readers) {
                let data = handle.readDataToEndOfFile()
                self.lock.withLock { self.collected[index] = data }
            }
        }
    }

    /// Writes `text` to the child's stdin; ignored once the child has gone away.
    public func send(_ text: String) {
        lock.withLock {
            guard !inputClosed else { return }
            try? input.fileHandleForWriting.write(contentsOf: Data(text.utf8))
        }
    }

    /// Closes the child's stdin: a child reading it sees end of file.
    public func closeInput() {
        lock.withLock {
            guard !inputClosed else { return }
            inputClosed = true
            try? input.fileHandleForWriting.close()
        }
    }

    /// Sends `number` (SIGKILL, SIGTERM…) to the child.
    public func signal(_ number: Int32) {
        _ = kill(pid, number)
    }

    /// Closes stdin, waits for the child to end and for its output to be read to the end.
    public func wait() -> ProcessOutput {
        closeInput()
        process.waitUntilExit()
        readers.wait()
        let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return lock.withLock {
            (status, String(decoding: collected[0], as: UTF8.self), String(decoding: collected[1], as: UTF8.self))
        }
    }
}

/// Runs `executable` to completion with `input` (if any) on its stdin; see `ChildProcess` for
/// the environment it gets. A child that cannot be started gives status 127.
public func runProcess(
    _ executable: URL, _ arguments: [String], environment: [String: String] = [:],
    in directory: URL? = nil, input: String? = nil
) -> ProcessOutput {
    let child: ChildProcess
    do {
        child = try ChildProcess(executable, arguments, environment: environment, in: directory)
    } catch {
        return (127, "", "cannot run \(executable.path): \(error)")
    }
    if let input { child.send(input) }
    return child.wait()
}

/// The SHA-256 of a file's bytes as lowercase hex, or nil when it cannot be read.
public func sha256(ofFile path: String) -> String? {
    guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
    defer { try? handle.close() }
    let digest = SHA256Stream()
    while let chunk = try? handle.read(upToCount: 1 << 16), !chunk.isEmpty {
        chunk.withUnsafeBytes { digest.update($0) }
    }
    return digest.finalizeHex()
}

/// Writing to a child that has exited must fail with EPIPE, not kill the test process.
private let ignoreBrokenPipes: Void = {
    _ = Foundation.signal(SIGPIPE, SIG_IGN)
}()
