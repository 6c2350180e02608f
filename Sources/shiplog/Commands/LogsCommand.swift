import EventStore
import ArgumentParser
import Foundation
import Ledger
import ShiplogFiles

struct LogsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Print a log or the record a deployment kept, proven unchanged; or list what it kept.",
        discussion: """
            NAME is an artifact's name (migration-logs-ID, build-ID.log, docker-build-ID.log, \
            deployment-ID.log, health-check-logs-ID, rollback-logs-ID, deployment-record-ID) or a \
            phase (preflight, migrate, build, image, deploy, health, smoke, rollback; record for \
            the deployment record). Without NAME, lists what the deployment kept, with each \
            artifact's retention.

            The bytes are checked against the SHA-256 their ArtifactStored event recorded before \
            anything is printed (or --output written): content that does not match, or is \
            missing from the artifact store, is refused (exit 3). A log that was pruned or whose \
            retention ran out says so (exit 4), as does an unknown deployment or name.

            Examples:
              shiplog logs 1732012200-abc123def456
              shiplog logs 1732012200-abc123def456 migrate
              shiplog logs 1732012200-abc123def456 health-check-logs-1732012200-abc123def456 --output health.log
            """)

    @OptionGroup var ledger: LedgerOptions
    @OptionGroup var artifacts: ArtifactOptions
    @Argument(help: "The deployment id.") var id: String
    @Argument(help: ArgumentHelp("An artifact name or a phase (default: list them).", valueName: "name|phase")) var name: String?
    @Option(name: .shortAndLong, help: ArgumentHelp("Write the content to this file (complete, or not at all) instead of stdout.", valueName: "file"))
    var output: String?
    @Flag(help: "List as JSON lines.") var json = false

    func validate() throws {
        if output != nil && name == nil { throw ValidationError("--output needs a NAME: which log to write") }
    }

    func run() throws {
        try reporting {
            let ledger = try self.ledger.ledger(.readOnly)
            let kept = try ledger.keptArtifacts(of: id)
            let now = Timestamp.format(Date())
            guard let name else { return list(kept, now: now) }
            let wanted = Self.artifactName(name, deploymentID: id)
            guard let found = kept.first(where: { $0.name == wanted }) else {
                let names = kept.map(\.name).joined(separator: ", ")
                throw LedgerError.notFound("deployment \(id) kept no \(wanted)\(kept.isEmpty ? "; it kept nothing" : "; it kept: \(names)")")
            }
            let a = found.artifact
            if let pruned = found.prunedAt {
                throw LedgerError.notFound(
                    "\(a.name) of \(id) was pruned at \(Show.seconds(pruned)) (kept \(a.retentionDays) days, expired \(Show.seconds(found.expiresAt))); its event remains (`shiplog show \(id)`), its content is gone"
                )
            }
            if found.isExpired(at: now) {
                throw LedgerError.notFound(
                    "\(a.name) of \(id) expired at \(Show.seconds(found.expiresAt)) (kept \(a.retentionDays) days from \(Show.seconds(found.storedAt))); `shiplog artifacts prune` deletes it")
            }
            let blobs = artifacts.store(ledger: ledger, ledgerPath: self.ledger.path)
            if let output {
                try write(a, from: blobs, ledger: ledger, to: output)
            } else {
                try print(a, from: blobs, ledger: ledger)
            }
        }
    }

    /// `migrate` → `migration-logs-ID`, `record` → `deployment-record-ID`; a name is kept as given.
    static func artifactName(_ text: String, deploymentID id: String) -> String {
        if text == "record" || text == "summary" { return Phase.recordArtifactName(deploymentID: id) }
        return Phase(rawValue: text)?.logArtifactName(deploymentID: id) ?? text
    }

    private func list(_ kept: [KeptArtifact], now: String) {
        let out = StandardOutput()
        let soon = Timestamp.format(Date().addingTimeInterval(30 * 86_400))
        func state(_ k: KeptArtifact) -> String {
            k.prunedAt != nil ? "pruned" : k.isExpired(at: now) ? "expired" : k.expiresAt <= soon ? "expiring_soon" : "retained"
        }
        if json {
            for k in kept {
                out.line(
                    JSONText.object([
                        ("name", JSONText.quote(k.name)), ("phase", JSONText.quote(k.artifact.phase)), ("sha256", JSONText.quote(k.artifact.sha256)),
                        ("size", String(k.artifact.size)), ("stored_at", JSONText.quote(k.storedAt)), ("expires_at", JSONText.quote(k.expiresAt)),
                        ("pruned_at", k.prunedAt.map(JSONText.quote) ?? "null"), ("state", JSONText.quote(state(k))),
                    ]))
            }
            out.flush()
            return
        }
        if kept.isEmpty {
            TerminalText.note("\(id) kept no logs or records")
            return
        }
        out.line(Show.column("NAME", 44) + Show.column("PHASE", 9) + Show.column("SIZE", 9) + Show.column("STORED", 22) + Show.column("EXPIRES", 22) + "STATE")
        for k in kept {
            out.line(
                TerminalText.visible(
                    Show.column(k.name, 44) + Show.column(k.artifact.phase, 9) + Show.column(Show.size(k.artifact.size), 9)
                        + Show.column(Show.seconds(k.storedAt), 22) + Show.column(Show.seconds(k.expiresAt), 22) + state(k)))
        }
        out.flush()
    }

    /// The refusal for content that is not what the event recorded.
    private func refusal(_ content: KeptContent, _ a: Artifact, location: String) -> Failure {
        let what: String
        switch content {
        case .intact: what = "is intact"
        case .missing: what = "is missing from the artifact store \(location), although it was not pruned"
        case .altered(let sha, let size):
            what = "does not match what was kept: its event recorded SHA-256 \(a.sha256) (\(a.size) bytes), \(location) holds \(sha) (\(size) bytes)"
        }
        return Failure("\(a.name) of \(id) \(what); it was changed outside shiplog, nothing was printed or written. `shiplog verify` checks the events themselves", code: Exit.integrity)
    }

    /// To stdout, once a first read proved the bytes; raw to a pipe or file, shown visibly on a terminal.
    private func print(_ a: Artifact, from blobs: any ArtifactBlobs, ledger: Ledger) throws {
        let checked = try ledger.readArtifact(a, from: blobs) { _ in }
        guard checked == .intact else { throw refusal(checked, a, location: blobs.location) }
        let terminal = isatty(1) == 1
        var pending: [UInt8] = []
        let read = try ledger.readArtifact(a, from: blobs) { chunk in
            guard terminal else { return Terminal.write(1, chunk) }
            pending += chunk
            while let newline = pending.firstIndex(of: 10) {
                Terminal.out(TerminalText.visible(String(decoding: pending[..<newline], as: UTF8.self)))
                pending.removeSubrange(...newline)
            }
        }
        if terminal, !pending.isEmpty { Terminal.out(TerminalText.visible(String(decoding: pending, as: UTF8.self))) }
        guard read == .intact else {
            throw Failure("\(a.name) of \(id) changed while it was printed; what was printed is not the kept content: run it again", code: Exit.integrity)
        }
    }

    /// To a file that appears complete, and only when its bytes are the kept ones.
    private func write(_ a: Artifact, from blobs: any ArtifactBlobs, ledger: Ledger, to path: String) throws {
        try AtomicFile.refuseLedger(output: path, ledger: self.ledger.path)
        let writer: AtomicWriter
        do { writer = try AtomicWriter(path: path, mode: 0o644) } catch { throw AtomicFile.failure(error) }
        let content = try ledger.readArtifact(a, from: blobs) { chunk in
            do { try writer.write(chunk) } catch let error as FileError { throw AtomicFile.failure(error) }
        }
        guard content == .intact else {
            writer.discard()
            throw refusal(content, a, location: blobs.location)
        }
        do { try writer.commit() } catch { throw AtomicFile.failure(error) }
        TerminalText.note("wrote \(a.name) (\(a.size) bytes, SHA-256 \(a.sha256.prefix(12))… verified) to \(path)")
    }
}

extension LogsCommand: ReadOnlyListing {}
