import Foundation
import ShiplogFiles

/// Where an export goes: stdout, or a file that appears complete or not at all.
protocol LineSink: AnyObject {
    /// Adds `text` and a newline.
    func line(_ text: String) throws
    /// Adds `text` as is.
    func text(_ text: String) throws
}

/// Standard output, buffered: one write per 64 KiB. What happens when it cannot be written
/// (a reader that went away, a full disk) is `Terminal`'s to decide.
final class StandardOutput: LineSink {
    private var buffer: [UInt8] = []
    private let data: Bool

    /// - Parameter data: the lines are data (an export), written byte for byte; otherwise they
    ///   are a listing, and inside GitHub Actions none can pass for a workflow command
    ///   (`GitHubActions.inert`).
    init(data: Bool = false) {
        self.data = data
        buffer.reserveCapacity(1 << 16)
    }

    func line(_ text: String) {
        buffer.append(contentsOf: (data ? text : GitHubActions.inert(text)).utf8)
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

/// A file written beside its final path under an unpredictable name and renamed over it once
/// complete and synced (`AtomicWriter`), so a reader never sees half an export, a failed export
/// leaves the old file untouched, and nothing is ever written through a symbolic link.
final class AtomicFile: LineSink {
    let path: String
    private let writer: AtomicWriter
    private var buffer: [UInt8] = []

    /// Refuses, before creating anything, a path that is the ledger at `ledgerPath` or one of
    /// SQLite's files beside it (by name, symbolic link or hard link), or that is not a regular
    /// file (a device, a FIFO, a directory).
    /// - Parameter verb: what the command does with the file, for the refusal (`export`, `write the report`).
    init(path: String, protecting ledgerPath: String, verb: String = "export") throws {
        self.path = path
        try Self.refuseLedger(output: path, ledger: ledgerPath, verb: verb)
        let kind = FileSystem.kind(of: path)
        if kind != .missing && kind != .regular {
            throw Failure(
                "refusing to write \(path): it is \(kind.phrase), and --output replaces a regular file; "
                    + (verb == "export" ? "omit --output to write to standard output" : "choose another --output"),
                code: Exit.usage)
        }
        do {
            writer = try AtomicWriter(path: path)
        } catch {
            throw Self.failure(error)
        }
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
        do {
            try writer.write(buffer)
        } catch {
            throw Self.failure(error)
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes, syncs and renames the file into place.
    func commit() throws {
        try flush()
        do {
            try writer.commit()
        } catch {
            throw Self.failure(error)
        }
    }

    static func failure(_ error: FileError) -> Failure {
        Failure("\(error); no partial file was left", code: Exit.cannotWrite)
    }

    /// An export written over the ledger would replace it (rename) and lose every event; over
    /// its -wal or -shm, damage it. Files are compared by device and inode, so another name,
    /// a symbolic link or a hard link to them is caught; companions that do not exist yet are
    /// compared by directory and name.
    static func refuseLedger(output: String, ledger: String, verb: String = "export") throws {
        var ledgerPaths = [ledger]
        if let resolved = realpath(ledger, nil) {
            ledgerPaths.append(String(cString: resolved))
            free(resolved)
        }
        let suffixes = ["", "-wal", "-shm", "-journal"]
        var identities = Set<FileSystem.Identity>()
        for base in ledgerPaths {
            for suffix in suffixes {
                if let identity = FileSystem.identity(of: base + suffix) { identities.insert(identity) }
                if let identity = FileSystem.identity(of: base + suffix, followSymlinks: false) { identities.insert(identity) }
            }
        }
        var same = [true, false].contains { follow in
            FileSystem.identity(of: output, followSymlinks: follow).map(identities.contains) ?? false
        }
        if !same, let outputDirectory = FileSystem.identity(of: FileSystem.directory(of: output)) {
            let name = FileSystem.name(of: output)
            same = ledgerPaths.contains { base in
                FileSystem.identity(of: FileSystem.directory(of: base)) == outputDirectory
                    && suffixes.contains { FileSystem.name(of: base) + $0 == name }
            }
        }
        if same {
            throw Failure(
                "refusing to \(verb) to \(output): it is the ledger \(ledger) or one of its files, and the file written would replace it; choose another --output",
                code: Exit.usage)
        }
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
    /// Bytes read from the file so far.
    private(set) var bytesRead: Int64 = 0

    /// The file's size when it is a regular file (a pipe has none).
    var size: Int64? {
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(info.st_size)
    }

    init(path: String) throws {
        self.path = path
        do {
            fd = try FileSystem.openForReading(path, followSymlinks: true, regularOnly: false)
        } catch {
            throw Failure("\(error)", code: Exit.dataError)
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
            let chunk: [UInt8]
            do { chunk = try FileSystem.read(fd, upTo: 1 << 16, path: path) } catch { throw Failure("\(error)", code: Exit.ioError) }
            bytesRead += Int64(chunk.count)
            if chunk.isEmpty { atEnd = true } else { buffer.append(contentsOf: chunk) }
        }
    }
}
