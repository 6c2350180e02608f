import Foundation
import EventStore

/// A deployment pipeline, as described by a `shiplog.yml` file.
///
/// The phases run in this order: `preflight` (every required status check), `migrate`,
/// `build`, `image`, `deploy`, then the `health` phase (stabilize, checks with retries, smoke
/// tests). When a critical check or the smoke tests fail, `rollback` runs; the team is told
/// through `notify`; logs and the deployment record go to `artifacts.dir`. Only `deploy` is
/// required among the phases: an absent phase is skipped.
///
/// Read one with ``load(path:)`` or ``parse(yaml:file:)``, then apply the environment's
/// overrides with ``applyingEnvironment(_:)`` before running it.
public struct Pipeline: Sendable, Equatable {
    /// The file name the runner looks for by default.
    public static let defaultFileName = "shiplog.yml"

    /// The environment deployed to, such as `staging`.
    public var environment: String
    /// The services this pipeline deploys, in the order of the file.
    public var services: [String]
    /// The names of the environment variables that hold secrets. Their values are never
    /// written to a log or a record: see ``Redactor``.
    public var secrets: [String]
    /// Required status checks, each a command that must exit 0.
    public var preflight: [PreflightCheck]
    /// The database migrations.
    public var migrate: CommandStep?
    /// The application build.
    public var build: CommandStep?
    /// The container image build and push.
    public var image: CommandStep?
    /// The deployment of `SHIPLOG_VERSION`.
    public var deploy: CommandStep
    /// The health phase.
    public var health: HealthConfig
    /// The return to `SHIPLOG_ROLLBACK_VERSION` after a failed health phase.
    public var rollback: CommandStep?
    /// Notifications of the outcome.
    public var notify: NotifyConfig?
    /// Where logs and records are kept.
    public var artifacts: ArtifactsConfig
    /// The approval gate before `migrate` or `deploy`, if any.
    public var approval: ApprovalConfig?
    /// The ledger this pipeline records into, as the file writes it: a path relative to the
    /// file's directory, or a `postgres://` URL; nil for the default (see ``ledgerLocation``).
    public var ledger: String?

    var origin: PipelineOrigin

    public init(
        environment: String,
        services: [String],
        secrets: [String] = [],
        preflight: [PreflightCheck] = [],
        migrate: CommandStep? = nil,
        build: CommandStep? = nil,
        image: CommandStep? = nil,
        deploy: CommandStep,
        health: HealthConfig = HealthConfig(),
        rollback: CommandStep? = nil,
        notify: NotifyConfig? = nil,
        artifacts: ArtifactsConfig = ArtifactsConfig()
    ) {
        self.environment = environment
        self.services = services
        self.secrets = secrets
        self.preflight = preflight
        self.migrate = migrate
        self.build = build
        self.image = image
        self.deploy = deploy
        self.health = health
        self.rollback = rollback
        self.notify = notify
        self.artifacts = artifacts
        self.origin = PipelineOrigin(file: Pipeline.defaultFileName, baseDirectory: ".")
    }

    /// The file this pipeline was read from, as it was named (for messages).
    public var sourceFile: String { origin.file }

    /// The file this pipeline was read from as an absolute path, and the SHA-256 of its bytes;
    /// nil for a pipeline parsed from text.
    public var source: (path: String, sha256: String)? {
        guard let sha256 = origin.sha256 else { return nil }
        let name = (origin.file as NSString).lastPathComponent
        return (URL(fileURLWithPath: baseDirectory, isDirectory: true).appendingPathComponent(name).standardized.path, sha256)
    }

    /// The directory that relative paths in the pipeline (`workdir`, `ca_file`,
    /// `artifacts.dir`) are resolved against, and that steps run in by default: the directory
    /// of the pipeline file.
    public var baseDirectory: String {
        get { origin.baseDirectory }
        set { origin.baseDirectory = newValue }
    }

