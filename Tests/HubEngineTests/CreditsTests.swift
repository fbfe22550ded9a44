import Testing

@testable import HubEngine

/// The read-ahead bound of a followed stream: a producer waits while the consumer owes it.
@Suite(.timeLimit(.minutes(1))) struct CreditsTests {
    @Test func aProducerWaitsForTheConsumerOnceTheCreditsAreSpent() async {
        let credits = Credits(2)
        #expect(await credits.take())
        #expect(await credits.take())
        // The third take can only return once a credit comes back.
        async let third = credits.take()
        credits.give()
        #expect(await third)
    }

    @Test func aWaitingProducerIsReleasedWhenItsTaskIsCancelled() async {
        let credits = Credits(0)
        let waiting = Task { await credits.take() }
        waiting.cancel()
        #expect(await waiting.value == false)
        // Cancelled for good: later takes do not wait either.
        #expect(await credits.take() == false)
    }
}
