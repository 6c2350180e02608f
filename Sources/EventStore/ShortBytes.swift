/// Short texts (member and type names, kept texts of a scan) compared and hashed in a few
/// words, where a call to `memcmp` or a general hash costs more than the work itself.
public enum ShortBytes {
    /// A hash of a name's length and its first and last eight bytes (little-endian, the last zero
    /// for a name of eight bytes or fewer), its top `64 - shift` bits kept: names often share
    /// their first eight bytes, rarely their last.
    @inlinable @inline(__always)
    public static func hash(head: UInt64, last: UInt64, count: Int, shift: UInt64) -> Int {
        let mixed = head ^ (last &* 0xC2B2_AE3D_27D4_EB4F) ^ UInt64(truncatingIfNeeded: count)
        return Int(truncatingIfNeeded: (mixed &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// Whether `count` bytes at `a` and `b` are the same: eight at a time, then one by one.
    @inlinable @inline(__always)
    public static func equal(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ count: Int) -> Bool {
        var k = 0
        while k + 8 <= count {
            guard a.loadUnaligned(fromByteOffset: k, as: UInt64.self) == b.loadUnaligned(fromByteOffset: k, as: UInt64.self) else { return false }
            k += 8
        }
        while k < count {
            guard a.load(fromByteOffset: k, as: UInt8.self) == b.load(fromByteOffset: k, as: UInt8.self) else { return false }
            k += 1
        }
        return true
    }
}
