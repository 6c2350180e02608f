import EventStore
import Foundation
import Testing

@Suite("UUIDv7 ids")
struct UUIDv7Tests {
    @Test func anIdIsACanonicalVersion7UUIDCarryingItsMillisecondOrALaterOne() throws {
        let ms: UInt64 = 0x0193_6A4C_1234
        let id = UUIDv7.make(milliseconds: ms)
        #expect(UUIDv7.isWellFormed(id))
        #expect(id == id.lowercased())
        let parts = id.split(separator: "-").map(String.init)
        #expect(parts.map(\.count) == [8, 4, 4, 4, 12])
        // This millisecond, or a later one when ids were already made later (the counter then steps).
        #expect(try #require(UInt64(parts[0] + parts[1], radix: 16)) >= ms)
        #expect(parts[2].first == "7")
        #expect("89ab".contains(try #require(parts[3].first)))
        // Canonical: Foundation reads it, and writes it back the same (in capitals).
        #expect(UUID(uuidString: id)?.uuidString.lowercased() == id)
    }

    @Test func idsMadeLaterSortLaterEvenInOneMillisecondAndNeverRepeat() {
        let ids = (0..<10_000).map { UUIDv7.make(milliseconds: 1_732_010_400_000 + UInt64($0 / 1_000)) }
        #expect(ids == ids.sorted())
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy(UUIDv7.isWellFormed))
    }
}
