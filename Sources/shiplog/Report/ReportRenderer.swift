import EventStore
import Foundation
import Ledger

/// Writes the audit report, one self-contained HTML page, part by part as the command reads
/// the ledger: nothing but the page's head and the few detailed deployments is held at once,
/// and the history streams row by row into `out`. Every field reaches the page through `HTML`
/// interpolation, so through its one escaping function.
struct ReportRenderer {
    let out: LineSink
    /// The deployments shown in full: their ids link to their section.
    var detailed: Set<String> = []

    /// What the page says about itself.
    struct Heading {
        var ledger: String
        var head: Head
        var generatedAt: Date
        var environment: String?
        var since: Date?
        var deployments: Int
        var detailed: Int
    }

    /// One environment's card.
    struct EnvironmentCard {
        var name: String
        var lastStable: DeploymentRecord?
        /// The newest finished deployment: what runs there, or what went wrong last.
        var latest: DeploymentRecord?
        /// When `latest` was rolled back: the deployment whose version it restored.
        var restored: DeploymentRecord?
        var active: DeploymentRecord?
        var metrics: DeliveryMetrics
        var openOutage: (deploymentID: String, since: String)?
    }

    /// A deployment shown in full.
    struct Detail {
        var record: DeploymentRecord
        var events: [(event: RecordedEvent, decoded: DeploymentEvent?)]
        var artifacts: [ArtifactRecord]
    }

    func write(_ html: HTML) throws { try out.text(html.text) }

    // MARK: Page

    func begin(_ h: Heading) throws {
        let scope = h.environment ?? "all environments"
        let title = "Deployment report — \(scope)"
        try write(
            """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
            <meta name="generator" content="shiplog">
            <title>\(title)</title>
            <style>\(ReportStyle.css)</style>
            </head><body>
            <header class="top"><div class="wrap">
            <h1>Shiplog deployment report<small>\(scope)</small></h1>
            <dl class="meta">
            <div><dt>Ledger</dt><dd><code>\(h.ledger)</code></dd></div>
            <div><dt>Generated</dt><dd>\(Show.seconds(Timestamp.format(h.generatedAt)))</dd></div>
            <div><dt>Deployments</dt><dd>\(h.deployments)\(h.since.map { " begun since " + Show.seconds(Timestamp.format($0)) } ?? "")</dd></div>
            <div><dt>Ledger head</dt><dd><code>\(String(h.head.position)):\(h.head.hash)</code></dd></div>
            </dl>
            <nav class="toc"><a href="#summary">Delivery metrics</a><a href="#environments">Environments</a><a href="#recent">Recent deployments</a><a href="#history">History</a></nav>
            </div></header>
            <main class="wrap">

            """)
    }

    func end(_ h: Heading) throws {
        try write(
            """
            <footer>Written by <code>shiplog report</code> from the ledger's projections at \(Show.seconds(Timestamp.format(h.generatedAt))). \
            Times are UTC. The history it shows is the ledger's up to position \(String(h.head.position)); \
            <code>shiplog verify --expect \(String(h.head.position)):\(h.head.hash)</code> proves the ledger still holds that history unaltered.</footer>
            </main></body></html>

            """)
    }

    // MARK: Metrics

