import Foundation
import Testing
@testable import Runner

/// Health probes against the real test server: statuses, failures, timeouts, concurrency, redirects.
@Suite("HTTP health probes")
final class HTTPHealthProbeTests {
    let server: HTTPTestServer

    init() throws {
        server = try HTTPTestServer()
    }

    deinit {
        server.stop()
    }

    private func probe(
        _ path: String, expecting status: Int = 200, timeout: Double = 5,
        service: String = "api_gateway"
    ) -> HealthProbeResult {
        let results = HealthProbe.probeAll([
            HealthProbeRequest(service: service, url: server.url(path), expectedStatus: status, timeout: timeout)
        ])
        #expect(results.count == 1)
        return results[0]
    }

    @Test func healthyEndpointAnswering200IsHealthy() {
        let result = probe("/health")
        #expect(result.healthy)
        #expect(result.httpStatus == 200)
        #expect(result.error == nil)
        #expect(result.service == "api_gateway")
        #expect(result.url == server.url("/health"))
        #expect(result.latencyMs >= 0 && result.latencyMs < 5000)
    }

    @Test func unexpectedStatusIsUnhealthyAndRecorded() {
        let result = probe("/status/503")
        #expect(!result.healthy)
        #expect(result.httpStatus == 503)
        #expect(result.error?.contains("503") == true)
    }

    @Test func expectedStatusOtherThan200CountsAsHealthy() {
        let matching = probe("/status/204", expecting: 204)
        #expect(matching.healthy)
        #expect(matching.httpStatus == 204)

        // 200 is a success for HTTP, but not the status this check asked for.
        let other = probe("/health", expecting: 204)
        #expect(!other.healthy)
        #expect(other.httpStatus == 200)
    }

    @Test func refusedConnectionIsUnhealthyWithErrorText() throws {
        let closed = try RefusingPort()
        let results = HealthProbe.probeAll([
            HealthProbeRequest(service: "auth_service", url: "http://127.0.0.1:\(closed.port)/health", timeout: 5)
        ])
        let result = try #require(results.first)
        #expect(!result.healthy)
        #expect(result.httpStatus == nil)
        #expect(result.error == "connection refused")
        #expect(result.latencyMs < 2000)
    }

    @Test func slowEndpointTimesOutNearItsTimeout() {
        let result = probe("/slow/3000", timeout: 0.5)
        #expect(!result.healthy)
        #expect(result.error?.contains("timed out after") == true, "error was \(result.error ?? "nil")")
        #expect(result.latencyMs >= 450 && result.latencyMs < 2000, "latency was \(result.latencyMs) ms")
    }

    @Test func probesRunConcurrentlyNotOneAfterAnother() {
        let requests = (1...4).map {
            HealthProbeRequest(service: "service-\($0)", url: server.url("/slow/2000"), timeout: 15)
        }
        let clock = ContinuousClock()
        let started = clock.now
        let results = HealthProbe.probeAll(requests)
        let elapsed = clock.now - started

        #expect(results.count == 4)
        #expect(results.map(\.healthy) == [true, true, true, true], "\(results)")
        // Each answer takes 2 s: sequential probing would need 8 s.
        #expect(elapsed >= .milliseconds(1900), "elapsed \(elapsed)")
        #expect(elapsed < .seconds(6), "elapsed \(elapsed)")
    }

    @Test func resultsComeBackInRequestOrder() throws {
        let closed = try RefusingPort()
        // The slowest first and the quickest last, so completion order is the reverse of request order.
        let requests = [
            HealthProbeRequest(service: "slow", url: server.url("/slow/800"), timeout: 5),
            HealthProbeRequest(service: "failing", url: server.url("/status/500"), timeout: 5),
            HealthProbeRequest(service: "healthy", url: server.url("/health"), timeout: 5),
            HealthProbeRequest(service: "closed", url: "http://127.0.0.1:\(closed.port)/", timeout: 5),
        ]
        let results = HealthProbe.probeAll(requests)
        #expect(results.map(\.service) == ["slow", "failing", "healthy", "closed"])
        #expect(results.map(\.url) == requests.map(\.url))
        #expect(results.map(\.httpStatus) == [200, 500, 200, nil])
        #expect(results.map(\.healthy) == [true, false, true, false])
    }

    @Test func noRequestsGiveNoResults() {
        #expect(HealthProbe.probeAll([]).isEmpty)
    }

    @Test func redirectsOverHTTPAreFollowed() {
        let chain = probe("/redirect/3")
        #expect(chain.healthy)
        #expect(chain.httpStatus == 200)

        let absolute = probe("/redirect-to?url=" + server.url("/status/418"), expecting: 418)
        #expect(absolute.healthy)
        #expect(absolute.httpStatus == 418)
    }

