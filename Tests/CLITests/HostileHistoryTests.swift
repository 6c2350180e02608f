import EventStore
import Foundation
import ShiplogTestSupport
import Testing

/// Imports whose hash chain is valid but whose events the domain would never produce: anyone
/// can compute a chain, so each must be refused (exit 65) naming its line, with nothing written.
@Suite("Hostile imports: a valid chain over forbidden history")
struct HostileImportTests {
    /// A small, good history: a stable deployment, then a failed one, both recorded.
    static func goodExport() throws -> (ledger: DomainLedger, events: [RecordedEvent], stable: String, failed: String) {
        let l = try DomainLedger()
        let stable = l.stable(sha: "aaaaaaa1111111")
        let failed = l.begin(sha: "bbbbbbb2222222")
        l.ok(["record", "phase", failed, "deploy", "--status", "succeeded"])
        l.ok(["record", "health", failed, "api_gateway", "--status", "unhealthy", "--attempts", "5", "--reason", "HTTP 503"])
        l.ok(["record", "finish", failed, "--status", "failed", "--reason", "health checks failed"])
        let text = l.ok(["export", "--events"])
        let events = try text.split(separator: "\n").map { try JSONDecoder().decode(RecordedEvent.self, from: Data($0.utf8)) }
        return (l, events, stable, failed)
    }

    /// Recomputes every hash from the first changed event on, as an attacker would.
    static func rechain(_ events: [RecordedEvent]) -> [RecordedEvent] {
        let hasher = HashChain()
        var previous = HashChain.genesis
        return events.enumerated().map { index, e in
            var e = e
            e.position = Int64(index + 1)
            let digest = hasher.hash(
                previous: previous, position: e.position, eventID: e.eventID, stream: e.stream, version: e.version,
                type: e.type, schema: e.schema, data: e.data, metadata: e.metadata, recordedAt: e.recordedAt)
            e.hash = Hex.encode(digest)
            previous = digest
            return e
        }
    }

    /// A new event on `stream` after `after`, with the next version of that stream.
    static func event(_ type: String, _ data: String, on stream: String, in events: [RecordedEvent], time: String? = nil) -> RecordedEvent {
        let version = (events.filter { $0.stream == stream }.map(\.version).max() ?? 0) + 1
        // DeploymentRequested is at schema 2 (docs/EVENTS.md); every other type here at 1.
        return RecordedEvent(
            position: 0, eventID: UUIDv7.make(), stream: stream, version: version, type: type,
            schema: type == "DeploymentRequested" ? 2 : 1,
            data: data, metadata: "{}", recordedAt: time ?? events.last!.recordedAt, hash: "")
    }

    /// Writes `events` re-chained, imports them into a fresh ledger, and returns (status, stderr, that ledger).
    static func importing(_ events: [RecordedEvent]) throws -> (ProcessOutput, DomainLedger) {
        let target = try DomainLedger()
        let lines = rechain(events).map(\.jsonLine).joined(separator: "\n") + "\n"
        let file = target.write("crafted.ndjson", lines)
        let out = target.run(["import", file])
        return (out, target)
    }

