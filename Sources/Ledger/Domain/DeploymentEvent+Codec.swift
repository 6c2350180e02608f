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

    /// The stored type name.
    public var typeName: String {
        switch self {
        case .deploymentRequested: "DeploymentRequested"
        case .stepStarted(let p, _): p.eventTypes.started
        case .stepSucceeded(let p, _): p.eventTypes.succeeded
        case .stepFailed(let p, _): p.eventTypes.failed
        case .serviceDeployed: "ServiceDeployed"
        case .stabilizationWaitStarted: "StabilizationWaitStarted"
        case .stabilizationWaitFinished: "StabilizationWaitFinished"
        case .healthCheckAttempted: "HealthCheckAttempted"
        case .serviceHealthy: "ServiceHealthy"
        case .serviceUnhealthy: "ServiceUnhealthy"
        case .healthChecksPassed: "HealthChecksPassed"
        case .healthChecksFailed: "HealthChecksFailed"
        case .rollbackStarted: "RollbackStarted"
        case .notificationSent: "NotificationSent"
        case .notificationFailed: "NotificationFailed"
        case .artifactStored: "ArtifactStored"
        case .deploymentSucceeded: "DeploymentSucceeded"
        case .deploymentFailed: "DeploymentFailed"
        case .deploymentRolledBack: "DeploymentRolledBack"
        case .deploymentAbandoned: "DeploymentAbandoned"
        case .deploymentMarkedBad: "DeploymentMarkedBad"
        case .environmentLocked: "EnvironmentLocked"
        case .environmentReleased: "EnvironmentReleased"
        case .environmentUnlocked: "EnvironmentUnlocked"
        case .artifactPruned: "ArtifactPruned"
        }
    }

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
        case .deploymentRolledBack(let id, let sha): f = [("status", "rolled_back"), ("rollback_to", id), ("rollback_sha", sha)]
        case .deploymentAbandoned(let reason, let by): f = [("status", "abandoned"), ("reason", reason), ("by", by)]
        case .deploymentMarkedBad(let reason, let by): f = [("reason", reason), ("by", by)]
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
        do {
            return try decodeThrowing(event)
        } catch let error as EventDecodingError {
            throw error
        } catch {
            throw EventDecodingError(position: event.position, type: event.type, detail: "\(error)")
        }
    }

    private static func decodeThrowing(_ event: RecordedEvent) throws -> DeploymentEvent? {
        let data = Data(event.data.utf8)
        switch event.type {
        case "DeploymentRequested":
            if event.schema == 1 { return .deploymentRequested(try Upcast.deploymentRequestedV1(data)) }
            return .deploymentRequested(try JSONDecoder().decode(DeploymentRequest.self, from: data))
        case "HealthCheckAttempted":
            return .healthCheckAttempted(try JSONDecoder().decode(HealthAttempt.self, from: data))
        case "ArtifactStored":
            return .artifactStored(try JSONDecoder().decode(Artifact.self, from: data))
        default: break
        }
        guard let f = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw EventDecodingError(position: event.position, type: event.type, detail: "data is not a JSON object")
        }
        func s(_ k: String) throws -> String {
            guard let v = f[k] as? String else { throw EventDecodingError(position: event.position, type: event.type, detail: "missing text field \(k)") }
            return v
        }
        func i(_ k: String) throws -> Int {
            guard let v = f[k] as? NSNumber else { throw EventDecodingError(position: event.position, type: event.type, detail: "missing number field \(k)") }
            return v.intValue
        }
        func round() throws -> HealthRound { HealthRound(rawValue: try s("round")) ?? .deploy }
        func phase() throws -> Phase {
            guard let p = Phase(rawValue: try s("phase")) else { throw EventDecodingError(position: event.position, type: event.type, detail: "unknown phase") }
            return p
        }
        switch event.type {
        case "ServiceDeployed": return .serviceDeployed(service: try s("service"))
        case "StabilizationWaitStarted": return .stabilizationWaitStarted(seconds: (f["seconds"] as? NSNumber)?.doubleValue ?? 0, until: try s("until"))
        case "StabilizationWaitFinished": return .stabilizationWaitFinished
        case "ServiceHealthy": return .serviceHealthy(check: try s("service"), attempts: try i("attempts"), round: try round())
        case "ServiceUnhealthy": return .serviceUnhealthy(check: try s("service"), attempts: try i("attempts"), reason: try s("reason"), round: try round())
        case "HealthChecksPassed": return .healthChecksPassed(round: try round())
        case "HealthChecksFailed": return .healthChecksFailed(round: try round(), failed: f["failed"] as? [String] ?? [])
        case "RollbackStarted": return .rollbackStarted(targetID: try s("target_deployment_id"), targetSHA: try s("target_sha"), attempt: try i("attempt"))
        case "NotificationSent": return .notificationSent(channel: try s("channel"), attempts: try i("attempts"))
        case "NotificationFailed": return .notificationFailed(channel: try s("channel"), attempts: try i("attempts"), error: try s("error"))
        case "DeploymentSucceeded": return .deploymentSucceeded
        case "DeploymentFailed": return .deploymentFailed(reason: try s("reason"), phase: (f["phase"] as? String).flatMap(Phase.init(rawValue:)))
        case "DeploymentRolledBack": return .deploymentRolledBack(targetID: try s("rollback_to"), targetSHA: try s("rollback_sha"))
        case "DeploymentAbandoned": return .deploymentAbandoned(reason: try s("reason"), by: try s("by"))
        case "DeploymentMarkedBad": return .deploymentMarkedBad(reason: try s("reason"), by: try s("by"))
        case "EnvironmentLocked": return .environmentLocked(deploymentID: try s("deployment_id"))
        case "EnvironmentReleased": return .environmentReleased(deploymentID: try s("deployment_id"), status: try s("status"))
        case "EnvironmentUnlocked": return .environmentUnlocked(deploymentID: try s("deployment_id"), reason: try s("reason"), by: try s("by"))
        case "ArtifactPruned": return .artifactPruned(name: try s("name"), sha256: try s("sha256"), deploymentID: try s("deployment_id"))
        default: break
        }
        for p in Phase.allCases where p != .health {
            let t = p.eventTypes
            if event.type == t.started { return .stepStarted(p, attempt: try i("attempt")) }
            if event.type == t.succeeded { return .stepSucceeded(p, detail: f["detail"] as? String) }
            if event.type == t.failed { return .stepFailed(p, reason: try s("reason")) }
        }
        return nil
    }
}

/// Readers for event schemas this version no longer writes.
enum Upcast {
    /// DeploymentRequested v1 carried services as one comma-separated string and no trigger,
    /// mode, phases or previous stable version.
    static func deploymentRequestedV1(_ data: Data) throws -> DeploymentRequest {
        struct V1: Decodable {
            var deployment_id: String
            var environment: String
            var git_sha: String
            var git_ref: String
            var services: String
        }
        let v1 = try JSONDecoder().decode(V1.self, from: data)
        return DeploymentRequest(
            deploymentID: v1.deployment_id, environment: v1.environment, gitSHA: v1.git_sha, gitRef: v1.git_ref,
            services: v1.services.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty },
            triggeredBy: "unknown", mode: "record")
    }
}
