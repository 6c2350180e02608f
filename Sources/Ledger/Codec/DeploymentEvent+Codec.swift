import EventStore
import Foundation

/// Errors reading an event the domain does not understand.
public struct EventDecodingError: Error, CustomStringConvertible {
    public var position: Int64
    public var type: String
    public var detail: String
    public var description: String { "event at position \(position) (\(type)) cannot be read: \(detail)" }
}

extension DeploymentEvent {
    /// Schema version written for each type today. Older versions are upcast on read.
    static let currentSchema: [String: Int] = ["DeploymentRequested": 2]

    /// The event as the store takes it.
    public func makeNewEvent(metadata: String = "{}") -> NewEvent {
        NewEvent(type: typeName, schema: Self.currentSchema[typeName] ?? 1, data: encodedData(), metadata: metadata)
    }

    func encodedData() -> String {
        switch self {
        case .deploymentRequested(let r): return Self.encode(r)
        case .healthCheckAttempted(let a): return Self.encode(a)
        case .artifactStored(let a): return Self.encode(a)
        default: break
        }
        var f: [(String, Any?)] = []
        switch self {
        case .deploymentRequested, .healthCheckAttempted, .artifactStored: break
        case .stepStarted(let p, let attempt): f = [("phase", p.rawValue), ("attempt", attempt)]
        case .stepSucceeded(let p, let detail): f = [("phase", p.rawValue), ("detail", detail)]
        case .stepFailed(let p, let reason): f = [("phase", p.rawValue), ("reason", reason)]
        case .serviceDeployed(let s): f = [("service", s)]
        case .stabilizationWaitStarted(let seconds, let until): f = [("seconds", seconds), ("until", until)]
        case .stabilizationWaitFinished: f = []
        case .serviceHealthy(let c, let n, let r): f = [("service", c), ("attempts", n), ("round", r.rawValue)]
        case .serviceUnhealthy(let c, let n, let reason, let r): f = [("service", c), ("attempts", n), ("reason", reason), ("round", r.rawValue)]
        case .healthChecksPassed(let r): f = [("round", r.rawValue)]
        case .healthChecksFailed(let r, let failed): f = [("round", r.rawValue), ("failed", failed)]
        case .rollbackStarted(let id, let sha, let attempt): f = [("phase", "rollback"), ("target_deployment_id", id), ("target_sha", sha), ("attempt", attempt)]
        case .notificationSent(let c, let n): f = [("channel", c), ("attempts", n)]
        case .notificationFailed(let c, let n, let e): f = [("channel", c), ("attempts", n), ("error", e)]
        case .deploymentSucceeded: f = [("status", "success")]
        case .deploymentFailed(let reason, let phase): f = [("status", "failed"), ("reason", reason), ("phase", phase?.rawValue)]
        case .deploymentRolledBack(let id, let sha, let reason): f = [("status", "rolled_back"), ("rollback_to", id), ("rollback_sha", sha), ("reason", reason)]
        case .deploymentAbandoned(let reason, let by): f = [("status", "abandoned"), ("reason", reason), ("by", by)]
        case .deploymentMarkedBad(let reason, let by): f = [("reason", reason), ("by", by)]
        case .approvalRequested(let g):
            f = [("before", g.before.rawValue), ("required", g.required), ("approvers", g.approvers), ("timeout_seconds", g.timeoutSeconds)]
        case .approvalGranted(let by, let comment): f = [("by", by), ("comment", comment)]
        case .approvalRejected(let by, let reason): f = [("by", by), ("reason", reason)]
        case .approvalTimedOut(let deadline): f = [("deadline", deadline)]
        case .deploymentRolledBackManually(let rollbackID, let targetID, let targetSHA, let reason, let by):
            f = [
                ("status", "rolled_back"), ("rolled_back_by", rollbackID), ("rollback_to", targetID), ("rollback_sha", targetSHA),
                ("reason", reason), ("by", by),
            ]
        case .environmentLocked(let id): f = [("deployment_id", id)]
        case .environmentReleased(let id, let status): f = [("deployment_id", id), ("status", status)]
        case .environmentUnlocked(let id, let reason, let by): f = [("deployment_id", id), ("reason", reason), ("by", by)]
        case .artifactPruned(let name, let sha, let id): f = [("name", name), ("sha256", sha), ("deployment_id", id)]
        }
        return JSONText.object(f.compactMap { key, value in value.map { (key, Self.literal($0)) } })
    }

