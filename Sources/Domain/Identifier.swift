/// The one rule for every identifier the ledger stores: what the command line accepts, what a
/// pipeline file may name, and what an imported event may carry are checked here and nowhere
/// else.
///
/// Identifiers end up in stream names, file names, terminal lines and GitHub Actions output, so
/// they are plain ASCII: a look-alike `stаging` (with a Cyrillic `а`) or full-width digits would
/// otherwise be a second environment that prints like the first.
///
/// ```swift
/// try Identifier.validate("staging", as: .environment)     // fine
/// try Identifier.validate("stаging", as: .environment)     // throws: not ASCII
/// ```
public enum Identifier {
    public enum Kind: String, Sendable, CaseIterable {
        case environment
        case service
        case check = "health check"
        case deploymentID = "deployment id"
        case gitSHA = "git sha"
        case artifactName = "artifact name"
        case digest = "SHA-256 digest"
        case approver


        /// The accepted form, for error messages.
        public var form: String {
            switch self {
            case .environment, .service, .check:
                "1–100 ASCII letters, digits, '.', '_' or '-', not starting with '.'"
            case .deploymentID:
                "unix seconds, '-', then 7 to 12 lowercase hex digits of the git sha (e.g. 1795708262-abc123def456)"
            case .gitSHA:
                "7 to 64 lowercase hex digits"
            case .artifactName:
                "1–200 ASCII letters, digits, '.', '_' or '-', not starting with '.', without '..'"
            case .digest:
                "exactly 64 lowercase hex digits"
            case .approver:
                "1–100 ASCII letters, digits, '.', '_', '-' or '@', starting with a letter or digit (e.g. alice or ops-lead@example.com)"
            }
        }
    }

    /// True when `value` has the form of `kind`.
    public static func isValid(_ value: String, as kind: Kind) -> Bool {
        let bytes = Array(value.utf8)
        switch kind {
        case .environment, .service, .check:
            return isName(bytes, maxLength: 100)
        case .artifactName:
            return isName(bytes, maxLength: 200) && !value.contains("..")
        case .gitSHA:
            return (7...64).contains(bytes.count) && bytes.allSatisfy(isLowerHex)
        case .digest:
            return bytes.count == 64 && bytes.allSatisfy(isLowerHex)
        case .approver:
            // Compared byte for byte: one person, one spelling, so "a second approval by the same
            // name" cannot hide behind a look-alike or a trailing space.
            guard (1...100).contains(bytes.count), isDigit(bytes[0]) || isLetter(bytes[0]) else { return false }
            return bytes.allSatisfy { isDigit($0) || isLetter($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "@") }
        case .deploymentID:
            guard let dash = bytes.firstIndex(of: UInt8(ascii: "-")) else { return false }
            let seconds = bytes[..<dash], hex = bytes[(dash + 1)...]
            return (1...19).contains(seconds.count) && seconds.allSatisfy(isDigit)
                && (7...12).contains(hex.count) && hex.allSatisfy(isLowerHex)
        }
    }

    /// Throws a message naming the value, what it is and the form it must have.
    public static func validate(_ value: String, as kind: Kind) throws(DomainError) {
        guard isValid(value, as: kind) else {
            throw DomainError("\(kind.rawValue) \(quoted(value)) is not valid: use \(kind.form)")
        }
    }

    /// The deployment id a stream name carries, when it is a deployment stream.
    public static func deploymentID(inStream stream: String) -> String? {
        stream.hasPrefix("deployment-") ? String(stream.dropFirst("deployment-".count)) : nil
    }

    /// A value quoted for a message, with anything unprintable or non-ASCII escaped, so an
    /// error about a hostile name cannot itself carry control characters to the terminal.
    public static func quoted(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars.prefix(120) {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case " "..."~": out.unicodeScalars.append(scalar)
            default: out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            }
        }
        if value.unicodeScalars.count > 120 { out += "…" }
        return out + "\""
    }

    private static func isName(_ bytes: [UInt8], maxLength: Int) -> Bool {
        guard (1...maxLength).contains(bytes.count), bytes[0] != UInt8(ascii: ".") else { return false }
        return bytes.allSatisfy { isDigit($0) || isLetter($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    private static func isLetter(_ b: UInt8) -> Bool { (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) }
    private static func isLowerHex(_ b: UInt8) -> Bool { isDigit(b) || (b >= 0x61 && b <= 0x66) }
}
