import Foundation

/// The member names a payload reader asks for, each known by its index in the list: while a
/// text is checked, every member name is looked up here once, so that asking for a member
/// later is an index into a small table, not a search through the members.
///
/// A table is made once and lives as long as the process (keep it in a `static let`): its
/// memory is never freed, so that reading a payload neither retains nor releases it.
// Unchecked: the tables are written once, in `init`, and only read after.
public struct JSONKeys: @unchecked Sendable {
    /// Open addressing on a hash of the name's length and its first and last eight bytes.
    private let slots: UnsafeBufferPointer<Int16>
    /// Each name's length, its first and last eight bytes (little-endian, zero-padded; the last
    /// zero for a name of eight bytes or fewer), and where its bytes after the first eight start
    /// in `tails`: a name of up to 16 bytes is compared in two words.
    private let entries: UnsafeBufferPointer<Entry>
    private let tails: UnsafeBufferPointer<UInt8>
    private let shift: UInt64

    typealias Entry = (length: Int, head: UInt64, last: UInt64, tail: Int)

    public var count: Int { entries.count }

    /// `names[i]` gets the index `i`. Names are plain ASCII member names, each given once.
    public init(_ names: [StaticString]) {
        self.init(bytes: names.map { Array(UnsafeBufferPointer(start: $0.utf8Start, count: $0.utf8CodeUnitCount)) })
    }

    /// `init(_:)` for names known only at run time.
    public init(names: [String]) {
        self.init(bytes: names.map { Array($0.utf8) })
    }

    private init(bytes names: [[UInt8]]) {
        var bits: UInt64 = 4
        while (1 << bits) < names.count * 4 { bits += 1 }
        shift = 64 - bits
        var slots = [Int16](repeating: -1, count: 1 << bits)
        var entries: [Entry] = []
        var tails: [UInt8] = []
        for (i, bytes) in names.enumerated() {
            precondition(!bytes.isEmpty, "member names are not empty")
            precondition(!bytes.contains(UInt8(ascii: "\\")) && !bytes.contains(UInt8(ascii: "\"")), "member names are plain text")
            let head = Self.head(bytes), last = Self.last(bytes)
            var slot = ShortBytes.hash(head: head, last: last, count: bytes.count, shift: shift)
            while slots[slot] >= 0 {
                let other = entries[Int(slots[slot])]
                precondition(
                    other.length != bytes.count || other.head != head || Array(tails[other.tail..<other.tail + max(0, other.length - 8)]) != Array(bytes.dropFirst(8)),
                    "\(String(decoding: bytes, as: UTF8.self)) is listed twice")
                slot = (slot + 1) & (slots.count - 1)
            }
            slots[slot] = Int16(i)
            entries.append((bytes.count, head, last, tails.count))
            tails += bytes.dropFirst(8)
        }
        self.slots = Self.immortal(slots)
        self.entries = Self.immortal(entries)
        self.tails = Self.immortal(tails)
    }

    /// A copy of `array` that is never freed.
    private static func immortal<T>(_ array: [T]) -> UnsafeBufferPointer<T> {
        let copy = UnsafeMutableBufferPointer<T>.allocate(capacity: max(array.count, 1))
        _ = copy.initialize(from: array)
        return UnsafeBufferPointer(rebasing: copy[0..<array.count])
    }

    static func head(_ bytes: [UInt8]) -> UInt64 {
        var w: UInt64 = 0
        for (k, b) in bytes.prefix(8).enumerated() { w |= UInt64(b) << (8 * UInt64(k)) }
        return w
    }

    /// The last eight bytes of a name longer than eight, else 0: names often share their first
    /// eight bytes (`previous_stable_id`, `previous_stable_sha`; `DeploymentSucceeded`,
    /// `DeploymentFailed`), rarely their last.
    static func last(_ bytes: [UInt8]) -> UInt64 {
        bytes.count > 8 ? head(Array(bytes.suffix(8))) : 0
    }

    /// The index of the name spelled by `bytes`, or nil.
    public func index(of bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard !bytes.isEmpty else { return nil }
        let i = lookup.index(of: 0, count: bytes.count, in: bytes)
        return i >= 0 ? i : nil
    }

    /// The tables, for the lookups of one text.
    @inline(__always)
    var lookup: Lookup { Lookup(slots: slots, entries: entries, tails: tails, shift: shift) }

    struct Lookup {
        let slots: UnsafeBufferPointer<Int16>
        let entries: UnsafeBufferPointer<Entry>
        let tails: UnsafeBufferPointer<UInt8>
        let shift: UInt64

