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
/// redacted one line at a time, as logs are, never shows any line of it.
public struct Redactor: Sendable {
    /// Values shorter than this many characters are not redacted.
    public static let minimumLength = 4

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
            var values = [value]
            if value.contains(where: \.isNewline) {
                values += value.split(whereSeparator: \.isNewline).map(String.init)
            }
            for value in values {
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

    /// A redactor for a pipeline's ``Pipeline/secretNames`` (its secrets and its notify
    /// webhook variable).
    public init(pipeline: Pipeline, environment: [String: String]) {
        self.init(secretNames: pipeline.secretNames, environment: environment)
    }

    /// The names whose values are redacted (set, long enough, and not a repeat of another's).
    public var redactedNames: [String] {
        var names: [String] = []
        for secret in secrets where !names.contains(secret.name) {
            names.append(secret.name)
        }
        return names
    }

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

    /// A redactor for output that arrives in chunks, such as a step's stdout: a secret split
    /// across two chunks is still redacted.
    public func stream() -> RedactingStream {
        RedactingStream(redactor: self)
    }
}
