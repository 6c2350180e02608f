import EventStore
import Foundation
import Runner
import ShiplogFiles

/// Where a command's ledger is, and why there: the same answer from any directory.
///
/// The order: `--db`, then `$SHIPLOG_DB`, then the pipeline file's `ledger:` key (a path
/// relative to the file, or a URL), then `.shiplog/ledger.db` beside the pipeline file. A
/// command that takes a pipeline (`deploy`, `resume`, `record begin --config`, `init
/// --config`) uses that file; the others use `shiplog.yml` in the current directory when
/// there is one, else `.shiplog/ledger.db` here.
struct LedgerLocation: Sendable {
    enum Origin: Sendable, Equatable {
        /// `--db`.
        case option
        /// `$SHIPLOG_DB`.
        case environment
        /// The `ledger:` key of this pipeline file.
        case pipelineKey(String)
        /// The default beside this pipeline file.
        case besidePipeline(String)
        /// The default in the current directory, where no pipeline file is.
        case currentDirectory
    }

    /// The ledger: a file path or a PostgreSQL URL.
    var path: String
    var origin: Origin

    /// Why this ledger, in words: "from --db", "from the ledger: key of app/shiplog.yml".
    var reason: String {
        switch origin {
        case .option: "from --db"
        case .environment: "from $SHIPLOG_DB"
        case .pipelineKey(let file): "from the ledger: key of \(file)"
        case .besidePipeline(let file): "the default beside \(file)"
        case .currentDirectory: "the default in the current directory (no shiplog.yml here)"
        }
    }

    /// The path for messages: a URL's password hidden.
    var shown: String { Self.hidingPassword(path) }

    var isServer: Bool { Pipeline.isServerURL(path) }

    /// `postgresql://user:secret@host/db` as `postgresql://user:***@host/db`.
    static func hidingPassword(_ text: String) -> String {
        guard Pipeline.isServerURL(text), let scheme = text.range(of: "://") else { return text }
        let rest = text[scheme.upperBound...]
        guard let at = rest.firstIndex(of: "@"), let colon = rest[..<at].firstIndex(of: ":") else { return text }
        return String(text[..<rest.index(after: colon)]) + "***" + String(rest[at...])
    }

    /// The ledger of a command: `--db`, `$SHIPLOG_DB`, then `pipeline`'s `ledger:` key or the
    /// default beside it; without a pipeline, `shiplog.yml` in the current directory is read
    /// for its `ledger:` key, else the default is `.shiplog/ledger.db` here.
    static func resolve(option: String?, environment: [String: String], pipeline: Pipeline?) throws -> LedgerLocation {
        if let option, !option.isEmpty { return LedgerLocation(path: option, origin: .option) }
        if let env = environment["SHIPLOG_DB"], !env.isEmpty { return LedgerLocation(path: env, origin: .environment) }
        if let pipeline {
            let (path, fromKey) = pipeline.ledgerLocation
            return LedgerLocation(path: path, origin: fromKey ? .pipelineKey(pipeline.sourceFile) : .besidePipeline(pipeline.sourceFile))
        }
        return try resolve(option: nil, environment: environment, pipelineFile: Pipeline.defaultFileName)
    }

    /// As ``resolve(option:environment:pipeline:)``, for a pipeline file read only for its
    /// `ledger:` key; a file that does not exist falls back to the current directory's default
    /// when it is the default name, and is an error otherwise.
    static func resolve(option: String?, environment: [String: String], pipelineFile: String) throws -> LedgerLocation {
        if let option, !option.isEmpty { return LedgerLocation(path: option, origin: .option) }
        if let env = environment["SHIPLOG_DB"], !env.isEmpty { return LedgerLocation(path: env, origin: .environment) }
        let found: (key: String?, directory: String)?
        do {
            found = try Pipeline.ledgerKey(inFile: pipelineFile)
        } catch {
            throw Failure(pipeline: error, note: " (read to find the ledger; pass --db to name it instead)")
        }
        guard let found else {
            if pipelineFile == Pipeline.defaultFileName {
                return LedgerLocation(path: Pipeline.defaultLedger, origin: .currentDirectory)
            }
            throw Failure("no pipeline file \(pipelineFile) (named to find the ledger); check --config, or pass --db", code: Exit.dataError)
        }
        if let key = found.key {
            let path = Pipeline.isServerURL(key) || key.hasPrefix("/") ? key : URL(fileURLWithPath: found.directory + "/" + key).standardized.path
            return LedgerLocation(path: path, origin: .pipelineKey(pipelineFile))
        }
        return LedgerLocation(path: found.directory + "/" + Pipeline.defaultLedger, origin: .besidePipeline(pipelineFile))
    }

    /// Refuses a ledger file that does not exist yet, saying where it looked and how to create
    /// one: only `init` creates a ledger.
    func requireExisting() throws {
        guard !isServer, FileSystem.kind(of: path, followSymlinks: false) == .missing else { return }
        throw Failure(
            """
            no ledger at \(path) (\(reason)); nothing was created. Create it with `shiplog init --db \(path)`, \
            or point at an existing ledger with --db PATH or SHIPLOG_DB=PATH (a pipeline file's ledger: key names one too)
            """, code: Exit.config)
    }
}
