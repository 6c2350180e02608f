import Foundation
import SeededRandom
import Testing

@testable import SQLiteStore

/// A scan shares the strings of text that repeats; whatever it keeps, every text must read back
/// as exactly its own bytes.
@Suite("Text shared across a scan's rows")
struct TextInternerTests {
    /// Texts of 0 to 80 bytes, many alike: the same length, first and last eight bytes (which is
    /// all the names' table hashes), differing only in the middle; text outside ASCII; repeats.
    static func texts() -> [String] {
        var random = SeededRNG(seed: 7)
        var texts: [String] = []
        for length in 0...80 {
            let base = (0..<length).map { k in Character(UnicodeScalar(UInt8(97 + k % 26))) }
            texts.append(String(base))
            if length > 16 {
                for _ in 0..<3 {
                    var changed = base
                    changed[Int.random(in: 8..<(length - 8), using: &random)] = "Z"
                    texts.append(String(changed))
                }
            }
            if length > 2 { texts.append(String(base.dropLast(2)) + "é") }
        }
        return texts
    }

    @Test func everyTextReadsAsItsOwnBytesHoweverTheyRepeat() {
        let texts = Self.texts()
        let interner = TextInterner()
        var random = SeededRNG(seed: 11)
        for _ in 0..<20_000 {
            let text = texts[Int.random(in: 0..<texts.count, using: &random)]
            var bytes = text
            bytes.withUTF8 { utf8 in
                let raw = UnsafeRawBufferPointer(utf8)
                #expect(interner.text(raw) == text)
                #expect(interner.stream(raw) == text)
                #expect(interner.metadata(raw) == text)
                #expect(interner.keyed(raw).text == text)
            }
        }
    }

    @Test func alternatingTextsAreKeptAndSharedNotMadeAgain() {
        let interner = TextInterner()
        let names = ["DeploymentRequested", "EnvironmentLocked", "HealthCheckAttempted"]
        var first: [String] = []
        for name in names {
            var name = name
            first.append(name.withUTF8 { interner.text(UnsafeRawBufferPointer($0)) })
        }
        for round in 0..<3 {
            for (k, name) in names.enumerated() {
                var name = name
                let again = name.withUTF8 { interner.text(UnsafeRawBufferPointer($0)) }
                // The same storage: kept, not made again.
                #expect(again.utf8.withContiguousStorageIfAvailable { $0.baseAddress } == first[k].utf8.withContiguousStorageIfAvailable { $0.baseAddress }, "round \(round)")
            }
        }
    }
}
