import EventStore
import ArgumentParser
import Foundation
import Ledger

/// `--as-of TIME|POSITION`: answer a query from the ledger as it stood at that point.
///
/// A bare integer is a position (the state just after that event was recorded); anything
/// else is a time. Events after that point are ignored, and the earlier ones are replayed,
/// with their hash chain re-verified, into a private in-memory ledger.
struct AsOfOption: ParsableArguments {
    @Option(
        name: .customLong("as-of"),
        help: ArgumentHelp(
            "Answer as the ledger stood at a position (a bare integer) or a time (ISO 8601 or YYYY-MM-DD, UTC).",
            valueName: "time|position"))
    var asOf: String?

    enum Point: Equatable {
        case position(Int64)
        case time(Date)
    }

    var point: Point? {
        guard let asOf else { return nil }
        if let position = Int64(asOf) { return position >= 0 ? .position(position) : nil }
        return TimeArgument.parse(asOf).map(Point.time)
    }

    func validate() throws {
        guard let asOf, point == nil else { return }
        throw ValidationError("--as-of takes a position (e.g. 120) or a time (e.g. 2024-11-19 or 2024-11-19T10:30:00Z); got \(asOf)")
    }

    /// The ledger to answer from, and the time its answers hold at: the as-of time, the time of
    /// the event at the as-of position, or now.
    func resolve(_ ledger: Ledger) throws -> (ledger: Ledger, now: Date) {
        guard let point else { return (ledger, Date()) }
        let head = try ledger.store.head()
        switch point {
        case .time(let time):
            let position = try Queries(ledger: ledger).position(atOrBefore: time)
            if position >= head.position { return (ledger, time) }
            return (try ledger.asOf(position: position), time)
        case .position(let position):
            var time = Date()
            if position >= 1 {
                try ledger.store.forEachEvent(from: min(position, head.position), through: min(position, head.position)) { event in
                    if let recorded = Timestamp.parse(event.recordedAt) { time = recorded }
                }
            }
            if position >= head.position { return (ledger, time) }
            return (try ledger.asOf(position: position), time)
        }
    }
}

/// Times given on the command line: `2024-11-19`, `2024-11-19T10:30:00Z`, with or without
/// fractional seconds, or with a `+HH:MM`/`-HH:MM` offset instead of `Z`.
enum TimeArgument {
    static func parse(_ text: String) -> Date? {
        let t = text.trimmingCharacters(in: .whitespaces)
        if let date = Timestamp.parse(t) { return date }
        // An explicit offset: 2024-11-19T12:30:00+02:00 or +0200.
        guard t.count > 19 else { return nil }
        let scalars = Array(t)
        guard let signIndex = scalars.lastIndex(where: { $0 == "+" || $0 == "-" }), signIndex >= 19 else { return nil }
        let offsetText = String(scalars[(signIndex + 1)...]).replacingOccurrences(of: ":", with: "")
        guard offsetText.count == 4, offsetText.allSatisfy(\.isASCII), let hhmm = Int(offsetText) else { return nil }
        let hours = hhmm / 100, minutes = hhmm % 100
        guard hours < 24, minutes < 60, let local = Timestamp.parse(String(scalars[..<signIndex]) + "Z") else { return nil }
        let offset = Double(hours * 3600 + minutes * 60) * (scalars[signIndex] == "+" ? 1 : -1)
        return local.addingTimeInterval(-offset)
    }

    /// Parses an option's value or fails with a usage error naming the option.
    static func require(_ text: String, option: String) throws -> Date {
        guard let date = parse(text) else {
            throw ValidationError("\(option) takes a time such as 2024-11-19 or 2024-11-19T10:30:00Z; got \(text)")
        }
        return date
    }
}
