import Foundation

/// A TCP socket bound to a free port on 127.0.0.1 (close-on-exec, so servers started meanwhile
/// by parallel tests do not inherit it): what the loopback test servers listen on, and what a
/// test holds to keep a port that refuses connections.
public enum LoopbackSocket {
    /// The bound socket and its port; `listening` also starts listening on it.
    public static func bind(listening: Bool) throws -> (fd: Int32, port: Int) {
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
            if fd >= 0 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        #endif
        guard fd >= 0 else { throw Failure(description: "socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Foundation.bind(fd, $0, length) }
        }
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard bound == 0, named == 0, !listening || listen(fd, 64) == 0 else {
            close(fd)
            throw Failure(description: "cannot \(listening ? "listen on" : "reserve") a loopback port")
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }
}
