#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Small helpers over the C library, shared by the step process code.
enum Posix {
    /// strerror in lower case: "no space left on device".
    static func message(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        let message = String(cString: text)
        guard let first = message.first else { return "error \(code)" }
        return first.lowercased() + message.dropFirst()
    }

    /// The calling thread's errno.
    static var errno: Int32 {
        #if canImport(Glibc)
        return Glibc.errno
        #else
        return Darwin.errno
        #endif
    }

    /// Writes all of `bytes`, retrying partial writes and EINTR. Returns 0 or an errno.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32 {
        guard var next = bytes.baseAddress else { return 0 }
        var remaining = bytes.count
        while remaining > 0 {
            #if canImport(Glibc)
            let written = Glibc.write(fd, next, remaining)
            #else
            let written = Darwin.write(fd, next, remaining)
            #endif
            if written < 0 {
                let code = errno
                if code == EINTR { continue }
                return code
            }
            if written == 0 { return EIO }
            next += written
            remaining -= written
        }
        return 0
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

    /// Creates `path` and its missing parents with `mode`, like `mkdir -p`. Returns 0 or an errno.
    static func makeDirectories(_ path: String, mode: mode_t) -> Int32 {
        if path.isEmpty || isDirectory(path) { return 0 }
        let parent = parentDirectory(of: path)
        if let parent, parent != path {
            let code = makeDirectories(parent, mode: mode)
            if code != 0 { return code }
        }
        if mkdir(path, mode) != 0 {
            let code = errno
            if code == EEXIST && isDirectory(path) { return 0 }
            return code
        }
        return 0
    }

    /// The directory part of `path`: "a/b/c" → "a/b", "/a" → "/", "c" → nil.
    static func parentDirectory(of path: String) -> String? {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return nil }
        let parent = trimmed[..<slash]
        return parent.isEmpty ? "/" : String(parent)
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }
}
