import Foundation
import Testing

/// `--help` discussions are paragraphs the argument parser wraps to the terminal's width: no
/// hard line break inside a paragraph (a source line of one ends with `\`), a blank line between
/// paragraphs; indented examples, list items and interpolated tables keep their lines.
@Suite struct HelpTextTests {
    @Test func discussionsAreParagraphsTheParserWraps() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/shiplog")
        let files = FileManager.default.enumerator(atPath: sources.path)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") } ?? []
        #expect(!files.isEmpty)
        var discussions = 0
        for file in files {
            let text = try String(contentsOfFile: sources.appendingPathComponent(file).path, encoding: .utf8)
            for block in text.components(separatedBy: "discussion: \"\"\"\n").dropFirst() {
                guard let end = block.range(of: "\"\"\"") else { continue }
                discussions += 1
                let lines = block[..<end.lowerBound].components(separatedBy: "\n").dropLast()
                let base = lines.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.map { $0.prefix { $0 == " " }.count }.min() ?? 0
                func prose(_ line: String) -> Bool {
                    let body = line.dropFirst(base)
                    return !line.trimmingCharacters(in: .whitespaces).isEmpty && line.prefix { $0 == " " }.count == base
                        && !body.hasPrefix("- ") && !body.hasPrefix("\\(")
                }
                for (line, next) in zip(lines, lines.dropFirst()) where prose(line) && prose(next) {
                    #expect(line.hasSuffix("\\"), "\(file): a hard line break inside a paragraph after: \(line.trimmingCharacters(in: .whitespaces))")
                }
            }
        }
        #expect(discussions > 10)
    }
}
