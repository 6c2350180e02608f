import Foundation
import Ledger
import Runner
import Testing

/// The `approval` key of a pipeline file: what it accepts, what it refuses and where, and the
/// gate the domain receives from it.
@Suite struct ApprovalPipelineTests {
    static let minimal = "environment: staging\nservices: [api]\ndeploy: { run: ./deploy.sh }\n"

    @Test func aGateIsReadAndReachesThePlan() throws {
        let pipeline = try Pipeline.parse(
            yaml: Self.minimal + "migrate: { run: ./migrate.sh }\napproval: { before: migrate, required: 2, approvers: [alice, ops-lead@example.com], timeout: 4h }\n",
            file: "shiplog.yml")
        let approval = try #require(pipeline.approval)
        #expect(approval.before == .migrate && approval.required == 2 && approval.approvers == ["alice", "ops-lead@example.com"])
        #expect(approval.timeout == .seconds(14_400))
        let plan = DeploymentRunner.makePlan(pipeline, environment: [:])
        #expect(plan.approval == ApprovalGate(before: .migrate, required: 2, approvers: ["alice", "ops-lead@example.com"], timeoutSeconds: 14_400))
        let open = try Pipeline.parse(yaml: Self.minimal + "approval: { before: deploy, timeout: 30m }\n", file: "shiplog.yml")
        #expect(open.approval?.required == 1 && open.approval?.approvers == [])
        #expect(try Pipeline.parse(yaml: Self.minimal, file: "shiplog.yml").approval == nil)
    }

    @Test(arguments: [
        ("approval: { before: build, timeout: 1h }", "approval.before", "migrate or deploy"),
        ("approval: { before: deploy }", "approval", "missing required key \"timeout\""),
        ("approval: { before: deploy, timeout: 0s }", "approval.timeout", "greater than zero"),
        ("approval: { before: deploy, required: 3, approvers: [alice, bob], timeout: 1h }", "approval.required", "names only 2"),
        ("approval: { before: deploy, approvers: [alice, alice], timeout: 1h }", "approval.approvers[1]", "duplicate approver"),
        ("approval: { before: deploy, approvers: [\"alice smith\"], timeout: 1h }", "approval.approvers[0]", "approver name"),
        ("approval: { before: deploy, timeout: 1h, quorum: 2 }", "approval.quorum", "unknown key"),
    ])
    func aGateThatCannotWorkIsRefusedWhereItIsWritten(line: String, path: String, words: String) throws {
        let error = try #require(throws: PipelineError.self) { try Pipeline.parse(yaml: Self.minimal + line + "\n", file: "shiplog.yml") }
        #expect(error.line == 4, "\(error)")
        #expect(error.path == path, "\(error)")
        #expect(error.message.contains(words), "\(error)")
    }
}
