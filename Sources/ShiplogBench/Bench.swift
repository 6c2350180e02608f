import EventStore
import SQLiteStore
import Foundation
import Ledger
import Runner

/// Every workload of issue 5, each on a fresh ledger: a file in a temporary directory, or a
/// database of the PostgreSQL cluster `--pg-url` names (`--backend postgres`).
final class Bench {
    struct Options {
        var quick = false
        var json = false
        var shiplog: String?
        var baseline: String?
        var schema: String?
        var testserver: String?
        /// Only these workloads (see `Bench.workloads`); all when empty.
        var only: Set<String> = []
        /// Keep the large ledger at this path, and reuse it when it is already there.
        var ledger: String?
        /// Scans and verify on one thread only, to see what the second one brings.
        var oneThread = false
        /// Only the append workloads of these sizes (events per transaction: 1, 20, 1000), for profiling one.
        var appendSizes: Set<Int> = []
        /// `sqlite` or `postgres`.
        var backend = "sqlite"
        /// The PostgreSQL cluster without a database name (tools/pg's DIR/url).
        var pgURL: String?
        /// The compiled tools/bench-baseline-pg.c.
        var pgBaseline: String?
        /// migrations/postgres/0001_events.pg.sql, for the PostgreSQL C baseline.
        var pgSchema: String?
    }

    static let workloads = [
        "append", "append-concurrent", "read", "rebuild", "verify", "queries", "export", "memory",
        "append-at-scale", "health", "report",
    ]

    /// How big each workload is.
    struct Sizes {
        var runs: Int
        var singleEvents: Int
        var batchEvents: Int
        var deployments: Int
        var queryIterations: Int
        var processRuns: Int
        var scaleAppendEvents: Int
        /// Events each process appends in the concurrent-appenders workload (PostgreSQL).
        var concurrentEvents: Int = 0
        /// Runs of each append workload against the C program, taking turns.
        var appendRuns: Int

        static let full = Sizes(
            runs: 3, singleEvents: 5_000, batchEvents: 100_000, deployments: 50_000,
            queryIterations: 1_000, processRuns: 30, scaleAppendEvents: 20_000, concurrentEvents: 1_000, appendRuns: 3)
        static let quick = Sizes(
            runs: 1, singleEvents: 500, batchEvents: 10_000, deployments: 1_000,
            queryIterations: 200, processRuns: 10, scaleAppendEvents: 2_000, concurrentEvents: 100, appendRuns: 1)

        /// In tmpfs an append workload of the full size lasts a tenth of a second or so, and one
        /// busy moment of the machine moves its ratio by a tenth: four times the events and five
        /// runs each (the median taken) keep the CPU-bound ratios steady.
        func cpuBound() -> Sizes {
            var sizes = self
            sizes.singleEvents *= 4
            sizes.batchEvents *= 4
            sizes.appendRuns = 5
            return sizes
        }
    }

    /// How many processes append at once in the concurrent-appenders workload.
    static let concurrentWriters = 8

    let options: Options
    let sizes: Sizes
    let shiplog: String
    let baseline: String
    let schema: String
    let testserver: String
    let scratch: Scratch
    /// The scratch directory is tmpfs (`tools/bench --tmpfs`): the CPU-bound table.
    let ledgersInTmpfs: Bool
    let backend: any BenchBackend
    var isPostgres: Bool { backend is PostgresBackend }
    var report: Report