    static func literal(_ value: Any) -> String {
        switch value {
        case let s as String: JSONText.quote(s)
        case let i as Int: String(i)
        case let d as Double: d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
        case let b as Bool: b ? "true" : "false"
        case let a as [String]: JSONText.array(a.map(JSONText.quote))
        default: preconditionFailure("unsupported event field \(value)")
        }
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()

    static func encode<T: Encodable>(_ value: T) -> String {
        String(decoding: try! encoder.encode(value), as: UTF8.self)
    }

    /// Reads a recorded event, upcasting older schema versions; nil for types that are not the domain's.
    public static func decode(_ event: RecordedEvent) throws -> DeploymentEvent? {
        try decode(event, inPlace: true)
    }

    /// Reads an event whose data is given as its UTF-8 bytes (`event.data` is not read), as a
    /// replay hands them over: the same result as `decode` on the event with that data.
    public static func decode(_ event: RecordedEvent, data: UnsafeBufferPointer<UInt8>) throws -> DeploymentEvent? {
        if let kind = kinds[event.type], let decoded = decodeInPlace(kind, event, data) { return decoded }
        var event = event
        event.data = String(decoding: data, as: UTF8.self)
        return try decode(event, inPlace: false)
    }

    /// `inPlace: false` reads with the general reader only (for comparing the two).
    static func decode(_ event: RecordedEvent, inPlace: Bool) throws -> DeploymentEvent? {
        do {
            return try inPlace ? decodeThrowing(event) : decodeGeneral(event)
        } catch let error as EventDecodingError {
            throw error
        } catch {
            throw EventDecodingError(position: event.position, type: event.type, detail: "\(error)")
        }
    }

    /// What a stored type name reads as. One table lookup instead of comparing the name
    /// with every type in turn: replays decode millions of events.
    enum Kind: Sendable {
        case requested, healthAttempt, artifact, serviceDeployed, stabilizationStarted, stabilizationFinished
        case serviceHealthy, serviceUnhealthy, checksPassed, checksFailed, rollbackStarted, notificationSent, notificationFailed
        case succeeded, failed, rolledBack, abandoned, markedBad, locked, released, unlocked, pruned
        case approvalRequested, approvalGranted, approvalRejected, approvalTimedOut, rolledBackManually
        case stepStarted(Phase), stepSucceeded(Phase), stepFailed(Phase)
    }

    private static let kinds = KindTable(
        {
            var kinds: [String: Kind] = [:]
            // Phase step names first: a name below that is also a step's (ServiceDeployed, RollbackStarted) means the case below.
            for p in Phase.allCases.reversed() where p != .health {
                let t = p.eventTypes
                kinds[t.started] = .stepStarted(p)
                kinds[t.succeeded] = .stepSucceeded(p)
                kinds[t.failed] = .stepFailed(p)
            }
            // The names come from `typeName`, the one place they are spelled: one sample of each case.
            let samples: [(DeploymentEvent, Kind)] = [
                (
                    .deploymentRequested(
                        DeploymentRequest(
                            deploymentID: "", environment: "", gitSHA: "", gitRef: "", services: [],
                            triggeredBy: "", mode: .run)), .requested
                ),
                (
                    .healthCheckAttempted(
                        HealthAttempt(
                            check: "", target: "", attempt: 0, round: .deploy, httpStatus: nil, latencyMs: 0,
                            error: nil, healthy: true)), .healthAttempt
                ),
                (.artifactStored(Artifact(name: "", phase: "", sha256: "", size: 0, retentionDays: 1)), .artifact),
                (.serviceDeployed(service: ""), .serviceDeployed),
                (.stabilizationWaitStarted(seconds: 0, until: ""), .stabilizationStarted),
                (.stabilizationWaitFinished, .stabilizationFinished),
                (.serviceHealthy(check: "", attempts: 0, round: .deploy), .serviceHealthy),
                (.serviceUnhealthy(check: "", attempts: 0, reason: "", round: .deploy), .serviceUnhealthy),
                (.healthChecksPassed(round: .deploy), .checksPassed),
                (.healthChecksFailed(round: .deploy, failed: []), .checksFailed),
                (.rollbackStarted(targetID: "", targetSHA: "", attempt: 0), .rollbackStarted),
                (.notificationSent(channel: "", attempts: 0), .notificationSent),
                (.notificationFailed(channel: "", attempts: 0, error: ""), .notificationFailed),
                (.deploymentSucceeded, .succeeded),
                (.deploymentFailed(reason: "", phase: nil), .failed),
                (.deploymentRolledBack(targetID: "", targetSHA: ""), .rolledBack),
                (.deploymentAbandoned(reason: "", by: ""), .abandoned),
                (.deploymentMarkedBad(reason: "", by: ""), .markedBad),
                (.environmentLocked(deploymentID: ""), .locked),
                (.environmentReleased(deploymentID: "", status: ""), .released),
                (.environmentUnlocked(deploymentID: "", reason: "", by: ""), .unlocked),
                (.artifactPruned(name: "", sha256: "", deploymentID: ""), .pruned),
                (.approvalRequested(ApprovalGate(before: .deploy, required: 1, timeoutSeconds: 1)), .approvalRequested),
                (.approvalGranted(by: "", comment: nil), .approvalGranted),
                (.approvalRejected(by: "", reason: ""), .approvalRejected),
                (.approvalTimedOut(deadline: ""), .approvalTimedOut),
                (.deploymentRolledBackManually(rollbackID: "", targetID: "", targetSHA: "", reason: "", by: ""), .rolledBackManually),
            ]
            for (event, kind) in samples { kinds[event.typeName] = kind }
            return kinds
        }())

    /// The type names in a `JSONKeys` table (a hash of a name's length and its first and last
    /// eight bytes, then a comparison), and the kind of each: it runs once per event.
    private struct KindTable: Sendable {
        let names: JSONKeys
        let list: [Kind]

        init(_ kinds: [String: Kind]) {
            let sorted = kinds.sorted { $0.key < $1.key }
            names = JSONKeys(names: sorted.map(\.key))
            list = sorted.map(\.value)
        }

        subscript(name: String) -> Kind? {
            var name = name
            return name.withUTF8 { names.index(of: $0) }.map { list[$0] }
        }
    }

    private static func decodeThrowing(_ event: RecordedEvent) throws -> DeploymentEvent? {
        // A type that is not the domain's still has its payload checked: the general reader does it.
        guard let kind = kinds[event.type] else { return try decodeGeneral(event) }
        var data = event.data
        // In place first: the payload's bytes are checked and indexed on the stack, and only the
        // members kept become strings. Anything else (not an object, a very large one, any
        // error) is left to the general reader below, which words the error.
        let decoded = data.withUTF8 { decodeInPlace(kind, event, $0) }
        if let decoded { return decoded }
        return try decodeGeneral(event)
    }

    /// What the stored type name `type` reads as, nil for a type that is not the domain's.
    static func kind(of type: String) -> Kind? { kinds[type] }

    /// The event read from its payload's bytes in place; nil for anything the general reader
    /// must read (or refuse).
    static func decodeInPlace(_ kind: Kind, _ event: RecordedEvent, _ bytes: UnsafeBufferPointer<UInt8>) -> DeploymentEvent? {
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: PayloadKey.table.count) { starts in
            guard let members = try? JSONMembers(bytes, keys: PayloadKey.table, starts: starts) else { return nil }
            // Errors here are never shown (the general reader reads the payload again and words
            // them), so the fields carry no copy of the type name.
            return try? decode(kind, PayloadFields(object: members, position: event.position, type: ""), schema: event.schema)
        }
    }

