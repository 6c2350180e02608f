import Foundation

/// Replaces the values of secrets with `[redacted:NAME]` in text and bytes, before anything a
/// step printed is written to a log, a record or a terminal.
///
/// Values shorter than ``minimumLength`` characters, not counting surrounding whitespace, are
/// ignored: replacing every `1`, `yes` or run of spaces would destroy ordinary text while
/// hiding nothing. Longer values are matched first, so a
/// secret that contains another is replaced whole. When two names hold the same value, the
/// first name given is used.
///
/// A value of several lines (a PEM key, say) is also redacted line by line, so that output
/// redacted one line at a time, as logs are, never shows any line of it. A value with
/// surrounding whitespace (`"  s3cr3t\n"`, as a secret pasted into a CI setting often is) is
/// also redacted without it, and so is each of its lines.
///
/// Which variables are secrets: ``workflowSecretNames`` (the staging workflow's), the names
/// listed in `SHIPLOG_SECRETS` (comma-separated), and a pipeline file's `secrets:` and notify
/// webhook variable. ``init(environment:pipeline:)`` gathers all of them: it is the one
/// redactor of a process, for logs, events, terminal output and errors alike.
public struct Redactor: Sendable {
    /// Values shorter than this many characters are not redacted.
    public static let minimumLength = 4

    /// The secrets the staging workflow passes to its jobs: redacted whether or not a pipeline
    /// file names them.
    public static let workflowSecretNames = [
        "STAGING_DATABASE_URL", "DOCKER_USERNAME", "DOCKER_PASSWORD", "STAGING_HOST",
        "STAGING_USER", "STAGING_KEY", "SLACK_WEBHOOK",
    ]

    /// The variable that names more secrets, comma-separated: `SHIPLOG_SECRETS=DEPLOY_TOKEN,API_KEY`.
    public static let extraSecretsVariable = "SHIPLOG_SECRETS"

