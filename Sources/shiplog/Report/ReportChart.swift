import Foundation
import Ledger

/// Deployments per week, stacked by outcome, as inline SVG: each week a bar, its segments
/// succeeded, restored, rolled back, failed and abandoned, with a tooltip (`<title>`) that says
/// the counts; no script.
enum ReportChart {
    /// The most weeks drawn: three years. Older weeks are left out, and the caption says so.
    static let maxWeeks = 156

    /// The outcomes in stacking order, bottom up.
    enum Outcome: CaseIterable {
        case succeeded, restored, rolledBack, failed, abandoned

        var css: HTML {
            switch self {
            case .succeeded: "c-ok"
            case .restored: "c-rs"
            case .rolledBack: "c-rb"
            case .failed: "c-f"
            case .abandoned: "c-ab"
            }
        }

        var label: String {
            switch self {
            case .succeeded: "succeeded"
            case .restored: "restorations"
            case .rolledBack: "rolled back"
            case .failed: "failed"
            case .abandoned: "abandoned"
            }
        }

        func count(_ w: DeliveryMetrics.Week) -> Int {
            switch self {
            case .succeeded: w.succeeded
            case .restored: w.restorations
            case .rolledBack: w.rolledBack
            case .failed: w.failed
            case .abandoned: w.abandoned
            }
        }
    }

    static func render(_ all: [DeliveryMetrics.Week]) -> HTML {
        let weeks = Array(all.suffix(maxWeeks))
        let peak = weeks.map(\.total).max() ?? 0
        guard peak > 0 else { return "<p class=\"note\">No deployment finished in these weeks.</p>" }
        let top = niceCeiling(peak)
        let (width, height) = (960.0, 210.0)
        let (left, right, plotTop, plotBottom) = (34.0, 952.0, 8.0, 176.0)
        let slot = (right - left) / Double(weeks.count)
        let barWidth = max(1, min(28, slot * 0.72))
        var svg: HTML =
            "<svg viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"Deployments per week by outcome, \(weeks.count) weeks\" xmlns=\"http://www.w3.org/2000/svg\">"
        for tick in top % 2 == 0 ? [0, top / 2, top] : [0, top] {
            let y = plotBottom - Double(tick) / Double(top) * (plotBottom - plotTop)
            svg += "<line class=\"\(tick == 0 ? "base" : "grid")\" x1=\"\(left)\" x2=\"\(right)\" y1=\"\(y)\" y2=\"\(y)\"/>"
            svg += "<text class=\"ax\" x=\"\(left - 6)\" y=\"\(y + 4)\" text-anchor=\"end\">\(tick)</text>"
        }
        let labelEvery = max(1, Int((Double(monthsSpanned(weeks)) / 12).rounded(.up)))
        var monthsSeen = 0
        var previousMonth = ""
        var labeledYear = ""
        for (index, week) in weeks.enumerated() {
            let x = left + Double(index) * slot + (slot - barWidth) / 2
            let month = String(week.start.prefix(7))
            if month != previousMonth {
                if monthsSeen % labelEvery == 0 && index > 0 || previousMonth.isEmpty {
                    let year = String(month.prefix(4))
                    svg += "<text class=\"ax\" x=\"\(x)\" y=\"\(plotBottom + 18)\">\(monthLabel(week.start, withYear: year != labeledYear))</text>"
                    labeledYear = year
                }
                monthsSeen += 1
                previousMonth = month
            }
            guard week.total > 0 else { continue }
            let counts = Outcome.allCases.map { ($0.label, $0.count(week)) }.filter { $0.1 > 0 }
            svg += "<g><title>Week of \(week.start): \(counts.map { "\($0.1) \($0.0)" }.joined(separator: ", "))</title>"
            var y = plotBottom
            for outcome in Outcome.allCases {
                let n = outcome.count(week)
                guard n > 0 else { continue }
                let h = Double(n) / Double(top) * (plotBottom - plotTop)
                y -= h
                svg += "<rect class=\"\(outcome.css)\" x=\"\(x)\" y=\"\(y)\" width=\"\(barWidth)\" height=\"\(h)\"/>"
            }
            svg += "</g>"
        }
        svg += "</svg>"
        var legend: HTML = "<div class=\"legend\">"
        for outcome in Outcome.allCases {
            let total = weeks.reduce(0) { $0 + outcome.count($1) }
            legend += "<span><i class=\"\(outcome.css)\"></i>\(outcome.label) \(total)</span>"
        }
        legend += "</div>"
        let cut: HTML = all.count > weeks.count ? "<p class=\"note\">The last \(maxWeeks) of \(all.count) weeks are drawn.</p>" : ""
        return svg + legend + cut
    }

    /// 1, 2, 5 × 10ⁿ at or above `value`.
    static func niceCeiling(_ value: Int) -> Int {
        var magnitude = 1
        while true {
            for step in [1, 2, 5] where step * magnitude >= value { return step * magnitude }
            magnitude *= 10
        }
    }

    static func monthsSpanned(_ weeks: [DeliveryMetrics.Week]) -> Int {
        Set(weeks.map { $0.start.prefix(7) }).count
    }

    static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `Nov` or `Nov 2024` from a week's `2024-11-18`.
    static func monthLabel(_ day: String, withYear: Bool) -> String {
        let parts = day.split(separator: "-")
        guard parts.count == 3, let month = Int(parts[1]), (1...12).contains(month) else { return day }
        return monthNames[month - 1] + (withYear ? " " + parts[0] : "")
    }
}
