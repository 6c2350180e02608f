import EventStore
import Foundation
@testable import Ledger
import SeededRandom
import Testing

/// `DeploymentEvent.decode` reads payloads in place (`JSONMembers`) and leaves the rest to the
/// general reader (a whole `JSONObject`): on many random payloads — every
/// event case with random text, then reordered, respaced, with escaped or repeated names,
/// members dropped, values of the wrong kind, nested values, too many members, broken text —
/// both give the same event, or the same error.
@Suite("Event codec: in-place reader (property)")
struct CodecPropertyTests {
    static let rounds = 4_000

    @Test func theInPlaceReaderAgreesWithTheGeneralOneOnRandomPayloads() throws {
        var rng = SeededRNG(seed: 0xC0DE_C0DE)
        var agreed = 0, decodedBoth = 0, refusedBoth = 0
        for round in 0..<Self.rounds {
            let event = Self.randomEvent(&rng)
            let new = event.makeNewEvent()
            var type = new.type
            if rng.chance(0.05) { type = ["NoSuchEvent", "DeploymentRequested", "EnvironmentLocked", "StepFailed"].randomElement(using: &rng)! }
            let data = round % 3 == 0 ? new.data : Self.mutate(new.data, &rng)
            let recorded = RecordedEvent(
                position: Int64(round + 1), eventID: new.id, stream: "deployment-x", version: 1, type: type,
                schema: rng.chance(0.1) ? 1 : new.schema, data: data, metadata: "{}", recordedAt: "2026-01-01T00:00:00.000Z", hash: "")
            let fast = Result { try DeploymentEvent.decode(recorded) }
            let general = Result { try DeploymentEvent.decode(recorded, inPlace: false) }
            switch (fast, general) {
            case (.success(let a), .success(let b)):
                #expect(a == b, "round \(round): \(data)")
                decodedBoth += 1
            case (.failure(let a), .failure(let b)):
                #expect("\(a)" == "\(b)", "round \(round): \(data)")
                refusedBoth += 1
            default:
                Issue.record("round \(round): in place \(fast), general \(general) for \(type) \(data)")
            }
            agreed += 1
        }
        // Both outcomes are exercised, not only one.
        #expect(decodedBoth > Self.rounds / 2 && refusedBoth > Self.rounds / 20, "\(decodedBoth) decoded, \(refusedBoth) refused")
        #expect(agreed == Self.rounds)
    }

