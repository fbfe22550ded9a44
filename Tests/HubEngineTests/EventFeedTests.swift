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

    @Test func knowsNothingBeforeItsFirstCommit() {
        #expect(EventFeed().events(after: 0) == nil)
    }

    @Test func givesTheEventsAfterASequenceFromConsecutiveCommits() {
        let feed = EventFeed()
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
        let feed = EventFeed()
        feed.committed(events(1...3))
        // 4 and 5 were written by another process.
        feed.committed(events(6...7))
        #expect(feed.events(after: 3) == nil)
        #expect(feed.events(after: 5)?.map(\.sequence) == [6, 7])
    }

    @Test func keepsAtMostItsCapacity() {
        let feed = EventFeed(capacity: 4)
        for n in stride(from: Int64(1), through: 31, by: 3) { feed.committed(events(n...(n + 2))) }
        // 33 events committed; the newest four are held.
        #expect(feed.events(after: 29)?.map(\.sequence) == [30, 31, 32, 33])
        #expect(feed.events(after: 28) == nil)
    }
}