    @Test func moreThanFiveRedirectsFail() {
        #expect(probe("/redirect/5").healthy)

        let result = probe("/redirect/6")
        #expect(!result.healthy)
        #expect(result.error == "too many redirects")
    }

    @Test func redirectToFTPIsRefused() {
        // Without the protocol restriction curl would speak FTP to this HTTP server and hang
        // until the timeout; refused, it fails at once with a protocol error.
        let result = probe("/redirect-to?url=ftp://127.0.0.1:\(server.port)/health", timeout: 3)
        #expect(!result.healthy)
        #expect(result.error?.hasPrefix("protocol not allowed") == true, "error was \(result.error ?? "nil")")
        #expect(result.latencyMs < 2500)
    }

    @Test func redirectToFileIsRefused() {
        let result = probe("/redirect-to?url=file:///etc/hostname", timeout: 3)
        #expect(!result.healthy)
        #expect(result.error?.hasPrefix("protocol not allowed") == true, "error was \(result.error ?? "nil")")
    }

    @Test func nonHTTPSchemesAreRefusedWithoutARequest() {
        let results = HealthProbe.probeAll([
            HealthProbeRequest(service: "file", url: "file:///etc/hostname", timeout: 3),
            HealthProbeRequest(service: "ftp", url: "ftp://127.0.0.1:\(server.port)/", timeout: 3),
        ])
        #expect(results.count == 2)
        for result in results {
            #expect(!result.healthy)
            #expect(result.httpStatus == nil)
            #expect(result.error?.hasPrefix("protocol not allowed") == true, "error was \(result.error ?? "nil")")
        }
    }

    @Test func missingCAFileFailsHTTPSProbe() {
        let results = HealthProbe.probeAll([
            HealthProbeRequest(
                service: "tls", url: "https://127.0.0.1:\(server.port)/health", timeout: 3,
                caFile: "/nonexistent/shiplog-ca.pem")
        ])
        let result = results[0]
        #expect(!result.healthy)
        #expect(result.httpStatus == nil)
        #expect(result.error?.lowercased().contains("ca") == true, "error was \(result.error ?? "nil")")
    }

    @Test func stateFileSwitchesStagingEndpoints() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shiplog-state-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let stateFile = directory.appendingPathComponent("state").path
        try "ok\n".write(toFile: stateFile, atomically: true, encoding: .utf8)
        let staging = try HTTPTestServer(stateFile: stateFile)
        defer { staging.stop() }
        let requests = ["/api/health", "/auth/health"].map {
            HealthProbeRequest(service: $0, url: staging.url($0), timeout: 5)
        }

        #expect(HealthProbe.probeAll(requests).map(\.httpStatus) == [200, 200])
        try "broken\n".write(toFile: stateFile, atomically: true, encoding: .utf8)
        #expect(HealthProbe.probeAll(requests).map(\.httpStatus) == [503, 503])
    }
}

/// Webhook deliveries against the real test server: bodies, retries, and keeping the URL secret.
@Suite("HTTP webhooks")
final class HTTPWebhookTests {
    let server: HTTPTestServer

    init() throws {
        server = try HTTPTestServer()
    }

    deinit {
        server.stop()
    }

    /// The bodies the server has recorded from POST /hook, read with the layer's own easy handle.
    private func receivedBodies() throws -> [String] {
        let transfer = try CurlEasy(bodyLimit: 1 << 20)
        try transfer.setURL(server.url("/hook/received"))
        try transfer.setTimeout(seconds: 5)
        try transfer.perform()
        #expect(try transfer.responseCode() == 200)
        return try JSONDecoder().decode([String].self, from: Data(transfer.sink.bytes))
    }

    @Test func deliversJSONBodyToTheServer() throws {
        let body = #"{"text":"deployed","marker":"\#(UUID().uuidString)"}"#
        let outcome = Webhook.postJSON(url: server.url("/hook"), body: body, timeout: 5, retries: 2, retryDelay: 0.05)
        #expect(outcome == WebhookOutcome(delivered: true, attempts: 1, httpStatus: 200, error: nil))
        // The server answers 415 unless the Content-Type is application/json.
        #expect(try receivedBodies() == [body])
    }

    @Test func retriesAfterServerErrorsUntilDelivered() throws {
        let body = #"{"marker":"\#(UUID().uuidString)"}"#
        let outcome = Webhook.postJSON(
            url: server.url("/hook/fail/2/\(UUID().uuidString)"), body: body,
            timeout: 5, retries: 3, retryDelay: 0.05)
        #expect(outcome == WebhookOutcome(delivered: true, attempts: 3, httpStatus: 200, error: nil))
        #expect(try receivedBodies() == [body])
    }

