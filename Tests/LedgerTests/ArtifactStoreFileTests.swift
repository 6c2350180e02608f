import EventStore
import Foundation
import Ledger
import ShiplogTestSupport
import Testing

/// The artifact store's files against links and directories planted by someone else.
@Suite struct ArtifactStoreFileTests {
    private func hex(_ bytes: [UInt8]) -> String { bytes.withUnsafeBytes { Hex.encode(HashChain.sha256($0)) } }

    /// The store once wrote through `.tmp-<digest>-<pid>`, a name anyone could guess and plant a
    /// link at: the victim was truncated and overwritten. Temporary names are random now, and
    /// created with O_EXCL | O_NOFOLLOW.
    @Test func aLinkAtTheGuessableTemporaryNameIsNotWrittenThrough() throws {
        let dir = try TemporaryDirectory()
        let store = ArtifactStore(directory: dir.file("artifacts"))
        try FileManager.default.createDirectory(
            atPath: store.directory, withIntermediateDirectories: false,
            attributes: [.posixPermissions: 0o700])
        let bytes = Array("migration 0042 applied\n".utf8)
        let victim = dir.file("victim.txt")
        try "precious\n".write(toFile: victim, atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: store.directory + "/.tmp-\(hex(bytes))-\(getpid())", withDestinationPath: victim)

        let (digest, size) = try store.put(bytes)
        #expect(digest == hex(bytes) && size == Int64(bytes.count))
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n")
        var info = stat()
        #expect(lstat(store.path(for: digest), &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG)
        #expect(FileManager.default.contents(atPath: store.path(for: digest)) == Data(bytes))
        #expect(info.st_mode & 0o777 == 0o600)
    }

    @Test func aStoreDirectoryThatIsALinkIsRefused() throws {
        let dir = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.file("elsewhere"), withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(atPath: dir.file("artifacts"), withDestinationPath: dir.file("elsewhere"))
        let store = ArtifactStore(directory: dir.file("artifacts"))
        #expect {
            try store.put(Array("x".utf8))
        } throws: { error in
            "\(error)".contains("symbolic link")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.file("elsewhere")).isEmpty)
    }

    @Test func aStoreDirectoryOthersCanWriteIsRefused() throws {
        let dir = try TemporaryDirectory()
        let store = ArtifactStore(directory: dir.file("artifacts"))
        try FileManager.default.createDirectory(atPath: store.directory, withIntermediateDirectories: false)
        chmod(store.directory, 0o777)
        #expect {
            try store.put(Array("x".utf8))
        } throws: { error in
            "\(error)".contains("writable by every user")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.directory).isEmpty)
    }

    /// Streaming: what the transform returns is what is stored and hashed, and a failed read
    /// leaves no temporary file.
    @Test func aStreamedFileIsStoredAsTransformed() throws {
        let dir = try TemporaryDirectory()
        let store = ArtifactStore(directory: dir.file("artifacts"))
        let source = dir.file("source.log")
        try String(repeating: "abc\n", count: 1 << 18).write(toFile: source, atomically: true, encoding: .utf8)
        var chunks = 0
        let (digest, size) = try store.put(file: source) { chunk, end in
            if !end { chunks += 1 }
            return chunk.map { $0 == UInt8(ascii: "b") ? UInt8(ascii: "B") : $0 }
        }
        let expected = Array(String(repeating: "aBc\n", count: 1 << 18).utf8)
        #expect(chunks >= 1)
        #expect(digest == hex(expected) && size == Int64(expected.count))
        #expect(FileManager.default.contents(atPath: store.path(for: digest)) == Data(expected))
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.directory) == [digest])
    }
}