    /// The general reader: the whole payload as a `JSONObject`. Every payload reads the same
    /// either way (tested on random events); this one also reads what the in-place one leaves.
    static func decodeGeneral(_ event: RecordedEvent) throws -> DeploymentEvent? {
        // EventStore's reader, not Foundation's: replays decode every event, and it is several times faster.
        guard case .object(let f) = try JSONValue(parsing: event.data) else {
            throw EventDecodingError(position: event.position, type: event.type, detail: "data is not a JSON object")
        }
        guard let kind = kinds[event.type] else { return nil }
        return try decode(kind, PayloadFields(object: f, position: event.position, type: event.type), schema: event.schema)
    }

    private static func decode<Object: PayloadObject>(_ kind: Kind, _ fields: PayloadFields<Object>, schema: Int) throws -> DeploymentEvent {
        let f = fields.object
        func s(_ k: PayloadKey) throws -> String { try fields.string(k) }
        func i(_ k: PayloadKey) throws -> Int { try fields.int(k) }
        func round() throws -> HealthRound { Raw.rounds[try s(.round)] ?? .deploy }
        switch kind {
        case .requested:
            if schema == 1 { return .deploymentRequested(try Upcast.deploymentRequestedV1(fields)) }
            return .deploymentRequested(try DeploymentRequest(fields))
        case .healthAttempt: return .healthCheckAttempted(try HealthAttempt(fields))
        case .artifact: return .artifactStored(try Artifact(fields))
        case .serviceDeployed: return .serviceDeployed(service: try s(.service))
        case .stabilizationStarted: return .stabilizationWaitStarted(seconds: f[.seconds]?.doubleValue ?? 0, until: try s(.until))
        case .stabilizationFinished: return .stabilizationWaitFinished
        case .serviceHealthy: return .serviceHealthy(check: try s(.service), attempts: try i(.attempts), round: try round())
        case .serviceUnhealthy: return .serviceUnhealthy(check: try s(.service), attempts: try i(.attempts), reason: try s(.reason), round: try round())
        case .checksPassed: return .healthChecksPassed(round: try round())
        case .checksFailed: return .healthChecksFailed(round: try round(), failed: f.strings(.failed) ?? [])
        case .rollbackStarted: return .rollbackStarted(targetID: try s(.targetDeploymentID), targetSHA: try s(.targetSHA), attempt: try i(.attempt))
        case .notificationSent: return .notificationSent(channel: try s(.channel), attempts: try i(.attempts))
        case .notificationFailed: return .notificationFailed(channel: try s(.channel), attempts: try i(.attempts), error: try s(.error))
        case .succeeded: return .deploymentSucceeded
        case .failed: return .deploymentFailed(reason: try s(.reason), phase: f.string(.phase).flatMap { Raw.phases[$0] })
        case .rolledBack:
            return .deploymentRolledBack(targetID: try s(.rollbackTo), targetSHA: try s(.rollbackSHA), reason: try fields.optionalString(.reason))
        case .abandoned: return .deploymentAbandoned(reason: try s(.reason), by: try s(.by))
        case .markedBad: return .deploymentMarkedBad(reason: try s(.reason), by: try s(.by))
        case .locked: return .environmentLocked(deploymentID: try s(.deploymentID))
        case .released: return .environmentReleased(deploymentID: try s(.deploymentID), status: try s(.status))
        case .unlocked: return .environmentUnlocked(deploymentID: try s(.deploymentID), reason: try s(.reason), by: try s(.by))
        case .pruned: return .artifactPruned(name: try s(.name), sha256: try s(.sha256), deploymentID: try s(.deploymentID))
        case .approvalRequested:
            let before = try fields.raw(.before, in: Raw.phases)
            guard let timeout = f[.timeoutSeconds]?.doubleValue else { throw fields.fail("missing number field timeout_seconds") }
            return .approvalRequested(ApprovalGate(before: before, required: try i(.required), approvers: try fields.strings(.approvers), timeoutSeconds: timeout))
        case .approvalGranted: return .approvalGranted(by: try s(.by), comment: try fields.optionalString(.comment))
        case .approvalRejected: return .approvalRejected(by: try s(.by), reason: try s(.reason))
        case .approvalTimedOut: return .approvalTimedOut(deadline: try s(.deadline))
        case .rolledBackManually:
            return .deploymentRolledBackManually(
                rollbackID: try s(.rolledBackBy), targetID: try s(.rollbackTo), targetSHA: try s(.rollbackSHA), reason: try s(.reason),
                by: try s(.by))
        case .stepStarted(let p): return .stepStarted(p, attempt: try i(.attempt))
        case .stepSucceeded(let p): return .stepSucceeded(p, detail: f.string(.detail))
        case .stepFailed(let p): return .stepFailed(p, reason: try s(.reason))
        }
    }
}