    static func expectRefused(
        _ events: [RecordedEvent], line: Int?, mentioning words: [String],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let (out, target) = try importing(events)
        #expect(out.status == 65, "exit \(out.status): \(out.stderr)", sourceLocation: sourceLocation)
        if let line { #expect(out.stderr.contains("line \(line):"), "\(out.stderr)", sourceLocation: sourceLocation) }
        for word in words { #expect(out.stderr.contains(word), "\(out.stderr)", sourceLocation: sourceLocation) }
        #expect(out.stderr.contains("nothing was imported"), sourceLocation: sourceLocation)
        #expect(target.head() == 0, "a refused import left events behind", sourceLocation: sourceLocation)
    }

    @Test func theUntouchedExportImports() throws {
        let (_, events, _, _) = try Self.goodExport()
        let (out, target) = try Self.importing(events)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(target.head() == events.count)
    }

    @Test func aSecondEndingIsRefused() throws {
        let (_, events, _, failed) = try Self.goodExport()
        let forged = events + [Self.event("DeploymentSucceeded", "{}", on: "deployment-\(failed)", in: events)]
        try Self.expectRefused(forged, line: forged.count, mentioning: ["DeploymentSucceeded", "finished as failed"])
    }

    @Test func successAfterAnUnhealthyVerdictIsRefused() throws {
        let (_, events, _, failed) = try Self.goodExport()
        // Replace the failed ending (and its release) by a success: the chain is recomputed.
        let ending = try #require(events.firstIndex { $0.stream == "deployment-\(failed)" && $0.type == "DeploymentFailed" })
        var forged = events
        forged[ending].type = "DeploymentSucceeded"
        forged[ending].data = "{}"
        if let release = forged.firstIndex(where: { $0.type == "EnvironmentReleased" && $0.data.contains(failed) }) {
            forged[release].data = forged[release].data.replacingOccurrences(of: "\"failed\"", with: "\"success\"")
        }
        try Self.expectRefused(forged, line: ending + 1, mentioning: ["succeeds after a failure"])
    }

    @Test func successAfterMarkBadIsRefused() throws {
        let (_, events, stable, _) = try Self.goodExport()
        var forged = events
        forged.append(Self.event("DeploymentMarkedBad", #"{"reason":"regression","by":"oncall"}"#, on: "deployment-\(stable)", in: forged))
        forged.append(Self.event("DeploymentSucceeded", "{}", on: "deployment-\(stable)", in: forged))
        try Self.expectRefused(forged, line: forged.count, mentioning: ["finished as success"])
    }

    @Test func aLockForADeploymentThatDoesNotExistIsRefused() throws {
        let (_, events, _, _) = try Self.goodExport()
        let forged = events + [Self.event("EnvironmentLocked", #"{"deployment_id":"1700000000-ccccccc33333"}"#, on: "environment-staging", in: events)]
        try Self.expectRefused(forged, line: forged.count, mentioning: ["1700000000-ccccccc33333", "does not exist"])
    }

    @Test func aStreamWhoseIdDiffersFromItsRequestIsRefused() throws {
        let (_, events, stable, _) = try Self.goodExport()
        let other = "1700000000-aaaaaaa11111"
        let forged = events.map { e -> RecordedEvent in
            var e = e
            if e.stream == "deployment-\(stable)" { e.stream = "deployment-\(other)" }
            return e
        }
        try Self.expectRefused(forged, line: 1, mentioning: ["holds the request of another deployment"])
    }

    @Test func timeRunningBackwardsWithinAStreamIsRefused() throws {
        let (_, events, stable, _) = try Self.goodExport()
        var forged = events
        let second = try #require(forged.firstIndex { $0.stream == "deployment-\(stable)" && $0.version == 2 })
        forged[second].recordedAt = "2001-01-01T00:00:00.000Z"
        try Self.expectRefused(forged, line: second + 1, mentioning: ["earlier than the stream's previous event"])
    }

    @Test func timesInTheFutureAreRefused() throws {
        let (_, events, stable, _) = try Self.goodExport()
        var forged = events
        forged.append(
            Self.event(
                "DeploymentMarkedBad", #"{"reason":"late","by":"x"}"#, on: "deployment-\(stable)", in: forged,
                time: "2099-01-01T00:00:00.000Z"))
        try Self.expectRefused(forged, line: forged.count, mentioning: ["lies in the future"])
    }

    @Test(arguments: [
        ("environment", #""environment":"staging""#, #""environment":"st\u0430ging""#),
        ("git sha", #""git_sha":"aaaaaaa1111111""#, #""git_sha":"AAAAAAA1111111""#),
        ("service", #""services":["api-gateway"]"#, #""services":["..\/..\/etc"]"#),
    ])
    func identifiersPassTheCommandLinesRules(kind: String, original: String, replacement: String) throws {
        let (_, events, stable, _) = try Self.goodExport()
        var forged = events
        let request = try #require(forged.firstIndex { $0.stream == "deployment-\(stable)" && $0.type == "DeploymentRequested" })
        #expect(forged[request].data.contains(original), "\(forged[request].data)")
        forged[request].data = forged[request].data.replacingOccurrences(of: original, with: replacement)
        try Self.expectRefused(forged, line: request + 1, mentioning: [kind, "is not valid"])
    }

    @Test func anArtifactDigestThatIsNotADigestIsRefused() throws {
        let (_, events, stable, _) = try Self.goodExport()
        let forged =
            events + [
                Self.event(
                    "ArtifactStored",
                    #"{"name":"escape.log","phase":"deploy","sha256":"..\/..\/..\/home\/victim\/.ssh\/id_rsa","size":1,"retention_days":1}"#,
                    on: "deployment-\(stable)", in: events)
            ]
        try Self.expectRefused(forged, line: forged.count, mentioning: ["SHA-256 digest", "is not valid"])
    }

    @Test func aRollbackOntoAFailedReleaseIsRefused() throws {
        let (_, events, _, failed) = try Self.goodExport()
        // A third deployment whose request names the failed one as its rollback target.
        let id = "1800000000-ddddddd44444"
        let request =
            #"{"deployment_id":"\#(id)","environment":"staging","git_sha":"ddddddd4444444","git_ref":"main","services":["api-gateway"],"triggered_by":"x","mode":"record","phases":[],"checks":[],"previous_stable_id":"\#(failed)","previous_stable_sha":"bbbbbbb2222222"}"#
        var forged = events
        forged.append(Self.event("DeploymentRequested", request, on: "deployment-\(id)", in: forged))
        try Self.expectRefused(forged, line: forged.count, mentioning: ["ended as failed", "a rollback never lands on it"])
    }

    @Test func aRequestWithoutItsLockIsRefused() throws {
        let (_, events, _, _) = try Self.goodExport()
        let id = "1800000000-eeeeeee55555"
        let request = #"{"deployment_id":"\#(id)","environment":"qa","git_sha":"eeeeeee5555555","git_ref":"main","services":[],"triggered_by":"x","mode":"record","phases":[],"checks":[]}"#
        let forged = events + [Self.event("DeploymentRequested", request, on: "deployment-\(id)", in: events)]
        try Self.expectRefused(forged, line: nil, mentioning: ["without taking environment qa's lock"])
    }

    @Test func importExpectPinsTheHistory() throws {
        let (source, events, _, _) = try Self.goodExport()
        let head = source.ok(["verify"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let file = source.write("export.ndjson", events.map(\.jsonLine).joined(separator: "\n") + "\n")

        let good = try DomainLedger()
        good.ok(["import", file, "--expect", head])
        #expect(good.head() == events.count)

        // The same history with one event's text changed and the chain recomputed: refused by the pin.
        var altered = events
        let index = try #require(altered.firstIndex { $0.type == "DeploymentFailed" })
        altered[index].data = altered[index].data.replacingOccurrences(of: "health checks failed", with: "nothing to see")
        let forgedFile = source.write("forged.ndjson", Self.rechain(altered).map(\.jsonLine).joined(separator: "\n") + "\n")
        let pinned = try DomainLedger()
        let out = pinned.run(["import", forgedFile, "--expect", head])
        #expect(out.status == 3, "\(out.stderr)")
        #expect(out.stderr.contains("does not match --expect"), "\(out.stderr)")
        #expect(pinned.head() == 0)

        let malformed = try DomainLedger()
        #expect(malformed.run(["import", file, "--expect", "12:nothex"]).status == 64)
    }
}

/// Identifiers are ASCII: a look-alike environment is refused, never a second environment.
@Suite("Identifiers: one ASCII rule for the command line, pipelines and imports")
struct IdentifierRuleTests {
    @Test(arguments: [
        "st\u{0430}ging",  // Cyrillic а
        "staging\u{FF11}",  // full-width digit one
        "stag ing", ".hidden", "", String(repeating: "a", count: 101), "staging\u{1B}[31m",
    ])
    func lookAlikeEnvironmentsAreRefused(name: String) throws {
        let l = try DomainLedger()
        let out = l.run(["record", "begin", "--env", name, "--sha", "abcdef1234567"])
        #expect(out.status == 65, "\(name.debugDescription): exit \(out.status) \(out.stderr)")
        #expect(out.stderr.contains("environment"), "\(out.stderr)")
        #expect(!out.stderr.contains("\u{1B}"), "the error echoed a control character")
        #expect(l.run(["history", "--json"]).stdout.isEmpty)
    }

    @Test(arguments: ["api_gat\u{0435}way", "api gateway", "../etc"])
    func lookAlikeServicesAndChecksAreRefused(name: String) throws {
        let l = try DomainLedger()
        #expect(l.run(["record", "begin", "--env", "staging", "--sha", "abcdef1234567", "--services", name]).status == 65)
        let id = l.begin(sha: "abcdef1234567")
        l.ok(["record", "phase", id, "deploy", "--status", "succeeded"])
        let out = l.run(["record", "health", id, name, "--status", "healthy"])
        #expect(out.status == 65, "\(out.stderr)")
        #expect(out.stderr.contains("health check"), "\(out.stderr)")
    }

    @Test func malformedDeploymentIdsAreRefusedBeforeAnyLookup() throws {
        let l = try DomainLedger()
        _ = l.stable(sha: "abcdef1234567")
        for id in ["../../etc/passwd", "1796137260-ABCDEF123456", "x"] {
            let out = l.run(["show", id])
            #expect(out.status == 65 || out.status == 4, "\(id): \(out.status) \(out.stderr)")
            let marked = l.run(["mark-bad", id, "--reason", "r"])
            #expect(marked.status == 65, "\(id): \(marked.status) \(marked.stderr)")
            #expect(marked.stderr.contains("deployment id"), "\(marked.stderr)")
        }
    }
}
