import SQLiteStore
import EventStore
import Foundation
import ShiplogTestSupport
import Testing

@Suite("events list, events append, verify")
struct EventsCommandTests {
    @Test func theBuiltBinaryIsFoundAndItsDebugToolsAreHidden() {
        #expect(FileManager.default.isExecutableFile(atPath: ShiplogBinary.url.path), "\(ShiplogBinary.url.path)")
        let help = runShiplog(["--help"])
        #expect(help.status == 0, "\(help.stderr)")
        #expect(help.stdout.contains("verify"))
        #expect(!help.stdout.contains("debug"), "the debug tools must stay out of --help")
        let debug = runShiplog(["debug", "append-loop", "--help"])
        #expect(debug.status == 0)
        #expect(debug.stdout.contains("--mode"))
    }

    @Test func eventsListJSONLinesParseAndCarryEveryColumn() throws {
        let ledger = try CLILedger()
        let recorded: [RecordedEvent]
        do {
            let store = try SQLiteEventStore(path: ledger.path)
            try store.append([NewEvent(type: "Plain", data: #"{"n":1}"#)], to: "s", expected: .noStream)
            try store.append(
                [
                    NewEvent(
                        type: "Tricky", schema: 2, data: #"{"text":"tab\t, quote \", backslash \\, é, 🚀","nested":{"a":[1,2]}}"#,
                        metadata: #"{"actor":"ci","note":"line\nbreak"}"#)
                ], to: "t", expected: .noStream)
            try store.append([NewEvent(type: "Plain", data: "{}")], to: "s", expected: .exactly(1))
            recorded = try store.readStream("s", from: 1) + store.readStream("t", from: 1)
        }
        let result = ledger.shiplog(["events", "list", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(result.stdout.hasSuffix("\n"))
        try #require(lines.count == 3)

        let columns: Set<String> = ["position", "event_id", "stream", "version", "type", "schema", "data", "metadata", "recorded_at", "hash"]
        var previous = HashChain.genesis
        for (index, line) in lines.enumerated() {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "line \(index + 1): \(line)")
            #expect(Set(object.keys) == columns)
            let position = try #require((object["position"] as? NSNumber)?.int64Value)
            #expect(position == Int64(index + 1))
            let expected = try #require(recorded.first { $0.position == position })
            #expect(object["event_id"] as? String == expected.eventID)
            #expect(object["stream"] as? String == expected.stream)
            #expect((object["version"] as? NSNumber)?.int64Value == expected.version)
            #expect(object["type"] as? String == expected.type)
            #expect((object["schema"] as? NSNumber)?.intValue == expected.schema)
            #expect(object["data"] as? String == expected.data, "data is the exact recorded text")
            #expect(object["metadata"] as? String == expected.metadata)
            #expect(object["recorded_at"] as? String == expected.recordedAt)
            #expect(object["hash"] as? String == expected.hash)
            // The line alone is enough to recompute the chain.
            let digest = HashChain().hash(
                previous: previous, position: position, eventID: expected.eventID, stream: expected.stream,
                version: expected.version, type: expected.type, schema: expected.schema,
                data: object["data"] as? String ?? "", metadata: object["metadata"] as? String ?? "",
                recordedAt: object["recorded_at"] as? String ?? "")
            #expect(Hex.encode(digest) == object["hash"] as? String)
            previous = digest
            // The decoder the export format promises works on the same line.
            #expect(try JSONDecoder().decode(RecordedEvent.self, from: Data(line.utf8)) == expected)
        }
    }

    @Test func eventsListFiltersByStreamStartAndLimit() throws {
        let ledger = try CLILedger()
        try ledger.fill(250)
        let all = ledger.shiplog(["events", "list"])
        #expect(all.status == 0)
        #expect(all.stdout.split(separator: "\n").count == 250)

        let window = ledger.shiplog(["events", "list", "--from", "101", "--limit", "5", "--json"])
        let positions = window.stdout.split(separator: "\n").compactMap {
            ((try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any])?["position"] as? NSNumber
        }.map(\.int64Value)
        #expect(positions == [101, 102, 103, 104, 105])

        // fill-1 holds positions 101…200 as versions 1…100.
        let stream = ledger.shiplog(["events", "list", "--stream", "fill-1", "--from", "99"])
        let rows = stream.stdout.split(separator: "\n").map { $0.split(separator: "\t") }
        #expect(rows.map { String($0[0]) } == ["199", "200"])
        #expect(rows.map { String($0[2]) } == ["fill-1@99", "fill-1@100"])

        for bad in [["--from", "0"], ["--limit", "0"]] {
            #expect(ledger.shiplog(["events", "list"] + bad).status == 64, "\(bad)")
        }
    }

    @Test func eventsAppendWithAnIDIsSafeToRetry() throws {
        let ledger = try CLILedger().initialized()
        let id = UUIDv7.make()
        let args = [
            "events", "append", "--stream", "releases", "--type", "ReleaseApproved", "--data", #"{"v":"1.2.3"}"#,
            "--expected-version", "no-stream", "--id", id.uppercased(), "--json",
        ]
        let first = ledger.shiplog(args)
        #expect(first.status == 0, "\(first.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as? [String: Any])
        #expect((object["position"] as? NSNumber)?.intValue == 1)
        #expect(object["event_id"] as? String == id.lowercased())
        #expect(object["already_recorded"] as? Bool == false)

        let retry = ledger.shiplog(args)
        #expect(retry.status == 0, "\(retry.stderr)")
        let again = try #require(try JSONSerialization.jsonObject(with: Data(retry.stdout.utf8)) as? [String: Any])
        #expect((again["position"] as? NSNumber)?.intValue == 1)
        #expect(again["already_recorded"] as? Bool == true)

        let plain = ledger.shiplog(Array(args.dropLast()))
        #expect(plain.stdout == "1\n")
        #expect(plain.stderr.contains("already recorded"))
        #expect(ledger.shiplog(["events", "list"]).stdout.split(separator: "\n").count == 1)

        let reserved = ledger.shiplog(["events", "append", "--stream", "deployment-1", "--type", "T", "--data", "{}"])
        #expect(reserved.status == 64, "\(reserved.stderr)")
        let notObject = ledger.shiplog(["events", "append", "--stream", "s", "--type", "T", "--data", "[1]"])
        #expect(notObject.status == 64, "\(notObject.stderr)")
    }

    @Test func verifyPrintsTheHeadAndChecksAKeptDigest() throws {
        let ledger = try CLILedger()
        #expect(ledger.shiplog(["init"]).status == 0)
        let empty = ledger.shiplog(["verify"])
        #expect(empty.status == 0)
        #expect(empty.stdout == "0:\(HashChain.genesisHex)\n")

        try ledger.fill(20)
        let full = ledger.shiplog(["verify"])
        #expect(full.status == 0, "\(full.stderr)")
        let digest = full.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(digest.hasPrefix("20:"))
        #expect(full.stderr.contains("20 events verified"))

        try ledger.fill(5)
        let later = ledger.shiplog(["verify", "--expect", digest, "--json"])
        #expect(later.status == 0, "\(later.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(later.stdout.utf8)) as? [String: Any])
        #expect(object["ok"] as? Bool == true)
        #expect((object["events_checked"] as? NSNumber)?.intValue == 25)

        let wrongHash = "20:" + String(repeating: "0", count: 64)
        let mismatch = ledger.shiplog(["verify", "--expect", wrongHash])
        #expect(mismatch.status == 3)
        #expect(mismatch.stderr.contains("position 20"))
        let beyond = ledger.shiplog(["verify", "--expect", "26:" + String(repeating: "a", count: 64)])
        #expect(beyond.status == 3)
        #expect(beyond.stderr.contains("position 26"))
        for malformed in ["20", "x:y", "20:abc", "-1:" + String(repeating: "0", count: 64)] {
            #expect(ledger.shiplog(["verify", "--expect=\(malformed)"]).status == 64, "\(malformed)")
        }
    }
}
