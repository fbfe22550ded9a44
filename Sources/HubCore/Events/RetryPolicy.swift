/// How a failed delivery is retried (§10 `retry_policy`): after `maxRetries`
/// further attempts the event goes to the subscription's dead-letter list.
public struct RetryPolicy: Sendable, Equatable {
    public enum Backoff: String, Sendable, CaseIterable, Codable {
        /// `initialDelay × 2^(n−1)` before retry n.
        case exponential
        /// `initialDelay × n` before retry n.
        case linear
        /// `initialDelay` before every retry.
        case fixed
    }

    /// Retries after the first attempt; 0 dead-letters on the first failure.
    public var maxRetries: Int
    public var backoff: Backoff
    public var initialDelay: HubDuration

    /// The longest single wait, so a large retry count cannot overflow or stall a subscription for days.
    public static let maximumDelay = HubDuration.hours(1)

    public static let standard = RetryPolicy(maxRetries: 3, backoff: .exponential, initialDelay: .seconds(1))

    public init(maxRetries: Int, backoff: Backoff, initialDelay: HubDuration) {
        self.maxRetries = max(0, maxRetries)
        self.backoff = backoff
        self.initialDelay = initialDelay
    }

    /// The wait before retry `retry` (1 for the first retry), capped at ``maximumDelay``.
    public func delay(beforeRetry retry: Int) -> HubDuration {
        let n = Int64(max(1, retry))
        let base = initialDelay.milliseconds
        let cap = Self.maximumDelay.milliseconds
        let millis: Int64
        switch backoff {
        case .fixed: millis = base
        case .linear:
            let (product, overflow) = base.multipliedReportingOverflow(by: n)
            millis = overflow ? cap : product
        case .exponential:
            // 2^(n−1), stopping once it passes the cap (or at once for a zero delay, which never grows).
            var value = base
            var step: Int64 = 1
            while step < n && value < cap && value > 0 {
                value = value.multipliedReportingOverflow(by: 2).overflow ? cap : value * 2
                step += 1
            }
            millis = value
        }
        return HubDuration(milliseconds: min(millis, cap))
    }

    /// Whether an event that has failed `attempts` times (first attempt included) may be tried again.
    public func allowsAnotherAttempt(after attempts: Int) -> Bool { attempts <= maxRetries }
}
