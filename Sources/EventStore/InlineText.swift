/// Text of a ledger row held without a heap string when it has one of the row's fixed shapes:
/// an event id (a lowercase UUID, 36 characters) as its 128 bits, a hash (64 lowercase hex
/// digits) as its 256 bits, and any other ASCII text of 32 bytes or less (a `recorded_at`
/// timestamp) as its bytes. A scan of the ledger makes one of these from a row's bytes instead
/// of allocating, copying and freeing a string per column; the text is formatted only when asked
/// for. Text made from a `String` keeps that string.
///
/// Two values are equal when their texts are, whatever their representation.
public struct InlineText: Sendable, Hashable, CustomStringConvertible {
    enum Storage: Sendable {
        case text(String)
        case uuid(UInt64, UInt64)
        case hex(UInt64, UInt64, UInt64, UInt64)
        /// ASCII bytes, little-endian in the four words; the count is at most 32.
        case short(UInt8, UInt64, UInt64, UInt64, UInt64)
    }

    var storage: Storage

    public init(_ text: String) { storage = .text(text) }

    /// The text of `bytes` (UTF-8): inline when it has one of the shapes above, else a string.
    public init(utf8 bytes: UnsafeRawBufferPointer) {
        storage = Self.packed(bytes) ?? .text(String(decoding: bytes, as: UTF8.self))
    }

    /// The representation the bytes would be read into (for testing the fast path).
    public var isInline: Bool {
        if case .text = storage { return false }
        return true
    }

    public var string: String {
        switch storage {
        case .text(let s): return s
        case .uuid: return String(unsafeUninitializedCapacity: 36) { out in write(UnsafeMutableRawBufferPointer(out)) }
        case .hex: return String(unsafeUninitializedCapacity: 64) { out in write(UnsafeMutableRawBufferPointer(out)) }
        case .short(let count, _, _, _, _):
            return String(unsafeUninitializedCapacity: Int(count)) { out in write(UnsafeMutableRawBufferPointer(out)) }
        }
    }

    public var description: String { string }

    /// Calls `body` with the text's UTF-8 bytes (on the stack for an inline value).
    public func withUTF8<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        if case .text(var s) = storage { return try s.withUTF8 { try body(UnsafeRawBufferPointer($0)) } }
        return try withUnsafeTemporaryAllocation(byteCount: 64, alignment: 8) { buffer in
            let count = write(buffer)
            return try body(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
    }

    public static func == (a: InlineText, b: InlineText) -> Bool {
        switch (a.storage, b.storage) {
        case (.text(let x), .text(let y)): return x == y
        case (.uuid(let a0, let a1), .uuid(let b0, let b1)): return a0 == b0 && a1 == b1
        case (.hex(let a0, let a1, let a2, let a3), .hex(let b0, let b1, let b2, let b3)): return a0 == b0 && a1 == b1 && a2 == b2 && a3 == b3
        case (.short(let ac, let a0, let a1, let a2, let a3), .short(let bc, let b0, let b1, let b2, let b3)):
            return ac == bc && a0 == b0 && a1 == b1 && a2 == b2 && a3 == b3
        default: return a.withUTF8 { x in b.withUTF8 { y in x.elementsEqual(y) } }
        }
    }

    public func hash(into hasher: inout Hasher) {
        withUTF8 { hasher.combine(bytes: $0) }
    }

    // MARK: Packing and formatting

    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let high: UInt64 = 0x8080_8080_8080_8080

    /// Eight lowercase hex digits (the first in the low byte) as 32 bits, eight bytes at a time; nil when one is not a digit.
    @inline(__always) static func chunk(_ x: UInt64) -> UInt64? {
        guard x & high == 0 else { return nil }
        // Per byte (all below 0x80, so no carry crosses bytes): the high bit says "at least k".
        @inline(__always) func atLeast(_ k: UInt64) -> UInt64 { (x &+ (0x80 &- k) &* ones) & high }
        let digit = atLeast(0x30) & ~atLeast(0x3A)
        let alpha = atLeast(0x61) & ~atLeast(0x67)
        guard digit | alpha == high else { return nil }
        let n = (x & 0x0F0F_0F0F_0F0F_0F0F) &+ (alpha >> 7) &* 9
        let y = (n | n >> 4) & 0x00FF_00FF_00FF_00FF
        let z = (y | y >> 8) & 0x0000_FFFF_0000_FFFF
        return (z | z >> 16) & 0xFFFF_FFFF
    }

    /// The eight hex digits of `chunk`'s 32 bits, the first in the low byte.
    @inline(__always) static func digits(_ c: UInt64) -> UInt64 {
        let z = (c | c << 16) & 0x0000_FFFF_0000_FFFF
        let y = (z | z << 8) & 0x00FF_00FF_00FF_00FF
        let n = (y | y << 4) & 0x0F0F_0F0F_0F0F_0F0F
        return n &+ 0x30 &* ones &+ (((n &+ 0x76 &* ones) & high) >> 7) &* 0x27
    }

    static func packed(_ p: UnsafeRawBufferPointer) -> Storage? {
        guard let base = p.baseAddress else { return .short(0, 0, 0, 0, 0) }
        @inline(__always) func word(_ offset: Int) -> UInt64 { UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
        @inline(__always) func half(_ offset: Int) -> UInt64 { UInt64(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))) }
        switch p.count {
        case 36:
            guard p[8] == 45, p[13] == 45, p[18] == 45, p[23] == 45, let c0 = chunk(word(0)), let c1 = chunk(half(9) | half(14) << 32),
                let c2 = chunk(half(19) | half(24) << 32), let c3 = chunk(word(28))
            else { return nil }
            return .uuid(c0 | c1 << 32, c2 | c3 << 32)
        case 64:
            var w: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
            for i in 0..<4 {
                guard let lo = chunk(word(16 * i)), let hi = chunk(word(16 * i + 8)) else { return nil }
                withUnsafeMutableBytes(of: &w) { $0.storeBytes(of: lo | hi << 32, toByteOffset: 8 * i, as: UInt64.self) }
            }
            return .hex(w.0, w.1, w.2, w.3)
        case 0...32:
            var w: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
            withUnsafeMutableBytes(of: &w) { $0.copyMemory(from: p) }
            guard (w.0 | w.1 | w.2 | w.3) & high == 0 else { return nil }
            return .short(UInt8(p.count), w.0, w.1, w.2, w.3)
        default: return nil
        }
    }

