import Foundation
import ShiplogCore
/// The port for "one runner per deployment": a claim a runner holds while it drives a
/// deployment, released however the runner dies (the kernel drops a file lock; the server drops
/// a session's advisory lock when its connection goes).
public protocol RunnerClaims {
    /// Claims `deploymentID`, or throws `RunnerClaimRefused` naming who holds it.
    func claim(_ deploymentID: String) throws -> any RunnerClaim

    /// Who holds the claim on `deploymentID` now, without taking it or getting in a claimant's
    /// way; nil when no live runner holds it.
    func holder(of deploymentID: String) throws -> RunnerHolder?
}

/// A held claim; `release` (or the process's death) gives it back.
public protocol RunnerClaim: AnyObject {
    func release()
}

/// Someone else drives the deployment.
public struct RunnerClaimRefused: Error, Equatable, CustomStringConvertible {
    public var deploymentID: String
    /// Who holds it, as the holder described itself (host, pid, since), when known.
    public var holder: String?
    /// The holder's pid, when it runs on this machine (its liveness can be seen here).
    public var localPID: Int32?
    /// True when the holder says it runs on another host.
    public var remote: Bool

    public init(deploymentID: String, holder: String?, localPID: Int32?, remote: Bool) {
        self.deploymentID = deploymentID
        self.holder = holder
        self.localPID = localPID
        self.remote = remote
    }

    public var description: String {
        "deployment \(deploymentID) is being driven by another shiplog process right now\(holder.map { " (\($0))" } ?? ""); wait for it, or check `shiplog status`"
    }
}

/// Who holds a claim: a runner's host, pid and start, as it writes them where others can read
/// them (a lock file, a session's `application_name`) — the one spelling both backends use.
public struct RunnerHolder: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var pid: Int32
    public var since: String

    /// This process, now.
    public static func current(at now: Date = Date()) -> RunnerHolder {
        RunnerHolder(host: hostName, pid: getpid(), since: String(Timestamp.format(now).prefix(19)) + "Z")
    }

    public init(host: String, pid: Int32, since: String) {
        self.host = host
        self.pid = pid
        self.since = since
    }

    /// Reads the `host=… pid=… since=…` fields out of `text`; nil when host or pid is missing.
    public init?(parsing text: String) {
        var fields: [String: String] = [:]
        for part in text.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            let kv = part.split(separator: "=", maxSplits: 1)
            if kv.count == 2 { fields[String(kv[0])] = String(kv[1]) }
        }
        guard let host = fields["host"], let pid = fields["pid"].flatMap({ Int32($0) }) else { return nil }
        self.init(host: host, pid: pid, since: fields["since"] ?? "?")
    }

    /// `host=… pid=… since=…`, what `init(parsing:)` reads.
    public var fields: String { "host=\(host) pid=\(pid) since=\(since)" }

    /// True when the holder runs on this machine, where its liveness can be checked.
    public var isLocal: Bool { host == Self.hostName }

    public var description: String { "pid \(pid) on host \(host), since \(since)" }

    /// The refusal a second claimant gets; `holder` nil when nobody said who they are.
    public static func refusal(of deploymentID: String, by holder: RunnerHolder?) -> RunnerClaimRefused {
        RunnerClaimRefused(
            deploymentID: deploymentID, holder: holder?.description,
            localPID: holder.flatMap { $0.isLocal ? $0.pid : nil }, remote: holder.map { !$0.isLocal } ?? false)
    }

    /// This machine's name, kept to what a host name may hold: it goes into files and messages.
    static let hostName: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let plain =
            !name.isEmpty
            && name.unicodeScalars.allSatisfy {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "." || $0 == "-")
            }
        return plain ? name : "unknown"
    }()
}
