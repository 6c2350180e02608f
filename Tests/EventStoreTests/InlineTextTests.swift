import EventStore
import Foundation
import SQLiteStore
import SeededRandom
import Testing

@Suite("Inline text: a row's id, time and hash held without a string")
struct InlineTextTests {
    /// Text of the shapes a row holds, near misses of them, and anything else.
    static func randomText(_ rng: inout SeededRNG) -> (text: String, inline: Bool) {
        let hex = Array("0123456789abcdef")
        func digits(_ n: Int) -> String { String((0..<n).map { _ in hex[Int.random(in: 0..<16, using: &rng)] }) }
        func ascii(_ n: Int) -> String { String((0..<n).map { _ in Character(UnicodeScalar(UInt8.random(in: 0...127, using: &rng))) }) }
        switch Int.random(in: 0..<8, using: &rng) {
        case 0: return ("\(digits(8))-\(digits(4))-\(digits(4))-\(digits(4))-\(digits(12))", true)
        case 1: return (digits(64), true)
        case 2: return ("2026-11-26T15:35:00.\(Int.random(in: 100...999, using: &rng))Z", true)
        case 3: return (ascii(Int.random(in: 0...64, using: &rng)), true)
        case 4: return (ascii(Int.random(in: 65...100, using: &rng)), false)
        case 5:
            // One byte outside ASCII, anywhere.
            var chars = Array(ascii(Int.random(in: 0...63, using: &rng)))
            chars.insert(["é", "\u{80}", "\u{FF}", "€"][Int.random(in: 0..<4, using: &rng)], at: Int.random(in: 0...chars.count, using: &rng))
            return (String(chars), false)
        case 6: return (String(digits(64).uppercased()), true)
        default: return ("", true)
        }
    }

    @Test func readsBackWhatItWasMadeOfAndEqualsTheStringForm() throws {
        var rng = SeededRNG(seed: 0x1A11_7E47)
        var previous = InlineText("")
        for _ in 0..<5_000 {
            let (text, inline) = Self.randomText(&rng)
            var utf8 = text
            let packed = utf8.withUTF8 { InlineText(utf8: UnsafeRawBufferPointer($0)) }
            let plain = InlineText(text)
            #expect(packed.string == text)
            #expect(packed.isInline == inline, "\(text)")
            #expect(packed == plain && plain == packed)
            #expect(packed.hashValue == plain.hashValue)
            #expect(packed.withUTF8 { Array($0) } == Array(text.utf8))
            // Different texts differ, whatever their representations.
            #expect((packed == previous) == (text == previous.string))
            previous = packed
        }
    }

    @Test func aScanReadsTheSameEventsAsSingleRowReads() throws {
        let ledger = try TestLedger()
        let store = try ledger.open()
        for batch in 0..<20 {
            try store.append((0..<10).map { event(batch * 10 + $0) }, to: "stream-\(batch % 3)", expected: .any)
        }
        var scanned: [RecordedEvent] = []
        try store.forEachEvent(from: 1, through: .max) { scanned.append($0) }
        #expect(scanned.count == 200)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        for e in scanned {
            let single = try #require(try store.event(at: e.position))
            #expect(e.eventIDText.isInline && e.hashText.isInline && e.recordedAtText.isInline)
            #expect(!single.eventIDText.isInline && !single.hashText.isInline)
            #expect(e == single)
            #expect(e.hashValue == single.hashValue)
            #expect(e.eventID == single.eventID && e.hash == single.hash && e.recordedAt == single.recordedAt)
            #expect(try encoder.encode(e) == encoder.encode(single))
            let decoded = try JSONDecoder().decode(RecordedEvent.self, from: encoder.encode(e))
            #expect(decoded == single)
        }
        // The chain verifies from the scanned events as from the stored ones.
        #expect(try store.verify().problem == nil)
    }
}