/// What a payload reader asks of an object: `JSONObject` (the general reader) and
/// `JSONMembers` (in place) answer alike.
protocol PayloadObject {
    func string(_ key: PayloadKey) -> String?
    func strings(_ key: PayloadKey) -> [String]?
    /// What kind of value the member holds, and the value when it is a plain integer or a
    /// boolean: most members read this way, without a `JSONValue`.
    func scalar(_ key: PayloadKey) -> JSONMembers.Scalar?
    subscript(key: PayloadKey) -> JSONValue? { get }
}

extension JSONObject: PayloadObject {
    func string(_ key: PayloadKey) -> String? { string(key.name.description) }
    func strings(_ key: PayloadKey) -> [String]? { strings(key.name.description) }
    subscript(key: PayloadKey) -> JSONValue? { self[key.name.description] }

    func scalar(_ key: PayloadKey) -> JSONMembers.Scalar? {
        switch self[key.name.description] {
        case nil: nil
        case .integer(let v)?: .integer(v)
        case .bool(let b)?: .bool(b)
        case .null?: .null
        case .string?: .string
        default: .other
        }
    }
}

extension JSONMembers: PayloadObject {
    func string(_ key: PayloadKey) -> String? { string(key.rawValue) }
    func strings(_ key: PayloadKey) -> [String]? { strings(key.rawValue) }
    func scalar(_ key: PayloadKey) -> JSONMembers.Scalar? { scalar(key.rawValue) }
    subscript(key: PayloadKey) -> JSONValue? { self[key.rawValue] }
}