    /// Writes an inline value's bytes to `out` (at least the text's length) and returns their count.
    @discardableResult
    private func write(_ out: UnsafeMutableRawBufferPointer) -> Int {
        guard let base = out.baseAddress else { return 0 }
        @inline(__always) func put(_ v: UInt64, _ offset: Int) { base.storeBytes(of: v.littleEndian, toByteOffset: offset, as: UInt64.self) }
        @inline(__always) func putHalf(_ v: UInt64, _ offset: Int) { base.storeBytes(of: UInt32(truncatingIfNeeded: v).littleEndian, toByteOffset: offset, as: UInt32.self) }
        switch storage {
        case .text: return 0  // never asked: a string is handed out as it is
        case .uuid(let hi, let lo):
            let d1 = Self.digits(hi >> 32)
            let d2 = Self.digits(lo & 0xFFFF_FFFF)
            put(Self.digits(hi & 0xFFFF_FFFF), 0)
            base.storeBytes(of: 45, toByteOffset: 8, as: UInt8.self)
            putHalf(d1, 9)
            base.storeBytes(of: 45, toByteOffset: 13, as: UInt8.self)
            putHalf(d1 >> 32, 14)
            base.storeBytes(of: 45, toByteOffset: 18, as: UInt8.self)
            putHalf(d2, 19)
            base.storeBytes(of: 45, toByteOffset: 23, as: UInt8.self)
            putHalf(d2 >> 32, 24)
            put(Self.digits(lo >> 32), 28)
            return 36
        case .hex(let w0, let w1, let w2, let w3):
            @inline(__always) func word(_ w: UInt64, _ offset: Int) {
                put(Self.digits(w & 0xFFFF_FFFF), offset)
                put(Self.digits(w >> 32), offset + 8)
            }
            word(w0, 0)
            word(w1, 16)
            word(w2, 32)
            word(w3, 48)
            return 64
        case .short(let count, let w0, let w1, let w2, let w3):
            var w = (w0, w1, w2, w3)
            withUnsafeBytes(of: &w) { bytes in out.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[0..<Int(count)])) }
            return Int(count)
        }
    }
}
