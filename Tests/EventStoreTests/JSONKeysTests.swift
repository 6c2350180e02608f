import EventStore
import SeededRandom
import Testing

@Suite("JSON keys: the name table payload readers look members up in")
struct JSONKeysTests {
    /// Names that share their first eight bytes, their length, or both, and short ones.
    static let names = [
        "previous_stable_id", "previous_stable_sha", "pipeline_path", "pipeline_sha256", "deployment_id", "deployment_ix",
        "DeploymentSucceeded", "DeploymentFailed", "a", "ab", "abcdefgh", "abcdefghi", "abcdefgj", "target", "target_sha",
    ]

    @Test func everyNameFindsItsIndexAndNoOtherTextDoes() throws {
        let keys = JSONKeys(names: Self.names)
        #expect(keys.count == Self.names.count)
        for (i, name) in Self.names.enumerated() {
            #expect(Array(name.utf8).withUnsafeBufferPointer { keys.index(of: $0) } == i, "\(name)")
        }
        var rng = SeededRNG(seed: 0x4B45_5953)
        let alphabet = Array("abcdefghipst_DSF".utf8)
        for _ in 0..<20_000 {
            let text = (0..<Int.random(in: 1...20, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            let expected = Self.names.firstIndex(of: String(decoding: text, as: UTF8.self))
            #expect(text.withUnsafeBufferPointer { keys.index(of: $0) } == expected)
        }
        #expect([UInt8]().withUnsafeBufferPointer { keys.index(of: $0) } == nil)
    }

    /// A member name near the end of the text (fewer than eight bytes after it) is read without
    /// reading past the text, and found.
    @Test func membersAreFoundWhereverTheyLieInTheText() throws {
        let keys = JSONKeys(["a", "ab", "target", "previous_stable_sha"])
        for text in [#"{"a":1}"#, #"{"x":0,"ab":2}"#, #"{"target":"t","a":3}"#, #"{"previous_stable_sha":"s"}"#, #"{"a":1,"a":4}"#] {
            let bytes = Array(text.utf8)
            let found: [JSONMembers.Scalar?] = try bytes.withUnsafeBufferPointer { buffer in
                try withUnsafeTemporaryAllocation(of: Int32.self, capacity: keys.count) { starts in
                    let members = try #require(try JSONMembers(buffer, keys: keys, starts: starts))
                    return (0..<keys.count).map { members.scalar($0) }
                }
            }
            let object = try JSONObject(parsing: text)
            for (i, name) in ["a", "ab", "target", "previous_stable_sha"].enumerated() {
                switch object[name] {
                case nil: #expect(found[i] == nil, "\(text) \(name)")
                case .integer(let v)?: #expect(found[i] == .integer(v), "\(text) \(name)")
                case .string?: #expect(found[i] == .string, "\(text) \(name)")
                default: Issue.record("unexpected value in \(text)")
                }
            }
        }
    }
}
