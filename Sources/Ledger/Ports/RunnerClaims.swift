/// The port for "one runner per deployment": a claim a runner holds while it drives a
/// deployment, released however the runner dies (the kernel drops a file lock; the server drops
/// a session's advisory lock when its connection goes).
public protocol RunnerClaims {
    /// Claims `deploymentID`, or throws `RunnerClaimRefused` naming who holds it.
    func claim(_ deploymentID: String) throws -> any RunnerClaim
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