    func summary(_ m: DeliveryMetrics, chart: DeliveryMetrics, chartSince: Date?) throws {
        let f = m.frequency, c = m.changeFailure, t = m.timeToRestore, l = m.leadTime
        var restoreNote: HTML =
            t.restored.count == 0
            ? "no outage ended in the window" : "p90 \(MetricsText.span(seconds: t.restored.p90)) · \(MetricsText.plural(t.restored.count, "restore"))"
        if t.unrestored > 0 { restoreNote += " · <span class=\"warn\">\(t.unrestored) still failing</span>" }
        var leadNote: HTML =
            l.measured.count == 0
            ? "no successful change with a commit time"
            : "p90 \(MetricsText.span(seconds: l.measured.p90)) · \(MetricsText.plural(l.measured.count, "change")) measured"
        if l.withoutCommitTime > 0 { leadNote += " · \(l.withoutCommitTime) without a commit time" }
        try write(
            """
            <section id="summary"><h2>Delivery metrics</h2>
            <p class="lead">DORA's four keys over \(MetricsText.window(m)), by when each deployment finished. Restorations are not changes; abandoned deployments count in none.</p>
            <div class="tiles">
            <div class="tile"><div class="k">Deployment frequency</div><div class="v">\(MetricsText.rate(f.perWeek))<small>per week</small></div>\
            <div class="s">\(MetricsText.plural(f.deployments, "successful deployment")) · \(MetricsText.rate(f.perDay))/day <span class="bucket">\(f.bucket.rawValue)</span></div></div>
            <div class="tile"><div class="k">Change failure rate</div><div class="v">\(MetricsText.percent(c.rate))</div>\
            <div class="s">\(c.failed + c.rolledBack) of \(MetricsText.plural(c.finished, "finished change")): \(c.failed) failed, \(c.rolledBack) rolled back</div></div>
            <div class="tile"><div class="k">Time to restore</div><div class="v">\(Self.figure(t.restored.median))</div>\
            <div class="s">\(restoreNote)</div></div>
            <div class="tile"><div class="k">Lead time for changes</div><div class="v">\(Self.figure(l.measured.median))</div>\
            <div class="s">\(leadNote)</div></div>
            </div>
            <div class="panel chart"><h3>Deployments per week, by outcome</h3>
            <p class="note" style="margin:0 0 8px">Weeks begin on Monday (UTC), \(chartSince == nil ? "from the first deployment" : "since " + Show.seconds(Timestamp.format(chartSince!))) to now.</p>
            \(ReportChart.render(chart.weeks))</div>
            </section>

            """)
    }

    /// A median duration as a tile's figure, or a dash.
    static func figure(_ seconds: Double?) -> HTML {
        guard let seconds else { return "–" }
        return "\(MetricsText.span(seconds: seconds))<small>median</small>"
    }

    // MARK: Environments

    func environments(_ cards: [EnvironmentCard]) throws {
        try write("<section id=\"environments\"><h2>Environments</h2><p class=\"lead\">What runs in each environment now, and the version a rollback would restore.</p><div class=\"envs\">\n")
        for card in cards { try write(environment(card)) }
        if cards.isEmpty { try write("<p class=\"note\">No deployment is recorded.</p>") }
        try write("</div></section>\n")
    }

    func environment(_ card: EnvironmentCard) -> HTML {
        let (state, label) = Self.state(card)
        var rows: HTML = ""
        rows += "<dt>Running now</dt><dd>\(runningNow(card))</dd>"
        if let active = card.active {
            rows += "<dt>Deploying</dt><dd>\(link(active)) <span class=\"muted\">\(active.currentPhase), since \(MetricsText.minute(active.startedAt))</span></dd>"
        }
        if let stable = card.lastStable, stable.deploymentID == card.latest?.deploymentID, card.latest?.status == "success" {
            rows += "<dt>Last stable</dt><dd class=\"muted\">the same: a rollback would restore it</dd>"
        } else if let stable = card.lastStable {
            rows +=
                "<dt>Last stable</dt><dd>\(version(stable)) <span class=\"muted\">· \(stable.gitRef)</span><br><span class=\"muted\">\(link(stable)), finished \(MetricsText.minute(stable.finishedAt))</span></dd>"
        } else {
            rows += "<dt>Last stable</dt><dd class=\"muted\">none: no deployment succeeded and stayed good</dd>"
        }
        if let outage = card.openOutage {
            rows += "<dt>No success since</dt><dd>\(MetricsText.minute(outage.since)) <span class=\"muted\">(\(outage.deploymentID) did not succeed)</span></dd>"
        }
        let m = card.metrics, c = m.changeFailure
        return """
            <div class="env st-\(state)"><header><h3>\(card.name)</h3><span class="pill \(state)">\(label)</span></header><dl>\(rows)</dl>\
            <div class="counts"><span>since \(String(m.since.prefix(10))):</span><span><b>\(m.frequency.deployments)</b> succeeded</span><span><b>\(c.failed)</b> failed</span>\
            <span><b>\(c.rolledBack)</b> rolled back</span><span>failure rate <b>\(MetricsText.percent(c.rate))</b></span>\
            <span>restore <b>\(MetricsText.span(seconds: m.timeToRestore.restored.median))</b></span></div></div>

            """
    }

