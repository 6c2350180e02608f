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
        (listener, port) = try LoopbackSocket.bind(listening: true)
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