    /// `path` if it is absolute, else `path` inside ``baseDirectory``.
    public func resolvePath(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        if baseDirectory.isEmpty || baseDirectory == "." { return path }
        return baseDirectory.hasSuffix("/") ? baseDirectory + path : baseDirectory + "/" + path
    }

    /// The default ledger of a pipeline: `.shiplog/ledger.db` beside its file.
    public static let defaultLedger = ".shiplog/ledger.db"

    /// Where this pipeline's ledger is: the `ledger:` key (a URL as written, a path resolved
    /// against the file's directory), else `.shiplog/ledger.db` beside the file. The second
    /// value is true when the key named it.
    public var ledgerLocation: (path: String, fromKey: Bool) {
        if let ledger {
            if Self.isServerURL(ledger) { return (ledger, true) }
            return (URL(fileURLWithPath: resolvePath(ledger)).standardized.path, true)
        }
        return (resolvePath(Self.defaultLedger), false)
    }

    /// True for a `postgres://` or `postgresql://` URL: a ledger on a server, not a file.
    public static func isServerURL(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    /// The directory a step runs in.
    public func workingDirectory(for step: CommandStep) -> String {
        step.workdir.map(resolvePath) ?? baseDirectory
    }

    /// Every environment variable whose value must be redacted: the `secrets`, then the
    /// notify webhook variable if it is not already among them.
    public var secretNames: [String] {
        var names = secrets
        if let webhook = notify?.slackWebhookEnv, !names.contains(webhook) {
            names.append(webhook)
        }
        return names
    }

    /// The declared secrets that are unset or empty in `environment`. The notify webhook
    /// variable is left out: notification is optional.
    public func missingSecrets(in environment: [String: String]) -> [String] {
        secrets.filter { name in
            name != notify?.slackWebhookEnv && (environment[name] ?? "").isEmpty
        }
    }

    // MARK: Reading

    /// Reads and parses the pipeline file at `path`. Errors name the file as `path` was given.
    public static func load(path: String) throws(PipelineError) -> Pipeline {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot read the file" : "no such file"
            throw PipelineError(file: path, message: reason)
        }
        guard let yaml = String(data: data, encoding: .utf8) else {
            throw PipelineError(file: path, message: "the file is not UTF-8 text")
        }
        var pipeline = try parse(yaml: yaml, file: path)
        var directory = (path as NSString).deletingLastPathComponent
        if directory.isEmpty { directory = "." }
        if !directory.hasPrefix("/") {
            let cwd = FileManager.default.currentDirectoryPath
            directory = directory == "." ? cwd : (cwd as NSString).appendingPathComponent(directory)
        }
        pipeline.baseDirectory = URL(fileURLWithPath: directory, isDirectory: true).standardized.path
        pipeline.origin.sha256 = data.withUnsafeBytes { Hex.encode(HashChain.sha256($0)) }
        return pipeline
    }

    /// Parses a pipeline from YAML text. `file` names it in errors and sets
    /// ``baseDirectory`` to its directory (`.` for a bare file name).
    public static func parse(yaml: String, file: String) throws(PipelineError) -> Pipeline {
        var parser = PipelineParser(file: file)
        return try parser.parse(yaml: yaml)
    }
}

extension Pipeline {
    /// The `ledger:` key of the pipeline file at `path` and the file's directory, read without
    /// checking the rest of the file: commands that only read the ledger find it this way from a
    /// directory that holds a pipeline file. nil when the file does not exist.
    ///
    /// - Throws: `PipelineError` when the file exists but is not YAML, or its `ledger:` is not text.
    public static func ledgerKey(inFile path: String) throws(PipelineError) -> (key: String?, directory: String)? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path), let yaml = String(data: data, encoding: .utf8) else {
            throw PipelineError(file: path, message: "cannot read the file as UTF-8 text")
        }
        var parser = PipelineParser(file: path)
        let key = try parser.ledgerKey(yaml: yaml)
        let directory = URL(fileURLWithPath: path).standardized.deletingLastPathComponent().path
        return (key, directory)
    }
}
