import CCrypto

/// The ledger's SHA-256 chain: each event's hash covers the previous hash and the event's
/// canonical bytes, so changing, removing or reordering any event changes every hash after it.
///
/// Canonical bytes (documented for outside verifiers in docs/HASH-CHAIN.md):
///
///     previous hash (32 raw bytes; 32 zero bytes before position 1)
///     u64be(position)  str(event_id)  str(stream)  u64be(version)  str(type)
///     u64be(schema)    str(data)      str(metadata)  str(recorded_at)
///
/// where `str(x)` is `u32be(byte length of x in UTF-8)` followed by those bytes.
/// The digest is stored as 64 lowercase hex characters.
public final class HashChain {
    public static let genesis = [UInt8](repeating: 0, count: 32)
    public static let genesisHex = String(repeating: "0", count: 64)

    private let context: OpaquePointer
    private let digest: OpaquePointer
    private let canonical = CanonicalBytes()

    public init() {
        guard let context = EVP_MD_CTX_new(), let digest = EVP_MD_fetch(nil, "SHA256", nil) else {
            preconditionFailure("OpenSSL cannot provide SHA-256")
        }
        self.context = context
        self.digest = digest
    }

    deinit {
        EVP_MD_CTX_free(context)
        EVP_MD_free(digest)
    }

    /// The hash of one event, chained onto `previous`.
    public func hash(
        previous: [UInt8], position: Int64, eventID: String, stream: String, version: Int64,
        type: String, schema: Int, data: String, metadata: String, recordedAt: String
    ) -> [UInt8] {
        // Laid out whole, then hashed in one call: cheaper than one digest update per field.
        var eventID = eventID, stream = stream, type = type, data = data, metadata = metadata, recordedAt = recordedAt
        let fields = eventID.utf8.count + stream.utf8.count + type.utf8.count + data.utf8.count + metadata.utf8.count + recordedAt.utf8.count
        // The previous hash (32 bytes), three integers, six length prefixes.
        let total = previous.count + 3 * 8 + 6 * 4 + fields
        let base = canonical.start(count: total)
        // A local cursor (not a variable captured by closures, which Swift checks on every access).
        var out = CanonicalWriter(at: base)
        previous.withUnsafeBytes { out.raw($0) }
        out.integer(UInt64(bitPattern: position))
        eventID.withUTF8 { out.field($0) }
        stream.withUTF8 { out.field($0) }
        out.integer(UInt64(bitPattern: version))
        type.withUTF8 { out.field($0) }
        out.integer(UInt64(schema))
        data.withUTF8 { out.field($0) }
        metadata.withUTF8 { out.field($0) }
        recordedAt.withUTF8 { out.field($0) }
        precondition(out.at - base == total, "the canonical bytes were laid out short")
        var result = [UInt8](repeating: 0, count: 32)
        result.withUnsafeMutableBufferPointer { hashCanonical(UnsafeRawBufferPointer(start: base, count: total), into: $0) }
        return result
    }

    // The incremental form, used by verify to hash straight from SQLite's column buffers.

    public func begin(previous: [UInt8], position: Int64) {
        precondition(EVP_DigestInit_ex(context, digest, nil) == 1)
        previous.withUnsafeBytes { raw($0) }
        integer(UInt64(bitPattern: position))
    }

    public func field(_ bytes: UnsafeRawBufferPointer) {
        var length = UInt32(bytes.count).bigEndian
        withUnsafeBytes(of: &length) { raw($0) }
        raw(bytes)
    }

    public func integer(_ value: UInt64) {
        var big = value.bigEndian
        withUnsafeBytes(of: &big) { raw($0) }
    }

    private func raw(_ bytes: UnsafeRawBufferPointer) {
        if bytes.count > 0 { EVP_DigestUpdate(context, bytes.baseAddress, bytes.count) }
    }

    /// SHA-256 of bytes already laid out canonically, into `out` (32 bytes), without allocating.
    public func hashCanonical(_ bytes: UnsafeRawBufferPointer, into out: UnsafeMutableBufferPointer<UInt8>) {
        precondition(out.count == 32 && EVP_DigestInit_ex(context, self.digest, nil) == 1)
        raw(bytes)
        var length: UInt32 = 0
        precondition(EVP_DigestFinal_ex(context, out.baseAddress, &length) == 1)
    }

    public func finish() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        out.withUnsafeMutableBufferPointer { precondition(EVP_DigestFinal_ex(context, $0.baseAddress, &length) == 1) }
        return out
    }

    /// SHA-256 of a whole byte buffer, for artifact digests and migration checksums.
    public static func sha256(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        let chain = HashChain()
        precondition(EVP_DigestInit_ex(chain.context, chain.digest, nil) == 1)
        chain.raw(bytes)
        return chain.finish()
    }

    public static func sha256Hex(_ text: String) -> String {
        var text = text
        return Hex.encode(text.withUTF8 { sha256(UnsafeRawBufferPointer($0)) })
    }
}

/// Writes canonical bytes at a cursor, in a buffer already large enough.
struct CanonicalWriter {
    var at: UnsafeMutableRawPointer

