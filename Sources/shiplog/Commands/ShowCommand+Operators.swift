import EventStore
import Ledger

extension ShowCommand {
    /// The record's manual rollback, the rollback that replaced it, and its approval gate: who
    /// approved, when.
    static func operatorFields(_ r: DeploymentRecord) -> [(String, String)] {
        var fields: [(String, String)] = []
        if let m = r.manualRollback.flatMap({ try? JSONObject(parsing: $0) }) {
            let replaces = m.string("replaces").map { ", replacing \($0)" } ?? ""
            fields.append(("manual", "rollback to \(m.string("target") ?? "?")\(replaces), asked by \(m.string("requested_by") ?? "?"): \(m.string("reason") ?? "")"))
        }
        if let by = r.rolledBackBy.flatMap({ try? JSONObject(parsing: $0) }) {
            fields.append(
                ("replaced", "by the manual rollback \(by.string("deployment_id") ?? "?") at \(Show.seconds(by.string("at"))), asked by \(by.string("by") ?? "?"): \(by.string("reason") ?? "")"))
        }
        guard let a = r.approval.flatMap({ try? JSONObject(parsing: $0) }) else { return fields }
        let required = a["required"]?.intValue ?? 0
        var grants: [String] = []
        if case .array(let items)? = a["approvals"] {
            for case .object(let g) in items {
                grants.append("\(g.string("by") ?? "?") at \(Show.seconds(g.string("at")))" + (g.string("comment").map { " (\($0))" } ?? ""))
            }
        }
        fields.append(("approval", "\(a.string("state") ?? "?") before \(a.string("before") ?? "?"): \(grants.count) of \(required), deadline \(Show.seconds(a.string("deadline")))"))
        for grant in grants { fields.append(("approved", grant)) }
        if case .object(let rejection)? = a["rejection"] {
            fields.append(("rejected", "by \(rejection.string("by") ?? "?") at \(Show.seconds(rejection.string("at"))): \(rejection.string("reason") ?? "")"))
        }
        return fields
    }
}