        /// The index of the name whose `count` bytes start at `index` in `bytes`, or -1.
        @inline(__always)
        func index(of index: Int, count: Int, in bytes: UnsafeBufferPointer<UInt8>) -> Int {
            let base = UnsafeRawPointer(bytes.baseAddress! + index)
            var head: UInt64
            if index + 8 <= bytes.count {
                head = UInt64(littleEndian: base.loadUnaligned(as: UInt64.self))
                if count < 8 { head &= (1 << (8 * UInt64(count))) &- 1 }
            } else {
                head = 0
                for k in 0..<min(count, 8) { head |= UInt64(base.load(fromByteOffset: k, as: UInt8.self)) << (8 * UInt64(k)) }
            }
            let last = count > 8 ? UInt64(littleEndian: base.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)) : 0
            var slot = ShortBytes.hash(head: head, last: last, count: count, shift: shift)
            while true {
                let i = Int(slots[slot])
                if i < 0 { return -1 }
                let entry = entries[i]
                // Up to 16 bytes, the first and last eight are the whole name.
                if entry.length == count, entry.head == head, entry.last == last,
                    count <= 16 || ShortBytes.equal(base + 8, UnsafeRawPointer(tails.baseAddress! + entry.tail), count - 16)
                {
                    return i
                }
                slot = (slot + 1) & (slots.count - 1)
            }
        }
    }
}

/// The members of one JSON object text, read in place: one pass checks the whole text and
/// notes where the value of each member named in a `JSONKeys` lies, on the stack; asking for a
/// member then makes only that value.
///
/// What `JSONObject(parsing:)` gives, without its allocations: replays read a payload per
/// event, and the object, its member list and its retained source cost more than the few
/// strings a decoder keeps. Lookups answer as `JSONObject`'s do (the last member of a name
/// wins). A text with an escaped member name is left to `JSONObject`, which reads what the
/// escapes spell. Valid while the text and the table of starts are.
public struct JSONMembers {
    let bytes: UnsafeBufferPointer<UInt8>
    /// For each key of the `JSONKeys`, where its value starts, or -1.
    let starts: UnsafeMutableBufferPointer<Int32>

