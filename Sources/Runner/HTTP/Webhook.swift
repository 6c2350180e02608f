import Foundation

/// Deliveries of JSON to webhooks (Slack and the like), with retries and without leaking the URL.
public enum Webhook {
    /// POSTs `body` as `application/json` to `url`, retrying transport failures and 5xx answers.
    ///
    /// Sends at most `1 + retries` requests, waiting `retryDelay` seconds between them. A 2xx
    /// answer is delivered; any other non-5xx answer (a 4xx, or a 3xx: redirects are not
    /// followed, so the body and the secret path never travel to another place) ends the
    /// delivery at once, since repeating it would get the same answer, and so does a
    /// transport failure no retry can cure (a malformed URL, a scheme other than http(s)). The URL is treated as a
    /// secret: the outcome's error text never contains it, its host, or its path.
    ///
    ///     let outcome = Webhook.postJSON(url: slackURL, body: #"{"text":"deployed"}"#,
    ///                                    timeout: 10, retries: 3, retryDelay: 2)
    ///
    /// - Parameters:
    ///   - timeout: seconds each attempt may take, connect included.
    ///   - retries: extra attempts after the first; negative counts as 0.
    ///   - retryDelay: seconds between attempts; negative counts as 0.
    ///   - caFile: a PEM file of CA certificates to trust instead of the system store.
    public static func postJSON(url: String, body: String, timeout: Double, retries: Int,
                                retryDelay: Double, caFile: String? = nil) -> WebhookOutcome {
        let redactor = URLRedactor(url: url)
        let timeoutMs = CurlEasy.milliseconds(fromSeconds: timeout)
        let transfer: CurlEasy
        do {
            transfer = try makeTransfer(url: url, body: body, timeout: timeout, caFile: caFile)
        } catch {
            return WebhookOutcome(delivered: false, attempts: 0, httpStatus: nil,
                                  error: redactor.redact(error.summary(timeoutMs: timeoutMs)))
        }

        let maximumAttempts = 1 + max(0, retries)
        var attempts = 0
        var status: Int?
        var problem: String?
        while attempts < maximumAttempts {
            if attempts > 0, retryDelay > 0 {
                Thread.sleep(forTimeInterval: retryDelay)
            }
            attempts += 1
            do {
                try transfer.perform()
                status = (try? transfer.responseCode()) ?? nil
                guard let answered = status else {
                    problem = "no HTTP status received"
                    continue
                }
                if (200..<300).contains(answered) {
                    return WebhookOutcome(delivered: true, attempts: attempts, httpStatus: answered, error: nil)
                }
                problem = "HTTP \(answered)"
                if answered < 500 { break }
            } catch {
                status = (try? transfer.responseCode()) ?? nil
                problem = redactor.redact(error.summary(timeoutMs: timeoutMs))
                if error.isPermanent { break }
            }
        }
        return WebhookOutcome(delivered: false, attempts: attempts, httpStatus: status, error: problem)
    }

    private static func makeTransfer(url: String, body: String, timeout: Double,
                                     caFile: String?) throws(CurlError) -> CurlEasy {
        // A small body cap: only a failure's first words are ever of interest.
        let transfer = try CurlEasy(bodyLimit: 4096)
        try transfer.setURL(url)
        try transfer.setTimeout(seconds: timeout)
        try transfer.setCAFile(caFile)
        try transfer.setFollowRedirects(false)
        // "Expect:" drops the 100-continue round trip curl adds for larger bodies.
        try transfer.setHeaders(["Content-Type: application/json", "Accept: */*", "Expect:"])
        try transfer.setPostBody(Array(body.utf8))
        return transfer
    }
}
