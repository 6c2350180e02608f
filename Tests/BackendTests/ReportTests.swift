import EventStore
import Foundation
import Ledger
import ShiplogTestSupport
import Testing

/// Headless Chromium (Debian's `chromium`; tools/test installs it): the report as a browser
/// reads it. Each run gets a profile directory of its own, so tests may run it at once.
enum Chromium {
    static let candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]

    static func run(_ arguments: [String]) throws -> ProcessOutput {
        let path = try #require(
            candidates.first { FileManager.default.isExecutableFile(atPath: $0) }, "no chromium: tools/test installs Debian's chromium package")
        let profile = try TemporaryDirectory(prefix: "shiplog-chromium")
        let out = runProcess(
            URL(fileURLWithPath: path),
            ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=\(profile.path)"] + arguments,
            environment: ["HOME": profile.path])
        #expect(out.status == 0, "chromium \(arguments.joined(separator: " ")): exit \(out.status): \(out.stderr.suffix(2_000))")
        return out
    }

    /// The DOM after parsing, serialized.
    static func dom(_ file: String) throws -> String {
        try run(["--dump-dom", URL(fileURLWithPath: file).absoluteString]).stdout
    }

    static func screenshot(_ file: String, to png: String) throws {
        _ = try run(["--screenshot=\(png)", "--window-size=1280,2000", "--hide-scrollbars", URL(fileURLWithPath: file).absoluteString])
    }
}

/// `shiplog report`: one self-contained HTML file, read back through headless Chromium — the
/// rows and statuses it shows, every field as text (nothing injected exists in the DOM), no
/// resource fetched from anywhere — plus its size on a longer history and how it is written.
@Suite("Both backends: the HTML report")
struct ReportTests {
    static let hostileRef = #""><img src=x onerror=alert(1)><script>alert(2)</script>"#
    static let hostileBy = "<b onmouseover=alert(3)>mallory</b>"

    /// The statuses of the history rows, as the DOM holds them, in page order.
    static func historyStatuses(_ dom: String) -> [String] {
        let pattern = try! NSRegularExpression(pattern: #"<tr class="(ok|f|rb|ab|run|rs)"><td>([^<]*)</td>"#)
        return pattern.matches(in: dom, range: NSRange(dom.startIndex..., in: dom)).map { String(dom[Range($0.range(at: 2), in: dom)!]) }
    }

    static func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    static func report(_ t: BackendLedger, _ args: [String], in dir: TemporaryDirectory) -> ProcessOutput {
        runShiplog(["report", "--db", t.location] + args, environment: ["USER": "tester"], in: dir.url)
    }

    @Test(arguments: Backend.allCases)
    func everyDeploymentIsARowEveryFieldIsTextAndNothingIsFetched(backend: Backend) throws {
        let t = try BackendLedger(backend)
        let start = Date(timeIntervalSinceNow: -5 * 86_400)
        let probes = [
            HealthAttempt(check: "api_gateway", target: "http://127.0.0.1/health?<x>", attempt: 1, round: .deploy, httpStatus: 503, latencyMs: 12, error: "HTTP 503 <i>down</i>", healthy: false),
            HealthAttempt(check: "api_gateway", target: "http://127.0.0.1/health", attempt: 2, round: .deploy, httpStatus: 503, latencyMs: 9, error: "HTTP 503", healthy: false),
        ]
        let good = try t.deploy("staging", 1, at: start, minutes: 4, .success, commit: start.addingTimeInterval(-3_600))
        _ = try t.ledger.storeArtifact(
            name: "deployment-\(good).log", phase: "deploy", bytes: Array("deployed\n".utf8), deploymentID: good, retentionDays: 365, in: t.blobs)
        let bad = try t.deploy("staging", 2, at: start.addingTimeInterval(86_400), minutes: 6, .rolledBack, ref: Self.hostileRef, by: Self.hostileBy, attempts: probes)
        try t.deploy("staging", 3, at: start.addingTimeInterval(2 * 86_400), minutes: 3, .failed)
        try t.deploy("qa", 4, at: start.addingTimeInterval(2 * 86_400), minutes: 3, .success)
        try t.deploy("staging", 5, at: start.addingTimeInterval(3 * 86_400), minutes: 3, .running)

        let dir = try TemporaryDirectory(prefix: "shiplog-report")
        let file = dir.file("report.html")
        let out = Self.report(t, ["--output", file], in: dir)
        #expect(out.status == 0, "\(out.stderr)")
        let raw = try String(contentsOfFile: file, encoding: .utf8)
        let dom = try Chromium.dom(file)

        #expect(Self.historyStatuses(dom) == ["success", "running", "failed", "rolled back", "success"], "qa first, then staging newest first")
        #expect(Self.count("<article class=\"dep\"", in: dom) == 5)
        #expect(dom.contains("<a href=\"#d-\(bad)\">"), "a detailed row links to its timeline")
        // Every attempt of every health check is in the timeline, with its error as text.
        #expect(Self.count(#"<tr class="hc bad">"#, in: dom) == 2)
        #expect(dom.contains("HTTP 503 &lt;i&gt;down&lt;/i&gt;"))
        #expect(dom.contains("deployment-\(good).log") && dom.contains(">retained<"), "the logs kept are listed with their retention")

        // Hostile fields show as text: no element or attribute they spell exists.
        for injected in ["<img", "<script", "<b ", "<i>", "onerror=\"", "onmouseover=\""] {
            #expect(!dom.contains(injected), "\(injected) became markup")
        }
        #expect(dom.contains("&lt;script&gt;alert(2)&lt;/script&gt;"))
        #expect(dom.contains("&lt;b onmouseover=alert(3)&gt;mallory&lt;/b&gt;"))

        // Nothing is fetched: no script, no external link, no source, no stylesheet or font from elsewhere.
        for resource in ["<script", "<link", "<iframe", "<img", "<object", "<embed", " src=\"", "url(", "@import"] {
            #expect(!raw.contains(resource), "the file references a resource: \(resource)")
        }
        let hrefs = try NSRegularExpression(pattern: #"href="([^"]*)""#)
        let targets = hrefs.matches(in: raw, range: NSRange(raw.startIndex..., in: raw)).map { String(raw[Range($0.range(at: 1), in: raw)!]) }
        #expect(!targets.isEmpty && targets.allSatisfy { $0.hasPrefix("#") }, "\(targets.filter { !$0.hasPrefix("#") })")
        #expect(raw.contains("Content-Security-Policy\" content=\"default-src 'none'"))

        let png = dir.file("report.png")
        try Chromium.screenshot(file, to: png)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: png))
        #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]), "not a PNG")
        let width = bytes.count > 24 ? bytes[16..<20].reduce(0) { $0 << 8 | Int($1) } : 0
        #expect(width == 1280)
        #expect(bytes.count > 40_000, "a blank page compresses to a few KiB; this one is \(bytes.count) bytes")
    }