    /// Every secret name for a process: the staging workflow's, those listed in
    /// `SHIPLOG_SECRETS`, then the pipeline's (its `secrets:` and notify webhook variable), once each.
    public static func secretNames(environment: [String: String], pipeline: Pipeline? = nil) -> [String] {
        let listed = (environment[extraSecretsVariable] ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        var names: [String] = []
        for name in workflowSecretNames + listed + (pipeline?.secretNames ?? []) where !name.isEmpty && !names.contains(name) {
            names.append(name)
        }
        return names
    }

    struct Secret: Sendable {
        var name: String
        var value: [UInt8]
        var replacement: [UInt8]
    }

    /// The secrets, longest value first.
    let secrets: [Secret]
    /// For each first byte, the indices into `secrets` of the values that start with it.
    private let byFirstByte: [[Int]]

    /// A redactor for the values that `environment` gives to `secretNames`.
    public init(secretNames: [String], environment: [String: String]) {
        var secrets: [Secret] = []
        var seenValues = Set<[UInt8]>()
        for name in secretNames {
            guard let value = environment[name] else { continue }
            for value in Self.forms(of: value) {
                guard value.trimmingCharacters(in: .whitespacesAndNewlines).count >= Self.minimumLength else { continue }
                let bytes = Array(value.utf8)
                guard seenValues.insert(bytes).inserted else { continue }
                secrets.append(Secret(name: name, value: bytes, replacement: Array("[redacted:\(name)]".utf8)))
            }
        }
        // A stable sort: equal lengths keep the order of the names.
        secrets = secrets.enumerated()
            .sorted { ($0.element.value.count, -$0.offset) > ($1.element.value.count, -$1.offset) }
            .map(\.element)
        var byFirstByte = [[Int]](repeating: [], count: 256)
        for (index, secret) in secrets.enumerated() {
            byFirstByte[Int(secret.value[0])].append(index)
        }
        self.secrets = secrets
        self.byFirstByte = byFirstByte
    }

    /// The redactor of a process: every secret of ``secretNames(environment:pipeline:)``.
    public init(environment: [String: String], pipeline: Pipeline? = nil) {
        self.init(secretNames: Self.secretNames(environment: environment, pipeline: pipeline), environment: environment)
    }

    /// The texts a value is redacted as: the value, each of its lines when it has several, and
    /// each of those without surrounding whitespace. Too-short forms are dropped later.
    static func forms(of value: String) -> [String] {
        var forms = [value]
        if value.contains(where: \.isNewline) {
            forms += value.split(whereSeparator: \.isNewline).map(String.init)
        }
        for form in forms {
            let trimmed = form.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed != form { forms.append(trimmed) }
        }
        return forms
    }

    /// The names whose values are redacted (set, long enough, and not a repeat of another's).
    public var redactedNames: [String] {
        var names: [String] = []
        for secret in secrets where !names.contains(secret.name) {
            names.append(secret.name)
        }
        return names
    }

    /// Every text replaced, longest first: each secret's value and the forms it is also
    /// redacted as (its lines, without surrounding whitespace). What a CI runner is asked to
    /// mask too.
    public var values: [String] { secrets.map { String(decoding: $0.value, as: UTF8.self) } }

    /// True when there is nothing to redact.
    public var isEmpty: Bool { secrets.isEmpty }

    /// The length in bytes of the longest value: a stream holds back at most one byte less.
    var longestValue: Int { secrets.first?.value.count ?? 0 }

    /// `text` with every secret value replaced.
    public func redact(_ text: String) -> String {
        if secrets.isEmpty { return text }
        return String(decoding: redact(Array(text.utf8)), as: UTF8.self)
    }

    /// `data` with every secret value replaced.
    public func redact(_ data: [UInt8]) -> [UInt8] {
        if secrets.isEmpty { return data }
        return scan(data, final: true).output
    }

    /// Redacts `input` from its start. When `final` is false, stops at the first place where
    /// a secret might begin but the input ends too soon to tell, and reports how much of the
    /// input it consumed; the rest must be scanned again with what follows.
    func scan(_ input: [UInt8], final: Bool) -> (output: [UInt8], consumed: Int) {
        var output: [UInt8] = []
        output.reserveCapacity(input.count)
        var index = 0
        scanning: while index < input.count {
            let candidates = byFirstByte[Int(input[index])]
            if candidates.isEmpty {
                output.append(input[index])
                index += 1
                continue
            }
            let remaining = input.count - index
            if !final {
                for candidate in candidates where secrets[candidate].value.count > remaining {
                    if input[index...].elementsEqual(secrets[candidate].value.prefix(remaining)) {
                        return (output, index)
                    }
                }
            }
            for candidate in candidates {
                let value = secrets[candidate].value
                if value.count <= remaining, input[index..<(index + value.count)].elementsEqual(value) {
                    output.append(contentsOf: secrets[candidate].replacement)
                    index += value.count
                    continue scanning
                }
            }
            output.append(input[index])
            index += 1
        }
        return (output, input.count)
    }

    /// Where `bytes` may be cut at or before `limit` so that redacting the two parts apart
    /// gives what redacting them together gives: `limit`, or the start of a secret (or of what
    /// may be one, where `bytes` ends too soon to tell) that would span it. Never 0.
    public func safeCut(in bytes: [UInt8], atOrBefore limit: Int) -> Int {
        guard !secrets.isEmpty, limit > 0, limit < bytes.count else { return limit }
        var index = 0
        scanning: while index < limit {
            let candidates = byFirstByte[Int(bytes[index])]
            let remaining = bytes.count - index
            for candidate in candidates {
                let value = secrets[candidate].value
                if value.count > remaining {
                    if bytes[index...].elementsEqual(value.prefix(remaining)) { return index > 0 ? index : limit }
                } else if bytes[index..<(index + value.count)].elementsEqual(value) {
                    if index + value.count > limit { return index > 0 ? index : limit }
                    index += value.count
                    continue scanning
                }
            }
            index += 1
        }
        return limit
    }

    /// A redactor for output that arrives in chunks, such as a step's stdout: a secret split
    /// across two chunks is still redacted.
    public func stream() -> RedactingStream {
        RedactingStream(redactor: self)
    }
}
