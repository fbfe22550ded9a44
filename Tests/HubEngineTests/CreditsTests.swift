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

extension CreditsTests {
    /// `tryTake` never waits, and a chunk's credits come back together, waking a waiting producer.
    @Test func creditsComeBackTogetherAndTryTakeDoesNotWait() async {
        let credits = Credits(2)
        #expect(credits.tryTake())
        #expect(credits.tryTake())
        #expect(!credits.tryTake())
        async let waiting = credits.take()
        credits.give(2)
        #expect(await waiting)
        // One of the two went to the waiting take, the other is left.
        #expect(credits.tryTake())
        #expect(!credits.tryTake())
    }
}
