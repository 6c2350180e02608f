extension Redactor {
    /// The most of a response body an excerpt keeps, in bytes of UTF-8.
    public static let excerptBytes = 512

    /// The start of a response body as a health-check attempt keeps it: redacted first, then
    /// cut to `limit` bytes at a character boundary, with `…` when anything was left out. A body
    /// the probe cut off (`truncated`) first loses its last bytes where a secret may begin.
    public func excerpt(of raw: [UInt8], truncated: Bool, limit: Int = Redactor.excerptBytes) -> String {
        var bytes = raw
        if truncated, bytes.count > 1 { bytes = Array(bytes[..<safeCut(in: bytes, atOrBefore: bytes.count - 1)]) }
        let redacted = redact(bytes)
        var cut = redacted.count
        if cut > limit { cut = StepLog.characterBoundary(in: redacted, atOrBefore: limit) }
        var text = String(decoding: redacted[..<cut], as: UTF8.self)
        if cut < redacted.count || truncated { text += "…" }
        return text
    }
}
