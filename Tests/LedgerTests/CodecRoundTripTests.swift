import EventStore
import Foundation
import Ledger
import Testing

/// Every event the domain writes reads back as itself: `decode(encode(e)) == e`, for every case
/// of `DeploymentEvent`, with awkward text (quotes, backslashes, control characters, non-ASCII,
/// astral-plane characters), absent and present optionals, and fractional numbers.
@Suite("Event codec round trip")
struct CodecRoundTripTests {
    static let awkward = [
        "plain", "", "with \"quotes\" and \\backslashes\\", "line\nbreak\ttab\r\u{08}\u{0C}", "nul\u{00}and\u{1F}unit separator",
        "café — naïve ☃", "emoji 🚀 and 𝄞", "slash / and </script>", "json-looking {\"a\":[1,2]}", String(repeating: "x", count: 5_000),
    ]

    /// The case's name; exhaustive, so a new case fails to compile here until it is sampled below.
    static func name(_ event: DeploymentEvent) -> String {
        switch event {
        case .deploymentRequested: "deploymentRequested"
        case .stepStarted: "stepStarted"
        case .stepSucceeded: "stepSucceeded"
        case .stepFailed: "stepFailed"
        case .serviceDeployed: "serviceDeployed"
        case .stabilizationWaitStarted: "stabilizationWaitStarted"
        case .stabilizationWaitFinished: "stabilizationWaitFinished"
        case .healthCheckAttempted: "healthCheckAttempted"
        case .serviceHealthy: "serviceHealthy"
        case .serviceUnhealthy: "serviceUnhealthy"
        case .healthChecksPassed: "healthChecksPassed"
        case .healthChecksFailed: "healthChecksFailed"
        case .rollbackStarted: "rollbackStarted"
        case .notificationSent: "notificationSent"
        case .notificationFailed: "notificationFailed"
        case .artifactStored: "artifactStored"
        case .deploymentSucceeded: "deploymentSucceeded"
        case .deploymentFailed: "deploymentFailed"
        case .deploymentRolledBack: "deploymentRolledBack"
        case .deploymentAbandoned: "deploymentAbandoned"
        case .deploymentMarkedBad: "deploymentMarkedBad"
        case .environmentLocked: "environmentLocked"
        case .environmentReleased: "environmentReleased"
        case .environmentUnlocked: "environmentUnlocked"
        case .artifactPruned: "artifactPruned"
        case .approvalRequested: "approvalRequested"
        case .approvalGranted: "approvalGranted"
        case .approvalRejected: "approvalRejected"
        case .approvalTimedOut: "approvalTimedOut"
        case .deploymentRolledBackManually: "deploymentRolledBackManually"
        }
    }

    static let allNames: Set<String> = [
        "deploymentRequested", "stepStarted", "stepSucceeded", "stepFailed", "serviceDeployed", "stabilizationWaitStarted",
        "stabilizationWaitFinished", "healthCheckAttempted", "serviceHealthy", "serviceUnhealthy", "healthChecksPassed",
        "healthChecksFailed", "rollbackStarted", "notificationSent", "notificationFailed", "artifactStored", "deploymentSucceeded",
        "deploymentFailed", "deploymentRolledBack", "deploymentAbandoned", "deploymentMarkedBad", "environmentLocked",
        "environmentReleased", "environmentUnlocked", "artifactPruned", "approvalRequested", "approvalGranted", "approvalRejected",
        "approvalTimedOut", "deploymentRolledBackManually",
    ]

