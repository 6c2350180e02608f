#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The one way Shiplog creates, opens and replaces its files: ledgers, logs, artifacts, locks
/// and exports.
///
/// - New files are created with `O_CREAT | O_EXCL | O_NOFOLLOW`: never through a symbolic link
///   or over a file someone placed there first. Temporary names end in 16 random hex digits.
/// - Files reopened for appending or locking must be regular files of this user with a single
///   link: a symlink, a FIFO, a device or a hard link to another file is refused.
/// - Directories Shiplog keeps files in are created 0700 and must be real directories of this
///   user that no one else can write to (a sticky, /tmp-like directory of this user is fine).
/// - Permissions are given at creation (0600 files, 0700 directories), so a permissive umask
///   (000) changes nothing.
/// - Every write is retried after EINTR and after partial writes.
public enum FileSystem {
    /// `strerror` in lower case: "no space left on device".
    public static func message(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        let message = String(cString: text)
        guard let first = message.first else { return "error \(code)" }
        return first.lowercased() + message.dropFirst()
    }

    /// The calling thread's errno.
    public static var errno: Int32 {
        #if canImport(Glibc)
            return Glibc.errno
        #else
            return Darwin.errno
        #endif
    }

    // MARK: What a path is

    /// What kind of file a path names.
    public enum Kind: Sendable, Equatable {
        case missing, regular, directory, symbolicLink, fifo, characterDevice, blockDevice, socket, other

        /// "a FIFO", "a directory"…, for messages.
        public var phrase: String {
            switch self {
            case .missing: "missing"
            case .regular: "a regular file"
            case .directory: "a directory"
            case .symbolicLink: "a symbolic link"
            case .fifo: "a FIFO (named pipe)"
            case .characterDevice: "a character device"
            case .blockDevice: "a block device"
            case .socket: "a socket"
            case .other: "not a regular file"
            }
        }

        public init(mode: mode_t) {
            switch mode & S_IFMT {
            case S_IFREG: self = .regular
            case S_IFDIR: self = .directory
            case S_IFLNK: self = .symbolicLink
            case S_IFIFO: self = .fifo
            case S_IFCHR: self = .characterDevice
            case S_IFBLK: self = .blockDevice
            case S_IFSOCK: self = .socket
            default: self = .other
            }
        }
    }

    /// What `path` is; with `followSymlinks`, what a symlink at `path` points to.
    public static func kind(of path: String, followSymlinks: Bool = true) -> Kind {
        var info = stat()
        let rc = followSymlinks ? stat(path, &info) : lstat(path, &info)
        return rc == 0 ? Kind(mode: info.st_mode) : .missing
    }

    /// A file's device and inode: two paths with the same identity are the same file.
    public struct Identity: Sendable, Hashable {
        public let device: UInt64
        public let inode: UInt64
    }

    /// The identity of `path` (of what a symlink points to, with `followSymlinks`), or nil.
    public static func identity(of path: String, followSymlinks: Bool = true) -> Identity? {
        var info = stat()
        let rc = followSymlinks ? stat(path, &info) : lstat(path, &info)
        guard rc == 0 else { return nil }
        return Identity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// The directory part of `path`: "a/b/c" → "a/b", "/a" → "/", "c" → ".".
    public static func directory(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        let parent = trimmed[..<slash]
        return parent.isEmpty ? "/" : String(parent)
    }

    /// The last component of `path`.
    public static func name(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return String(trimmed) }
        return String(trimmed[trimmed.index(after: slash)...])
    }

    // MARK: Directories

    /// Creates `path` and any missing parents with mode 0700, then checks that `path` is a
    /// directory Shiplog may keep files in: not a symbolic link, owned by this user, and not
    /// writable by others unless it has the sticky bit (as /tmp has).
    ///
    /// - Throws: `FileError`, a refusal naming what is wrong and how to fix it.
    ///
    /// - Parameter purpose: what the directory is for, as the refusal says it: "keep logs in".
    public static func makePrivateDirectory(_ path: String, purpose: String = "keep files in") throws(FileError) {
        try createMissingDirectories(path)
        try checkPrivateDirectory(path, purpose: purpose)
    }