    /// The environment's state in a word, and its class.
    static func state(_ card: EnvironmentCard) -> (HTML, String) {
        if card.active != nil { return ("run", "deploying") }
        switch card.latest?.status {
        case "success", "rolled_back": return ("ok", "stable")
        case "failed": return ("f", "failing")
        case "abandoned": return ("ab", "uncertain")
        default: return ("none", "no deployment")
        }
    }

    /// The version the environment runs, as far as the ledger knows.
    func runningNow(_ card: EnvironmentCard) -> HTML {
        guard let latest = card.latest else { return "<span class=\"muted\">nothing deployed yet</span>" }
        switch latest.status {
        case "success":
            return "\(version(latest)) <span class=\"muted\">· \(latest.gitRef)</span><br><span class=\"muted\">\(link(latest)), deployed \(MetricsText.minute(latest.finishedAt))</span>"
        case "rolled_back":
            let restored: HTML = card.restored.map { version($0) } ?? "\(latest.rolledBackTo ?? "the previous version")"
            return "\(restored)<br><span class=\"muted\">restored \(MetricsText.minute(latest.finishedAt)) when \(link(latest)) was rolled back</span>"
        default:
            let why = latest.failureReason.map { ": " + $0 } ?? ""
            return "<span class=\"warn\">uncertain</span><br><span class=\"muted\">\(link(latest)) \(latest.status == "abandoned" ? "was abandoned" : "failed")\(why)</span>"
        }
    }

    func version(_ r: DeploymentRecord) -> HTML {
        "<code>\(String(r.gitSHA.prefix(12)))</code>"
    }

    /// A deployment's id, linked to its details when the page has them.
    func link(_ r: DeploymentRecord) -> HTML {
        detailed.contains(r.deploymentID) ? "<a href=\"#d-\(r.deploymentID)\"><code>\(r.deploymentID)</code></a>" : "<code>\(r.deploymentID)</code>"
    }

    // MARK: Details

    func beginDetails(count: Int, shown: Int) throws {
        let lead: HTML =
            shown == 0
            ? "No deployment matches."
            : "The newest \(shown == 1 ? "deployment" : MetricsText.plural(shown, "deployment")) in full: every event of the timeline, every health-check attempt, and the logs kept with their retention. The history below lists all \(count)."
        try write("<section id=\"recent\"><h2>Recent deployments</h2><p class=\"lead\">\(lead)</p>\n")
    }

    func endDetails() throws { try write("</section>\n") }

