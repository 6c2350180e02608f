/// Text of a ledger row held without a heap string when it is ASCII of 64 bytes or less — an
/// event id (a UUID, 36 characters), a `recorded_at` time (24), a hash (64 hex digits) — as its
/// bytes, in the value itself. A scan of the ledger makes one of these from a row's bytes (one
/// copy, no allocation, no UTF-8 check beyond "all ASCII") instead of allocating, copying,
/// checking and freeing a string per column; a string is made only when the text is asked for.
/// Text made from a `String` keeps that string.
///
/// Two values are equal when their texts are, whatever their representation.
public struct InlineText: Sendable, Hashable, CustomStringConvertible {
    typealias Words = (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)

    // Plain stored fields rather than an enum with a String case: copying and destroying an
    // event (three of these) then needs no switch, only the string's retain and release.
    /// ASCII bytes, then zeros, when `count` is not `Self.isText`.
    var words: Words
    /// How many bytes of `words` hold the text, or `Self.isText` when `text` holds it.
    var count: UInt8
    var text: String

    private static let isText: UInt8 = .max
    private static let zero: Words = (0, 0, 0, 0, 0, 0, 0, 0)

    /// The most bytes held inline.
    public static let capacity = 64

    public init(_ text: String) {
        words = Self.zero
        count = Self.isText
        self.text = text
    }

    /// The text of `bytes` (UTF-8): inline when it is ASCII of at most `capacity` bytes, else a string.
    public init(utf8 bytes: UnsafeRawBufferPointer) {
        words = Self.zero
        count = 0
        text = ""
        guard bytes.count <= Self.capacity else {
            self = InlineText(String(decoding: bytes, as: UTF8.self))
            return
        }
        guard bytes.count > 0 else { return }
        withUnsafeMutableBytes(of: &words) { $0.copyMemory(from: bytes) }
        let w = words
        guard (w.0 | w.1 | w.2 | w.3 | w.4 | w.5 | w.6 | w.7) & 0x8080_8080_8080_8080 == 0 else {
            self = InlineText(String(decoding: bytes, as: UTF8.self))
            return
        }
        count = UInt8(bytes.count)
    }

    /// Whether the text is held inline (for testing the fast path).
    public var isInline: Bool { count != Self.isText }

    public var string: String {
        guard count != Self.isText else { return text }
        var w = words
        return withUnsafeBytes(of: &w) { String(decoding: UnsafeRawBufferPointer(rebasing: $0[0..<Int(count)]), as: UTF8.self) }
    }

    public var description: String { string }

    /// Calls `body` with the text's UTF-8 bytes (in the value itself when inline).
    public func withUTF8<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        if count == Self.isText {
            var s = text
            return try s.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
        }
        var w = words
        return try withUnsafeBytes(of: &w) { try body(UnsafeRawBufferPointer(rebasing: $0[0..<Int(count)])) }
    }

    public static func == (a: InlineText, b: InlineText) -> Bool {
        if a.count != isText, b.count != isText {
            // The bytes past the count are zero on both sides.
            let x = a.words
            let y = b.words
            return a.count == b.count && x.0 == y.0 && x.1 == y.1 && x.2 == y.2 && x.3 == y.3 && x.4 == y.4 && x.5 == y.5 && x.6 == y.6 && x.7 == y.7
        }
        if a.count == isText, b.count == isText { return a.text == b.text }
        return a.withUTF8 { x in b.withUTF8 { y in x.elementsEqual(y) } }
    }

    public func hash(into hasher: inout Hasher) {
        withUTF8 { hasher.combine(bytes: $0) }
    }
}
