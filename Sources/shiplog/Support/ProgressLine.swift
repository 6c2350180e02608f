import ArgumentParser
import Foundation

/// `--quiet`, for the commands that show a progress line.
struct ProgressOptions: ParsableArguments {
    @Flag(help: "No progress line on stderr.") var quiet = false

    /// A progress line for this command (see `ProgressLine`).
    func line(_ label: String, total: Int64?, unit: ProgressLine.Unit) -> ProgressLine {
        ProgressLine(label, total: total, unit: unit, shown: ProgressLine.shows(quiet: quiet))
    }
}

/// One line on stderr that says how far long work has come: `import`, `rebuild`, `export`,
/// `verify` and `artifacts prune` on a ledger of a million events take seconds to minutes.
///
///     verify: 412,000 / 1,000,000 events (41%), 98,000 events/s, 6 s left
///
/// The rule, here and only here: the line is shown when stderr is a terminal, never with
/// `--quiet`; `SHIPLOG_PROGRESS=always` shows it anyway (tests, a CI log that wants it),
/// `SHIPLOG_PROGRESS=never` hides it. It is redrawn in place (carriage return, erase to the end
/// of the line) at most ten times a second, and left as its last state, with a line break, when
/// the work ends. Nothing else about a command's output changes.
final class ProgressLine: @unchecked Sendable {
    enum Unit {
        case events, records, artifacts, bytes
    }

    /// Whether a command's progress line is shown (see the type).
    static func shows(quiet: Bool, environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        if quiet { return false }
        switch environment["SHIPLOG_PROGRESS"] {
        case "always": return true
        case "never": return false
        default: return isatty(2) == 1
        }
    }

    private var label: String
    private var total: Int64?
    private let unit: Unit
    private let shown: Bool
    private let clock = ContinuousClock()
    private var started: ContinuousClock.Instant
    private let lock = NSLock()
    private var lastDrawn: ContinuousClock.Instant?
    private var done: Int64 = 0
    private var finished = false

    /// The shortest time between two redraws.
    static let redrawInterval: Duration = .milliseconds(100)

    init(_ label: String, total: Int64?, unit: Unit, shown: Bool) {
        self.label = label
        self.total = total
        self.unit = unit
        self.shown = shown
        self.started = clock.now
    }

    /// How much is done now; redraws when the last redraw is old enough.
    func update(_ done: Int64) {
        guard shown else { return }
        lock.withLock {
            self.done = done
            let now = clock.now
            if let lastDrawn, now < lastDrawn + Self.redrawInterval { return }
            lastDrawn = now
            draw(now: now, final: false)
        }
    }

    /// The next stage of the same work (verify: the chain, then the tables), on the same line:
    /// counting, rate and time left start again.
    func stage(_ label: String, total: Int64?) {
        guard shown else { return }
        lock.withLock {
            self.label = label
            self.total = total
            self.done = 0
            started = clock.now
            lastDrawn = nil
        }
    }

    /// The work is over, at `done` when given: the line shows its last state and ends.
    func finish(at done: Int64? = nil) {
        guard shown else { return }
        lock.withLock {
            guard !finished else { return }
            finished = true
            if let done { self.done = done }
            draw(now: clock.now, final: true)
        }
    }

    private func draw(now: ContinuousClock.Instant, final: Bool) {
        let elapsed = Self.seconds(started.duration(to: now))
        var text = "\(label): "
        if let total {
            text += "\(number(done)) / \(amount(total))"
            if total > 0 { text += " (\(min(100, done * 100 / total))%)" }
        } else {
            text += amount(done)
        }
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        if elapsed > 0 { text += ", \(rateText(rate))" }
        if final {
            text += ", done in \(Self.duration(elapsed))"
        } else if let total, rate > 0, done < total {
            text += ", \(Self.duration(Double(total - done) / rate)) left"
        }
        Terminal.write(2, Array(("\r" + TerminalText.visible(text) + "\u{1B}[K" + (final ? "\n" : "")).utf8))
    }

    /// A count without its unit: "412,000", or a size for bytes ("12.0 MiB").
    private func number(_ value: Int64) -> String {
        unit == .bytes ? Show.size(value) : Self.grouped(value)
    }

    private func amount(_ value: Int64) -> String {
        switch unit {
        case .bytes: Show.size(value)
        case .events: "\(Self.grouped(value)) events"
        case .records: "\(Self.grouped(value)) records"
        case .artifacts: "\(Self.grouped(value)) artifacts"
        }
    }

    private func rateText(_ rate: Double) -> String {
        switch unit {
        case .bytes: "\(Show.size(Int64(rate)))/s"
        case .events: "\(Self.grouped(Int64(rate))) events/s"
        case .records: "\(Self.grouped(Int64(rate))) records/s"
        case .artifacts: "\(Self.grouped(Int64(rate))) artifacts/s"
        }
    }

    /// 1234567 → "1,234,567".
    static func grouped(_ value: Int64) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return (value < 0 ? "-" : "") + out
    }

    /// "0.4 s", "12 s", "3 min 05 s", "1 h 02 min".
    static func duration(_ seconds: Double) -> String {
        if seconds < 10 { return String(format: "%.1f s", seconds) }
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s) s" }
        if s < 3600 { return String(format: "%d min %02d s", s / 60, s % 60) }
        return String(format: "%d h %02d min", s / 3600, (s % 3600) / 60)
    }

    private static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
