import SQLiteStore
import ArgumentParser
import EventStore
import Foundation

/// Hidden tools for Shiplog's own tests, fault suite and benchmark.
struct DebugCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug", abstract: "Tools for Shiplog's own tests.", shouldDisplay: false,
        subcommands: [AppendLoop.self])

    /// Appends events one transaction at a time and reports each acknowledged append at once,
    /// so a test can run several writers against one ledger, or kill one at any moment and
    /// know exactly which appends had returned.
    struct AppendLoop: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "append-loop",
            abstract: "Append N events, one per transaction, printing `POSITION EVENT_ID` after each.",
            discussion: """
                Each line is written with one write(2) as soon as the append has returned, so a \
                process killed at any moment has printed exactly the events it had acknowledged.

                --mode shared reads the stream's version and appends with that expected version \
                (no-stream for a new stream), retrying when another writer got there first: run \
                several at once against one stream to exercise optimistic concurrency. --mode any \
                appends with no version check.
                """)

        enum Mode: String, ExpressibleByArgument, CaseIterable {
            case shared, any
        }

        @OptionGroup var ledger: LedgerOptions
        @Option(help: "The stream to append to.") var stream: String
        @Option(help: "How many events to append.") var count: Int
        @Option(help: "shared (expected versions, retry on conflict) or any (no check).") var mode: Mode = .shared
        @Option(name: .customLong("payload-bytes"), help: "Approximate size of each event's data, in bytes.")
        var payloadBytes: Int = 400
        @Option(name: .customLong("max-retries"), help: "Conflicts tolerated per event before giving up.")
        var maxRetries: Int = 10_000

        func validate() throws {
            if stream.isEmpty { throw ValidationError("--stream must not be empty") }
            if count < 0 { throw ValidationError("--count must be 0 or more") }
            if payloadBytes < 0 { throw ValidationError("--payload-bytes must be 0 or more") }
            if maxRetries < 1 { throw ValidationError("--max-retries must be 1 or more") }
        }

        func run() throws {
            try reporting {
                let store = try ledger.open(.existing)
                let writer = getpid()
                for n in 0..<count {
                    let prefix = "{\"writer\":\(writer),\"n\":\(n + 1),\"pad\":\""
                    let padding = String(repeating: "x", count: max(0, payloadBytes - prefix.utf8.count - 2))
                    let event = NewEvent(type: "DebugLoopAppended", data: prefix + padding + "\"}")
                    let result = try append(event, to: store)
                    Terminal.out("\(result.firstPosition) \(event.id)")
                }
            }
        }

        private func append(_ event: NewEvent, to store: any EventStore) throws -> AppendResult {
            guard mode == .shared else { return try store.append([event], to: stream, expected: .any) }
            var conflicts = 0
            while true {
                let expected: ExpectedVersion = try store.lastEvent(of: stream).map { .exactly($0.version) } ?? .noStream
                do {
                    return try store.append([event], to: stream, expected: expected)
                } catch EventStoreError.wrongExpectedVersion {
                    conflicts += 1
                    if conflicts >= maxRetries {
                        throw Failure("gave up on \(stream) after \(conflicts) conflicting appends", code: Exit.refused)
                    }
                }
            }
        }
    }
}