    /// Samples of every case, each with every awkward text where it takes text.
    static func samples() -> [DeploymentEvent] {
        var out: [DeploymentEvent] = []
        for (n, t) in awkward.enumerated() {
            out.append(
                .deploymentRequested(
                    DeploymentRequest(
                        deploymentID: "1732010400-abc123def456", environment: "staging", gitSHA: String(repeating: "ab", count: 20), gitRef: t,
                        services: [t, "api-gateway", ""], triggeredBy: t, mode: n % 2 == 0 ? .run : .record,
                        phases: n % 2 == 0 ? Phase.allCases : [], checks: n % 3 == 0 ? [] : [t, "auth_service"],
                        previousStableID: n % 2 == 0 ? nil : t, previousStableSHA: n % 4 == 1 ? nil : "0123456789abcdef0123456789abcdef01234567",
                        manualRollback: n % 3 == 0 ? nil : ManualRollback(targetID: t, targetSHA: "abc", replaces: n % 2 == 0 ? nil : t, reason: t))))
            out.append(
                .approvalRequested(
                    ApprovalGate(
                        before: n % 2 == 0 ? .deploy : .migrate, required: n + 1, approvers: n % 3 == 0 ? [] : [t, "alice"],
                        timeoutSeconds: [1, 14_400, 2.5, 0.001][n % 4])))
            out.append(.approvalGranted(by: t, comment: n % 2 == 0 ? nil : t))
            out.append(.approvalRejected(by: "bob", reason: t))
            out.append(.approvalTimedOut(deadline: t))
            out.append(.deploymentRolledBackManually(rollbackID: t, targetID: "1732010400-abc123def456", targetSHA: "abc", reason: t, by: t))
            out.append(.stepSucceeded(.build, detail: t))
            out.append(.stepFailed(.migrate, reason: t))
            out.append(.serviceDeployed(service: t))
            out.append(.stabilizationWaitStarted(seconds: [0, 30, 2.5, 86_400, 0.001][n % 5], until: t))
            out.append(
                .healthCheckAttempted(
                    HealthAttempt(
                        check: t, target: "https://example.com/\(t)", attempt: n + 1,
                        round: n % 2 == 0 ? .deploy : .rollback, httpStatus: n % 3 == 0 ? nil : 200 + n,
                        latencyMs: n * 37, error: n % 2 == 0 ? nil : t, healthy: n % 2 == 0, body: n % 2 == 0 ? nil : t)))
            out.append(.serviceHealthy(check: t, attempts: n, round: .deploy))
            out.append(.serviceUnhealthy(check: t, attempts: n + 5, reason: t, round: .rollback))
            out.append(.healthChecksFailed(round: n % 2 == 0 ? .deploy : .rollback, failed: n % 3 == 0 ? [] : [t, "x"]))
            out.append(.rollbackStarted(targetID: t, targetSHA: "abc", attempt: n + 1))
            out.append(.notificationSent(channel: t, attempts: n))
            out.append(.notificationFailed(channel: "slack", attempts: n, error: t))
            out.append(
                .artifactStored(
                    Artifact(
                        name: t, phase: "build", sha256: String(repeating: "f", count: 64),
                        size: Int64(n) * 1_000_000_007, retentionDays: 365 - n)))
            out.append(.deploymentFailed(reason: t, phase: n % 2 == 0 ? nil : .smoke))
            out.append(.deploymentRolledBack(targetID: t, targetSHA: "abc", reason: n % 2 == 0 ? nil : t))
            out.append(.deploymentAbandoned(reason: t, by: t))
            out.append(.deploymentMarkedBad(reason: t, by: "oncall"))
            out.append(.environmentLocked(deploymentID: t))
            out.append(.environmentReleased(deploymentID: t, status: "success"))
            out.append(.environmentUnlocked(deploymentID: t, reason: t, by: t))
            out.append(.artifactPruned(name: t, sha256: "abc", deploymentID: t))
        }
        // Steps as the decider emits them: health is never a plain step, a deploy succeeds per
        // service, and a rollback starts with RollbackStarted.
        for phase in Phase.allCases where phase != .health {
            if phase != .rollback { out.append(.stepStarted(phase, attempt: 3)) }
            if phase != .deploy {
                out.append(.stepSucceeded(phase, detail: nil))
                out.append(.stepSucceeded(phase, detail: "done"))
            }
            out.append(.stepFailed(phase, reason: "exit 1"))
        }
        out.append(.stabilizationWaitFinished)
        out.append(.healthChecksPassed(round: .deploy))
        out.append(.healthChecksPassed(round: .rollback))
        out.append(.deploymentSucceeded)
        return out
    }

    static func recorded(_ event: DeploymentEvent) -> RecordedEvent {
        let new = event.makeNewEvent()
        return RecordedEvent(
            position: 7, eventID: new.id, stream: "deployment-1732010400-abc123def456", version: 3, type: new.type,
            schema: new.schema, data: new.data, metadata: new.metadata, recordedAt: "2024-11-19T10:00:00.000Z", hash: "")
    }

    /// An attempt recorded before attempts kept the start of the answer's body still reads.
    @Test func anAttemptWrittenWithoutABodyStillReads() throws {
        let old = RecordedEvent(
            position: 7, eventID: UUIDv7.make(), stream: "deployment-1732010400-abc123def456", version: 3, type: "HealthCheckAttempted",
            schema: 1,
            data: #"{"attempt":1,"error":"expected HTTP 200, got 503","healthy":false,"http_status":503,"latency_ms":12,"round":"deploy","service":"api","target":"http://x/h"}"#,
            metadata: "{}", recordedAt: "2024-11-19T10:00:00.000Z", hash: "")
        guard case .healthCheckAttempted(let attempt)? = try DeploymentEvent.decode(old) else {
            Issue.record("not an attempt")
            return
        }
        #expect(attempt.body == nil && attempt.httpStatus == 503)
    }

    @Test func everyCaseIsSampled() {
        #expect(Set(Self.samples().map(Self.name)) == Self.allNames)
    }

    @Test func everyEventReadsBackAsItself() throws {
        for event in Self.samples() {
            #expect(try DeploymentEvent.decode(Self.recorded(event)) == event, "\(event)")
        }
    }

