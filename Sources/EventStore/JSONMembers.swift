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

    let bytes: UnsafeBufferPointer<UInt8>
    let spans: UnsafeBufferPointer<JSONObject.Span>

    /// Checks `bytes` as one JSON text and, when it is an object of at most `capacity` members,
    /// calls `body` with them. Nil when the text is another value or a larger object (read
    /// those with `JSONValue`); malformed text throws the `JSONReadError` `JSONValue` would.
    public static func withObject<R>(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (JSONMembers) throws -> R) throws -> R? {
        guard bytes.count > 0 else { return nil }
        return try withUnsafeTemporaryAllocation(of: JSONObject.Span.self, capacity: capacity) { buffer -> R? in
            var parser = JSONParser(bytes, source: "")
            parser.skipWhitespace()
            guard parser.index < bytes.count, bytes[parser.index] == UInt8(ascii: "{") else { return nil }
            var count = 0
            // Depth 1, as `JSONValue(parsing:)` reads a top-level object.
            let complete = try parser.members(depth: 1) { span in
                guard count < buffer.count else { return false }
                buffer.initializeElement(at: count, to: span)
                count += 1
                return true
            }
            guard complete else { return nil }
            parser.skipWhitespace()
            guard parser.index == bytes.count else { throw parser.error("unexpected text after the JSON value") }
            let members = JSONMembers(bytes: bytes, spans: UnsafeBufferPointer(rebasing: buffer[0..<count]))
            return try body(members)
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
                parser.index = span.keyStart - 1
                guard (try? parser.string()) == key.description else { continue }
            } else {
                guard span.keyEnd - span.keyStart == length,
                    length == 0 || memcmp(bytes.baseAddress! + span.keyStart, wanted, length) == 0
                else { continue }
            }
            return span.valueStart
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
