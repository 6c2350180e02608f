import Foundation
import ShiplogTestSupport
import Testing
@testable import Runner

/// Endpoints that misbehave on purpose: huge response headers, webhooks that never answer.
@Suite("HTTP against hostile endpoints")
final class HTTPHardeningTests {
    let server: HTTPTestServer

    init() throws {
        server = try HTTPTestServer()
    }

    deinit {
        server.stop()
    }

    private func probe(_ path: String) -> HealthProbeResult {
        HealthProbe.probeAll([HealthProbeRequest(service: "api_gateway", url: server.url(path), timeout: 10)])[0]
    }

    /// One header line larger than curl accepts (100 KiB): curl says "out of memory", which
    /// would send someone looking at the runner's memory instead of at the endpoint.
    @Test func aHeaderLineTooLargeForCurlIsReportedAsATooLargeHeader() {
        let result = probe("/big-header/200000")
        #expect(!result.healthy)
        #expect(result.error == "response header too large (over 64 KiB)", "error was \(result.error ?? "nil")")
    }

    /// Many ordinary header lines adding up past the limit: the sink ends the transfer.
    @Test func aHeaderBlockOverTheLimitIsReportedAsATooLargeHeader() {
        let result = probe("/many-headers/100")
        #expect(!result.healthy)
        #expect(result.error == "response header too large (over 64 KiB)", "error was \(result.error ?? "nil")")
    }

    @Test func headersWithinTheLimitAreFine() {
        let result = probe("/big-header/30000")
        #expect(result.healthy, "error was \(result.error ?? "nil")")
        #expect(result.httpStatus == 200)
    }

    @Test func aWebhookWithAHugeHeaderIsReportedAsATooLargeHeader() {
        let outcome = Webhook.postJSON(url: server.url("/big-header/200000"), body: "{}", timeout: 5, retries: 0, retryDelay: 0)
        #expect(!outcome.delivered)
        #expect(outcome.error == "response header too large (over 64 KiB)", "error was \(outcome.error ?? "nil")")
    }

    /// A webhook that accepts the connection and never answers: each attempt would wait 10 s,
    /// but the whole delivery is bounded by its total timeout, and the failure says so.
    @Test func aWebhookThatNeverAnswersIsBoundedByTheTotalTimeout() throws {
        let silent = try SilentServer()
        defer { silent.stop() }
        let clock = ContinuousClock()
        let started = clock.now
        let outcome = Webhook.postJSON(
            url: silent.url + "/services/T1/B2/secret-token", body: "{}", timeout: 10, retries: 3,
            retryDelay: 2, totalTimeout: 1)
        let elapsed = clock.now - started
        #expect(!outcome.delivered)
        #expect(outcome.attempts == 1)
        #expect(outcome.httpStatus == nil)
        #expect(outcome.error?.hasPrefix("timed out after") == true, "error was \(outcome.error ?? "nil")")
        #expect(outcome.error?.contains("secret-token") == false)
        // Well under one attempt's own 10 s bound: the total timeout cut it.
        #expect(elapsed < .seconds(8), "took \(elapsed)")
    }
}

/// How long the runner waits for the team's webhook is a setting of the pipeline file.
@Suite struct NotifyTimeoutSettingTests {
    private let minimal = "environment: staging\nservices: [api]\ndeploy: { run: ./deploy.sh }\n"

    @Test func notifyTimeoutIsReadAndDefaultsToThirtySeconds() throws {
        let set = try Pipeline.parse(yaml: minimal + "notify: { slack_webhook_env: HOOK, timeout: 5s }\n", file: "shiplog.yml")
        #expect(set.notify == NotifyConfig(slackWebhookEnv: "HOOK", timeout: .seconds(5)))
        let unset = try Pipeline.parse(yaml: minimal + "notify: { slack_webhook_env: HOOK }\n", file: "shiplog.yml")
        #expect(unset.notify?.timeout == .seconds(30))
    }

    @Test func aZeroNotifyTimeoutIsRefused() {
        #expect(throws: PipelineError.self) {
            try Pipeline.parse(yaml: minimal + "notify: { slack_webhook_env: HOOK, timeout: 0s }\n", file: "shiplog.yml")
        }
    }
}