    func detail(_ d: Detail, now: Date) throws {
        let r = d.record
        var facts: [(String, HTML)] = [
            ("Environment", "\(r.environment)"),
            ("Git SHA", "<code>\(r.gitSHA)</code>"),
            ("Ref", "\(r.gitRef)"),
            ("Triggered by", "\(r.triggeredBy) <span class=\"muted\">(\(r.mode))</span>"),
            ("Services", "\(Show.services(r.servicesDeployed))"),
            ("Health", "\(Show.healthChecks(r.healthChecks))"),
            ("Started", "\(Show.seconds(r.startedAt))"),
            ("Finished", "\(Show.seconds(r.finishedAt))"),
            ("Duration", "\(Show.duration(ms: r.durationMs))"),
            ("Rollback target", r.previousStableID.map { "<code>\($0)</code>" } ?? "<span class=\"muted\">none</span>"),
        ]
        if let commit = r.commitTime {
            let lead: HTML =
                r.status == "success" ? " <span class=\"muted\">(lead time \(MetricsText.span(seconds: leadSeconds(r, commit: commit))))</span>" : ""
            facts.append(("Committed", "\(Show.seconds(commit))\(lead)"))
        }
        if let to = r.rolledBackTo { facts.append(("Rolled back to", "<code>\(to)</code>")) }
        if let why = r.failureReason { facts.append(("Failure", "<span class=\"warn\">\(why)</span>")) }
        if let bad = r.markedBadReason { facts.append(("Marked bad", "<span class=\"warn\">\(bad)</span> <span class=\"muted\">by \(r.markedBadBy ?? "?")</span>")) }
        var html: HTML = """
            <article class="dep" id="d-\(r.deploymentID)"><header>\(Self.pill(r))<h3>\(r.deploymentID)</h3>\
            <span class="where">\(r.environment) · <code>\(String(r.gitSHA.prefix(12)))</code> · \(r.gitRef)</span></header><div class="body"><dl class="facts">
            """
        for (label, value) in facts { html += "<div><dt>\(label)</dt><dd>\(value)</dd></div>" }
        html += "</dl>\n<h4>Timeline</h4><table class=\"tl\"><thead><tr><th>Time</th><th>Elapsed</th><th>Event</th><th>Detail</th></tr></thead><tbody>\n"
        let start = d.events.first.flatMap { Timestamp.parse($0.event.recordedAt) }
        for (index, item) in d.events.enumerated() {
            let e = item.event
            var elapsed = "-"
            if let start, let at = Timestamp.parse(e.recordedAt) { elapsed = Show.duration(ms: Int64((at.timeIntervalSince(start) * 1000).rounded())) }
            let description = item.decoded.map(ShowCommand.describe) ?? e.data
            html +=
                "<tr class=\"\(Self.rowClass(item.decoded, last: index == d.events.count - 1))\"><td>\(Show.seconds(e.recordedAt))</td><td>+\(elapsed)</td><td>\(e.type)</td><td>\(description)</td></tr>\n"
        }
        html += "</tbody></table>\n<h4>Logs kept</h4>"
        if d.artifacts.isEmpty {
            html += "<p class=\"note\">None.</p>"
        } else {
            html += "<table class=\"art\"><thead><tr><th>Artifact</th><th>Phase</th><th>Size</th><th>Stored</th><th>Expires</th><th>Retention</th></tr></thead><tbody>\n"
            for a in d.artifacts {
                html += """
                    <tr><td><code>\(a.name)</code></td><td>\(a.phase)</td><td>\(Show.size(a.size))</td><td>\(MetricsText.minute(a.storedAt))</td>\
                    <td>\(MetricsText.minute(a.expiresAt))</td><td>\(retention(a, now: now))</td></tr>

                    """
            }
            html += "</tbody></table>"
        }
        html += "</div></article>\n"
        try write(html)
    }

    func leadSeconds(_ r: DeploymentRecord, commit: String) -> Double? {
        guard let finished = r.finishedAt.flatMap(Timestamp.parse), let committed = Timestamp.parse(commit) else { return nil }
        return max(0, finished.timeIntervalSince(committed))
    }

    func retention(_ a: ArtifactRecord, now: Date) -> HTML {
        switch a.state {
        case .pruned: return "<span class=\"pill ab\">pruned</span> <span class=\"muted\">\(MetricsText.minute(a.prunedAt))</span>"
        case .expired: return "<span class=\"pill f\">expired</span> <span class=\"muted\">\(a.retentionDays) days</span>"
        case .expiringSoon, .retained:
            let left = Timestamp.parse(a.expiresAt).map { Int(($0.timeIntervalSince(now) / 86_400).rounded(.down)) } ?? 0
            let pill: HTML = a.state == .retained ? "<span class=\"pill ok\">retained</span>" : "<span class=\"pill rb\">expiring soon</span>"
            return "\(pill) <span class=\"muted\">\(a.retentionDays) days, \(left) left</span>"
        }
    }

