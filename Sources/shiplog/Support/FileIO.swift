import Foundation

/// Where an export goes: stdout, or a file that appears complete or not at all.
protocol LineSink: AnyObject {
    /// Adds `text` and a newline.
    func line(_ text: String) throws
    /// Adds `text` as is.
    func text(_ text: String) throws
}

/// Standard output, buffered: one write per 64 KiB. A reader that went away (`| head`)
/// ends the process quietly.
final class StandardOutput: LineSink {
    private var buffer: [UInt8] = []

    init() { buffer.reserveCapacity(1 << 16) }

    func line(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        buffer.append(10)
        if buffer.count >= 1 << 16 { flush() }
    }

    func text(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 16 { flush() }
    }

    func flush() {
        if buffer.isEmpty { return }
        Terminal.write(1, buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    deinit { flush() }
}

/// A file written beside its final path and renamed over it once complete and synced, so a
/// reader never sees half an export and a failed export leaves the old file untouched.
final class AtomicFile: LineSink {
    let path: String
    private let temp: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private var committed = false

    init(path: String) throws {
        self.path = path
        let url = URL(fileURLWithPath: path)
        temp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())").path
        fd = open(temp, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Self.failure("create", path, errno) }
        buffer.reserveCapacity(1 << 16)
    }

    func line(_ text: String) throws {
        buffer.append(contentsOf: text.utf8)
        buffer.append(10)
        if buffer.count >= 1 << 16 { try flush() }
    }

    func text(_ text: String) throws {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 16 { try flush() }
    }

    private func flush() throws {
        var offset = 0
        while offset < buffer.count {
            let n = buffer[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Self.failure("write", path, errno)
            }
            offset += n
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes, syncs and renames the file into place.
    func commit() throws {
        try flush()
        guard fsync(fd) == 0 else { throw Self.failure("sync", path, errno) }
        close(fd)
        fd = -1
        guard rename(temp, path) == 0 else { throw Self.failure("rename into", path, errno) }
        committed = true
        let directory = open(URL(fileURLWithPath: path).deletingLastPathComponent().path, O_RDONLY | O_CLOEXEC)
        if directory >= 0 {
            _ = fsync(directory)
            close(directory)
        }
    }

    deinit {
        if fd >= 0 { close(fd) }
        if !committed { unlink(temp) }
    }

    static func failure(_ action: String, _ path: String, _ err: Int32) -> Failure {
        let reason = String(cString: strerror(err)).lowercased()
        let hint = err == ENOSPC || err == EDQUOT || err == EFBIG ? "; free disk space and retry" : ""
        return Failure("cannot \(action) \(path): \(reason)\(hint); no partial file was left", code: Exit.cannotWrite)
    }
}

/// Reads a file one line at a time with bounded memory; lines come without their newline
/// (and without a trailing carriage return).
final class LineReader {
    private let fd: Int32
    private let path: String
    private var buffer: [UInt8] = []
    private var start = 0
    /// Where the newline search resumes: bytes before it are known to hold none, so a long
    /// line is scanned once, not once per read.
    private var scanned = 0
    private var atEnd = false

    init(path: String) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno)).lowercased()
            throw Failure("cannot read \(path): \(reason)", code: Exit.dataError)
        }
    }

    deinit { close(fd) }

    func next() throws -> ArraySlice<UInt8>? {
        while true {
            if let newline = buffer[max(start, scanned)...].firstIndex(of: 10) {
                var line = buffer[start..<newline]
                start = newline + 1
                scanned = start
                if line.last == 13 { line = line.dropLast() }
                return line
            }
            if atEnd {
                guard start < buffer.count else { return nil }
                var line = buffer[start...]
                start = buffer.count
                if line.last == 13 { line = line.dropLast() }
                return line
            }
            scanned = buffer.count
            if start > 0 {
                buffer.removeSubrange(0..<start)
                scanned -= start
                start = 0
            }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure("cannot read \(path): \(String(cString: strerror(errno)).lowercased())", code: Exit.ioError)
            }
            if n == 0 { atEnd = true } else { buffer.append(contentsOf: chunk[0..<n]) }
        }
    }
}
