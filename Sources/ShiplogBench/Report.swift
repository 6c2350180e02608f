import Foundation

/// One figure of the report: Shiplog's value, the C baseline's where there is one, and the target.
struct Figure {
    enum Unit: String {
        case eventsPerSecond = "events/s"
        case recordsPerSecond = "records/s"
        case milliseconds = "ms"
        case seconds = "s"
        case mebibytes = "MiB"
        case ratio = "x"
    }

    /// A goal from issue 5: a bound on the value, or on the ratio to the baseline.
    enum Target {
        case atLeast(Double)
        case atMost(Double)
        case ratioAtLeast(Double)

        var text: String {
            switch self {
            case .atLeast(let v): "≥ \(Figure.compact(v))"
            case .atMost(let v): "≤ \(Figure.compact(v))"
            case .ratioAtLeast(let v): "≥ \(Figure.compact(v))× C"
            }
        }
    }

    var key: String
    var label: String
    var value: Double
    var unit: Unit
    var baseline: Double? = nil
    var target: Target? = nil
    /// Other numbers worth keeping in the JSON (p99, runs, sizes).
    var extra: [(String, Double)] = []

    var ratio: Double? { baseline.map { value / $0 } }

    var met: Bool? {
        guard let target else { return nil }
        switch target {
        case .atLeast(let v): return value >= v
        case .atMost(let v): return value <= v
        case .ratioAtLeast(let v): return ratio.map { $0 >= v }
        }
    }

    static func number(_ v: Double) -> String {
        if v.isNaN { return "–" }
        if abs(v) >= 1_000 {
            let f = NumberFormatter()
            f.numberStyle = .decimal
            f.maximumFractionDigits = 0
            f.groupingSeparator = ","
            f.usesGroupingSeparator = true
            return f.string(from: NSNumber(value: v.rounded())) ?? String(Int(v))
        }
        if abs(v) >= 100 { return String(Int(v.rounded())) }
        if abs(v) >= 10 { return String(format: "%.1f", v) }
        if abs(v) >= 1 { return String(format: "%.2f", v) }
        return String(format: "%.3f", v)
    }

    /// A target as written: `0.8`, `2.3`, `500,000`.
    static func compact(_ v: Double) -> String {
        abs(v) >= 1_000 ? number(v) : String(format: "%g", v)
    }

    func formatted(_ v: Double) -> String {
        unit == .ratio ? Figure.number(v) + "×" : Figure.number(v) + " " + unit.rawValue
    }
}

/// The table and the JSON document.
struct Report {
    var mode: String
    var date: String
    var cores: Int
    var figures: [Figure] = []
    var notes: [(String, String)] = []

    func table() -> String {
        // "CPU ratio": the same ratio over each side's CPU time, which a busy machine disturbs less.
        let header = ["workload", "shiplog", "C baseline", "ratio", "CPU ratio", "target", ""]
        var rows: [[String]] = [header]
        for f in figures {
            let p99 = f.extra.first { $0.0 == "p99" }.map { "  (p99 \(Figure.number($0.1)))" } ?? ""
            rows.append([
                f.label,
                f.formatted(f.value) + p99,
                f.baseline.map(f.formatted) ?? "",
                f.ratio.map { String(format: "%.2f×", $0) } ?? "",
                f.extra.first { $0.0 == "cpu_ratio" }.map { String(format: "%.2f×", $0.1) } ?? "",
                f.target.map { $0.text + (f.unit == .ratio || { if case .ratioAtLeast = $0 { return true } else { return false } }($0) ? "" : " " + f.unit.rawValue) } ?? "",
                f.met.map { $0 ? "met" : "MISSED" } ?? "",
            ])
        }
        var widths = [Int](repeating: 0, count: header.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        var out = ""
        for (n, row) in rows.enumerated() {
            let line = row.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return i == 0 || i == row.count - 1 ? cell + pad : pad + cell
            }.joined(separator: "  ")
            out += line.trimmingCharacters(in: .whitespaces) + "\n"
            if n == 0 { out += String(repeating: "-", count: widths.reduce(0, +) + 2 * (widths.count - 1)) + "\n" }
        }
        for (k, v) in notes { out += "\(k): \(v)\n" }
        return out
    }

    func json() -> String {
        func num(_ v: Double) -> String {
            v.isFinite ? (v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(format: "%.6g", v)) : "null"
        }
        func quote(_ s: String) -> String {
            "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        var items: [String] = []
        for f in figures {
            var members = [
                "\"key\": \(quote(f.key))", "\"label\": \(quote(f.label))", "\"value\": \(num(f.value))",
                "\"unit\": \(quote(f.unit.rawValue))",
            ]
            if let b = f.baseline { members.append("\"baseline\": \(num(b))") }
            if let r = f.ratio { members.append("\"ratio\": \(num(r))") }
            if let t = f.target { members.append("\"target\": \(quote(t.text))") }
            if let m = f.met { members.append("\"met\": \(m)") }
            for (k, v) in f.extra { members.append("\(quote(k)): \(num(v))") }
            items.append("    {" + members.joined(separator: ", ") + "}")
        }
        let noteMembers = notes.map { "\(quote($0.0)): \(quote($0.1))" }
        return """
            {
              "mode": \(quote(mode)),
              "date": \(quote(date)),
              "cores": \(cores),
              "notes": {\(noteMembers.joined(separator: ", "))},
              "figures": [
            \(items.joined(separator: ",\n"))
              ]
            }
            """
    }
}
