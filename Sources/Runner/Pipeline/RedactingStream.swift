/// Redacts output that arrives in chunks. Bytes that might be the start of a secret are held
/// back until the next chunk (or ``finish()``) shows whether they are; everything returned is
/// final. Feeding chunks and then finishing gives exactly what `Redactor.redact(_:)`
/// gives for the whole output at once.
public struct RedactingStream: Sendable {
    public let redactor: Redactor
    private var pending: [UInt8] = []

    public init(redactor: Redactor) {
        self.redactor = redactor
    }

    /// The redacted bytes that can be released now.
    public mutating func feed(_ chunk: [UInt8]) -> [UInt8] {
        if redactor.isEmpty { return chunk }
        let input = pending.isEmpty ? chunk : pending + chunk
        let (output, consumed) = redactor.scan(input, final: false)
        pending = Array(input[consumed...])
        return output
    }

    /// The redacted rest, at the end of the output.
    public mutating func finish() -> [UInt8] {
        let input = pending
        pending = []
        return redactor.scan(input, final: true).output
    }

    /// How many bytes are held back, waiting for the next chunk.
    public var heldBack: Int { pending.count }
}

extension StepLog {
    /// A step log redacted of `redactor`'s secrets, line by line; a line too long to keep whole
    /// is cut where no secret is cut in two (``Redactor/safeCut(in:atOrBefore:)``).
    public convenience init(path: String, redactor: Redactor, echo: (@Sendable (String) -> Void)? = nil) throws {
        try self.init(path: path, redact: { redactor.redact($0) }, echo: echo)
        safeCut = { redactor.safeCut(in: $0, atOrBefore: $1) }
    }
}