    /// Checks `bytes` as one JSON text and, when it is an object, notes where the value of each
    /// of `keys` lies in `starts` (the caller's, `keys.count` long, on its stack). Nil when the
    /// text is another value or has an escaped member name (read those with `JSONValue`); malformed text throws the
    /// `JSONReadError` `JSONValue` would. Valid while `bytes` and `starts` are.
    public init?(_ bytes: UnsafeBufferPointer<UInt8>, keys: JSONKeys, starts: UnsafeMutableBufferPointer<Int32>) throws {
        guard bytes.count > 0, bytes.count < Int(Int32.max) else { return nil }
        var parser = JSONParser(bytes, source: "")
        parser.skipWhitespace()
        guard parser.index < bytes.count, bytes[parser.index] == UInt8(ascii: "{") else { return nil }
        starts.initialize(repeating: -1)
        let lookup = keys.lookup
        if Self.readCompact(bytes, lookup, starts) {
            self.bytes = bytes
            self.starts = starts
            return
        }
        starts.initialize(repeating: -1)
        // Depth 1, as `JSONValue(parsing:)` reads a top-level object.
        let complete = try parser.members(depth: 1) { span in
            guard !span.keyEscaped else { return false }
            let key = lookup.index(of: span.keyStart, count: span.keyEnd - span.keyStart, in: bytes)
            if key >= 0 { starts[key] = Int32(truncatingIfNeeded: span.valueStart) }
            return true
        }
        guard complete else { return nil }
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw parser.error("unexpected text after the JSON value") }
        self.bytes = bytes
        self.starts = starts
    }

    /// The shape every payload Shiplog writes has, read in one tight pass: `{"name":value,…}`
    /// with no space anywhere and no escape in a name, values that are strings, numbers, `true`,
    /// `false`, `null` or arrays of strings. Each string and number is checked by the parser's
    /// own `skipString` and `skipNumber`. True when the whole text is exactly that (so it is valid
    /// JSON) and `starts` filled; false at the first byte outside that shape, and the full walk
    /// then reads the text again from the start, with its own checks and errors.
    private static func readCompact(_ bytes: UnsafeBufferPointer<UInt8>, _ lookup: JSONKeys.Lookup, _ starts: UnsafeMutableBufferPointer<Int32>) -> Bool {
        var parser = JSONParser(bytes, source: "")
        let end = bytes.count
        func at(_ byte: Unicode.Scalar) -> Bool { parser.index < end && bytes[parser.index] == UInt8(ascii: byte) }
        guard end >= 2, bytes[0] == UInt8(ascii: "{") else { return false }
        parser.index = 1
        if bytes[1] == UInt8(ascii: "}") { return end == 2 }
        while true {
            guard at("\"") else { return false }
            let keyStart = parser.index + 1
            // An escaped name is left to the full walk (which leaves the text to `JSONObject`).
            guard (try? parser.skipString()) == false else { return false }
            let keyEnd = parser.index - 1
            guard at(":") else { return false }
            parser.index += 1
            guard parser.index < end else { return false }
            let valueStart = parser.index
            switch bytes[valueStart] {
            case UInt8(ascii: "\""):
                guard (try? parser.skipString()) != nil else { return false }
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                guard (try? parser.skipNumber()) != nil else { return false }
            case UInt8(ascii: "t"):
                guard (try? parser.literal("true")) != nil else { return false }
            case UInt8(ascii: "f"):
                guard (try? parser.literal("false")) != nil else { return false }
            case UInt8(ascii: "n"):
                guard (try? parser.literal("null")) != nil else { return false }
            case UInt8(ascii: "["):
                parser.index += 1
                if at("]") {
                    parser.index += 1
                } else {
                    while true {
                        guard at("\""), (try? parser.skipString()) != nil else { return false }
                        if at(",") {
                            parser.index += 1
                            continue
                        }
                        guard at("]") else { return false }
                        parser.index += 1
                        break
                    }
                }
            default:
                return false
            }
            let key = lookup.index(of: keyStart, count: keyEnd - keyStart, in: bytes)
            if key >= 0 { starts[key] = Int32(truncatingIfNeeded: valueStart) }
            if at(",") {
                parser.index += 1
                continue
            }
            return at("}") && parser.index + 1 == end
        }
    }

    /// Where the value of the last member named `keys[key]` starts.
    @inline(__always)
    func valueStart(_ key: Int) -> Int? {
        let start = starts[key]
        return start >= 0 ? Int(start) : nil
    }

    /// A member's value read without making a `JSONValue`: the text was checked whole when the
    /// members were noted, so a value that starts like a number is one.
    public enum Scalar: Equatable {
        /// A whole number of at most 18 digits (anything longer, or with a fraction or an
        /// exponent, is `.other`).
        case integer(Int64)
        case bool(Bool)
        case null
        case string
        /// A longer or non-integral number, an object or an array: read it with the subscript.
        case other
    }

    /// What the last member named `key` holds, nil when there is none.
    public func scalar(_ key: Int) -> Scalar? {
        guard let start = valueStart(key) else { return nil }
        switch bytes[start] {
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "t"): return .bool(true)
        case UInt8(ascii: "f"): return .bool(false)
        case UInt8(ascii: "n"): return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            var parser = JSONParser(bytes, source: "")
            parser.index = start
            guard case .integer(let value)? = try? parser.number() else { return .other }
            return .integer(value)
        default: return .other
        }
    }

    /// The member's text when it is a string.
    public func string(_ key: Int) -> String? {
        guard let start = valueStart(key), bytes[start] == UInt8(ascii: "\"") else { return nil }
        var parser = JSONParser(bytes, source: "")
        parser.index = start
        return try? parser.string()
    }

    /// The member when it is an array of strings.
    public func strings(_ key: Int) -> [String]? {
        guard let start = valueStart(key), bytes[start] == UInt8(ascii: "[") else { return nil }
        var parser = JSONParser(bytes, source: "")
        parser.index = start + 1
        var out: [String] = []
        parser.skipWhitespace()
        if parser.bytes[parser.index] == UInt8(ascii: "]") { return out }
        // Counted first, so that the array is allocated once rather than grown.
        out.reserveCapacity(count(from: parser.index))
        while true {
            parser.skipWhitespace()
            guard parser.bytes[parser.index] == UInt8(ascii: "\""), let s = try? parser.string() else { return nil }
            out.append(s)
            parser.skipWhitespace()
            if parser.bytes[parser.index] == UInt8(ascii: "]") { return out }
            parser.index += 1  // ,
        }
    }

    /// How many elements an array of strings holds whose first element starts at `index`
    /// (0 when it holds anything else; the text was checked whole, so the walk is a plain one).
    private func count(from index: Int) -> Int {
        var parser = JSONParser(bytes, source: "")
        parser.index = index
        var count = 0
        while parser.index < bytes.count, bytes[parser.index] == UInt8(ascii: "\"") {
            guard (try? parser.skipString()) != nil else { return count }
            count += 1
            parser.skipWhitespace()
            guard parser.index < bytes.count, bytes[parser.index] == UInt8(ascii: ",") else { return count }
            parser.index += 1
            parser.skipWhitespace()
        }
        return count
    }

    /// The member's value. An object or array is made from its own text, so it outlives `bytes`.
    public subscript(key: Int) -> JSONValue? {
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