/// One payload's members, read with the errors a decoder reports: the three payload structs are
/// read member by member here rather than through `Decodable`, whose generic containers cost
/// more than the rest of a replay. Each reader takes exactly the members `JSONEncoder` writes
/// for its struct (CodingKeys), required unless optional, `null` reading as nil.
struct PayloadFields<Object: PayloadObject> {
    let object: Object
    let position: Int64
    let type: String

    func fail(_ detail: String) -> EventDecodingError {
        EventDecodingError(position: position, type: type, detail: detail)
    }

    func string(_ k: PayloadKey) throws -> String {
        guard let v = object.string(k) else { throw fail("missing text field \(k.name)") }
        return v
    }

    /// A number as `JSONValue.intValue` reads it (fractions truncated, booleans 1 and 0).
    func int(_ k: PayloadKey) throws -> Int {
        switch object.scalar(k) {
        case .integer(let v)?: return Int(v)
        case .bool(let b)?: return b ? 1 : 0
        case .other?: if let v = object[k]?.intValue { return v }
        default: break
        }
        throw fail("missing number field \(k.name)")
    }

    /// An integer member that must be a whole number, as `JSONDecoder` requires.
    func exactInt(_ k: PayloadKey) throws -> Int {
        switch object.scalar(k) {
        case .integer(let v)?: return Int(v)
        case .other?:
            switch object[k] {
            case .integer(let v)?: if let i = Int(exactly: v) { return i }
            case .double(let d)?: if let i = Int(exactly: d) { return i }
            default: break
            }
        default: break
        }
        throw fail("missing whole number field \(k.name)")
    }