    init(_ options: Options) throws {
        self.options = options
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path
        let root = FileManager.default.currentDirectoryPath
        shiplog = options.shiplog ?? here + "/shiplog"
        baseline = options.baseline ?? here + "/bench-baseline"
        schema = options.schema ?? root + "/migrations/0001_events.sql"
        testserver = options.testserver ?? root + "/tools/testserver.py"
        for (what, path) in [("shiplog", shiplog), ("bench-baseline", baseline), ("schema", schema), ("testserver", testserver)] {
            guard FileManager.default.fileExists(atPath: path) else { throw BenchError("\(what) not found at \(path); tools/bench builds it") }
        }
        scratch = try Scratch("shiplog-bench")
        ledgersInTmpfs = scratch.isTmpfs
        sizes = options.quick ? .quick : ledgersInTmpfs && options.backend == "sqlite" ? Sizes.full.cpuBound() : .full
        switch options.backend {
        case "sqlite":
            backend = SQLiteBackend(scratch: scratch, baseline: baseline, schema: schema, oneThread: options.oneThread)
        case "postgres":
            guard let url = options.pgURL else { throw BenchError("--backend postgres needs --pg-url (tools/bench starts a cluster and passes it)") }
            let pgBaseline = options.pgBaseline ?? here + "/bench-baseline-pg"
            let pgSchema = options.pgSchema ?? root + "/migrations/postgres/0001_events.pg.sql"
            for (what, path) in [("bench-baseline-pg", pgBaseline), ("PostgreSQL schema", pgSchema)] {
                guard FileManager.default.fileExists(atPath: path) else { throw BenchError("\(what) not found at \(path); tools/bench builds it") }
            }
            if options.ledger != nil { throw BenchError("--ledger keeps a SQLite file; it does not apply to --backend postgres") }
            backend = try PostgresBackend(baseURL: url, baseline: pgBaseline, schema: pgSchema)
        default:
            throw BenchError("unknown backend \(options.backend) (sqlite or postgres)")
        }
        let date = ISO8601DateFormatter().string(from: Date())
        report = Report(mode: options.quick ? "quick" : "full", date: date, cores: ProcessInfo.processInfo.activeProcessorCount)
        if isPostgres { report.notes.append(("backend", backend.description + ", a throwaway local cluster on a Unix socket")) }
        report.notes.append(
            (
                "ledgers",
                ledgersInTmpfs
                    ? "in tmpfs (\(scratch.path)): no disk, fsync returns at once, so rates compare CPU per event"
                    : "on disk (\(scratch.path)): durable appends wait for fsync"
            ))
    }

    /// The figure's target on this backend: SQLite's own (in tmpfs, the CPU-bound one where
    /// there is one), or the PostgreSQL one (`Targets`).
    func target(_ key: String, _ sqlite: Figure.Target?) -> Figure.Target? {
        if isPostgres { return Targets.postgres[key] }
        return ledgersInTmpfs ? Targets.tmpfs[key] ?? sqlite : sqlite
    }

    func wants(_ workload: String) -> Bool { options.only.isEmpty || options.only.contains(workload) }

    func run() throws -> Report {
        let started = now()
        if wants("append") { try appendWorkloads() }
        if wants("append-concurrent") && isPostgres { try concurrentAppenders() }
        if !Set(Self.workloads).subtracting(["append", "append-concurrent", "health"]).filter(wants).isEmpty {
            let domain: DomainLedger
            if let path = options.ledger, FileManager.default.fileExists(atPath: path) {
                note("reusing the ledger at \(path)")
                domain = try DomainLedger.open(path: path)
            } else {
                note("building a ledger of \(sizes.deployments) deployments…")
                let buildStart = now()
                let location = try options.ledger ?? backend.fresh("domain")
                domain = try DomainLedger.build(location: location, backend: backend, deployments: sizes.deployments)
                note("built \(domain.events) events in \(String(format: "%.1f", now() - buildStart)) s")
            }
            report.notes.append(
                (
                    "scale ledger",
                    "\(domain.deployments) deployments, \(domain.events) events, "
                        + "\(Int(domain.payloadBytes.rounded())) bytes of data+metadata per event on average"
                ))
            try scaleReads(domain)
            if wants("queries") { try queries(domain) }
            if wants("export") { try export(domain) }
            if wants("memory") { try memory(domain) }
            if wants("report") { try reportAndMetrics(domain) }
            if wants("append-at-scale") { try appendAtScale(domain) }
        }
        // The health checks measure libcurl against a loopback server: the ledger's backend plays no part.
        if wants("health") && !isPostgres { try health() }
        report.notes.append(
            (
                "runs",
                "median of \(sizes.runs) run\(sizes.runs == 1 ? "" : "s") per rate"
                    + (sizes.appendRuns == sizes.runs ? "; " : " (\(sizes.appendRuns) for appends); ")
                    + "\(sizes.queryIterations) in-process and \(sizes.processRuns) whole-process runs per query"
            ))
        report.notes.append(("total time", String(format: "%.0f s", now() - started)))
        return report
    }

