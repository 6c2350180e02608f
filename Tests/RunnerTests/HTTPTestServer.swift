import Foundation
import ShiplogTestSupport
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The repository's `tools/testserver.py`, running as a child process on a free loopback port.
///
/// Each test that needs one starts its own, so tests stay independent when run in parallel;
/// `stop()` (or `deinit`) sends SIGTERM and waits for the process to exit.
final class HTTPTestServer {
    struct StartFailure: Error, CustomStringConvertible {
        let description: String
    }

    let port: Int
    private let process: Process
    private let directory: URL

    /// The repository root, found from this file's location (Tests/RunnerTests/<file>).
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent()

    var baseURL: String { "http://127.0.0.1:\(port)" }

    func url(_ path: String) -> String { baseURL + path }

    init(stateFile: String? = nil, startupTimeout: Duration = .seconds(15)) throws {
        let script = Self.repositoryRoot.appendingPathComponent("tools/testserver.py").path
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("shiplog-http-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let portFile = directory.appendingPathComponent("port").path

        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        var arguments = ["python3", script, "--port", "0", "--port-file", portFile, "--exit-with-parent"]
        if let stateFile { arguments += ["--state-file", stateFile] }
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()

        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: startupTimeout)
        var found: Int?
        while found == nil {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8),
                let value = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                found = value
            } else if !process.isRunning {
                try? FileManager.default.removeItem(at: directory)
                throw StartFailure(description: "testserver.py exited with status \(process.terminationStatus)")
            } else if clock.now >= deadline {
                Self.terminate(process)
                try? FileManager.default.removeItem(at: directory)
                throw StartFailure(description: "testserver.py wrote no port within \(startupTimeout)")
            } else {
                usleep(20_000)
            }
        }
        port = found!
    }

    /// Sends SIGTERM, gives the server a few seconds, then SIGKILL; idempotent.
    func stop() {
        Self.terminate(process)
        try? FileManager.default.removeItem(at: directory)
    }

    private static func terminate(_ process: Process) {
        if process.isRunning {
            process.terminate()
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: .seconds(5))
            while process.isRunning && clock.now < deadline {
                usleep(10_000)
            }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
            }
            process.waitUntilExit()
        }
    }

    deinit {
        stop()
    }
}

/// A loopback TCP port that is bound but not listening: connecting to it is refused at once,
/// and no other process can take the port while this value is alive.
final class RefusingPort {
    let port: Int
    private let descriptor: Int32

    init() throws {
        (descriptor, port) = try LoopbackSocket.bind(listening: false)
    }

    deinit {
        close(descriptor)
    }
}
