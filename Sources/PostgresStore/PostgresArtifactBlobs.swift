import EventStore
import Foundation
import Ledger
import PostgresClient

/// Artifact bytes in the PostgreSQL ledger (migrations/postgres/0003_artifact_blobs.pg.sql): any
/// runner sharing the ledger reads any deployment's logs.
///
/// A blob is uploaded in chunks of at most 1 MiB under a private upload key, each chunk its own
/// statement, so memory stays flat whatever the size; `commit` renames the chunks to the digest
/// and records the blob in one transaction. An upload that dies half-way leaves only chunks
/// under a key nothing names.
public final class PostgresArtifactBlobs: ArtifactBlobs, @unchecked Sendable {
    let connection: PGConnection
    static let chunkSize = 1 << 20

    public init(store: PostgresEventStore) {
        connection = store.connection
    }

    public var location: String { connection.server + " (artifact_blobs)" }

    public func makeWriter() throws -> any ArtifactBlobWriter { Writer(blobs: self) }

    public func remove(sha256: String) throws -> Bool {
        try Ledger.require(sha256, as: .digest)
        return try pg {
            try connection.inTransaction {
                try connection.query("DELETE FROM artifact_chunks WHERE sha256 = $1", [sha256])
                return try connection.query("DELETE FROM artifact_blobs WHERE sha256 = $1", [sha256]).rowsAffected > 0
            }
        }
    }

    public func read(sha256: String, _ body: ([UInt8]) throws -> Void) throws -> Bool {
        try Ledger.require(sha256, as: .digest)
        let chunks: Int64? = try pg {
            let r = try connection.query("SELECT chunks FROM artifact_blobs WHERE sha256 = $1", [sha256])
            return r.rowCount == 1 ? try r.int64(0, 0) : nil
        }
        guard let chunks else { return false }
        for n in 0..<chunks {
            let hex: String? = try pg {
                let r = try connection.query(
                    "SELECT encode(bytes, 'hex') FROM artifact_chunks WHERE sha256 = $1 AND chunk = $2",
                    [sha256, String(n)])
                return r.rowCount == 1 ? r.string(0, 0) : nil
            }
            guard let hex, let bytes = Hex.decode(hex) else {
                throw LedgerError.storage("artifact \(sha256) is incomplete in \(location): chunk \(n) of \(chunks) is missing")
            }
            try body(bytes)
        }
        return true
    }

    final class Writer: ArtifactBlobWriter {
        let blobs: PostgresArtifactBlobs
        let upload = "upload-" + UUIDv7.make()
        let hash = SHA256Stream()
        var buffer: [UInt8] = []
        var chunks = 0
        var size: Int64 = 0
        var committed = false

        init(blobs: PostgresArtifactBlobs) {
            self.blobs = blobs
        }

        func write(_ bytes: [UInt8]) throws {
            guard !bytes.isEmpty else { return }
            bytes.withUnsafeBytes { hash.update($0) }
            size += Int64(bytes.count)
            buffer += bytes
            while buffer.count >= PostgresArtifactBlobs.chunkSize {
                try flush(Array(buffer.prefix(PostgresArtifactBlobs.chunkSize)))
                buffer.removeFirst(PostgresArtifactBlobs.chunkSize)
            }
        }

        private func flush(_ chunk: [UInt8]) throws {
            try pg {
                try blobs.connection.query(
                    "INSERT INTO artifact_chunks (sha256, chunk, bytes) VALUES ($1, $2, decode($3, 'hex'))",
                    [upload, String(chunks), Hex.encode(chunk)])
            }
            chunks += 1
        }

        func commit() throws -> (sha256: String, size: Int64) {
            if !buffer.isEmpty || chunks == 0 {
                try flush(buffer)
                buffer = []
            }
            let digest = hash.finalizeHex()
            try pg {
                try blobs.connection.inTransaction {
                    // Two runners keeping the same bytes at once: the second waits for the first, then finds the blob.
                    try blobs.connection.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [digest])
                    let exists = try blobs.connection.query("SELECT 1 FROM artifact_blobs WHERE sha256 = $1", [digest]).rowCount == 1
                    if exists {
                        try blobs.connection.query("DELETE FROM artifact_chunks WHERE sha256 = $1", [upload])
                    } else {
                        try blobs.connection.query("UPDATE artifact_chunks SET sha256 = $1 WHERE sha256 = $2", [digest, upload])
                        try blobs.connection.query(
                            "INSERT INTO artifact_blobs (sha256, size, chunks) VALUES ($1, $2, $3)",
                            [digest, String(size), String(chunks)])
                    }
                }
            }
            committed = true
            return (digest, size)
        }

        deinit {
            if !committed { _ = try? blobs.connection.query("DELETE FROM artifact_chunks WHERE sha256 = $1", [upload]) }
        }
    }
}