    // MARK: Appends

    /// Swift: the store's own append, `perTransaction` events per call, streams of 20 events.
    /// The payloads are made before the clock starts, as the C baseline's are; event ids are made
    /// in the loop, as a writer makes them.
    func swiftAppend(location: String, events: Int, perTransaction: Int, streamOffset: Int = 0) throws -> Double {
        try swiftAppendRates(location: location, events: events, perTransaction: perTransaction, streamOffset: streamOffset).wall
    }

    /// `swiftAppend`'s rate over wall time and over the CPU time the appends used.
    func swiftAppendRates(location: String, events: Int, perTransaction: Int, streamOffset: Int = 0) throws -> Rates {
        let store = try backend.open(location, mode: .create)
        let streamSize = 20
        let payloads = (0..<events).map { Payload.make(seq: $0, stream: Payload.stream(streamOffset + $0 / streamSize)) }
        let start = now(), cpuStart = cpuNow()
        var done = 0
        while done < events {
            let inTransaction = min(perTransaction, events - done)
            var batches: [StreamAppend] = []
            var k = 0
            while k < inTransaction {
                let index = done + k
                let before = index % streamSize
                let count = min(inTransaction - k, streamSize - before)
                let stream = Payload.stream(streamOffset + index / streamSize)
                let made = (0..<count).map { j in NewEvent(type: "BenchEventRecorded", data: payloads[index + j]) }
                batches.append(StreamAppend(stream: stream, expected: before == 0 ? .noStream : .exactly(Int64(before)), events: made))
                k += count
            }
            try store.append(batches)
            done += inTransaction
        }
        return Rates(wall: Double(events) / (now() - start), cpu: Double(events) / (cpuNow() - cpuStart))
    }

    /// C: the same workload from tools/bench-baseline.c (or -pg.c) on its own fresh ledger.
    func cAppend(location: String, events: Int, perTransaction: Int) throws -> Rates {
        let (program, arguments) = backend.baselineAppend(location, events: events, perTransaction: perTransaction)
        return try rates(try runChecked(program, arguments, captureOutput: true).stdout)
    }

    func rate(_ json: String) throws -> Double { try rates(json).wall }

    /// A baseline's rate over wall time, and over its CPU time where it reports one (NaN otherwise).
    func rates(_ json: String) throws -> Rates {
        guard let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
            let rate = (object["events_per_s"] as? NSNumber)?.doubleValue
        else {
            throw BenchError("bench-baseline printed no rate: \(json)")
        }
        let events = (object["events"] as? NSNumber)?.doubleValue ?? .nan
        let cpu = (object["cpu_seconds"] as? NSNumber)?.doubleValue ?? .nan
        return Rates(wall: rate, cpu: events / cpu)
    }

    func appendWorkloads() throws {
        let workloads: [(key: String, label: String, events: Int, perTx: Int, target: Double)] = [
            ("append_single_durable", "durable append, 1 event/tx (\(sizes.singleEvents))", sizes.singleEvents, 1, 0.8),
            ("append_deployment_batch", "append, 20 events/tx (\(sizes.batchEvents))", sizes.batchEvents, 20, 0.5),
            ("append_bulk_import", "bulk import, 1,000 events/tx (\(sizes.batchEvents))", sizes.batchEvents, 1_000, 0.5),
        ]
        for w in workloads where options.appendSizes.isEmpty || options.appendSizes.contains(w.perTx) {
            note("\(w.label)…")
            var swift: [Rates] = [], c: [Rates] = []
            for run in 0..<sizes.appendRuns {
                // Alternate which goes first, so neither always meets a warmer disk.
                let order = run % 2 == 0 ? [true, false] : [false, true]
                for isSwift in order {
                    let location = try backend.fresh("\(w.key)-\(isSwift ? "swift" : "c")-\(run)")
                    if isSwift {
                        swift.append(try swiftAppendRates(location: location, events: w.events, perTransaction: w.perTx))
                    } else {
                        c.append(try cAppend(location: location, events: w.events, perTransaction: w.perTx))
                    }
                    backend.remove(location)
                }
            }
            report.figures.append(
                Figure(
                    key: w.key, label: w.label, value: swift.map(\.wall).median, unit: .eventsPerSecond,
                    baseline: c.map(\.wall).median, target: target(w.key, .ratioAtLeast(w.target)),
                    extra: Rates.cpuExtra(swift, c)))
        }
    }

