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

    enum Storage: Sendable {
        case text(String)
        /// ASCII bytes, then zeros; the count is at most 64.
        case ascii(UInt8, Words)
    }

    var storage: Storage

    /// The most bytes held inline.
    public static let capacity = 64

    public init(_ text: String) { storage = .text(text) }

    /// The text of `bytes` (UTF-8): inline when it is ASCII of at most `capacity` bytes, else a string.
    public init(utf8 bytes: UnsafeRawBufferPointer) {
        storage = Self.packed(bytes) ?? .text(String(decoding: bytes, as: UTF8.self))
    }

    /// Whether the text is held inline (for testing the fast path).
    public var isInline: Bool {
        if case .text = storage { return false }
        return true
    }

    public var string: String {
        switch storage {
        case .text(let s): return s
        case .ascii(let count, var words):
            return withUnsafeBytes(of: &words) { String(decoding: UnsafeRawBufferPointer(rebasing: $0[0..<Int(count)]), as: UTF8.self) }
        }
    }

    public var description: String { string }

    /// Calls `body` with the text's UTF-8 bytes (in the value itself when inline).
    public func withUTF8<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        switch storage {
        case .text(var s): return try s.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
        case .ascii(let count, var words): return try withUnsafeBytes(of: &words) { try body(UnsafeRawBufferPointer(rebasing: $0[0..<Int(count)])) }
        }
    }

    public static func == (a: InlineText, b: InlineText) -> Bool {
        if case .ascii(let ac, let aw) = a.storage, case .ascii(let bc, let bw) = b.storage {
            // The bytes past the count are zero on both sides.
            return ac == bc && aw.0 == bw.0 && aw.1 == bw.1 && aw.2 == bw.2 && aw.3 == bw.3 && aw.4 == bw.4 && aw.5 == bw.5 && aw.6 == bw.6 && aw.7 == bw.7
        }
        if case .text(let x) = a.storage, case .text(let y) = b.storage { return x == y }
        return a.withUTF8 { x in b.withUTF8 { y in x.elementsEqual(y) } }
    }

    public func hash(into hasher: inout Hasher) {
        withUTF8 { hasher.combine(bytes: $0) }
    }

    static func packed(_ p: UnsafeRawBufferPointer) -> Storage? {
        guard p.count <= capacity else { return nil }
        var w: Words = (0, 0, 0, 0, 0, 0, 0, 0)
        guard p.count > 0 else { return .ascii(0, w) }
        withUnsafeMutableBytes(of: &w) { $0.copyMemory(from: p) }
        guard (w.0 | w.1 | w.2 | w.3 | w.4 | w.5 | w.6 | w.7) & 0x8080_8080_8080_8080 == 0 else { return nil }
        return .ascii(UInt8(p.count), w)
    }
}
