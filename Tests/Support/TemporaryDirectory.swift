import Foundation

/// A new, empty directory under the system temporary directory (`$TMPDIR`, else `/tmp`),
/// removed with everything in it when the value is released.
///
/// Keep the value alive (use it, or `withExtendedLifetime`) for as long as the files are used.
public final class TemporaryDirectory: Sendable {
    public let url: URL

    /// The directory's path.
    public var path: String { url.path }

    /// Creates `<tmp>/<prefix>-XXXXXX` with mode 0700.
    public init(prefix: String = "shiplog-test") throws {
        let base = NSTemporaryDirectory()
        var template = Array((URL(fileURLWithPath: base).appendingPathComponent("\(prefix)-XXXXXX").path).utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard created != nil else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "mkdtemp in \(base): \(String(cString: strerror(errno)))"])
        }
        let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        url = URL(fileURLWithPath: path, isDirectory: true)
    }

    /// The path of `name` inside the directory (nothing is created).
    public func file(_ name: String) -> String {
        url.appendingPathComponent(name).path
    }

    deinit {
        // A test may have left read-only directories behind; make them removable first.
        if let walker = FileManager.default.enumerator(atPath: url.path) {
            for case let relative as String in walker {
                let path = url.appendingPathComponent(relative).path
                var info = stat()
                if lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR { chmod(path, 0o700) }
            }
        }
        chmod(url.path, 0o700)
        try? FileManager.default.removeItem(at: url)
    }
}