    /// The append rate on the large ledger against a fresh one, same workload, durable.
    func appendAtScale(_ domain: DomainLedger) throws {
        var streamOffset = 1_000_000
        for (key, label, perTx) in [
            ("append_at_scale_deployment_batch", "20 events/tx", 20),
            ("append_at_scale_bulk_import", "1,000 events/tx", 1_000),
        ] {
            note("append \(label) at \(domain.events) events vs empty…")
            var empty: [Double] = [], full: [Double] = []
            for run in 0..<sizes.runs {
                let location = try backend.fresh("scale-empty-\(key)-\(run)")
                empty.append(try swiftAppend(location: location, events: sizes.scaleAppendEvents, perTransaction: perTx))
                backend.remove(location)
                // New streams each run: the large ledger keeps what earlier runs appended.
                full.append(
                    try swiftAppend(
                        location: domain.location, events: sizes.scaleAppendEvents, perTransaction: perTx,
                        streamOffset: streamOffset))
                streamOffset += sizes.scaleAppendEvents
            }
            report.figures.append(
                Figure(
                    key: key, label: "append \(label) at \(Figure.number(Double(domain.events))) events / empty",
                    value: full.median / empty.median, unit: .ratio, target: target(key, .atLeast(0.8)),
                    extra: [
                        ("rate_at_scale", full.median), ("rate_empty", empty.median),
                        ("events", Double(sizes.scaleAppendEvents)),
                    ]))
        }
    }

    // MARK: Concurrent appenders (PostgreSQL)

    /// Eight `shiplog debug append-loop` processes, each on its own stream with expected
    /// versions, one event per transaction, against one ledger: their total rate over the
    /// wall time from the first spawn to the last exit, as a multiple of one such process alone.
    /// Process start-up is inside both times.
    func concurrentAppenders() throws {
        let writers = Self.concurrentWriters, count = sizes.concurrentEvents
        note("\(writers) concurrent appenders vs 1, \(count) events each, 1 event/tx…")
        var single: [Double] = [], together: [Double] = []
        for run in 0..<sizes.runs {
            for n in [1, writers] {
                let location = try backend.fresh("concurrent-\(n)-\(run)")
                // The schema is made first: the writers must not race to create it.
                _ = try backend.open(location, mode: .create)
                let commands = (0..<n).map { w in
                    ["debug", "append-loop", "--db", location, "--stream", "bench-writer-\(w)", "--count", String(count), "--mode", "shared"]
                }
                let seconds = try runConcurrently(shiplog, commands)
                let appended = try backend.open(location, mode: .readOnly).head().position
                guard appended == Int64(n * count) else { throw BenchError("\(n) appenders wrote \(appended) of \(n * count) events") }
                if n == 1 { single.append(Double(count) / seconds) } else { together.append(Double(n * count) / seconds) }
                backend.remove(location)
            }
        }
        report.figures.append(
            Figure(
                key: "append_concurrent", label: "\(writers) concurrent appenders, total / 1 appender (\(count) events each)",
                value: together.median / single.median, unit: .ratio, target: target("append_concurrent", nil),
                extra: [("rate_concurrent", together.median), ("rate_single", single.median)]))
        report.notes.append(
            (
                "concurrent appenders",
                "\(writers) processes: \(Figure.number(together.median)) events/s in all; "
                    + "1 process: \(Figure.number(single.median)) events/s"
            ))
    }

    // MARK: Reading the large ledger

    func scaleReads(_ domain: DomainLedger) throws {
        let store = try backend.open(domain.location, mode: .existing)
        if wants("read") { try readAll(domain, store) }
        if wants("rebuild") { try rebuild(domain, store) }
        if wants("verify") { try verify(domain, store) }
    }