    static func rowClass(_ event: DeploymentEvent?, last: Bool) -> HTML {
        switch event {
        case .healthCheckAttempted(let a)?: return a.healthy ? "hc" : "hc bad"
        case .stepFailed?, .serviceUnhealthy?, .healthChecksFailed?, .notificationFailed?: return "bad"
        case .deploymentSucceeded?, .deploymentFailed?, .deploymentRolledBack?, .deploymentAbandoned?: return last ? "end" : ""
        default: return ""
        }
    }

    // MARK: History

    func beginHistory() throws {
        try write(
            "<section id=\"history\"><h2>History</h2><p class=\"lead\">Every deployment, newest first: one row each. The ones shown in full above link to them.</p>\n")
    }

    func endHistory() throws { try write("</section>\n") }

    func beginHistoryTable(environment: String, count: Int) throws {
        try write(
            """
            <div class="hist"><header><h3>\(environment)</h3><span class="muted">\(MetricsText.plural(count, "deployment"))</span></header>
            <table><thead><tr><th>Status</th><th>SHA</th><th>Ref</th><th>By</th><th>Started (UTC)</th><th>Duration</th><th>Rollback / reason</th></tr></thead><tbody>

            """)
    }

    func endHistoryTable(empty: Bool) throws {
        try write(empty ? "</tbody></table><p class=\"note\" style=\"padding:0 16px 12px\">No deployment begun in this window.</p></div>\n" : "</tbody></table></div>\n")
    }

    /// One history row, its closing tags left to the parser (HTML allows it): at 50,000 rows
    /// every byte counts.
    func historyRow(_ r: DeploymentRecord, detailed: Bool) throws {
        let sha = String(r.gitSHA.prefix(12))
        let shaCell: HTML = detailed ? "<a href=\"#d-\(r.deploymentID)\">\(sha)</a>" : "\(sha)"
        try write(
            "<tr class=\(Self.statusClass(r))><td>\(Self.statusLabel(r))<td>\(shaCell)<td>\(r.gitRef)<td>\(r.triggeredBy)<td>\(MetricsText.minute(r.startedAt))<td>\(Show.duration(ms: r.durationMs))<td>\(Self.note(r))\n"
        )
    }

    /// The last column of a history row: where a rollback went, or why it failed.
    static func note(_ r: DeploymentRecord) -> String {
        var notes: [String] = []
        if let to = r.rolledBackTo { notes.append("↩ " + String(to.drop { $0 != "-" }.dropFirst())) }
        if let why = r.failureReason { notes.append(why.count > 100 ? why.prefix(99) + "…" : why) }
        if let bad = r.markedBadReason { notes.append("marked bad: " + (bad.count > 60 ? bad.prefix(59) + "…" : bad)) }
        return notes.joined(separator: "; ")
    }

    static func statusClass(_ r: DeploymentRecord) -> HTML {
        if DeliveryMetrics.isRestoration(r) && r.status == "success" { return "rs" }
        switch r.status {
        case "success": return "ok"
        case "failed": return "f"
        case "rolled_back": return "rb"
        case "running": return "run"
        default: return "ab"
        }
    }

    static func statusLabel(_ r: DeploymentRecord) -> String {
        if DeliveryMetrics.isRestoration(r) && r.status == "success" { return "restored" }
        return r.status == "rolled_back" ? "rolled back" : r.status
    }

    static func pill(_ r: DeploymentRecord) -> HTML {
        "<span class=\"pill \(statusClass(r))\">\(statusLabel(r))</span>"
    }
}