    func optionalString(_ k: PayloadKey) throws -> String? {
        switch object.scalar(k) {
        case nil, .null?: return nil
        case .string?: return object.string(k)
        default: throw fail("field \(k.name) is not text")
        }
    }

    /// A nested object member, read with the same errors; nil when absent or `null`.
    func optionalObject(_ k: PayloadKey) throws -> PayloadFields<JSONObject>? {
        switch object[k] {
        case nil, .null?: return nil
        case .object(let nested)?: return PayloadFields<JSONObject>(object: nested, position: position, type: type)
        default: throw fail("field \(k.name) is not an object")
        }
    }

    func optionalExactInt(_ k: PayloadKey) throws -> Int? {
        switch object.scalar(k) {
        case nil, .null?: return nil
        default: return try exactInt(k)
        }
    }

    func bool(_ k: PayloadKey) throws -> Bool {
        guard case .bool(let v)? = object.scalar(k) else { throw fail("missing true/false field \(k.name)") }
        return v
    }

    func strings(_ k: PayloadKey) throws -> [String] {
        guard let v = object.strings(k) else { throw fail("missing list of text field \(k.name)") }
        return v
    }

    func raw<T>(_ k: PayloadKey, in values: RawValues<T>) throws -> T {
        guard let v = values[try string(k)] else { throw fail("field \(k.name) has an unknown value") }
        return v
    }
}

/// An enumeration's raw values in a `JSONKeys` table: one lookup where `init(rawValue:)` compares
/// the text with each case in turn (a request's phases, every health verdict's round).
struct RawValues<T: RawRepresentable & CaseIterable & Sendable>: Sendable where T.RawValue == String {
    private let names: JSONKeys
    private let cases: [T]

    init() {
        cases = Array(T.allCases)
        names = JSONKeys(names: cases.map(\.rawValue))
    }

    /// The case whose raw value is `text`; nil for any other text, as `init(rawValue:)` gives.
    subscript(text: String) -> T? {
        var text = text
        return text.withUTF8 { names.index(of: $0) }.map { cases[$0] }
    }
}

/// The tables of the enumerations payloads name, made once.
private enum Raw {
    static let phases = RawValues<Phase>()
    static let rounds = RawValues<HealthRound>()
    static let modes = RawValues<DeploymentMode>()
}

extension DeploymentRequest {
    init<Object>(_ f: PayloadFields<Object>) throws {
        self.init(
            deploymentID: try f.string(.deploymentID), environment: try f.string(.environment), gitSHA: try f.string(.gitSHA),
            gitRef: try f.string(.gitRef), services: try f.strings(.services), triggeredBy: try f.string(.triggeredBy),
            mode: try f.raw(.mode, in: Raw.modes),
            phases: try f.strings(.phases).map { name in
                guard let p = Raw.phases[name] else { throw f.fail("unknown phase \(name)") }
                return p
            },
            checks: try f.strings(.checks), previousStableID: try f.optionalString(.previousStableID),
            previousStableSHA: try f.optionalString(.previousStableSHA),
            pipelinePath: try f.optionalString(.pipelinePath), pipelineSHA256: try f.optionalString(.pipelineSHA256),
            commitTime: try f.optionalString(.commitTime),
            manualRollback: try f.optionalObject(.manualRollback).map(ManualRollback.init))
    }
}

extension ManualRollback {
    init(_ f: PayloadFields<JSONObject>) throws {
        self.init(
            targetID: try f.string(.targetDeploymentID), targetSHA: try f.string(.targetSHA),
            replaces: try f.optionalString(.replaces), reason: try f.string(.reason))
    }
}

