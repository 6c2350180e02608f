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
    /// A webhook that accepts the connection and never answers costs each attempt its
    /// `timeout`; `totalTimeout` bounds the whole delivery: no attempt outlasts it, and no
    /// retry starts once it is spent.
    ///
    /// - Parameters:
    ///   - timeout: seconds each attempt may take, connect included.
    ///   - retries: extra attempts after the first; negative counts as 0.
    ///   - retryDelay: seconds between attempts; negative counts as 0.
    ///   - totalTimeout: seconds the whole delivery may take, attempts and pauses included;
    ///     nil for no bound beyond `(1 + retries) × timeout + retries × retryDelay`.
    ///   - caFile: a PEM file of CA certificates to trust instead of the system store.
    public static func postJSON(
        url: String, body: String, timeout: Double, retries: Int,
        retryDelay: Double, totalTimeout: Double? = nil, caFile: String? = nil
    ) -> WebhookOutcome {
        let redactor = URLRedactor(url: url)
        let clock = ContinuousClock()
        let deadline = totalTimeout.map { clock.now.advanced(by: .milliseconds(CurlEasy.milliseconds(fromSeconds: $0))) }
        var timeoutMs = CurlEasy.milliseconds(fromSeconds: timeout)
        let transfer: CurlEasy
        do {
            transfer = try makeTransfer(url: url, body: body, timeout: timeout, caFile: caFile)
        } catch {
            return WebhookOutcome(
                delivered: false, attempts: 0, httpStatus: nil,
                error: redactor.redact(error.summary(timeoutMs: timeoutMs)))
        }

        let maximumAttempts = 1 + max(0, retries)
        var attempts = 0
        var status: Int?
        var problem: String?
        while attempts < maximumAttempts {
            if attempts > 0, retryDelay > 0 {
                if let deadline, clock.now.advanced(by: .milliseconds(Int(retryDelay * 1000))) >= deadline { break }
                Thread.sleep(forTimeInterval: retryDelay)
            }
            if let deadline {
                // This attempt gets what is left of the whole delivery's time, at most `timeout`.
                let left = clock.now.duration(to: deadline)
                if left <= .zero { break }
                let leftMs = Int(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000)
                timeoutMs = min(CurlEasy.milliseconds(fromSeconds: timeout), max(leftMs, 1))
                do {
                    try transfer.setTimeout(seconds: Double(timeoutMs) / 1000)
                } catch {
                    problem = redactor.redact(error.summary(timeoutMs: timeoutMs))
                    break
                }
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

    private static func makeTransfer(
        url: String, body: String, timeout: Double,
        caFile: String?
    ) throws(CurlError) -> CurlEasy {
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
