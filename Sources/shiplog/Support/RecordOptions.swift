import ArgumentParser
import Foundation
import Ledger

/// `--artifacts-dir`: where log and record files are kept (default: `artifacts/` beside the ledger).
struct ArtifactOptions: ParsableArguments {
    @Option(
        name: .customLong("artifacts-dir"),
        help: ArgumentHelp(
            "Where artifact files are kept.", discussion: "Default: artifacts/ beside the ledger file.", valueName: "dir"))
    var artifactsDir: String?

    func store(ledger: Ledger, ledgerPath: String) -> any ArtifactBlobs {
        if let artifactsDir, !artifactsDir.isEmpty { return ArtifactStore(directory: artifactsDir) }
        return LedgerOptions.blobs(for: ledger.store, ledgerPath: ledgerPath)
    }
}

/// Who did something, when not given: the CI's actor, else the login user, else the account
/// the process runs as (a container or a cron job often has no $USER), else its uid: never
/// "unknown".
enum Who {
    static var current: String { current(environment: ProcessInfo.processInfo.environment) }

    static func current(environment: [String: String]) -> String {
        for key in ["GITHUB_ACTOR", "USER", "LOGNAME"] {
            if let value = environment[key], !value.isEmpty { return value }
        }
        let uid = geteuid()
        if let entry = getpwuid(uid), let name = entry.pointee.pw_name, let text = String(validatingCString: name), !text.isEmpty {
            return text
        }
        return "uid \(uid)"
    }
}

/// Display helpers shared by the listing commands.
enum Show {
    /// `2024-11-19T10:30:00Z` from a stored `2024-11-19T10:30:00.123Z`.
    static func seconds(_ timestamp: String?) -> String {
        guard let t = timestamp else { return "-" }
        guard t.count == 24, t.hasSuffix("Z") else { return t }
        return String(t.prefix(19)) + "Z"
    }

    /// `850ms`, `42s`, `4m12s`, `2h05m`.
    static func duration(ms: Int64?) -> String {
        guard let ms else { return "-" }
        if ms < 1_000 { return "\(ms)ms" }
        let s = ms / 1_000
        if s < 60 { return "\(s)s" }
        if s < 3_600 { return "\(s / 60)m\(pad(s % 60))s" }
        return "\(s / 3_600)h\(pad((s % 3_600) / 60))m"
    }

    /// `1.2 KiB`, `3.4 MiB`.
    static func size(_ bytes: Int64) -> String {
        if bytes < 1_024 { return "\(bytes) B" }
        var value = Double(bytes) / 1_024
        for unit in ["KiB", "MiB", "GiB"] {
            if value < 1_024 || unit == "GiB" { return String(format: "%.1f", value) + " " + unit }
            value /= 1_024
        }
        return "\(bytes) B"
    }

    /// `text` cut to `width` characters, the last one an ellipsis when cut.
    static func clipped(_ text: String, _ width: Int) -> String {
        text.count <= width ? text : String(text.prefix(width - 1)) + "…"
    }

    /// Left-aligned in `width` columns, always followed by at least two spaces.
    static func column(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(2, width - text.count + 2))
    }

    /// What became of a deployment's rollback options, for tables.
    static func rollbackNote(_ r: DeploymentRecord) -> String {
        var notes: [String] = []
        if let to = r.rolledBackTo {
            notes.append("rolled back to \(to)")
        } else if let target = r.previousStableID {
            notes.append("rollback target \(target)")
        } else {
            notes.append("no rollback target")
        }
        if let reason = r.markedBadReason { notes.append("marked bad: \(reason)") }
        return notes.joined(separator: "; ")
    }

    /// The staging workflow's `health_checks` object as `name value, …`.
    static func healthChecks(_ json: String) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], !object.isEmpty else { return "-" }
        let names = object.keys.sorted { a, b in (a == "smoke_tests" ? 1 : 0, a) < (b == "smoke_tests" ? 1 : 0, b) }
        return names.map { "\($0) \(object[$0].map { "\($0)" } ?? "?")" }.joined(separator: ", ")
    }

    /// The staging workflow's `services_deployed` array as `a, b, …`.
    static func services(_ json: String) -> String {
        guard let array = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String], !array.isEmpty else { return "-" }
        return array.joined(separator: ", ")
    }

    private static func pad(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
}
