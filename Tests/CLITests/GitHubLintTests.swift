import Foundation
import ShiplogTestSupport
import Testing

/// The linters GitHub users run on workflows and actions, found where `tools/test` installs
/// them (a virtual environment of PyPI packages, `tools/github/lint-requirements.txt`).
///
/// `tools/test` sets `SHIPLOG_GITHUB_LINTERS` to their directory: then each linter must be
/// there, and one that is missing fails its test. A plain `swift test` also finds a virtual
/// environment an earlier `tools/test` left in `.build/github-linters`, or the linters on PATH;
/// when there are none, the tests are skipped and say why.
enum GitHubLinters {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let required = ProcessInfo.processInfo.environment["SHIPLOG_GITHUB_LINTERS"].flatMap { $0.isEmpty ? nil : $0 }
    static let names = ["actionlint", "zizmor", "check-jsonschema"]

    /// The linter `name`: in the required directory only, when there is one.
    static func path(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories =
            required.map { [$0] }
            ?? [packageRoot.appendingPathComponent(".build/github-linters/bin").path] + path.split(separator: ":").map(String.init)
        return directories.map { $0 + "/" + name }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// shellcheck, which actionlint runs on every `run:` script when it is on PATH.
    static var shellcheck: String? {
        (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { $0 + "/shellcheck" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static let available = required != nil || names.allSatisfy { path($0) != nil }
    static let skipped: Comment = "the GitHub linters are not installed (tools/test installs actionlint, zizmor and check-jsonschema from PyPI)"

    /// Runs linter `name` with `arguments` in `directory`; a missing linter is a failure.
    static func run(_ name: String, _ arguments: [String], in directory: URL, sourceLocation: SourceLocation = #_sourceLocation) -> ProcessOutput? {
        guard let linter = path(name) else {
            Issue.record("\(name) is not installed in \(required ?? "PATH"): run tools/test, which installs it", sourceLocation: sourceLocation)
            return nil
        }
        return runProcess(URL(fileURLWithPath: linter), arguments, in: directory)
    }

    static var workflow: String { packageRoot.appendingPathComponent("tools/github/deploy-staging.yml").path }
    static var action: String { packageRoot.appendingPathComponent("tools/github/action.yml").path }

    /// A git work tree holding `workflow` in `.github/workflows/` (the only place actionlint looks)
    /// and `action` where the workflow checks Shiplog out, so actionlint checks the inputs too.
    static func workTree(workflow: String, action: String) throws -> TemporaryDirectory {
        let tree = try TemporaryDirectory(prefix: "shiplog-actionlint")
        let git = runProcess(URL(fileURLWithPath: "/usr/bin/env"), ["git", "init", "-q", tree.path])
        #expect(git.status == 0, "git init: \(git.stderr)")
        for (text, path) in [(workflow, ".github/workflows/deploy-staging.yml"), (action, ".shiplog/tools/github/action.yml")] {
            let url = tree.url.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        return tree
    }
}

@Suite(.enabled(if: GitHubLinters.available, GitHubLinters.skipped))
struct GitHubLintTests {
    let workflow: String
    let action: String

    init() throws {
        workflow = try String(contentsOfFile: GitHubLinters.workflow, encoding: .utf8)
        action = try String(contentsOfFile: GitHubLinters.action, encoding: .utf8)
    }

    func actionlint(workflow: String, action: String) throws -> ProcessOutput? {
        if GitHubLinters.required != nil {
            #expect(GitHubLinters.shellcheck != nil, "shellcheck is not on PATH: actionlint would not check the run: scripts; run tools/test")
        }
        let tree = try GitHubLinters.workTree(workflow: workflow, action: action)
        return GitHubLinters.run("actionlint", ["-no-color"], in: tree.url)
    }

    @Test func actionlintReportsNothing() throws {
        guard let out = try actionlint(workflow: workflow, action: action) else { return }
        #expect(out.status == 0 && out.stdout.isEmpty, "\(out.stdout)\(out.stderr)")
    }

    @Test func actionlintFindsAJobThatNeedsNothing() throws {
        let broken = workflow.replacingOccurrences(of: "needs: pre-deployment-checks\n", with: "needs: pre-deployment-check\n")
        #expect(broken != workflow)
        guard let out = try actionlint(workflow: broken, action: action) else { return }
        #expect(out.status != 0 && out.stdout.contains("pre-deployment-check"), "\(out.stdout)\(out.stderr)")
    }

    func zizmor(_ files: [String]) -> ProcessOutput? {
        GitHubLinters.run("zizmor", ["--offline", "--no-progress", "--format", "plain"] + files, in: GitHubLinters.packageRoot)
    }

    @Test func zizmorReportsNothing() throws {
        guard let out = zizmor([GitHubLinters.workflow, GitHubLinters.action]) else { return }
        #expect(out.status == 0 && out.stdout.contains("No findings to report"), "\(out.stdout)\(out.stderr)")
    }

    @Test func zizmorFindsATemplateInjection() throws {
        let dir = try TemporaryDirectory(prefix: "shiplog-zizmor")
        let broken = dir.file("action.yml")
        try action.replacingOccurrences(of: #"run: '"$GITHUB_ACTION_PATH/prepare.sh"'"#, with: #"run: echo "${{ inputs.reason }}""#)
            .write(toFile: broken, atomically: true, encoding: .utf8)
        guard let out = zizmor([broken]) else { return }
        #expect(out.status != 0 && out.stdout.contains("template-injection"), "\(out.stdout)\(out.stderr)")
    }

    func schema(_ kind: String, _ file: String) -> ProcessOutput? {
        GitHubLinters.run("check-jsonschema", ["--builtin-schema", kind, file], in: GitHubLinters.packageRoot)
    }

    @Test func theActionAndTheWorkflowMatchTheirSchemas() throws {
        if let out = schema("vendor.github-actions", GitHubLinters.action) {
            #expect(out.status == 0, "\(out.stdout)\(out.stderr)")
        }
        if let out = schema("vendor.github-workflows", GitHubLinters.workflow) {
            #expect(out.status == 0, "\(out.stdout)\(out.stderr)")
        }
    }

    @Test func theSchemaRefusesAnActionThatRunsNothing() throws {
        let dir = try TemporaryDirectory(prefix: "shiplog-schema")
        let broken = dir.file("action.yml")
        try action.replacingOccurrences(of: "using: composite", with: "using: compost").write(toFile: broken, atomically: true, encoding: .utf8)
        guard let out = schema("vendor.github-actions", broken) else { return }
        #expect(out.status != 0, "\(out.stdout)\(out.stderr)")
    }

    @Test(.enabled(if: GitHubLinters.shellcheck != nil || GitHubLinters.required != nil, "shellcheck is not on PATH"))
    func theActionScriptsPassShellcheck() throws {
        guard let shellcheck = GitHubLinters.shellcheck else {
            Issue.record("shellcheck is not on PATH: run tools/test, which installs it")
            return
        }
        let scripts = ["prepare.sh", "run.sh"].map { GitHubLinters.packageRoot.appendingPathComponent("tools/github/\($0)").path }
        let out = runProcess(URL(fileURLWithPath: shellcheck), scripts)
        #expect(out.status == 0, "\(out.stdout)\(out.stderr)")
    }
}
