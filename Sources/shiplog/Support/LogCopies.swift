import EventStore
import Foundation
import Ledger
import Runner
import ShiplogFiles

/// The copies a runner leaves in its log directory (`DEPLOYMENT_LOG_DIR`, the pipeline's
/// `artifacts.dir`) under the artifacts' names: `artifacts prune` removes them with the stored
/// bytes, so an expired log is gone from both places.
///
/// A copy is removed only when it still holds exactly the pruned bytes (same SHA-256) and is a
/// regular file, not a link: a file that changed since, or something else planted at the name,
/// is left alone and reported.
enum LogCopies {
    struct Outcome {
        var path: String
        /// Removed (or, for a dry run, would be).
        var removed: Bool
        /// Why a copy found at the name was kept.
        var keptBecause: String?
    }

    /// The copies of `pruned` artifacts: in `directory` when given, else in the log directory of
    /// the pipeline file each deployment began with (`$DEPLOYMENT_LOG_DIR` overriding its
    /// `artifacts.dir`, as for a run). A deployment recorded by another pipeline has no log
    /// directory of its own.
    static func prune(
        _ pruned: [ArtifactRecord], ledger: Ledger, directory: String?, environment: [String: String], dryRun: Bool
    ) -> [Outcome] {
        var directories: [String: String?] = [:]
        var outcomes: [Outcome] = []
        for artifact in pruned {
            let dir: String?
            if let directory {
                dir = directory
            } else if let known = directories[artifact.deploymentID] {
                dir = known
            } else {
                dir = logDirectory(of: artifact.deploymentID, ledger: ledger, environment: environment)
                directories[artifact.deploymentID] = dir
            }
            guard let dir else { continue }
            let path = dir + "/" + artifact.name
            switch FileSystem.kind(of: path, followSymlinks: false) {
            case .missing: continue
            case .regular: break
            default:
                outcomes.append(Outcome(path: path, removed: false, keptBecause: "not a regular file"))
                continue
            }
            guard let digest = sha256(ofFile: path) else {
                outcomes.append(Outcome(path: path, removed: false, keptBecause: "cannot be read"))
                continue
            }
            guard digest == artifact.sha256 else {
                outcomes.append(Outcome(path: path, removed: false, keptBecause: "it changed since it was stored"))
                continue
            }
            if !dryRun && unlink(path) != 0 {
                outcomes.append(Outcome(path: path, removed: false, keptBecause: FileSystem.message(errno)))
                continue
            }
            outcomes.append(Outcome(path: path, removed: true, keptBecause: nil))
        }
        return outcomes
    }

    /// Where the runner of `deploymentID` wrote its logs, from the pipeline file it began with.
    static func logDirectory(of deploymentID: String, ledger: Ledger, environment: [String: String]) -> String? {
        guard let request = try? ledger.load(deploymentID).request, request.mode == .run, let file = request.pipelinePath,
            var pipeline = try? Pipeline.load(path: file)
        else { return nil }
        if let override = environment["DEPLOYMENT_LOG_DIR"], !override.trimmingCharacters(in: .whitespaces).isEmpty {
            pipeline.artifacts.dir = override
        }
        return pipeline.resolvePath(pipeline.artifacts.dir)
    }

    /// The SHA-256 of a file, read in chunks; nil when it cannot be read.
    static func sha256(ofFile path: String) -> String? {
        guard let fd = try? FileSystem.openForReading(path, followSymlinks: false, regularOnly: true) else { return nil }
        defer { close(fd) }
        let hash = SHA256Stream()
        while true {
            guard let chunk = try? FileSystem.read(fd, upTo: 1 << 16, path: path) else { return nil }
            if chunk.isEmpty { return hash.finalizeHex() }
            chunk.withUnsafeBytes { hash.update($0) }
        }
    }
}
