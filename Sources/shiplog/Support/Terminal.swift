import Foundation

/// Where the CLI writes: results to stdout, diagnostics and progress to stderr.
enum Terminal {
    static func out(_ line: String) { write(1, Array((line + "\n").utf8)) }

    static func error(_ line: String) { write(2, Array(("shiplog: " + line + "\n").utf8)) }

    static func note(_ line: String) { write(2, Array((line + "\n").utf8)) }

    /// Writes every byte; a reader that went away (`| head`) ends the process quietly.
    static func write(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EPIPE { exit(0) }
                return
            }
            offset += n
        }
    }
}

/// Buffered output for long listings and exports: one write per 64 KiB, not per line.
final class OutputBuffer {
    private var buffer: [UInt8] = []
    private let fd: Int32

    init(fd: Int32 = 1) {
        self.fd = fd
        buffer.reserveCapacity(1 << 16)
    }

    func line(_ text: String) {
        buffer.append(contentsOf: text.utf8)
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
