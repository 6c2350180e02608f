import SQLiteStore
import EventStore
import Foundation
import ShiplogTestSupport
import Testing

/// A ledger path in a fresh temporary directory, driven through the `shiplog` binary.
final class CLILedger {
    let directory: TemporaryDirectory
    let path: String

    init(name: String = "ledger.db") throws {
        directory = try TemporaryDirectory()
        path = directory.file(name)
    }

    /// Creates the ledger with `shiplog init` (no other command creates one), returning self.
    @discardableResult
    func initialized(sourceLocation: SourceLocation = #_sourceLocation) -> CLILedger {
        let created = shiplog(["init"])
        #expect(created.status == 0, "shiplog init: \(created.stderr)", sourceLocation: sourceLocation)
        return self
    }

    /// Runs `shiplog args… --db path`.
    func shiplog(_ args: [String], environment: [String: String] = [:]) -> ProcessOutput {
        runShiplog(args + ["--db", path], environment: environment)
    }

    /// Appends `count` events through the store, `payloadBytes` of data each.
    func fill(_ count: Int, payloadBytes: Int = 40) throws {
        let store = try SQLiteEventStore(path: path)
        let pad = String(repeating: "p", count: payloadBytes)
        var n = 0
        while n < count {
            let batch = (n..<min(n + 100, count)).map { NewEvent(type: "Filled", data: "{\"n\":\($0),\"pad\":\"\(pad)\"}") }
            try store.append(batch, to: "fill-\(n / 100 % 3)", expected: .any)
            n += batch.count
        }
    }
}

/// The permission bits of a file or directory.
func permissions(_ path: String) -> Int? {
    (try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue
}
