import HubCore
import HubEngine
import Testing

/// The feed of committed events (`EventFeed`): it answers only for what it saw, and
/// says so (`nil`) whenever the log must be read instead.
@Suite struct EventFeedTests {
    func events(_ sequences: ClosedRange<Int64>) -> [HubEvent] {
        sequences.map { n in
            HubEvent(
                eventID: "evt_\(n)", sequence: n, eventType: "note", workflowID: nil, phase: 0, severity: .info,
                source: "test", timestamp: 0, data: .emptyObject, subject: "hub.test.note",
                metadata: EventMetadata(), dedupID: nil)
        }
    }

    /// A feed with one stream using it.
    func feed(capacity: Int = 1024) -> EventFeed {
        let feed = EventFeed(capacity: capacity)
        feed.addFollower()
        return feed
    }

    @Test func knowsNothingBeforeItsFirstCommit() {
        #expect(feed().events(after: 0) == nil)
    }

    @Test func collectsOnlyWhileAStreamUsesIt() {
        let feed = EventFeed()
        #expect(!feed.wantsCommits)
        feed.committed(events(1...2))
        #expect(feed.events(after: 0) == nil)
        feed.addFollower()
        #expect(feed.wantsCommits)
        feed.committed(events(3...4))
        #expect(feed.events(after: 2)?.map(\.sequence) == [3, 4])
        feed.removeFollower()
        #expect(!feed.wantsCommits)
        // Commits 5 and 6 went by unseen: the next stream starts afresh, not with a gap in it.
        feed.committed(events(5...6))
        feed.addFollower()
        feed.committed(events(7...7))
        #expect(feed.events(after: 4) == nil)
        #expect(feed.events(after: 6)?.map(\.sequence) == [7])
    }

    @Test func givesTheEventsAfterASequenceFromConsecutiveCommits() {
        let feed = feed()
        feed.committed(events(11...13))
        feed.committed(events(14...15))
        #expect(feed.events(after: 10)?.map(\.sequence) == [11, 12, 13, 14, 15])
        #expect(feed.events(after: 13)?.map(\.sequence) == [14, 15])
        #expect(feed.events(after: 15) == [])
        // Ahead of the feed (an event another process wrote, read from the log): nothing new here.
        #expect(feed.events(after: 16) == [])
        // Before what it holds: the log must be read.
        #expect(feed.events(after: 9) == nil)
    }

    @Test func aCommitThatDoesNotFollowTheLastStartsANewRun() {
        let feed = feed()
        feed.committed(events(1...3))
        // 4 and 5 were written by another process.
        feed.committed(events(6...7))
        #expect(feed.events(after: 3) == nil)
        #expect(feed.events(after: 5)?.map(\.sequence) == [6, 7])
    }

    @Test func keepsAtMostItsCapacity() {
        let feed = feed(capacity: 4)
        for n in stride(from: Int64(1), through: 31, by: 3) { feed.committed(events(n...(n + 2))) }
        // 33 events committed; the newest four are held.
        #expect(feed.events(after: 29)?.map(\.sequence) == [30, 31, 32, 33])
        #expect(feed.events(after: 28) == nil)
    }
}

/// A stream waits on the feed for the next commit: woken by the commit itself, or by its
/// timeout, or its cancellation; a commit made before the wait began does not leave it waiting.
@Suite(.timeLimit(.minutes(1))) struct EventFeedWaitTests {
    let make = EventFeedTests()

    @Test func aCommitWakesAWaitingStream() async {
        let feed = make.feed()
        let seen = feed.generation
        async let woken: Void = feed.waitForCommit(after: seen, timeout: .seconds(600))
        feed.committed(make.events(1...2))
        await woken
        #expect(feed.generation == seen + 1)
    }

    @Test func aCommitBeforeTheWaitReturnsAtOnce() async {
        let feed = make.feed()
        let seen = feed.generation
        feed.committed(make.events(1...1))
        // The timeout is far past the suite's limit: only the earlier commit can end this.
        await feed.waitForCommit(after: seen, timeout: .seconds(600))
        #expect(feed.generation == seen + 1)
    }

    @Test func withoutACommitTheWaitEndsAtItsTimeout() async {
        let feed = make.feed()
        let seen = feed.generation
        await feed.waitForCommit(after: seen, timeout: .milliseconds(1))
        #expect(feed.generation == seen)
    }

    @Test func aCancelledWaitEnds() async {
        let feed = make.feed()
        let waiting = Task { await feed.waitForCommit(after: feed.generation, timeout: .seconds(600)) }
        waiting.cancel()
        await waiting.value
        #expect(feed.generation == 0)
    }
}
