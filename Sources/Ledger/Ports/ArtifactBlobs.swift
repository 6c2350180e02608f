import EventStore
import Foundation
import ShiplogFiles

/// The port for artifact bytes: logs and records kept by the SHA-256 of their content, written
/// completely before the `ArtifactStored` event that names them.
///
/// A SQLite ledger keeps them as files beside it (`ArtifactStore`); a PostgreSQL ledger keeps them
/// in the database, so every runner that shares the ledger can read every deployment's logs.
public protocol ArtifactBlobs: Sendable {
    /// Begins a blob: bytes are written in order and hashed as they go; `commit` makes it whole.
    func makeWriter() throws -> any ArtifactBlobWriter
    /// Deletes the blob `sha256` (a recorded digest); false when it was not there.
    func remove(sha256: String) throws -> Bool
    /// Hands the blob's bytes to `body` in order, a chunk at a time; false when there is no such blob.
    func read(sha256: String, _ body: ([UInt8]) throws -> Void) throws -> Bool
    /// Where the blobs live, for messages.
    var location: String { get }
}

/// One blob being written. Dropped without `commit`, it leaves nothing behind.
public protocol ArtifactBlobWriter: AnyObject {
    func write(_ bytes: [UInt8]) throws
    /// Makes the blob whole under its digest; returns digest and size.
    func commit() throws -> (sha256: String, size: Int64)
}

extension ArtifactBlobs {
    /// Stores `bytes`; returns digest and size.
    public func put(_ bytes: [UInt8]) throws -> (sha256: String, size: Int64) {
        let writer = try makeWriter()
        try writer.write(bytes)
        return try writer.commit()
    }

    /// Streams the file at `path` in (see `put(readingFrom:path:transform:)`).
    public func put(
        file path: String, followSymlinks: Bool = true,
        transform: ((_ chunk: [UInt8], _ end: Bool) -> [UInt8])? = nil
    ) throws -> (sha256: String, size: Int64) {
        let fd: Int32
        do {
            fd = try FileSystem.openForReading(path, followSymlinks: followSymlinks, regularOnly: !followSymlinks)
        } catch {
            throw LedgerError.storage("cannot keep \(path): \(error)")
        }
        defer { close(fd) }
        return try put(readingFrom: fd, path: path, transform: transform)
    }

    /// Streams what `fd` reads, one chunk at a time, into the store: memory stays at a few
    /// chunks however large the file. `transform` (a redactor, say) sees every chunk in order,
    /// then an empty chunk with `end` true, and what it returns is what is stored and hashed.
    public func put(
        readingFrom fd: Int32, path: String, chunkSize: Int = 1 << 18,
        transform: ((_ chunk: [UInt8], _ end: Bool) -> [UInt8])? = nil
    ) throws -> (sha256: String, size: Int64) {
        let writer = try makeWriter()
        while true {
            let chunk: [UInt8]
            do {
                chunk = try FileSystem.read(fd, upTo: chunkSize, path: path)
            } catch {
                throw LedgerError.invalid("\(error)")
            }
            let end = chunk.isEmpty
            try writer.write(transform.map { $0(chunk, end) } ?? chunk)
            if end { break }
        }
        return try writer.commit()
    }
}
