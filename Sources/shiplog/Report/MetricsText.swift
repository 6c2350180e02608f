import Foundation
import Ledger

/// The four keys in words, for `shiplog metrics` and the HTML report alike.
enum MetricsText {
    /// `45s`, `42m`, `3h 10m`, `2d 4h`: two units at most, rounded down.
    static func span(seconds: Double?) -> String {
        guard let seconds else { return "-" }
        let s = Int64(seconds.rounded(.down))
        if s < 60 { return "\(s)s" }
        if s < 3_600 { return "\(s / 60)m" + (s % 60 == 0 || s >= 600 ? "" : " \(s % 60)s") }
        if s < 86_400 { return "\(s / 3_600)h" + ((s % 3_600) / 60 == 0 ? "" : " \((s % 3_600) / 60)m") }
        return "\(s / 86_400)d" + ((s % 86_400) / 3_600 == 0 ? "" : " \((s % 86_400) / 3_600)h")
    }

    /// `12.5%`, or `-` when nothing finished.
    static func percent(_ rate: Double?) -> String {
        guard let rate else { return "-" }
        let value = rate * 100
        return (value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)) + "%"
    }

    /// `0.47`, `3.3`, `12`: two significant decimals below 10, none from 100.
    static func rate(_ value: Double) -> String {
        if value == value.rounded() { return String(Int(value)) }
        if value < 10 { return String(format: "%.2f", value) }
        if value < 100 { return String(format: "%.1f", value) }
        return String(Int(value.rounded()))
    }

    /// `2024-11-19 10:30` from a stored time.
    static func minute(_ timestamp: String?) -> String {
        guard let t = timestamp, t.count >= 16 else { return timestamp ?? "-" }
        return t.prefix(10) + " " + t.dropFirst(11).prefix(5)
    }

    static func plural(_ count: Int, _ noun: String) -> String {
        "\(count) \(noun)\(count == 1 ? "" : "s")"
    }

    static func frequency(_ m: DeliveryMetrics) -> String {
        "\(plural(m.frequency.deployments, "successful deployment")): \(rate(m.frequency.perDay))/day, "
            + "\(rate(m.frequency.perWeek))/week (\(m.frequency.bucket.rawValue))"
    }

    static func changeFailure(_ m: DeliveryMetrics) -> String {
        let c = m.changeFailure
        guard c.finished > 0 else { return "- (no change finished)" }
        return "\(percent(c.rate)): \(c.failed + c.rolledBack) of \(plural(c.finished, "finished change")) "
            + "(\(c.failed) failed, \(c.rolledBack) rolled back)"
    }

    static func timeToRestore(_ m: DeliveryMetrics) -> String {
        let t = m.timeToRestore
        var text = t.restored.count == 0 ? "- (nothing restored)" : "median \(span(seconds: t.restored.median)), p90 \(span(seconds: t.restored.p90)) over \(plural(t.restored.count, "restore"))"
        if t.unrestored > 0 {
            text += "; \(t.unrestored) still failing since \(minute(t.unrestoredSince))"
        }
        return text
    }

    static func leadTime(_ m: DeliveryMetrics) -> String {
        let l = m.leadTime
        var text = l.measured.count == 0 ? "- (no commit time known)" : "median \(span(seconds: l.measured.median)), p90 \(span(seconds: l.measured.p90)) over \(plural(l.measured.count, "change"))"
        if l.withoutCommitTime > 0 { text += "; \(l.withoutCommitTime) without a commit time" }
        return text
    }

    /// `2024-08-21 10:00 → 2024-11-19 10:00 UTC (90 days)`.
    static func window(_ m: DeliveryMetrics) -> String {
        "\(minute(m.since)) → \(minute(m.until)) UTC (\(rate(m.days)) day\(m.days == 1 ? "" : "s"))"
    }
}