    /// A replay hands payloads over as the bytes SQLite holds (`decode(_:data:)`): the same
    /// events and errors as from the string, also for bytes that are not valid UTF-8 (a file
    /// edited by hand), which read as the string SQLite's text would make.
    @Test func payloadBytesReadAsTheirString() throws {
        var rng = SeededRNG(seed: 0xB17E5)
        for round in 0..<2_000 {
            let new = Self.randomEvent(&rng).makeNewEvent()
            var bytes = Array((round % 2 == 0 ? new.data : Self.mutate(new.data, &rng)).utf8)
            if rng.chance(0.2), !bytes.isEmpty {
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] = [0xFF, 0xC3, 0x80, 0xE2, 0xF0].randomElement(using: &rng)!
                }
            }
            let text = String(decoding: bytes, as: UTF8.self)
            let event = RecordedEvent(
                position: Int64(round + 1), eventID: new.id, stream: "deployment-x", version: 1, type: new.type, schema: new.schema,
                data: text, metadata: "{}", recordedAt: "2026-01-01T00:00:00.000Z", hash: "")
            var withoutData = event
            withoutData.data = ""
            let fromBytes = Result { try bytes.withUnsafeBufferPointer { try DeploymentEvent.decode(withoutData, data: $0) } }
            let fromText = Result { try DeploymentEvent.decode(event) }
            switch (fromBytes, fromText) {
            case (.success(let a), .success(let b)): #expect(a == b, "round \(round): \(text)")
            case (.failure(let a), .failure(let b)): #expect("\(a)" == "\(b)", "round \(round): \(text)")
            default: Issue.record("round \(round): from bytes \(fromBytes), from the string \(fromText) for \(text)")
            }
        }
    }

    @Test func unmodifiedPayloadsOfEveryCaseReadBackAsThemselves() throws {
        var rng = SeededRNG(seed: 0xFEED)
        for _ in 0..<1_000 {
            let event = Self.randomEvent(&rng)
            let new = event.makeNewEvent()
            let recorded = RecordedEvent(
                position: 1, eventID: new.id, stream: "deployment-x", version: 1, type: new.type, schema: new.schema,
                data: new.data, metadata: "{}", recordedAt: "2026-01-01T00:00:00.000Z", hash: "")
            #expect(try DeploymentEvent.decode(recorded) == event, "\(new.data)")
            // And in place, not by falling back to the general reader.
            let inPlace = try #require(DeploymentEvent.kind(of: new.type))
            let read = Array(new.data.utf8).withUnsafeBufferPointer { DeploymentEvent.decodeInPlace(inPlace, recorded, $0) }
            #expect(read == event, "\(new.data)")
        }
    }

    // MARK: Random events

    static let alphabet: [String] = [
        "a", "z", "0", "-", "_", " ", "\"", "\\", "/", "\n", "\t", "\u{01}", "\u{1F}", "é", "☃", "🚀", "𝄞", "{", "}", "[", "]", ":", ",",
        "u", "\\u0041",
    ]

    static func text(_ rng: inout SeededRNG, max: Int = 24) -> String {
        let n = Int.random(in: 0...max, using: &rng)
        if rng.chance(0.02) { return String(repeating: "x", count: 300) }
        return (0..<n).map { _ in alphabet.randomElement(using: &rng)! }.joined()
    }

    static func randomEvent(_ rng: inout SeededRNG) -> DeploymentEvent {
        func t() -> String { text(&rng) }
        func n() -> Int { Int.random(in: 0...5_000, using: &rng) }
        // Steps as the decider emits them (see CodecRoundTripTests.samples): health is never a
        // plain step, a deploy succeeds per service, a rollback starts with RollbackStarted.
        func phase(except: Phase? = nil) -> Phase { Phase.allCases.filter { $0 != .health && $0 != except }.randomElement(using: &rng)! }
        func round() -> HealthRound { rng.chance(0.5) ? .deploy : .rollback }
        func maybe(_ s: String) -> String? { rng.chance(0.5) ? s : nil }
        switch Int.random(in: 0..<25, using: &rng) {
        case 0:
            return .deploymentRequested(
                DeploymentRequest(
                    deploymentID: t(), environment: t(), gitSHA: t(), gitRef: t(), services: (0..<Int.random(in: 0...4, using: &rng)).map { _ in t() },
                    triggeredBy: t(), mode: rng.chance(0.5) ? .run : .record, phases: Phase.allCases.filter { _ in rng.chance(0.5) },
                    checks: (0..<Int.random(in: 0...3, using: &rng)).map { _ in t() }, previousStableID: maybe(t()), previousStableSHA: maybe(t()),
                    pipelinePath: maybe(t()), pipelineSHA256: maybe(t())))
        case 1: return .stepStarted(phase(except: .rollback), attempt: n())
        case 2: return .stepSucceeded(phase(except: .deploy), detail: maybe(t()))
        case 3: return .stepFailed(phase(), reason: t())
        case 4: return .serviceDeployed(service: t())
        case 5: return .stabilizationWaitStarted(seconds: [0, 30, 2.5, 0.001, 86_400, 1e-7].randomElement(using: &rng)!, until: t())
        case 6: return .stabilizationWaitFinished
        case 7:
            return .healthCheckAttempted(
                HealthAttempt(
                    check: t(), target: t(), attempt: n(), round: round(), httpStatus: rng.chance(0.5) ? n() : nil, latencyMs: n(),
                    error: maybe(t()), healthy: rng.chance(0.5)))
        case 8: return .serviceHealthy(check: t(), attempts: n(), round: round())
        case 9: return .serviceUnhealthy(check: t(), attempts: n(), reason: t(), round: round())
        case 10: return .healthChecksPassed(round: round())
        case 11: return .healthChecksFailed(round: round(), failed: (0..<Int.random(in: 0...3, using: &rng)).map { _ in t() })
        case 12: return .rollbackStarted(targetID: t(), targetSHA: t(), attempt: n())
        case 13: return .notificationSent(channel: t(), attempts: n())
        case 14: return .notificationFailed(channel: t(), attempts: n(), error: t())
        case 15: return .artifactStored(Artifact(name: t(), phase: t(), sha256: t(), size: Int64(n()) * 1_000_003, retentionDays: n()))
        case 16: return .deploymentSucceeded
        case 17: return .deploymentFailed(reason: t(), phase: rng.chance(0.5) ? phase() : nil)
        case 18: return .deploymentRolledBack(targetID: t(), targetSHA: t())
        case 19: return .deploymentAbandoned(reason: t(), by: t())
        case 20: return .deploymentMarkedBad(reason: t(), by: t())
        case 21: return .environmentLocked(deploymentID: t())
        case 22: return .environmentReleased(deploymentID: t(), status: t())
        case 23: return .environmentUnlocked(deploymentID: t(), reason: t(), by: t())
        default: return .artifactPruned(name: t(), sha256: t(), deploymentID: t())
        }
    }

    // MARK: Random payload text

    static func space(_ rng: inout SeededRNG) -> String {
        rng.chance(0.7) ? "" : [" ", "\n", "\t", "\r", "  \n "].randomElement(using: &rng)!
    }

    /// A member name spelled with escapes: the same name to a JSON reader.
    static func escapedName(_ key: String, _ rng: inout SeededRNG) -> String {
        var out = "\""
        for scalar in key.unicodeScalars {
            out += rng.chance(0.3) ? String(format: "\\u%04x", scalar.value) : String(scalar)
        }
        return out + "\""
    }

    static func randomValue(_ rng: inout SeededRNG, depth: Int = 0) -> String {
        switch Int.random(in: 0..<10, using: &rng) {
        case 0: return JSONText.quote(text(&rng))
        case 1: return String(Int.random(in: -1_000_000...1_000_000, using: &rng))
        case 2: return ["1.5", "-0.25", "1e3", "2E-2", "0", "-0", "12345678901234567890", "3.0"].randomElement(using: &rng)!
        case 3: return ["true", "false", "null"].randomElement(using: &rng)!
        case 4 where depth < 3:
            return "[" + (0..<Int.random(in: 0...3, using: &rng)).map { _ in space(&rng) + randomValue(&rng, depth: depth + 1) }.joined(separator: ",") + "]"
        case 5 where depth < 3:
            return "{" + (0..<Int.random(in: 0...3, using: &rng)).map { _ in JSONText.quote(text(&rng, max: 4)) + ":" + randomValue(&rng, depth: depth + 1) }.joined(separator: ",")
                + "}"
        case 6: return "[" + (0..<Int.random(in: 0...3, using: &rng)).map { _ in JSONText.quote(text(&rng)) }.joined(separator: ", ") + "]"
        default: return JSONText.quote(text(&rng, max: 8))
        }
    }

    /// The payload rewritten: members reordered, respaced, renamed with escapes, repeated,
    /// dropped, given other values, padded with many more members, or the text broken.
    static func mutate(_ data: String, _ rng: inout SeededRNG) -> String {
        guard let object = try? JSONObject(parsing: data) else { return data }
        var members: [(name: String, value: String)] = object.members.map { member in
            (JSONText.quote(member.key), Self.serialize(member.value))
        }
        if rng.chance(0.3) { members.shuffle(using: &rng) }
        for i in members.indices where rng.chance(0.1) {
            members[i].name = escapedName(String(members[i].name.dropFirst().dropLast()), &rng)
        }
        for i in members.indices.reversed() where rng.chance(0.05) { members.remove(at: i) }
        for i in members.indices where rng.chance(0.08) { members[i].value = randomValue(&rng) }
        if !members.isEmpty, rng.chance(0.15) {
            let copy = members.randomElement(using: &rng)!
            members.insert((copy.name, rng.chance(0.5) ? randomValue(&rng) : copy.value), at: Int.random(in: 0...members.count, using: &rng))
        }
        if rng.chance(0.1) { members.append((JSONText.quote(text(&rng, max: 6)), randomValue(&rng))) }
        if rng.chance(0.04) {
            for k in 0..<Int.random(in: 20...40, using: &rng) { members.append(("\"pad\(k)\"", randomValue(&rng))) }
        }
        var text = "{" + space(&rng)
        text += members.map { space(&rng) + $0.name + space(&rng) + ":" + space(&rng) + $0.value + space(&rng) }.joined(separator: ",")
        text += "}" + space(&rng)
        switch Int.random(in: 0..<40, using: &rng) {
        case 0: return String(text.dropLast(Int.random(in: 1...3, using: &rng)))
        case 1: return text + "x"
        case 2: return text.replacingOccurrences(of: ":", with: "=")
        case 3: return "[" + text + "]"
        case 4: return " \"just text\" "
        case 5: return text.replacingOccurrences(of: ",", with: ",,")
        case 6: return String(repeating: "[", count: 300) + String(repeating: "]", count: 300)
        default: return text
        }
    }

    static func serialize(_ value: JSONValue) -> String {
        switch value {
        case .string(let s): JSONText.quote(s)
        case .integer(let i): String(i)
        case .double(let d): "\(d)"
        case .bool(let b): b ? "true" : "false"
        case .null: "null"
        case .array(let values): "[" + values.map(serialize).joined(separator: ",") + "]"
        case .object(let o): "{" + o.members.map { JSONText.quote($0.key) + ":" + serialize($0.value) }.joined(separator: ",") + "}"
        }
    }
}

extension SeededRNG {
    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &self) < p }
}
