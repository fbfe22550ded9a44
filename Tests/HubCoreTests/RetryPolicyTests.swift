import HubCore
import Testing

@Suite struct RetryPolicyTests {
    func delays(_ policy: RetryPolicy, _ retries: ClosedRange<Int>) -> [HubDuration] {
        retries.map { policy.delay(beforeRetry: $0) }
    }

    @Test func exponentialDoublesFromTheInitialDelay() {
        let policy = RetryPolicy(maxRetries: 5, backoff: .exponential, initialDelay: .seconds(1))
        #expect(delays(policy, 1...5) == [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16)])
    }

    @Test func linearGrowsByTheInitialDelay() {
        let policy = RetryPolicy(maxRetries: 4, backoff: .linear, initialDelay: HubDuration(milliseconds: 250))
        #expect(delays(policy, 1...4).map(\.milliseconds) == [250, 500, 750, 1000])
    }

    @Test func fixedWaitsTheSameEveryTime() {
        let policy = RetryPolicy(maxRetries: 3, backoff: .fixed, initialDelay: .seconds(5))
        #expect(delays(policy, 1...3) == [.seconds(5), .seconds(5), .seconds(5)])
    }

    @Test func theStandardPolicyIsThreeExponentialRetriesFromOneSecond() {
        #expect(RetryPolicy.standard == RetryPolicy(maxRetries: 3, backoff: .exponential, initialDelay: .seconds(1)))
        #expect(delays(.standard, 1...3) == [.seconds(1), .seconds(2), .seconds(4)])
    }

    @Test func aRetryNumberBelowOneCountsAsTheFirstRetry() {
        for backoff in RetryPolicy.Backoff.allCases {
            let policy = RetryPolicy(maxRetries: 3, backoff: backoff, initialDelay: .seconds(3))
            #expect(policy.delay(beforeRetry: 0) == .seconds(3), "\(backoff)")
            #expect(policy.delay(beforeRetry: -7) == .seconds(3), "\(backoff)")
            #expect(policy.delay(beforeRetry: .min) == .seconds(3), "\(backoff)")
        }
    }

    @Test func everyDelayIsCappedAtOneHour() {
        #expect(RetryPolicy.maximumDelay == .hours(1))
        let exponential = RetryPolicy(maxRetries: 20, backoff: .exponential, initialDelay: .seconds(1))
        #expect(exponential.delay(beforeRetry: 12) == .seconds(2048))
        #expect(exponential.delay(beforeRetry: 13) == .hours(1))
        let linear = RetryPolicy(maxRetries: 20, backoff: .linear, initialDelay: .minutes(10))
        #expect(linear.delay(beforeRetry: 6) == .hours(1))
        #expect(linear.delay(beforeRetry: 7) == .hours(1))
        let fixed = RetryPolicy(maxRetries: 1, backoff: .fixed, initialDelay: .hours(2))
        #expect(fixed.delay(beforeRetry: 1) == .hours(1))
        let longFirst = RetryPolicy(maxRetries: 1, backoff: .exponential, initialDelay: .days(3))
        #expect(longFirst.delay(beforeRetry: 1) == .hours(1))
    }

    @Test(arguments: RetryPolicy.Backoff.allCases)
    func hugeRetryNumbersDoNotOverflow(_ backoff: RetryPolicy.Backoff) {
        for initial in [HubDuration(milliseconds: 1), .seconds(1), .hours(1), HubDuration(milliseconds: .max)] {
            let policy = RetryPolicy(maxRetries: .max, backoff: backoff, initialDelay: initial)
            for retry in [64, 65, 1 << 40, Int.max] {
                let delay = policy.delay(beforeRetry: retry)
                #expect(delay <= RetryPolicy.maximumDelay, "\(backoff) \(initial) \(retry)")
                #expect(delay.milliseconds > 0, "\(backoff) \(initial) \(retry)")
            }
        }
    }

    @Test(arguments: RetryPolicy.Backoff.allCases)
    func aZeroDelayStaysZeroAtAnyRetry(_ backoff: RetryPolicy.Backoff) {
        let policy = RetryPolicy(maxRetries: .max, backoff: backoff, initialDelay: .zero)
        // Int.max retries must not mean Int.max doublings of zero.
        #expect(policy.delay(beforeRetry: .max) == .zero)
        #expect(policy.delay(beforeRetry: 3) == .zero)
    }

    @Test func anotherAttemptIsAllowedUntilTheRetriesAreSpent() {
        let policy = RetryPolicy(maxRetries: 3, backoff: .fixed, initialDelay: .seconds(1))
        // Attempts made so far, the first included: 1 + 3 retries in all.
        #expect([1, 2, 3, 4, 5].map(policy.allowsAnotherAttempt(after:)) == [true, true, true, false, false])
    }

    @Test func zeroRetriesDeadLettersOnTheFirstFailure() {
        let policy = RetryPolicy(maxRetries: 0, backoff: .exponential, initialDelay: .seconds(1))
        #expect(!policy.allowsAnotherAttempt(after: 1))
    }

    @Test func aNegativeRetryCountMeansNone() {
        let policy = RetryPolicy(maxRetries: -5, backoff: .linear, initialDelay: .seconds(1))
        #expect(policy.maxRetries == 0)
        #expect(!policy.allowsAnotherAttempt(after: 1))
    }

    @Test func theLargestRetryCountNeverRunsOut() {
        let policy = RetryPolicy(maxRetries: .max, backoff: .fixed, initialDelay: .seconds(1))
        #expect(policy.allowsAnotherAttempt(after: 1_000_000))
        #expect(policy.allowsAnotherAttempt(after: .max))
    }
}
