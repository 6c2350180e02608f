import Foundation

/// A TCP server on 127.0.0.1 that accepts every connection, reads what it is sent, and never
/// answers: a webhook or health endpoint that hangs. Connections stay open until `stop()`
/// (or the value is released).
public final class SilentServer: @unchecked Sendable {
    public let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var clients: [Int32] = []
    private var stopped = false
    private let done = DispatchSemaphore(value: 0)

    public var url: String { "http://127.0.0.1:\(port)" }

    public init() throws {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "socket() failed"]) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard bound == 0, named == 0, listen(fd, 64) == 0 else {
            close(fd)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "cannot listen on a loopback port"])
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptForever() }
        thread.start()
    }

    private func acceptForever() {
        defer { done.signal() }
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            let keep = lock.withLock { () -> Bool in
                if stopped { return false }
                clients.append(client)
                return true
            }
            if !keep {
                close(client)
                return
            }
        }
    }

    /// Closes the listening socket and every connection; idempotent.
    public func stop() {
        let open: [Int32]? = lock.withLock {
            if stopped { return nil }
            stopped = true
            defer { clients.removeAll() }
            return clients
        }
        guard let open else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        open.forEach { close($0) }
        done.wait()
    }

    deinit { stop() }
}