    /// Checks an existing directory as `makePrivateDirectory` does, without creating anything.
    public static func checkPrivateDirectory(_ path: String, purpose: String = "keep files in") throws(FileError) {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw FileError("open directory", path, code: errno) }
        let kind = Kind(mode: info.st_mode)
        if kind == .symbolicLink {
            throw FileError(refusing: purpose, path, because: "it is a symbolic link; Shiplog keeps files only in real directories (point the setting at the directory the link names)")
        }
        guard kind == .directory else {
            throw FileError(refusing: purpose, path, because: "it is \(kind.phrase), not a directory")
        }
        if info.st_uid != geteuid() {
            throw FileError(refusing: purpose, path, because: "it belongs to another user (uid \(info.st_uid)); Shiplog keeps files only in directories of its own user (uid \(geteuid()))")
        }
        let mode = info.st_mode & 0o7777
        if mode & 0o022 != 0 && mode & S_ISVTX == 0 {
            let who = mode & 0o002 != 0 ? "every user" : "its group"
            throw FileError(
                refusing: purpose, path,
                because: "it is writable by \(who) (mode \(String(mode, radix: 8))), so another user could plant links in it; run `chmod go-w \(path)` or choose a private directory")
        }
    }

    /// Creates `path` and any missing parents with mode 0700, like `mkdir -p`; directories
    /// that already exist are left as they are.
    public static func createMissingDirectories(_ path: String) throws(FileError) {
        if path.isEmpty || kind(of: path) == .directory { return }
        let parent = directory(of: path)
        if parent != path, parent != "." { try createMissingDirectories(parent) }
        if mkdir(path, 0o700) != 0 {
            let code = errno
            if code == EEXIST && kind(of: path) == .directory { return }
            throw FileError("create directory", path, code: code)
        }
    }

    // MARK: Opening

    /// Creates a new file at `path` for writing, with `mode`; fails if anything is already
    /// there, a symbolic link included.
    public static func createNew(_ path: String, mode: mode_t = 0o600) throws(FileError) -> Int32 {
        let fd = openRetrying(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode)
        guard fd >= 0 else { throw FileError("create", path, code: errno) }
        return fd
    }

    /// Creates a new file in `directory` named `prefix` + 16 random hex digits + `suffix`.
    public static func createTemporary(
        in directory: String, prefix: String, suffix: String = "",
        mode: mode_t = 0o600
    ) throws(FileError) -> (fd: Int32, path: String) {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<100 {
            let random = String(generator.next() as UInt64, radix: 16)
            let padded = String(repeating: "0", count: 16 - random.count) + random
            let path = (directory == "/" ? "" : directory) + "/" + prefix + padded + suffix
            let fd = openRetrying(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode)
            if fd >= 0 { return (fd, path) }
            let code = errno
            if code != EEXIST { throw FileError("create", path, code: code) }
        }
        throw FileError("create", directory + "/" + prefix + "…" + suffix, code: EEXIST)
    }

    /// Opens a file of this user for appending (`O_WRONLY | O_APPEND`) or for locking
    /// (`O_RDWR`), creating it with `mode` when it is missing.
    ///
    /// Refused: a symbolic link, anything but a regular file (a FIFO is never waited on), a
    /// file of another user, and a file with more than one link. With `allowCharacterDevices`,
    /// a device such as /dev/null named directly is opened as is (creating one takes root).
    public static func openPrivate(
        _ path: String, access: Int32, mode: mode_t = 0o600,
        allowCharacterDevices: Bool = false
    ) throws(FileError) -> Int32 {
        let fd = openRetrying(path, access | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, mode)
        guard fd >= 0 else { throw openFailure(path, code: errno, writing: true) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            close(fd)
            throw FileError("open", path, code: code)
        }
        let kind = Kind(mode: info.st_mode)
        var problem: String?
        if kind == .characterDevice && allowCharacterDevices {
            problem = nil
        } else if kind != .regular {
            problem = "it is \(kind.phrase), not a regular file"
        } else if info.st_uid != geteuid() {
            problem = "it belongs to another user (uid \(info.st_uid)); remove it"
        } else if info.st_nlink != 1 {
            problem = "it has \(info.st_nlink) hard links, so writing it could change another file; remove it"
        }
        if let problem {
            close(fd)
            throw FileError(refusing: "open", path, because: problem)
        }
        try clearNonBlocking(fd, path)
        return fd
    }

    /// Opens a file for reading. Without `followSymlinks` a symbolic link is refused; with
    /// `regularOnly` anything but a regular file is refused at once (a FIFO is not waited on).
    /// A directory is always refused.
    public static func openForReading(_ path: String, followSymlinks: Bool, regularOnly: Bool) throws(FileError) -> Int32 {
        var flags = O_RDONLY | O_CLOEXEC | O_NOCTTY
        if !followSymlinks { flags |= O_NOFOLLOW }
        if regularOnly { flags |= O_NONBLOCK }
        let fd = openRetrying(path, flags, 0)
        guard fd >= 0 else { throw openFailure(path, code: errno, writing: false) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            close(fd)
            throw FileError("read", path, code: code)
        }
        let kind = Kind(mode: info.st_mode)
        if kind == .directory || (regularOnly && kind != .regular) {
            close(fd)
            throw FileError(refusing: "read", path, because: "it is \(kind.phrase), not a regular file")
        }
        if regularOnly { try clearNonBlocking(fd, path) }
        return fd
    }

    private static func openFailure(_ path: String, code: Int32, writing: Bool) -> FileError {
        // O_NOFOLLOW on a final symlink: ELOOP (Linux), EMLINK (BSD).
        if code == ELOOP || code == EMLINK {
            return FileError(
                refusing: writing ? "write" : "read", path,
                because: "it is a symbolic link, and Shiplog does not follow links here; remove it")
        }
        // O_NONBLOCK | O_WRONLY on a FIFO without a reader.
        if code == ENXIO && kind(of: path, followSymlinks: false) == .fifo {
            return FileError(refusing: "write", path, because: "it is a FIFO (named pipe), not a regular file; remove it")
        }
        return FileError(writing ? "open" : "read", path, code: code)
    }

    private static func clearNonBlocking(_ fd: Int32, _ path: String) throws(FileError) {
        let flags = fcntl(fd, F_GETFL)
        if flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0 {
            let code = errno
            close(fd)
            throw FileError("open", path, code: code)
        }
    }

    private static func systemWrite(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
        #if canImport(Glibc)
            Glibc.write(fd, bytes, count)
        #else
            Darwin.write(fd, bytes, count)
        #endif
    }

    private static func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
        #if canImport(Glibc)
            Glibc.read(fd, buffer, count)
        #else
            Darwin.read(fd, buffer, count)
        #endif
    }

    private static func openRetrying(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 {
        while true {
            let fd = open(path, flags, mode)
            if fd >= 0 || errno != EINTR { return fd }
        }
    }

    // MARK: Writing

    /// Writes every byte, retrying partial writes and EINTR. Returns 0 or an errno.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32 {
        guard var next = bytes.baseAddress else { return 0 }
        var remaining = bytes.count
        while remaining > 0 {
            let written = systemWrite(fd, next, remaining)
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

    /// Writes every byte of `bytes` to `fd`; failures name `path`.
    public static func write(_ fd: Int32, _ bytes: [UInt8], path: String) throws(FileError) {
        let code = bytes.withUnsafeBytes { writeAll(fd, $0) }
        if code != 0 { throw FileError("write", path, code: code) }
    }

    /// Reads up to `count` bytes, retrying EINTR; an empty result is the end of the file.
    public static func read(_ fd: Int32, upTo count: Int, path: String) throws(FileError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        while true {
            let n = buffer.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) }
            if n >= 0 {
                buffer.removeLast(count - n)
                return buffer
            }
            if errno != EINTR { throw FileError("read", path, code: errno) }
        }
    }

    /// Flushes `fd` to the disk.
    public static func sync(_ fd: Int32, path: String) throws(FileError) {
        while fsync(fd) != 0 {
            if errno != EINTR { throw FileError("sync", path, code: errno) }
        }
    }

    /// Flushes the directory that holds `path`, so a rename or a new name in it is durable.
    /// File systems that cannot sync a directory are not an error.
    public static func syncDirectory(containing path: String) {
        let fd = openRetrying(directory(of: path), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    /// Replaces `path` with exactly `bytes`, atomically (see `AtomicWriter`).
    public static func atomicReplace(_ path: String, with bytes: [UInt8], mode: mode_t = 0o600) throws(FileError) {
        let writer = try AtomicWriter(path: path, mode: mode)
        try writer.write(bytes)
        try writer.commit()
    }
}

/// A new version of a file, written under an unpredictable temporary name beside it and renamed
/// over it once complete and synced: a reader sees the old file or the new one, never half of
/// it, and a failure (or a crash) leaves the old file untouched. The rename replaces whatever
/// is at the path (a symbolic link itself, never what it points to).
public final class AtomicWriter {
    public let path: String
    public let temporaryPath: String
    private var fd: Int32
    private var committed = false

    public init(path: String, mode: mode_t = 0o600) throws(FileError) {
        self.path = path
        do {
            (fd, temporaryPath) = try FileSystem.createTemporary(
                in: FileSystem.directory(of: path),
                prefix: "." + FileSystem.name(of: path) + ".", suffix: ".tmp", mode: mode)
        } catch {
            // Name the file asked for, not its temporary name.
            throw FileError("create", path, code: error.code)
        }
    }

    public func write(_ bytes: [UInt8]) throws(FileError) {
        try FileSystem.write(fd, bytes, path: path)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws(FileError) {
        let code = FileSystem.writeAll(fd, bytes)
        if code != 0 { throw FileError("write", path, code: code) }
    }

    /// Syncs the file, renames it into place and syncs the directory.
    public func commit() throws(FileError) {
        try commit(as: path)
    }

    /// Syncs the file and renames it to `finalPath`, in the same directory: for a file whose
    /// name is known only once it is complete (a digest, say).
    public func commit(as finalPath: String) throws(FileError) {
        try FileSystem.sync(fd, path: path)
        close(fd)
        fd = -1
        if rename(temporaryPath, finalPath) != 0 { throw FileError("rename into", finalPath, code: FileSystem.errno) }
        committed = true
        FileSystem.syncDirectory(containing: finalPath)
    }

    /// Abandons the new version: the temporary file is removed and `path` is left as it was.
    public func discard() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        if !committed {
            unlink(temporaryPath)
            committed = true
        }
    }

    deinit { discard() }
}