    func readAll(_ domain: DomainLedger, _ store: any EventStore) throws {
        note("read-all-and-decode…")
        var read: [Rates] = [], cRead: [Rates] = []
        for _ in 0..<sizes.runs {
            var count: Int64 = 0, decoded: Int64 = 0
            let cpuStart = cpuNow()
            let seconds = try timed {
                try store.forEachEvent(from: 1, through: .max) { event, data in
                    count += 1
                    if case .some = try DeploymentEvent.decode(event, data: data) { decoded += 1 }
                }
            }
            guard count == domain.events, decoded >= domain.domainEvents else {
                throw BenchError("read \(count) of \(domain.events) events, decoded \(decoded) of \(domain.domainEvents)")
            }
            read.append(Rates(wall: Double(count) / seconds, cpu: Double(count) / (cpuNow() - cpuStart)))
            let (program, arguments) = backend.baselineRead(domain.location)
            cRead.append(try rates(try runChecked(program, arguments, captureOutput: true).stdout))
        }
        report.figures.append(
            Figure(
                key: "read_all_decode", label: "read all + decode (\(domain.label) events)", value: read.map(\.wall).median,
                unit: .eventsPerSecond, baseline: cRead.map(\.wall).median,
                target: target("read_all_decode", .atLeast(500_000)), extra: Rates.cpuExtra(read, cRead)))
    }

    func rebuild(_ domain: DomainLedger, _ store: any EventStore) throws {
        note("rebuild…")
        var rates: [Double] = [], cpuRates: [Double] = []
        for _ in 0..<sizes.runs {
            var count: Int64 = 0
            let cpuStart = cpuNow()
            let seconds = try timed { count = try backend.ledger(on: store).rebuild() }
            guard count == domain.events else { throw BenchError("rebuild replayed \(count) of \(domain.events) events") }
            rates.append(Double(count) / seconds)
            cpuRates.append(Double(count) / (cpuNow() - cpuStart))
        }
        report.figures.append(
            Figure(
                key: "rebuild", label: "projection rebuild (\(domain.label) events)", value: rates.median,
                unit: .eventsPerSecond, target: target("rebuild", .atLeast(500_000)), extra: [("cpu_events_per_s", cpuRates.median)]))
    }

    func verify(_ domain: DomainLedger, _ store: any EventStore) throws {
        note("verify…")
        var rates: [Double] = [], cRates: [Double] = []
        for _ in 0..<sizes.runs {
            var verified: VerifyReport?
            let seconds = try timed { verified = try store.verify(expect: nil, progress: nil) }
            guard let verified, verified.isIntact, verified.eventsChecked == domain.events else {
                throw BenchError("verify failed: \(String(describing: verified?.problem))")
            }
            rates.append(Double(domain.events) / seconds)
            if !isPostgres { cRates.append(try rate(try runChecked(baseline, ["verify", "--db", domain.location], captureOutput: true).stdout)) }
        }
        report.figures.append(
            Figure(
                key: "verify", label: "verify (\(domain.label) events)", value: rates.median,
                unit: .eventsPerSecond, baseline: cRates.isEmpty ? nil : cRates.median,
                target: target("verify", .atLeast(1_000_000))))
    }

    // MARK: Queries

