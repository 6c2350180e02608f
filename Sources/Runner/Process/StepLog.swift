import Foundation
import ShiplogFiles

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A step's append-only log file.
///
/// Everything that reaches the file goes through the `redact` closure first, one whole line at
/// a time: a step's output arrives in chunks that can cut a line (and a secret in it) anywhere,
/// so a partial line is held back until its newline arrives or the output ends. Only a single
/// line longer than 1 MiB is cut, at that length.
///
/// The file is opened with O_APPEND, created with permissions 0600 (missing parent directories
/// with 0700), and never truncated. It is opened as `FileSystem.openPrivate` opens files: a
/// symbolic link, a FIFO, a hard link or a file of another user planted at its name is refused,
/// and so is a directory others can write to (`FileSystem.makePrivateDirectory`). A character
/// device given as the path (/dev/null) is written as is: nobody can plant one without root.
///
/// Writing never throws, so that a full disk cannot interrupt a deployment halfway: the first
/// failure is kept in `failure`, nothing more is written to the file after it (the log stays a
/// prefix of the truth, not a text with holes), and `throwIfFailed()` reports it. Echo goes on.
///
/// Safe to use from several threads.
public final class StepLog: @unchecked Sendable {
    /// The log file, as given.
    public let path: String

    private let redact: @Sendable (String) -> String
    private let echo: (@Sendable (String) -> Void)?
    private let lock = NSLock()
    private var fd: Int32
    /// Step output after the last newline, not yet written.
    private var pendingOutput: [UInt8] = []
    private var firstFailure: StepLogError?

    /// A line of step output longer than this is written (and echoed) in pieces of this size.
    static let maxLineBytes = 1 << 20

    /// Moves the cut of such a line back (bytes, limit → cut) so that no secret is cut in two;
    /// set by `init(path:redactor:echo:)`.
    var safeCut: (@Sendable ([UInt8], Int) -> Int)?

    /// Opens (creating if needed) the log at `path`.
    ///
    /// - Parameters:
    ///   - redact: applied to every line (without its newline) before it is written or echoed.
    ///   - echo: receives each redacted line of step output (without its newline) as soon as the
    ///     line is complete, for live progress; called on the thread running the step. The
    ///     runner's own lines given to `write` are not echoed.
    /// - Throws: `StepLogError` with operation `.open`.
    public init(
        path: String, redact: @escaping @Sendable (String) -> String,
        echo: (@Sendable (String) -> Void)? = nil
    ) throws {
        self.path = path
        self.redact = redact
        self.echo = echo
        do {
            try FileSystem.makePrivateDirectory(FileSystem.directory(of: path), purpose: "keep logs in")
            fd = try FileSystem.openPrivate(path, access: O_WRONLY | O_APPEND, allowCharacterDevices: true)
        } catch {
            throw StepLogError(error, path: path, operation: .open)
        }
    }

    deinit {
        Posix.close(fd)
    }

    /// The first write that failed, if any.
    public var failure: StepLogError? {
        lock.withLock { firstFailure }
    }

    /// Throws the first write failure, if any.
    public func throwIfFailed() throws {
        if let failure { throw failure }
    }

    /// Appends the runner's own text as whole lines (a newline is added when missing), each
    /// redacted. Step output held back as a partial line is not affected.
    public func write(_ text: String) {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if text.hasSuffix("\n") { lines.removeLast() }
        var bytes: [UInt8] = []
        for line in lines {
            bytes.append(contentsOf: redact(String(line)).utf8)
            bytes.append(UInt8(ascii: "\n"))
        }
        lock.withLock { append(bytes) }
    }

    /// Flushes any held-back output and closes the file. Further writes are ignored.
    public func close() {
        finishOutput()
        lock.withLock {
            Posix.close(fd)
            fd = -1
        }
    }

    // MARK: Step output

    /// Takes a chunk of the step's output: complete lines are redacted, written and echoed; the
    /// rest waits for its newline.
    func appendOutput(_ chunk: UnsafeRawBufferPointer) {
        let echoed: [String] = lock.withLock {
            pendingOutput.append(contentsOf: chunk)
            var lines: [String] = []
            var start = 0
            while let newline = pendingOutput[start...].firstIndex(of: UInt8(ascii: "\n")) {
                lines.append(decode(pendingOutput[start..<newline]))
                start = newline + 1
            }
            pendingOutput.removeFirst(start)
            while pendingOutput.count > Self.maxLineBytes {
                var cut = Self.characterBoundary(in: pendingOutput, atOrBefore: Self.maxLineBytes)
                if let safeCut { cut = safeCut(pendingOutput, cut) }
                lines.append(decode(pendingOutput[..<cut]))
                pendingOutput.removeFirst(cut)
            }
            return emit(lines)
        }
        if let echo { echoed.forEach(echo) }
    }

    /// The output has ended: the held-back partial line, if any, is written as a line.
    func finishOutput() {
        let echoed: [String] = lock.withLock {
            guard !pendingOutput.isEmpty else { return [] }
            let line = decode(pendingOutput[...])
            pendingOutput.removeAll()
            return emit([line])
        }
        if let echo { echoed.forEach(echo) }
    }

    // MARK: Private (lock held)

    /// Redacts and writes `lines`; returns what to echo.
    private func emit(_ lines: [String]) -> [String] {
        guard !lines.isEmpty else { return [] }
        var bytes: [UInt8] = []
        var echoed: [String] = []
        for line in lines {
            let clean = redact(line)
            bytes.append(contentsOf: clean.utf8)
            bytes.append(UInt8(ascii: "\n"))
            if echo != nil {
                echoed.append(clean.hasSuffix("\r") ? String(clean.dropLast()) : clean)
            }
        }
        append(bytes)
        return echoed
    }

    private func append(_ bytes: [UInt8]) {
        guard fd >= 0, firstFailure == nil, !bytes.isEmpty else { return }
        let code = bytes.withUnsafeBytes { FileSystem.writeAll(fd, $0) }
        if code != 0 { firstFailure = StepLogError(path: path, operation: .write, code: code) }
    }

    private func decode(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    /// The last `count` lines of the log at `path` (read from its last 16 KiB, never whole);
    /// empty when it cannot be read. The log holds redacted text only.
    public static func lastLines(of path: String, count: Int) -> [String] {
        guard let fd = try? FileSystem.openForReading(path, followSymlinks: false, regularOnly: true) else { return [] }
        defer { Posix.close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return [] }
        let size = Int(info.st_size)
        let window = min(size, 16 * 1024)
        var bytes = [UInt8](repeating: 0, count: window)
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, window, off_t(size - window)) }
        guard n > 0 else { return [] }
        var lines = String(decoding: bytes[..<n], as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        // The window's first line may be cut: left out unless the window is the whole file.
        if window < size, !lines.isEmpty { lines.removeFirst() }
        return Array(lines.suffix(count))
    }

    /// The largest index ≤ `limit` that does not split a UTF-8 sequence.
    static func characterBoundary(in bytes: [UInt8], atOrBefore limit: Int) -> Int {
        var cut = limit
        // Back up over continuation bytes (10xxxxxx), at most three.
        while cut > 0, limit - cut < 3, bytes[cut] & 0xC0 == 0x80 { cut -= 1 }
        return bytes[cut] & 0xC0 == 0x80 ? limit : (cut == 0 ? limit : cut)
    }
}
