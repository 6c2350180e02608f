import EventStore
import Foundation
import Ledger
import PostgresClient

/// One runner per deployment across machines: a session-level advisory lock on the shared
/// server, held on a connection of its own for as long as the runner drives the deployment.
/// The server drops it when that connection dies, however the runner dies. The connection's
/// `application_name` says who holds it (host, pid, since), so a refused claim can name them.
public struct PostgresRunnerClaims: RunnerClaims {
    public let url: String

    public init(url: String) { self.url = url }

    /// The lock key of a deployment: 64 bits of the SHA-256 of its stream name.
    static func key(_ deploymentID: String) -> Int64 {
        let digest = HashChain.sha256Hex("deployment-" + deploymentID)
        return Int64(bitPattern: UInt64(digest.prefix(16), radix: 16) ?? 0)
    }

    public func claim(_ deploymentID: String) throws -> any RunnerClaim {
        let me = "shiplog runner " + RunnerHolder.current().fields
        do {
            let connection = try PGConnection(url: url, applicationName: me)
            let key = Self.key(deploymentID)
            if try connection.tryAdvisoryLock(key: key) { return Claim(connection: connection) }
            // Who holds it: the session with the lock, by its application name.
            let r = try connection.query(
                """
                SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'advisory' AND l.granted
                  AND ((l.classid::bigint << 32) | l.objid::bigint) = $1::bigint
                LIMIT 1
                """, [String(key)])
            let name = r.rowCount == 1 ? r.string(0, 0) : nil
            connection.close()
            throw RunnerHolder.refusal(of: deploymentID, by: name.flatMap(RunnerHolder.init(parsing:)))
        } catch let error as PostgresError {
            throw EventStoreError(error)
        }
    }

    public func holder(of deploymentID: String) throws -> RunnerHolder? {
        do {
            let connection = try PGConnection(url: url, applicationName: "shiplog status")
            defer { connection.close() }
            let r = try connection.query(
                """
                SELECT a.application_name, a.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'advisory' AND l.granted
                  AND ((l.classid::bigint << 32) | l.objid::bigint) = $1::bigint
                LIMIT 1
                """, [String(Self.key(deploymentID))])
            guard r.rowCount == 1 else { return nil }
            let name = r.string(0, 0) ?? ""
            return RunnerHolder(parsing: name) ?? RunnerHolder(host: "unknown (server session \(r.string(0, 1) ?? "?"))", pid: 0, since: "?")
        } catch let error as PostgresError {
            throw EventStoreError(error)
        }
    }

    final class Claim: RunnerClaim {
        let connection: PGConnection
        init(connection: PGConnection) { self.connection = connection }
        func release() { connection.close() }
        deinit { connection.close() }
    }
}