    func queries(_ domain: DomainLedger) throws {
        let store = try backend.open(domain.location, mode: .readOnly)
        let queries = Queries(ledger: backend.ledger(on: store))
        let id = domain.sampleID
        let label = domain.label
        let list: [(key: String, label: String, target: (Double, Double)?, body: () throws -> Void, args: [String])] = [
            (
                "last_stable", "last-stable", (1, 30),
                {
                    guard try self.backend.ledger(on: store).lastStable(environment: "production") != nil else { throw BenchError("no stable production deployment") }
                }, ["last-stable", "--env", "production"]
            ),
            (
                "history_page", "history page of 50", nil,
                {
                    var n = 0
                    try queries.forEachRecord(Queries.Filter(), newestFirst: true, limit: 50) { _ in n += 1 }
                    guard n == 50 else { throw BenchError("history gave \(n) records") }
                }, ["history", "--limit", "50"]
            ),
            (
                "show", "show one deployment", (1, 30),
                {
                    guard try queries.record(id) != nil else { throw BenchError("no deployment \(id)") }
                    for event in try store.readStream(Ledger.stream(deployment: id), from: 1) { _ = try DeploymentEvent.decode(event) }
                    _ = try queries.artifacts(deploymentID: id, now: Date())
                }, ["show", id]
            ),
            (
                "artifacts_expiring", "artifacts expiring in 30 days", nil,
                {
                    _ = try queries.artifacts(expiringWithinDays: 30, now: Date())
                }, ["artifacts", "list", "--expiring-within", "30"]
            ),
        ]
        for q in list {
            note("\(q.label): in-process and as a process…")
            for _ in 0..<20 { try q.body() }
            var inProcess: [Double] = []
            for _ in 0..<sizes.queryIterations { inProcess.append(try timed(q.body) * 1000) }
            report.figures.append(
                Figure(
                    key: q.key + "_in_process", label: "\(q.label), in-process (\(label) events)",
                    value: inProcess.median, unit: .milliseconds,
                    target: target(q.key + "_in_process", q.target.map { .atMost($0.0) }),
                    extra: [("p99", inProcess.p99)]))
            var process: [Double] = []
            _ = try runChecked(shiplog, q.args + ["--db", domain.location])
            for _ in 0..<sizes.processRuns {
                process.append(try runChecked(shiplog, q.args + ["--db", domain.location]).seconds * 1000)
            }
            report.figures.append(
                Figure(
                    key: q.key + "_process", label: "\(q.label), whole process", value: process.median,
                    unit: .milliseconds, target: target(q.key + "_process", q.target.map { .atMost($0.1) }),
                    extra: [("p99", process.p99)]))
        }
    }

    // MARK: Export

    func export(_ domain: DomainLedger) throws {
        note("export records as JSON…")
        let store = try backend.open(domain.location, mode: .readOnly)
        let queries = Queries(ledger: backend.ledger(on: store))
        let sink = open("/dev/null", O_WRONLY)
        defer { close(sink) }
        var rates: [Double] = []
        var records = 0
        for _ in 0..<sizes.runs {
            records = 0
            var buffer: [UInt8] = []
            buffer.reserveCapacity(1 << 16)
            let seconds = try timed {
                buffer.append(UInt8(ascii: "["))
                try queries.forEachRecord(Queries.Filter(), newestFirst: false) { record in
                    buffer.append(contentsOf: (records == 0 ? "\n" : ",\n").utf8)
                    buffer.append(contentsOf: record.json.utf8)
                    records += 1
                    if buffer.count >= 1 << 16 {
                        _ = buffer.withUnsafeBytes { write(sink, $0.baseAddress, $0.count) }
                        buffer.removeAll(keepingCapacity: true)
                    }
                }
                buffer.append(contentsOf: "\n]\n".utf8)
                _ = buffer.withUnsafeBytes { write(sink, $0.baseAddress, $0.count) }
            }
            rates.append(Double(records) / seconds)
        }
        report.figures.append(
            Figure(
                key: "export_records", label: "export records as JSON (\(Figure.number(Double(records))) records)",
                value: rates.median, unit: .recordsPerSecond))
    }

    // MARK: Memory