    @Test func aLongHistoryKeepsFullDetailForTheNewestAndOneSmallRowForTheRest() throws {
        let t = try BackendLedger(.sqlite)
        let start = Date(timeIntervalSinceNow: -400 * 3_600)
        let count = 300
        for n in 0..<count {
            let outcome: TestOutcome = n % 10 == 3 ? .failed : n % 10 == 7 && n > 0 ? .rolledBack : .success
            try t.deploy(["production", "staging"][n % 2], n + 1, at: start.addingTimeInterval(Double(n) * 3_600), minutes: 12, outcome)
        }
        let dir = try TemporaryDirectory(prefix: "shiplog-report-size")
        let detailed = dir.file("detailed.html"), summary = dir.file("summary.html")
        #expect(Self.report(t, ["--output", detailed, "--detail", "20"], in: dir).status == 0)
        #expect(Self.report(t, ["--output", summary, "--detail", "0"], in: dir).status == 0)

        let dom = try Chromium.dom(detailed)
        #expect(Self.historyStatuses(dom).count == count, "one row per deployment")
        #expect(Self.count("<article class=\"dep\"", in: dom) == 20)
        #expect(Self.count("<a href=\"#d-", in: dom) >= 20)

        // The size bound: at 50,000 deployments the file stays under 10 MiB (tools/bench measures it).
        let size = { (path: String) in Double((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0) }
        let empty = try BackendLedger(.sqlite)
        try empty.deploy("production", 1, at: start, minutes: 1, .success)
        let base = dir.file("base.html")
        #expect(Self.report(empty, ["--output", base, "--detail", "0"], in: dir).status == 0)
        let perRow = (size(summary) - size(base)) / Double(count - 1)
        let perDetail = (size(detailed) - size(summary)) / 20
        #expect(perRow < 160, "a history row takes \(perRow) bytes")
        #expect(perDetail < 16_384, "a detailed deployment takes \(perDetail) bytes")
        #expect(size(base) + 50_000 * perRow + 50 * perDetail < 10 * 1_048_576)
    }

    @Test func theOutputIsWrittenWholeNeverOverTheLedgerNorThroughALink() throws {
        let t = try BackendLedger(.sqlite)
        try t.deploy("staging", 1, at: Date(timeIntervalSinceNow: -3_600), minutes: 2, .success)
        let dir = try TemporaryDirectory(prefix: "shiplog-report-out")
        let ledgerBytes = try Data(contentsOf: URL(fileURLWithPath: t.location))

        let refused = Self.report(t, ["--output", t.location], in: dir)
        #expect(refused.status == 64 && refused.stderr.contains("refusing to write the report"), "\(refused.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: t.location)) == ledgerBytes)

        let victim = dir.file("victim.txt")
        try "keep me\n".write(toFile: victim, atomically: true, encoding: .utf8)
        let link = dir.file("link.html")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: victim)
        let viaLink = Self.report(t, ["--output", link], in: dir)
        #expect(viaLink.status != 0 || (try? FileManager.default.destinationOfSymbolicLink(atPath: link)) == nil, "\(viaLink.stderr)")
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "keep me\n", "the report was written through a symbolic link")

        let file = dir.file("report.html")
        #expect(Self.report(t, ["--output", file], in: dir).status == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".tmp") }.isEmpty, "a temporary file was left")
        #expect(Self.report(t, ["--output", dir.file("missing/report.html")], in: dir).status == 73)
        #expect(Self.report(t, ["--output", file, "--env", "nowhere"], in: dir).status == 4)
    }
}
