import Foundation

/// The members of one JSON object text, read in place: one pass checks the whole text and
/// notes where each member lies, on the stack, and a lookup makes only the value asked for.
///
/// What `JSONObject(parsing:)` gives, without its allocations: replays read a payload per
/// event, and the object, its member list and its retained source cost more than the few
/// strings a decoder keeps. Lookups answer as `JSONObject`'s do (the last member of a name
/// wins; escaped names match what they spell). Valid only inside `withObject`'s closure.
public struct JSONMembers {
    /// The most members read in place; a larger object is left to `JSONObject`.
    public static let capacity = 32

    /// Where one member's name and value lie: `JSONObject.Span` in 16 bytes, so that the spans
    /// of `capacity` members fit in a small stack allocation.
    public struct Span {
        var keyStart: Int32
        var keyEnd: Int32
        var valueStart: Int32
        var keyEscaped: Bool
    }

    let bytes: UnsafeBufferPointer<UInt8>
    let spans: UnsafeBufferPointer<Span>

    /// Checks `bytes` as one JSON text and, when it is an object of at most `spans.count`
    /// members, notes where they lie in `spans` (the caller's, on its stack:
    /// `withUnsafeTemporaryAllocation(of: JSONMembers.Span.self, capacity: JSONMembers.capacity)`).
    /// Nil when the text is another value or a larger object (read those with `JSONValue`);
    /// malformed text throws the `JSONReadError` `JSONValue` would. Valid while `bytes` and
    /// `spans` are.
    public init?(_ bytes: UnsafeBufferPointer<UInt8>, spans buffer: UnsafeMutableBufferPointer<Span>) throws {
        guard bytes.count > 0, bytes.count < Int(Int32.max) else { return nil }
        var parser = JSONParser(bytes, source: "")
        parser.skipWhitespace()
        guard parser.index < bytes.count, bytes[parser.index] == UInt8(ascii: "{") else { return nil }
        var count = 0
        // Depth 1, as `JSONValue(parsing:)` reads a top-level object.
        let complete = try parser.members(depth: 1) { span in
            guard count < buffer.count else { return false }
            buffer.initializeElement(
                at: count,
                to: Span(
                    keyStart: Int32(truncatingIfNeeded: span.keyStart), keyEnd: Int32(truncatingIfNeeded: span.keyEnd),
                    valueStart: Int32(truncatingIfNeeded: span.valueStart), keyEscaped: span.keyEscaped))
            count += 1
            return true
        }
        guard complete else { return nil }
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw parser.error("unexpected text after the JSON value") }
        self.bytes = bytes
        spans = UnsafeBufferPointer(rebasing: buffer[0..<count])
    }

    /// `init(_:spans:)` with spans on the stack, for `body`; false when the text is not an object
    /// of at most `capacity` members.
    public static func withObject(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (JSONMembers) throws -> Void) throws -> Bool {
        try withUnsafeTemporaryAllocation(of: Span.self, capacity: capacity) { buffer -> Bool in
            guard let members = try JSONMembers(bytes, spans: buffer) else { return false }
            try body(members)
            return true
        }
    }

    /// Where the value of the last member named `key` starts.
    @inline(__always)
    func valueStart(_ key: StaticString) -> Int? {
        let wanted = key.utf8Start, length = key.utf8CodeUnitCount
        var i = spans.count
        while i > 0 {
            i -= 1
            let span = spans[i]
            if span.keyEscaped {
                var parser = JSONParser(bytes, source: "")
                parser.index = Int(span.keyStart) - 1
                guard (try? parser.string()) == key.description else { continue }
            } else {
                guard Int(span.keyEnd - span.keyStart) == length,
                    length == 0 || memcmp(bytes.baseAddress! + Int(span.keyStart), wanted, length) == 0
                else { continue }
            }
            return Int(span.valueStart)
        }
        return nil
    }

    /// The member's text when it is a string.
    public func string(_ key: StaticString) -> String? {
        guard let start = valueStart(key), bytes[start] == UInt8(ascii: "\"") else { return nil }
        var parser = JSONParser(bytes, source: "")
        parser.index = start
        return try? parser.string()
    }

    /// The member when it is an array of strings.
    public func strings(_ key: StaticString) -> [String]? {
        guard let start = valueStart(key), bytes[start] == UInt8(ascii: "[") else { return nil }
        var parser = JSONParser(bytes, source: "")
        parser.index = start + 1
        var out: [String] = []
        parser.skipWhitespace()
        if parser.bytes[parser.index] == UInt8(ascii: "]") { return out }
        while true {
            parser.skipWhitespace()
            guard parser.bytes[parser.index] == UInt8(ascii: "\""), let s = try? parser.string() else { return nil }
            out.append(s)
            parser.skipWhitespace()
            if parser.bytes[parser.index] == UInt8(ascii: "]") { return out }
            parser.index += 1  // ,
        }
    }

    /// The member's value. An object or array is made from its own text, so it outlives `bytes`.
    public subscript(key: StaticString) -> JSONValue? {
        guard let start = valueStart(key) else { return nil }
        var parser = JSONParser(bytes, source: "")
        parser.index = start
        switch bytes[start] {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            guard (try? parser.skipValue(depth: 1)) != nil else { return nil }
            return try? JSONValue(parsing: String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<parser.index]), as: UTF8.self))
        default:
            return try? parser.value(depth: 1)
        }
    }
}