    func memory(_ domain: DomainLedger) throws {
        let label = domain.label
        let out = scratch.file("export.out")
        let list: [(key: String, label: String, args: [String])] = [
            ("rss_rebuild", "peak RSS, shiplog rebuild", ["rebuild"]),
            ("rss_verify", "peak RSS, shiplog verify", ["verify"]),
            ("rss_export_records", "peak RSS, shiplog export --format json", ["export", "--format", "json", "--output", out]),
            ("rss_export_events", "peak RSS, shiplog export --events", ["export", "--events", "--output", out]),
        ]
        for m in list {
            note("\(m.label)…")
            // Through the C helper's fork: see `bench-baseline run`.
            let output = try runChecked(baseline, ["run", shiplog] + m.args + ["--db", domain.location], captureOutput: true).stdout
            unlink(out)
            guard let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any],
                let status = (object["status"] as? NSNumber)?.intValue, let kib = (object["max_rss_kib"] as? NSNumber)?.doubleValue,
                let seconds = (object["seconds"] as? NSNumber)?.doubleValue
            else {
                throw BenchError("bench-baseline run printed \(output)")
            }
            guard status == 0 else { throw BenchError("shiplog \(m.args.joined(separator: " ")) exited with \(status)") }
            report.figures.append(
                Figure(
                    key: m.key, label: "\(m.label) (\(label) events)", value: kib / 1024,
                    unit: .mebibytes, target: target(m.key, .atMost(64)), extra: [("seconds", seconds)]))
        }
    }

    // MARK: Metrics and the HTML report

    /// `shiplog metrics` over the whole history, and `shiplog report` of every deployment (the
    /// newest 50 in full), each as a whole process on the large ledger: time, peak memory
    /// (through `bench-baseline run`), and the report's size.
    func reportAndMetrics(_ domain: DomainLedger) throws {
        note("shiplog report and shiplog metrics…")
        let out = scratch.file("report.html")
        var seconds: [Double] = [], rss: [Double] = [], bytes = 0.0
        for _ in 0..<sizes.runs {
            let output = try runChecked(baseline, ["run", shiplog, "report", "--output", out, "--db", domain.location], captureOutput: true).stdout
            guard let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any],
                (object["status"] as? NSNumber)?.intValue == 0, let kib = (object["max_rss_kib"] as? NSNumber)?.doubleValue,
                let s = (object["seconds"] as? NSNumber)?.doubleValue
            else {
                throw BenchError("shiplog report: bench-baseline run printed \(output)")
            }
            seconds.append(s)
            rss.append(kib / 1024)
            bytes = (try FileManager.default.attributesOfItem(atPath: out)[.size] as? NSNumber)?.doubleValue ?? 0
            unlink(out)
        }
        let label = "\(Figure.number(Double(domain.deployments))) deployments"
        report.figures.append(
            Figure(key: "report_seconds", label: "shiplog report, whole process (\(label))", value: seconds.median, unit: .seconds, target: target("report_seconds", .atMost(5))))
        report.figures.append(
            Figure(key: "report_size", label: "shiplog report, file size (\(label))", value: bytes / 1_048_576, unit: .mebibytes, target: .atMost(10)))
        report.figures.append(
            Figure(key: "rss_report", label: "peak RSS, shiplog report (\(label))", value: rss.median, unit: .mebibytes, target: target("rss_report", .atMost(64))))
        var metrics: [Double] = []
        for _ in 0..<sizes.runs {
            metrics.append(try runChecked(shiplog, ["metrics", "--since", "2000-01-01", "--json", "--db", domain.location]).seconds * 1000)
        }
        report.figures.append(
            Figure(
                key: "metrics_process", label: "shiplog metrics over the whole history, whole process (\(label))", value: metrics.median,
                unit: .milliseconds, target: target("metrics_process", .atMost(1_000))))
    }

    // MARK: Health checks

    func health() throws {
        note("health checks: 4 endpoints, each answering after 2 s…")
        let portFile = scratch.file("port")
        let server = try BackgroundChild("python3", [testserver, "--port", "0", "--port-file", portFile, "--exit-with-parent"])
        defer { server.stop() }
        var port = ""
        let deadline = now() + 10
        while port.isEmpty && now() < deadline {
            port = ((try? String(contentsOfFile: portFile, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            if port.isEmpty { usleep(20_000) }
        }
        guard !port.isEmpty else { throw BenchError("the test server did not start") }
        let requests = (1...4).map { HealthProbeRequest(service: "service-\($0)", url: "http://127.0.0.1:\(port)/slow/2000", timeout: 10) }
        var walls: [Double] = []
        for _ in 0..<sizes.runs {
            var results: [HealthProbeResult] = []
            walls.append(timed { results = HealthProbe.probeAll(requests) })
            guard results.allSatisfy(\.healthy) else {
                throw BenchError("health checks failed: \(results.compactMap(\.error).joined(separator: "; "))")
            }
        }
        report.figures.append(
            Figure(
                key: "health_checks", label: "4 health checks × 2 s, wall", value: walls.median,
                unit: .seconds, target: .atMost(2.3)))
    }
}
