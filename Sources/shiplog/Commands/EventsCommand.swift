import SQLiteStore
import ArgumentParser
import EventStore
import Foundation

struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Read the raw event log, or append to a custom stream.",
        subcommands: [List.self, Append.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List events in position order.",
            discussion: "With --json, prints one JSON object per line with every column (the format of `shiplog export --events`).")

        @OptionGroup var ledger: LedgerOptions
        @Option(help: "Only this stream.") var stream: String?
        @Option(help: "Start at this position (or stream version, with --stream).") var from: Int64 = 1
        @Option(help: "At most this many events.") var limit: Int?
        @Flag(help: "One JSON object per line.") var json = false

        func validate() throws {
            if from < 1 { throw ValidationError("--from must be 1 or more") }
            if let limit, limit < 1 { throw ValidationError("--limit must be 1 or more") }
        }

        func run() throws {
            try reporting {
                let store = try ledger.open(.readOnly)
                let out = OutputBuffer()
                var remaining = limit ?? Int.max
                func emit(_ e: RecordedEvent) {
                    if json {
                        out.line(e.jsonLine)
                    } else {
                        out.line(
                            TerminalText.visible(
                                fields: [String(e.position), e.recordedAt, "\(e.stream)@\(e.version)", e.type, e.data],
                                separator: "\t"))
                    }
                }
                if let stream {
                    for e in try store.readStream(stream, from: from) where remaining > 0 {
                        emit(e)
                        remaining -= 1
                    }
                } else {
                    var pages = store.readAll(from: from, pageSize: min(remaining, 1_000))
                    while remaining > 0, let e = try pages.next() {
                        emit(e)
                        remaining -= 1
                    }
                }
                out.flush()
            }
        }
    }

    struct Append: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Append one event to a custom stream; prints its position.",
            discussion: """
                For integrations that keep their own facts in the ledger. Streams Shiplog owns \
                (deployment-*, environment-*, artifact-*) are refused: use `shiplog record` for those.

                --expected-version makes the append safe under concurrency: `no-stream` (the stream \
                must not exist), N (the stream must be at version N), or `any` (no check). Passing \
                --id makes a retry safe: resending the same id at the same expected version returns \
                the original position and writes nothing. With `any`, no such guarantee is given.
                """)

        @OptionGroup var ledger: LedgerOptions
        @Option(help: "The stream to append to.") var stream: String
        @Option(help: "The event type, e.g. ReleaseApproved.") var type: String
        @Option(help: "The event's data: a JSON object.") var data: String
        @Option(help: "Metadata: a JSON object.") var metadata: String = "{}"
        @Option(name: .customLong("expected-version"), help: ArgumentHelp("N, no-stream or any.", valueName: "version"))
        var expectedVersion: String = "any"
        @Option(help: "The event id (a UUID); generated when omitted.") var id: String?
        @Option(help: "The event type's schema version.") var schema: Int = 1
        @Flag(help: "Print a JSON object instead of the position.") var json = false

        static let reservedPrefixes = ["deployment-", "environment-", "artifact-"]

        var expected: ExpectedVersion? {
            switch expectedVersion {
            case "any": .any
            case "no-stream": .noStream
            default: Int64(expectedVersion).flatMap { $0 >= 1 ? .exactly($0) : nil }
            }
        }

        func validate() throws {
            if let prefix = Self.reservedPrefixes.first(where: { stream.hasPrefix($0) }) {
                throw ValidationError("streams starting with \(prefix) belong to Shiplog's deployment records; use `shiplog record …` to write them, or choose another stream name")
            }
            if stream.isEmpty { throw ValidationError("--stream must not be empty") }
            if expected == nil { throw ValidationError("--expected-version takes a version (1 or more), no-stream or any; got \(expectedVersion)") }
            if let id, !UUIDv7.isWellFormed(id) { throw ValidationError("--id must be a UUID such as 0192f3a4-5b6c-7d8e-9f01-23456789abcd; got \(id)") }
            for (name, text) in [("--data", data), ("--metadata", metadata)] {
                guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)), object is [String: Any] else {
                    throw ValidationError("\(name) must be a JSON object, e.g. '{\"key\":\"value\"}'; got \(text.prefix(80))")
                }
            }
        }

        func run() throws {
            try reporting {
                let store = try ledger.open(.existing)
                let event = NewEvent(id: id?.lowercased() ?? UUIDv7.make(), type: type, schema: schema, data: data, metadata: metadata)
                let result = try store.append([event], to: stream, expected: expected!)
                if json {
                    Terminal.out(
                        JSONText.object([
                            ("position", String(result.firstPosition)), ("stream", JSONText.quote(stream)),
                            ("version", String(result.streamVersion)), ("event_id", JSONText.quote(event.id)),
                            ("already_recorded", result.wasAlreadyCommitted ? "true" : "false"),
                        ]))
                } else {
                    Terminal.out(String(result.firstPosition))
                    if result.wasAlreadyCommitted { Terminal.note("already recorded: nothing was written") }
                }
            }
        }
    }
}
