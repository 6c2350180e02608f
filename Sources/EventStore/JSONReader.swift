import Foundation

/// Reading JSON without Foundation's JSON classes: event payloads are small flat objects, read millions of
/// times by rebuilds and replays, where `JSONSerialization` and `JSONDecoder` cost several
/// microseconds each. This reader works on the text's UTF-8 bytes.
///
/// It accepts exactly RFC 8259 JSON (every payload the ledger holds passed SQLite's
/// `json_valid` on the way in), and keeps numbers as written: integers as `Int64`, anything
/// with a fraction or exponent as `Double`. An object is checked whole when parsed, but its
/// members are made into values only when asked for, so reading three fields of a payload
/// costs three strings, not one per key and value.
public enum JSONValue: Sendable, Equatable {
    case string(String)
    case integer(Int64)
    case double(Double)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object(JSONObject)

    /// Parses one JSON text (whitespace around it allowed, nothing else).
    public init(parsing text: String) throws(JSONReadError) {
        var source = text
        source.makeContiguousUTF8()
        let result = source.utf8.withContiguousStorageIfAvailable { bytes -> Result<JSONValue, JSONReadError> in
            var parser = JSONParser(bytes, source: source)
            do throws(JSONReadError) {
                let value = try parser.value(depth: 0)
                parser.skipWhitespace()
                guard parser.index == bytes.count else { throw parser.error("unexpected text after the JSON value") }
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
        self = try result!.get()
    }

    public var string: String? { if case .string(let s) = self { s } else { nil } }

    /// The number, as `NSNumber.intValue` would give it: fractions truncated toward zero, booleans 1 and 0.
    public var intValue: Int? {
        switch self {
        case .integer(let i): Int(exactly: i)
        case .double(let d): d.isFinite && abs(d) < 9.2e18 ? Int(d) : nil
        case .bool(let b): b ? 1 : 0
        default: nil
        }
    }

    /// The number as a double; booleans 1 and 0.
    public var doubleValue: Double? {
        switch self {
        case .integer(let i): Double(i)
        case .double(let d): d
        case .bool(let b): b ? 1 : 0
        default: nil
        }
    }

    /// An array whose every element is a string.
    public var strings: [String]? {
        guard case .array(let values) = self else { return nil }
        var out: [String] = []
        out.reserveCapacity(values.count)
        for v in values {
            guard case .string(let s) = v else { return nil }
            out.append(s)
        }
        return out
    }
}

/// A JSON object. Lookups scan its members (payload objects have a handful); a key given
/// twice reads as its last value, as a dictionary built from it would.
public struct JSONObject: Sendable, Equatable {
    /// Where one member's key and value lie in the parsed text.
    struct Span: Sendable {
        var keyStart: Int
        var keyEnd: Int
        var keyEscaped: Bool
        var valueStart: Int
        var depth: Int
    }

    private enum Storage: Sendable {
        /// Parsed text (contiguous UTF-8, already checked) and where its members are.
        case parsed(source: String, spans: [Span])
        case built([(key: String, value: JSONValue)])
    }

    private let storage: Storage

    public init(members: [(key: String, value: JSONValue)]) { storage = .built(members) }

    init(source: String, spans: [Span]) { storage = .parsed(source: source, spans: spans) }

    /// Parses text that must be one JSON object.
    public init(parsing text: String) throws(JSONReadError) {
        guard case .object(let object) = try JSONValue(parsing: text) else {
            throw JSONReadError(offset: 0, message: "not a JSON object")
        }
        self = object
    }

    public subscript(key: String) -> JSONValue? {
        switch storage {
        case .built(let members): return members.last { $0.key == key }?.value
        case .parsed: return member(key) { parser, span in try! parser.value(depth: span.depth) }
        }
    }

    /// The member's text when it is a string, without making a `JSONValue` first.
    public func string(_ key: String) -> String? {
        switch storage {
        case .built: return self[key]?.string
        case .parsed:
            return member(key) { parser, _ -> String? in
                guard parser.bytes[parser.index] == UInt8(ascii: "\"") else { return nil }
                return try! parser.string()
            }
        }
    }

    /// The member when it is an array of strings, without making a `JSONValue` first.
    public func strings(_ key: String) -> [String]? {
        switch storage {
        case .built: return self[key]?.strings
        case .parsed:
            return member(key) { parser, _ -> [String]? in
                guard parser.bytes[parser.index] == UInt8(ascii: "[") else { return nil }
                parser.index += 1
                var out: [String] = []
                parser.skipWhitespace()
                if parser.bytes[parser.index] == UInt8(ascii: "]") { return out }
                while true {
                    parser.skipWhitespace()
                    guard parser.bytes[parser.index] == UInt8(ascii: "\"") else { return nil }
                    out.append(try! parser.string())
                    parser.skipWhitespace()
                    if parser.bytes[parser.index] == UInt8(ascii: "]") { return out }
                    parser.index += 1  // ,
                }
            }
        }
    }

    /// Finds the last member named `key` in parsed text and reads it with `read`, given a parser
    /// at its value.
    private func member<R>(_ key: String, _ read: (inout JSONParser, Span) -> R?) -> R? {
        guard case .parsed(let source, let spans) = storage else { return nil }
        var name = key
        return name.withUTF8 { wanted in
            source.utf8.withContiguousStorageIfAvailable { bytes -> R? in
                var i = spans.count
                while i > 0 {
                    i -= 1
                    let span = spans[i]
                    if span.keyEscaped {
                        guard Self.key(span, bytes, source) == key else { continue }
                    } else {
                        guard span.keyEnd - span.keyStart == wanted.count,
                            wanted.count == 0 || memcmp(bytes.baseAddress! + span.keyStart, wanted.baseAddress!, wanted.count) == 0
                        else { continue }
                    }
                    var parser = JSONParser(bytes, source: source)
                    parser.index = span.valueStart
                    return read(&parser, span)
                }
                return nil
            }!
        }
    }

    /// Every member, in document order.
    public var members: [(key: String, value: JSONValue)] {
        switch storage {
        case .built(let members): return members
        case .parsed(let source, let spans):
            return source.utf8.withContiguousStorageIfAvailable { bytes in
                spans.map { span in
                    var parser = JSONParser(bytes, source: source)
                    parser.index = span.valueStart
                    return (Self.key(span, bytes, source), try! parser.value(depth: span.depth))
                }
            }!
        }
    }

    public var keys: [String] { members.map(\.key) }

    private static func key(_ span: Span, _ bytes: UnsafeBufferPointer<UInt8>, _ source: String) -> String {
        var parser = JSONParser(bytes, source: source)
        parser.index = span.keyStart - 1
        return try! parser.string()
    }

    public static func == (a: JSONObject, b: JSONObject) -> Bool {
        let x = a.members, y = b.members
        return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
}

/// Malformed JSON: where, and what.
public struct JSONReadError: Error, Equatable, CustomStringConvertible {
    /// Byte offset in the UTF-8 text.
    public var offset: Int
    public var message: String
    public var description: String { "invalid JSON at byte \(offset): \(message)" }
}

struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    /// The text `bytes` belong to, kept by the objects made from it.
    let source: String
    var index = 0
    /// Deeper nesting than any payload needs is refused rather than recursed into.
    static let maxDepth = 256

    init(_ bytes: UnsafeBufferPointer<UInt8>, source: String) {
        self.bytes = bytes
        self.source = source
    }

    func error(_ message: String) -> JSONReadError { JSONReadError(offset: index, message: message) }

    @inline(__always)
    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    /// The value at `index`. Objects are checked whole but only indexed, their members made later.
    mutating func value(depth: Int) throws(JSONReadError) -> JSONValue {
        skipWhitespace()
        guard index < bytes.count else { throw error("unexpected end of text") }
        switch bytes[index] {
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "{"):
            guard depth < Self.maxDepth else { throw error("nested too deeply") }
            return .object(try object(depth: depth + 1))
        case UInt8(ascii: "["):
            guard depth < Self.maxDepth else { throw error("nested too deeply") }
            index += 1
            var values: [JSONValue] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(values)
            }
            while true {
                values.append(try value(depth: depth + 1))
                skipWhitespace()
                guard index < bytes.count else { throw error("unexpected end of text") }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(values) }
                throw error("expected ',' or ']'")
            }
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw error("unexpected character")
        }
    }

    /// Checks the value at `index` and steps over it without making anything.
    mutating func skipValue(depth: Int) throws(JSONReadError) {
        skipWhitespace()
        guard index < bytes.count else { throw error("unexpected end of text") }
        switch bytes[index] {
        case UInt8(ascii: "\""): try skipString()
        case UInt8(ascii: "{"):
            guard depth < Self.maxDepth else { throw error("nested too deeply") }
            _ = try object(depth: depth + 1)
        case UInt8(ascii: "["):
            guard depth < Self.maxDepth else { throw error("nested too deeply") }
            index += 1
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return
            }
            while true {
                try skipValue(depth: depth + 1)
                skipWhitespace()
                guard index < bytes.count else { throw error("unexpected end of text") }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "]") { index += 1; return }
                throw error("expected ',' or ']'")
            }
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try skipNumber()
        default: throw error("unexpected character")
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONReadError) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw error("unexpected end of text") }
        for k in 0..<count where bytes[index + k] != word.utf8Start[k] { throw error("unexpected character") }
        index += count
    }

    /// Checks the object at `index` and records where each member is.
    mutating func object(depth: Int) throws(JSONReadError) -> JSONObject {
        var spans: [JSONObject.Span] = []
        _ = try members(depth: depth) { span in
            if spans.isEmpty { spans.reserveCapacity(12) }
            spans.append(span)
            return true
        }
        return JSONObject(source: source, spans: spans)
    }

    /// Checks the object at `index` and steps over it, handing each member's span to `add`;
    /// false from `add` stops the walk there (the caller then reads the object another way).
    /// Returns false when stopped so.
    @inline(__always)
    mutating func members(depth: Int, _ add: (JSONObject.Span) -> Bool) throws(JSONReadError) -> Bool {
        index += 1  // {
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return true
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a member name") }
            let keyStart = index + 1
            let escaped = try skipString()
            let keyEnd = index - 1
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':'") }
            index += 1
            skipWhitespace()
            guard add(JSONObject.Span(keyStart: keyStart, keyEnd: keyEnd, keyEscaped: escaped, valueStart: index, depth: depth)) else { return false }
            try skipValue(depth: depth)
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of text") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "}") { index += 1; return true }
            throw error("expected ',' or '}'")
        }
    }

    /// Steps over plain string bytes eight at a time, stopping at the first word holding a
    /// quote, a backslash or a control character (the byte-wise loop takes it from there).
    @inline(__always)
    mutating func skipPlainBytes() {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        let raw = UnsafeRawPointer(bytes.baseAddress!)
        while index + 8 <= bytes.count {
            // Byte 0 in the low bits, whatever the machine's order.
            let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            let quote = word ^ (ones &* 0x22), backslash = word ^ (ones &* 0x5C)
            let special = (((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((word &- ones &* 0x20) & ~word)) & highs
            if special != 0 {
                // Borrows only run upward, so the lowest flagged byte is the first special one:
                // step to it, and the byte-wise loop takes it from there.
                index += special.trailingZeroBitCount >> 3
                return
            }
            index += 8
        }
    }

    /// Checks the string literal at `index` and steps over it; true when it holds escapes.
    /// Inlined for the common case, plain bytes up to the closing quote; anything else (an
    /// escape, a control character, the end of the text) goes on in `skipStringRest`.
    @discardableResult
    @inline(__always)
    mutating func skipString() throws(JSONReadError) -> Bool {
        index += 1  // "
        skipPlainBytes()
        if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
            index += 1
            return false
        }
        return try skipStringRest()
    }

    @inline(never)
    private mutating func skipStringRest() throws(JSONReadError) -> Bool {
        var escaped = false
        while index < bytes.count {
            let c = bytes[index]
            if c == UInt8(ascii: "\"") {
                index += 1
                return escaped
            }
            if c < 0x20 { throw error("control character in a string") }
            if c == UInt8(ascii: "\\") {
                escaped = true
                index += 1
                guard index < bytes.count else { break }
                switch bytes[index] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index += 1
                case UInt8(ascii: "u"):
                    index += 1
                    let scalar = try hex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                            throw error("unpaired surrogate")
                        }
                        index += 2
                        guard (0xDC00...0xDFFF).contains(try hex4()) else { throw error("unpaired surrogate") }
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        throw error("unpaired surrogate")
                    }
                default:
                    throw error("invalid escape")
                }
                continue
            }
            index += 1
        }
        throw error("unterminated string")
    }

    /// A string literal; the text between quotes is copied as is when it has no escapes.
    mutating func string() throws(JSONReadError) -> String {
        index += 1  // "
        let start = index
        skipPlainBytes()
        while index < bytes.count {
            let c = bytes[index]
            if c == UInt8(ascii: "\"") {
                let s = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                index += 1
                return s
            }
            if c == UInt8(ascii: "\\") { return try escapedString(from: start) }
            if c < 0x20 { throw error("control character in a string") }
            index += 1
        }
        throw error("unterminated string")
    }

    private mutating func escapedString(from start: Int) throws(JSONReadError) -> String {
        var out = [UInt8](UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let c = bytes[index]
            if c == UInt8(ascii: "\"") {
                index += 1
                return String(decoding: out, as: UTF8.self)
            }
            if c < 0x20 { throw error("control character in a string") }
            guard c == UInt8(ascii: "\\") else {
                out.append(c)
                index += 1
                continue
            }
            index += 1
            guard index < bytes.count else { break }
            let e = bytes[index]
            index += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    // A high surrogate must be followed by an escaped low one.
                    guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                        throw error("unpaired surrogate")
                    }
                    index += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired surrogate") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw error("unpaired surrogate")
                }
                guard let u = Unicode.Scalar(scalar) else { throw error("invalid escape") }
                out.append(contentsOf: UTF8.encode(u)!)
            default:
                index -= 1
                throw error("invalid escape")
            }
        }
        throw error("unterminated string")
    }

    private mutating func hex4() throws(JSONReadError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("unexpected end of text") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[index]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw error("invalid \\u escape")
            }
            v = v << 4 | d
            index += 1
        }
        return v
    }

    private func isDigit(_ i: Int) -> Bool { i < bytes.count && bytes[i] >= 0x30 && bytes[i] <= 0x39 }

    /// Checks `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?` and steps over it; true when integral.
    @discardableResult
    mutating func skipNumber() throws(JSONReadError) -> Bool {
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard isDigit(index) else { throw error("invalid number") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while isDigit(index) { index += 1 }
        }
        var integral = true
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            integral = false
            index += 1
            guard isDigit(index) else { throw error("invalid number") }
            while isDigit(index) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            integral = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard isDigit(index) else { throw error("invalid number") }
            while isDigit(index) { index += 1 }
        }
        return integral
    }

    mutating func number() throws(JSONReadError) -> JSONValue {
        let start = index
        if try skipNumber() {
            // Integral: exact when it fits in 64 bits.
            var k = start
            let negative = bytes[k] == UInt8(ascii: "-")
            if negative { k += 1 }
            var magnitude: UInt64 = 0
            var overflow = false
            while k < index {
                let (m1, o1) = magnitude.multipliedReportingOverflow(by: 10)
                let (m2, o2) = m1.addingReportingOverflow(UInt64(bytes[k] - 0x30))
                magnitude = m2
                overflow = overflow || o1 || o2
                k += 1
            }
            if !overflow {
                if !negative, magnitude <= UInt64(Int64.max) { return .integer(Int64(magnitude)) }
                if negative, magnitude <= UInt64(Int64.max) + 1 {
                    return .integer(magnitude == UInt64(Int64.max) + 1 ? .min : -Int64(magnitude))
                }
            }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let d = Double(text) else { throw error("invalid number") }
        return .double(d)
    }
}