    /// The payloads are what Foundation reads too: the same members, the same values.
    @Test func theReaderAgreesWithFoundationOnEveryPayload() throws {
        for event in Self.samples() {
            let data = event.makeNewEvent().data
            let foundation = try #require(try JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any])
            let object = try JSONObject(parsing: data)
            #expect(Set(object.keys) == Set(foundation.keys), "\(data)")
            for (key, value) in foundation {
                switch value {
                case let s as String: #expect(object[key]?.string == s, "\(key) in \(data)")
                case let a as [String]: #expect(object[key]?.strings == a, "\(key) in \(data)")
                case let n as NSNumber: #expect(object[key]?.doubleValue == n.doubleValue, "\(key) in \(data)")
                case is NSNull: #expect(object[key] == .null, "\(key) in \(data)")
                case let nested as [String: String]:
                    guard case .object(let mine)? = object[key] else { Issue.record("\(key) is no object in \(data)"); continue }
                    #expect(Set(mine.keys) == Set(nested.keys), "\(key) in \(data)")
                    for (k, v) in nested { #expect(mine.string(k) == v, "\(key).\(k) in \(data)") }
                default: Issue.record("unexpected member \(key) in \(data)")
                }
            }
        }
    }

    /// The three payload structs are read member by member (DeploymentEvent+Codec.swift): a new
    /// member written by their `Encodable` conformance must be read there too.
    @Test func thePayloadReadersKnowEveryMemberTheEncoderWrites() throws {
        func keys(_ event: DeploymentEvent) throws -> Set<String> {
            let data = event.makeNewEvent().data
            return Set(try #require(try JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any]).keys)
        }
        let request = DeploymentRequest(
            deploymentID: "d", environment: "e", gitSHA: "s", gitRef: "r", services: ["a"], triggeredBy: "t",
            mode: .run, phases: [.build], checks: ["c"], previousStableID: "p", previousStableSHA: "q")
        #expect(
            try keys(.deploymentRequested(request)) == [
                "deployment_id", "environment", "git_sha", "git_ref", "services", "triggered_by",
                "mode", "phases", "checks", "previous_stable_id", "previous_stable_sha",
            ])
        var rollback = request
        rollback.manualRollback = ManualRollback(targetID: "p", targetSHA: "q", replaces: "x", reason: "why")
        let data = DeploymentEvent.deploymentRequested(rollback).makeNewEvent().data
        let manual = try #require((try JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any])?["manual_rollback"] as? [String: Any])
        #expect(Set(manual.keys) == ["target_deployment_id", "target_sha", "replaces", "reason"])
        #expect(try DeploymentEvent.decode(Self.recorded(.deploymentRequested(rollback))) == .deploymentRequested(rollback))
        let attempt = HealthAttempt(check: "c", target: "t", attempt: 1, round: .deploy, httpStatus: 200, latencyMs: 5, error: "e", healthy: false)
        #expect(try keys(.healthCheckAttempted(attempt)) == ["service", "target", "attempt", "round", "http_status", "latency_ms", "error", "healthy"])
        let artifact = Artifact(name: "n", phase: "p", sha256: "s", size: 1, retentionDays: 2)
        #expect(try keys(.artifactStored(artifact)) == ["name", "phase", "sha256", "size", "retention_days"])
    }

    @Test func theReaderParsesWhatJSONAllows() throws {
        #expect(
            try JSONValue(parsing: #" { "a" : [ 1 , -2.5e3 , true , false , null , "\u00e9\ud83d\ude80\/" ] , "b" : { } } "#)
                == .object(
                    JSONObject(members: [
                        ("a", .array([.integer(1), .double(-2500), .bool(true), .bool(false), .null, .string("é🚀/")])),
                        ("b", .object(JSONObject(members: []))),
                    ])))
        #expect(try JSONValue(parsing: "-9223372036854775808") == .integer(.min))
        #expect(try JSONValue(parsing: "9223372036854775808") == .double(9_223_372_036_854_775_808))
        #expect(try JSONObject(parsing: #"{"k":1,"k":2}"#)["k"] == .integer(2))
        #expect(try JSONValue(parsing: "0.5").intValue == 0)
        for bad in [
            "", "{", "{\"a\":}", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "+1", "\"\u{01}\"", "\"\\x\"", "\"\\ud800\"",
            "tru", "nul", "{} x", "'a'", "{a:1}", "[1 2]", "1e", "\"abc",
        ] {
            #expect(throws: JSONReadError.self, "\(bad.debugDescription)") { try JSONValue(parsing: bad) }
        }
        #expect(throws: JSONReadError.self) { try JSONObject(parsing: "[1]") }
        #expect(throws: JSONReadError.self) { try JSONValue(parsing: String(repeating: "[", count: 300) + String(repeating: "]", count: 300)) }
    }

    @Test func aMalformedPayloadIsADecodingErrorNamingThePosition() throws {
        var event = Self.recorded(.serviceDeployed(service: "api"))
        event.data = #"{"service":1}"#
        #expect(throws: EventDecodingError.self) { try DeploymentEvent.decode(event) }
        event.data = "[]"
        #expect(throws: EventDecodingError.self) { try DeploymentEvent.decode(event) }
        var request = Self.recorded(.environmentLocked(deploymentID: "x"))
        request.type = "DeploymentRequested"
        request.schema = 2
        do {
            _ = try DeploymentEvent.decode(request)
            Issue.record("a request without its fields was read")
        } catch let error as EventDecodingError {
            #expect(error.position == 7)
            #expect(error.type == "DeploymentRequested")
        }
    }
}
