#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A NULL-terminated array of C strings (argv, envp), built before fork so the child allocates
/// nothing. Freed with the value.
final class CStringArray {
    private let storage: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    private let count: Int

    init(_ strings: [String]) {
        count = strings.count
        storage = .allocate(capacity: strings.count + 1)
        for (index, string) in strings.enumerated() {
            storage[index] = strdup(string)
        }
        storage[strings.count] = nil
    }

    deinit {
        for index in 0..<count { free(storage[index]) }
        storage.deallocate()
    }

    /// Valid as long as this object lives.
    var pointer: UnsafePointer<UnsafeMutablePointer<CChar>?> {
        UnsafePointer(storage)
    }
}
