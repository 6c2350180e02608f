#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import ShiplogFiles

/// Small helpers over the C library, shared by the step process code (files: `FileSystem`).
enum Posix {
    /// strerror in lower case: "no space left on device".
    static func message(_ code: Int32) -> String { FileSystem.message(code) }

    /// The calling thread's errno.
    static var errno: Int32 {
        #if canImport(Glibc)
            return Glibc.errno
        #else
            return Darwin.errno
        #endif
    }

    /// Closes `fd`, ignoring errors (EINTR included: on Linux the fd is released anyway).
    static func close(_ fd: Int32) {
        guard fd >= 0 else { return }
        #if canImport(Glibc)
            _ = Glibc.close(fd)
        #else
            _ = Darwin.close(fd)
        #endif
    }
}