    mutating func raw(_ bytes: UnsafeRawBufferPointer) {
        if let source = bytes.baseAddress, bytes.count > 0 { at.copyMemory(from: source, byteCount: bytes.count) }
        at += bytes.count
    }

    mutating func integer(_ value: UInt64) {
        at.storeBytes(of: value.bigEndian, as: UInt64.self)
        at += 8
    }

    mutating func field(_ bytes: UnsafeBufferPointer<UInt8>) {
        at.storeBytes(of: UInt32(bytes.count).bigEndian, as: UInt32.self)
        at += 4
        raw(UnsafeRawBufferPointer(bytes))
    }
}

/// One event's canonical bytes (docs/HASH-CHAIN.md), laid out in a buffer reused from event to
/// event, so the chain is hashed with one call per event instead of one per field.
public final class CanonicalBytes {
    // A buffer is filled by one thread, call after call, and never handed out while it is
    // written: its properties skip Swift's run-time exclusivity checks, which cost `verify`,
    // appending a field at a time, a tenth of its instructions.
    @exclusivity(unchecked) private var base: UnsafeMutableRawPointer
    @exclusivity(unchecked) private var capacity: Int
    @exclusivity(unchecked) public private(set) var count = 0

    public init(capacity: Int = 4_096) {
        self.capacity = capacity
        base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
    }

    deinit { base.deallocate() }

    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    public func removeAll() { count = 0 }

    /// Room for exactly `count` bytes, to be written in place: the buffer then holds them.
    /// One call per event, instead of a capacity check per field.
    public func start(count: Int) -> UnsafeMutableRawPointer {
        self.count = 0
        reserve(count)
        self.count = count
        return base
    }

    private func reserve(_ more: Int) {
        guard count + more > capacity else { return }
        var grown = capacity * 2
        while grown < count + more { grown *= 2 }
        let bigger = UnsafeMutableRawPointer.allocate(byteCount: grown, alignment: 8)
        bigger.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = bigger
        capacity = grown
    }

    public func append(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        reserve(bytes.count)
        (base + count).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        count += bytes.count
    }

    /// `u64(x)`: big-endian.
    public func appendInteger(_ value: UInt64) {
        reserve(8)
        (base + count).storeBytes(of: value.bigEndian, as: UInt64.self)
        count += 8
    }

    /// `str(x)`: the byte length as u32 big-endian, then the bytes.
    public func appendField(_ bytes: UnsafeRawBufferPointer) {
        reserve(4)
        (base + count).storeBytes(of: UInt32(bytes.count).bigEndian, as: UInt32.self)
        count += 4
        append(bytes)
    }
}

/// SHA-256 over a stream of chunks, for files too large to hold in memory.
public final class SHA256Stream {
    private let context: OpaquePointer

    public init() {
        context = EVP_MD_CTX_new()!
        let md = EVP_MD_fetch(nil, "SHA256", nil)
        precondition(EVP_DigestInit_ex(context, md, nil) == 1)
        EVP_MD_free(md)
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        if bytes.count > 0 { EVP_DigestUpdate(context, bytes.baseAddress, bytes.count) }
    }

    public func finalizeHex() -> String {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        out.withUnsafeMutableBufferPointer { precondition(EVP_DigestFinal_ex(context, $0.baseAddress, &length) == 1) }
        return Hex.encode(out)
    }
}

/// Lowercase hex, both ways.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        guard !bytes.isEmpty else { return "" }
        return String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            for (i, b) in bytes.enumerated() {
                out[2 * i] = digits[Int(b >> 4)]
                out[2 * i + 1] = digits[Int(b & 0x0F)]
            }
            return bytes.count * 2
        }
    }

    public static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 97...102: c - 87
            case 65...70: c - 55
            default: nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var i = 0
        while i < utf8.count {
            guard let hi = nibble(utf8[i]), let lo = nibble(utf8[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    /// Compares a digest with a hex string without allocating.
    public static func equals(_ bytes: [UInt8], _ hex: UnsafeRawBufferPointer) -> Bool {
        guard hex.count == bytes.count * 2 else { return false }
        // Verify compares one digest per event: four bytes become eight digits in one word.
        return bytes.withUnsafeBufferPointer { raw in
            var i = 0
            while i + 4 <= raw.count {
                var nibbles: UInt64 = 0
                for k in 0..<4 {
                    let b = UInt64(raw[i + k])
                    nibbles |= (b >> 4) << UInt64(16 * k) | (b & 0x0F) << UInt64(16 * k + 8)
                }
                // '0' + n, and 39 more for a…f: n >= 10 exactly when n + 6 carries into bit 4.
                let letters = ((nibbles &+ 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101
                let digits = nibbles &+ 0x3030_3030_3030_3030 &+ letters &* 0x27
                if hex.loadUnaligned(fromByteOffset: 2 * i, as: UInt64.self) != digits.littleEndian { return false }
                i += 4
            }
            while i < raw.count {
                let b = raw[i]
                let hi = b >> 4, lo = b & 0x0F
                if hex[2 * i] != (hi < 10 ? 48 + hi : 87 + hi) || hex[2 * i + 1] != (lo < 10 ? 48 + lo : 87 + lo) { return false }
                i += 1
            }
            return true
        }
    }
}
