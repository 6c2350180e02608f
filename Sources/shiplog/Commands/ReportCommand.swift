import ArgumentParser
import EventStore
import Foundation
import Ledger

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write an HTML audit report: environments, DORA metrics, every deployment.",
        discussion: """
            One self-contained HTML file to open in a browser or print: no script, no font or \
            image fetched. Per environment, what runs now and the last stable version; DORA's four \
            keys (see `shiplog metrics`) and a chart of deployments per week by outcome; the newest \
            deployments in full (--detail, 50 by default: every event, every health-check attempt, \
            the logs kept and their retention); then a history table of every deployment, one row \
            each. Every recorded field is shown as text, never as markup.

            --since keeps the deployments begun at or after that time, and measures the metrics \
            from it (by default, over the last 90 days). The file is written beside its final path \
            and renamed into place when complete; the ledger itself is refused as --output.

            Examples:
              shiplog report --output report.html
              shiplog report --env production --since 2024-10-01 --output production.html
            """)

    @OptionGroup var ledger: LedgerOptions
    @Option(help: ArgumentHelp("The HTML file to write.", valueName: "file")) var output: String
    @Option(help: "Only this environment.") var env: String?
    @Option(help: ArgumentHelp("Only deployments begun at or after this time; the metrics are measured from it.", valueName: "time"))
    var since: String?
    @Option(help: ArgumentHelp("How many of the newest deployments to show in full (0 to 1000).", valueName: "n")) var detail = 50

    func validate() throws {
        if output.isEmpty { throw ValidationError("--output must name a file") }
        if let since {
            let date = try TimeArgument.require(since, option: "--since")
            if date >= Date() { throw ValidationError("--since (\(since)) must be in the past") }
        }
        if !(0...1_000).contains(detail) { throw ValidationError("--detail must be 0 to 1000; got \(detail)") }
    }

    func run() throws {
        try reporting {
            let store = try ledger.open(.readOnly)
            let opened = LedgerOptions.ledger(on: store)
            let queries = Queries(ledger: opened)
            let file = try AtomicFile(path: output, protecting: ledger.path, verb: "write the report")
            let now = Date()
            let head = try store.head()
            let sinceDate = since.flatMap(TimeArgument.parse)
            let sinceText = sinceDate.map(Timestamp.format)

            // One pass, oldest first: the metrics' window, the chart's weeks, the counts.
            var metrics = DeliveryMetrics.Tally(since: sinceDate ?? now.addingTimeInterval(-MetricsCommand.defaultDays * 86_400), until: now)
            var chart = DeliveryMetrics.Tally(since: sinceDate, until: now)
            var counts: [String: Int] = [:]
            try queries.forEachRecord(Queries.Filter(environment: env), newestFirst: false) { r in
                metrics.add(r)
                chart.add(r)
                if sinceText.map({ r.startedAt >= $0 }) ?? true { counts[r.environment, default: 0] += 1 }
            }
            let names = env.map { [$0] } ?? chart.environmentNames
            if let env, !chart.environmentNames.contains(env), counts[env] == nil {
                throw LedgerError.notFound("no deployment of \(env) is recorded; `shiplog history` lists the environments")
            }

            let filter = Queries.Filter(environment: env, since: sinceText)
            var details: [ReportRenderer.Detail] = []
            if detail > 0 {
                var newest: [DeploymentRecord] = []
                try queries.forEachRecord(filter, newestFirst: true, limit: detail) { newest.append($0) }
                for r in newest {
                    let events = try store.readStream(Ledger.stream(deployment: r.deploymentID), from: 1).map { ($0, try DeploymentEvent.decode($0)) }
                    details.append(ReportRenderer.Detail(record: r, events: events, artifacts: try queries.artifacts(deploymentID: r.deploymentID, now: now)))
                }
            }
            let active = try queries.activeDeployments(environment: env)
            let cards = try names.map { name in
                let latest = chart.latestFinished(environment: name)
                return ReportRenderer.EnvironmentCard(
                    name: name, lastStable: try opened.lastStableRecord(environment: name),
                    latest: latest, restored: try latest?.rolledBackTo.flatMap { try queries.record($0) },
                    active: active.first { $0.environment == name }, metrics: metrics.metrics(environment: name),
                    openOutage: chart.openOutage(environment: name))
            }

            let total = counts.values.reduce(0, +)
            let heading = ReportRenderer.Heading(
                ledger: store.location, head: head, generatedAt: now, environment: env, since: sinceDate, deployments: total,
                detailed: details.count)
            var renderer = ReportRenderer(out: file)
            renderer.detailed = Set(details.map(\.record.deploymentID))
            try renderer.begin(heading)
            try renderer.summary(metrics.metrics(environment: env), chart: chart.metrics(environment: env), chartSince: sinceDate)
            try renderer.environments(cards)
            try renderer.beginDetails(count: total, shown: details.count)
            for d in details { try renderer.detail(d, now: now) }
            try renderer.endDetails()
            try renderer.beginHistory()
            for name in names {
                try renderer.beginHistoryTable(environment: name, count: counts[name] ?? 0)
                try queries.forEachRecord(Queries.Filter(environment: name, since: sinceText), newestFirst: true) { r in
                    try renderer.historyRow(r, detailed: renderer.detailed.contains(r.deploymentID))
                }
                try renderer.endHistoryTable(empty: (counts[name] ?? 0) == 0)
            }
            try renderer.endHistory()
            try renderer.end(heading)
            try file.commit()
            let size = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? NSNumber)?.int64Value ?? 0
            TerminalText.note(
                "wrote \(output) (\(Show.size(size))): \(MetricsText.plural(total, "deployment")), the newest \(details.count) in full; open it in a browser")
        }
    }
}