extension HealthAttempt {
    init<Object>(_ f: PayloadFields<Object>) throws {
        self.init(
            check: try f.string(.service), target: try f.string(.target), attempt: try f.exactInt(.attempt),
            round: try f.raw(.round, in: Raw.rounds), httpStatus: try f.optionalExactInt(.httpStatus),
            latencyMs: try f.exactInt(.latencyMs), error: try f.optionalString(.error), healthy: try f.bool(.healthy),
            body: try f.optionalString(.body))
    }
}

extension Artifact {
    init<Object>(_ f: PayloadFields<Object>) throws {
        self.init(
            name: try f.string(.name), phase: try f.string(.phase), sha256: try f.string(.sha256),
            size: Int64(try f.exactInt(.size)), retentionDays: try f.exactInt(.retentionDays))
    }
}

/// Readers for event schemas this version no longer writes.
enum Upcast {
    /// DeploymentRequested v1 carried services as one comma-separated string and no trigger,
    /// mode, phases or previous stable version.
    static func deploymentRequestedV1<Object>(_ f: PayloadFields<Object>) throws -> DeploymentRequest {
        DeploymentRequest(
            deploymentID: try f.string(.deploymentID), environment: try f.string(.environment),
            gitSHA: try f.string(.gitSHA), gitRef: try f.string(.gitRef),
            services: try f.string(.services).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty },
            triggeredBy: "unknown", mode: .record)
    }
}

/// The member names of every payload the domain reads, in one table (`JSONKeys`): the in-place
/// reader looks each member name up once while it checks the text.
enum PayloadKey: Int, CaseIterable {
    case service, attempts, round, seconds, until, failed, targetDeploymentID, targetSHA, attempt, channel, error, reason, phase, rollbackTo, rollbackSHA, by, deploymentID, status, name, sha256,
        before, timeoutSeconds, required, approvers, comment, deadline, rolledBackBy, detail, environment, gitSHA, gitRef, services, triggeredBy, mode, phases, checks, previousStableID,
        previousStableSHA, pipelinePath, pipelineSHA256, commitTime, manualRollback, replaces, target, httpStatus, latencyMs, healthy, body, size, retentionDays

    /// The name as payloads spell it.
    var name: StaticString {
        switch self {
        case .service: "service"
        case .attempts: "attempts"
        case .round: "round"
        case .seconds: "seconds"
        case .until: "until"
        case .failed: "failed"
        case .targetDeploymentID: "target_deployment_id"
        case .targetSHA: "target_sha"
        case .attempt: "attempt"
        case .channel: "channel"
        case .error: "error"
        case .reason: "reason"
        case .phase: "phase"
        case .rollbackTo: "rollback_to"
        case .rollbackSHA: "rollback_sha"
        case .by: "by"
        case .deploymentID: "deployment_id"
        case .status: "status"
        case .name: "name"
        case .sha256: "sha256"
        case .before: "before"
        case .timeoutSeconds: "timeout_seconds"
        case .required: "required"
        case .approvers: "approvers"
        case .comment: "comment"
        case .deadline: "deadline"
        case .rolledBackBy: "rolled_back_by"
        case .detail: "detail"
        case .environment: "environment"
        case .gitSHA: "git_sha"
        case .gitRef: "git_ref"
        case .services: "services"
        case .triggeredBy: "triggered_by"
        case .mode: "mode"
        case .phases: "phases"
        case .checks: "checks"
        case .previousStableID: "previous_stable_id"
        case .previousStableSHA: "previous_stable_sha"
        case .pipelinePath: "pipeline_path"
        case .pipelineSHA256: "pipeline_sha256"
        case .commitTime: "commit_time"
        case .manualRollback: "manual_rollback"
        case .replaces: "replaces"
        case .target: "target"
        case .httpStatus: "http_status"
        case .latencyMs: "latency_ms"
        case .healthy: "healthy"
        case .body: "body"
        case .size: "size"
        case .retentionDays: "retention_days"
        }
    }

    static let table = JSONKeys(allCases.map(\.name))
}