    @Test func givesUpAfterItsRetriesOnServerErrors() {
        let outcome = Webhook.postJSON(
            url: server.url("/hook/fail/10/\(UUID().uuidString)"), body: "{}",
            timeout: 5, retries: 2, retryDelay: 0.01)
        #expect(outcome == WebhookOutcome(delivered: false, attempts: 3, httpStatus: 500, error: "HTTP 500"))
    }

    @Test func waitsRetryDelayBetweenAttempts() {
        let clock = ContinuousClock()
        let started = clock.now
        let outcome = Webhook.postJSON(
            url: server.url("/hook/fail/10/\(UUID().uuidString)"), body: "{}",
            timeout: 5, retries: 2, retryDelay: 0.3)
        let elapsed = clock.now - started
        #expect(outcome.attempts == 3)
        #expect(elapsed >= .milliseconds(600), "elapsed \(elapsed)")
    }

    @Test func clientErrorsAreNotRetried() {
        let outcome = Webhook.postJSON(
            url: server.url("/status/404"), body: "{}", timeout: 5, retries: 3,
            retryDelay: 0.01)
        #expect(outcome == WebhookOutcome(delivered: false, attempts: 1, httpStatus: 404, error: "HTTP 404"))
    }

    @Test func redirectsAreNotFollowed() throws {
        let outcome = Webhook.postJSON(
            url: server.url("/redirect-to?url=/hook"), body: #"{"x":1}"#, timeout: 5,
            retries: 3, retryDelay: 0.01)
        #expect(outcome == WebhookOutcome(delivered: false, attempts: 1, httpStatus: 302, error: "HTTP 302"))
        #expect(try receivedBodies().isEmpty)
    }

    @Test func schemeOtherThanHTTPFailsAtOnceWithoutRetries() throws {
        let url = "ftp://127.0.0.1:\(server.port)/hooks/secretPathToken"
        let outcome = Webhook.postJSON(url: url, body: "{}", timeout: 3, retries: 3, retryDelay: 0.5)
        #expect(
            outcome
                == WebhookOutcome(
                    delivered: false, attempts: 1, httpStatus: nil,
                    error: "protocol not allowed: ftp"))
    }

    @Test func closedPortFailsAfterRetriesWithoutRevealingTheURL() throws {
        let closed = try RefusingPort()
        let path = "/services/T0SHIPLOG/B0SHIPLOG/xoxbSecretToken42"
        let url = "http://127.0.0.1:\(closed.port)\(path)"
        let outcome = Webhook.postJSON(url: url, body: "{}", timeout: 2, retries: 2, retryDelay: 0.01)

        #expect(!outcome.delivered)
        #expect(outcome.attempts == 3)
        #expect(outcome.httpStatus == nil)
        let error = try #require(outcome.error)
        #expect(error == "connection refused")
        #expect(!error.contains(url))
        #expect(!error.contains(path))
        #expect(!error.contains("xoxbSecretToken42"))
        #expect(!error.contains("127.0.0.1"))
    }

    @Test func unresolvableHostIsNotRevealed() throws {
        let host = "shiplog-secret-hook-3f9a.invalid"
        let outcome = Webhook.postJSON(
            url: "http://\(host)/services/T1/B2/tokenTOKEN", body: "{}", timeout: 3,
            retries: 0, retryDelay: 0)
        #expect(!outcome.delivered)
        #expect(outcome.attempts == 1)
        let error = try #require(outcome.error)
        #expect(!error.isEmpty)
        #expect(!error.lowercased().contains(host))
        #expect(!error.contains("tokenTOKEN"))
    }
}

/// The scrubbing that keeps webhook URLs out of error text.
@Suite("HTTP URL redaction")
struct HTTPURLRedactionTests {
    @Test func removesURLHostPathAndCredentials() {
        let url = "https://user:hunter22@Hooks.Example.com:8443/services/T01/B02/abcdefTOKEN?sig=zzz999"
        let redactor = URLRedactor(url: url)
        let messages = [
            "Could not resolve host: hooks.example.com",
            "Failed to connect to Hooks.Example.com port 8443 after 3 ms: Connection refused",
            "URL rejected: \(url)",
            "bad path /services/T01/B02/abcdefTOKEN",
            "token abcdefTOKEN leaked",
            "login hunter22 refused",
            "query sig=zzz999",
        ]
        for message in messages {
            let redacted = redactor.redact(message)
            #expect(redacted.contains(URLRedactor.placeholder), "\(redacted)")
            for secret in ["hooks.example.com", "abcdefTOKEN", "hunter22", "zzz999", "/services/T01"] {
                #expect(!redacted.lowercased().contains(secret.lowercased()), "\(redacted)")
            }
        }
    }

    @Test func leavesUnrelatedTextAlone() {
        let redactor = URLRedactor(url: "http://10.1.2.3/hook")
        #expect(redactor.redact("Connection refused") == "Connection refused")
        #expect(redactor.redact("timed out after 500 ms") == "timed out after 500 ms")
    }
}
