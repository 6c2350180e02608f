import Foundation
import ShiplogFiles

/// Where the CLI writes: results to stdout, diagnostics and progress lines to stderr. A
/// deployment's progress is its result: `deploy` and `resume` print it and their final verdict
/// on stdout (beside `--json` events, the verdict goes to stderr).
///
/// A write never kills the process and never throws. When a stream cannot be written (the
/// reader of a pipe went away, the disk behind a redirection is full, the descriptor was
/// closed), the terminal records it, says so once on stderr when it can, and stops writing to
/// that stream; the command goes on and ends with its real exit code. Only commands that are
/// read-only listings (`ReadOnlyListing`) end at once, quietly and with 0, when the reader of
/// their standard output goes away (`shiplog history | head`).
enum Terminal {
    /// What happens when the reader of standard output goes away (EPIPE).
    enum ClosedOutput: Sendable {
        /// Stop writing and carry on: the command's work and exit code still count.
        case keepGoing
        /// End the process quietly with 0: the output was the whole point and nobody reads it.
        case endQuietly
    }

    // Inside GitHub Actions, no line printed can pass for a workflow command (`GitHubActions.inert`).
    static func out(_ line: String) { write(1, Array((GitHubActions.inert(line) + "\n").utf8)) }

    static func error(_ line: String) { write(2, Array((GitHubActions.inert("shiplog: " + line) + "\n").utf8)) }

    static func note(_ line: String) { write(2, Array((GitHubActions.inert(line) + "\n").utf8)) }

    /// Set once, before the command runs.
    static var closedOutput: ClosedOutput {
        get { state.withLock { $0.closedOutput } }
        set { state.withLock { $0.closedOutput = newValue } }
    }

    /// Why standard output could not be written, when it failed for another reason than its
    /// reader going away (a full disk, a closed descriptor); nil otherwise.
    static var outputFailure: String? {
        state.withLock { $0.failure[1] }
    }

    /// True once standard output stopped being written (its reader went away, or it failed).
    static var outputStopped: Bool {
        state.withLock { $0.stopped[1] }
    }

    /// Writes every byte, or stops the stream for good at the first failure (see the type).
    static func write(_ fd: Int32, _ bytes: [UInt8]) {
        guard fd == 1 || fd == 2 else { return }
        if state.withLock({ $0.stopped[Int(fd)] }) { return }
        let code = bytes.withUnsafeBytes { FileSystem.writeAll(fd, $0) }
        if code != 0 { stop(fd, code) }
    }

    private static func stop(_ fd: Int32, _ code: Int32) {
        let (policy, first) = state.withLock { state -> (ClosedOutput, Bool) in
            let first = !state.stopped[Int(fd)]
            state.stopped[Int(fd)] = true
            if code != EPIPE, state.failure[Int(fd)] == nil {
                state.failure[Int(fd)] = FileSystem.message(code)
            }
            return (state.closedOutput, first)
        }
        guard fd == 1, first else { return }
        if code == EPIPE {
            if policy == .endQuietly { exit(Exit.ok) }
            note("shiplog: standard output was closed; carrying on without printing to it")
        } else {
            error("cannot write standard output: \(FileSystem.message(code)); carrying on without printing to it")
        }
    }

    private struct State {
        var closedOutput = ClosedOutput.keepGoing
        /// Per descriptor (index 1 and 2): no more writes.
        var stopped = [false, false, false]
        var failure: [String?] = [nil, nil, nil]
    }

    private static let state = Locked(State())
}

/// A value behind a lock: the terminal is written from the runner's and the steps' threads.
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()

    init(_ value: Value) { self.value = value }

    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// A command whose only product is what it prints, and which changes nothing: when the reader
/// of its output goes away (`| head`), it ends quietly with 0.
protocol ReadOnlyListing {}

extension HistoryCommand: ReadOnlyListing {}
extension ShowCommand: ReadOnlyListing {}
extension EventsCommand.List: ReadOnlyListing {}
extension ArtifactsCommand.List: ReadOnlyListing {}
extension ExportCommand: ReadOnlyListing {}

/// A command that drives a deployment: its exit code is the deployment's (0 deployed, 1 rolled
/// back, 2 failed), whatever happened to its output.
protocol DrivesDeployment {}

extension DeployCommand: DrivesDeployment {}
extension ResumeCommand: DrivesDeployment {}

/// Buffered output for long listings and exports: one write per 64 KiB, not per line.
final class OutputBuffer {
    private var buffer: [UInt8] = []
    private let fd: Int32

    init(fd: Int32 = 1) {
        self.fd = fd
        buffer.reserveCapacity(1 << 16)
    }

    func line(_ text: String) {
        buffer.append(contentsOf: GitHubActions.inert(text).utf8)
        buffer.append(10)
        if buffer.count >= 1 << 16 { flush() }
    }

    func flush() {
        if buffer.isEmpty { return }
        Terminal.write(fd, buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    deinit { flush() }
}
