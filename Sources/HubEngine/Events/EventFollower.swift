import HubCore
import Synchronization

extension Hub {
    /// `get-events` with `follow: true` for a process that prints events as they
    /// arrive: yields each matching event once, in sequence order, reading the store
    /// again as soon as an operation of this process may have appended events (the
    /// hub's `eventSignal`), and every `interval` at the latest (another process's
    /// writes), until `shouldStop` says so; after that one more read sends what is
    /// already there.
    ///
    /// The first read is the operation itself, so a bad request fails at once with
    /// its usual error response. With a subscription and `ack: true` each read
    /// acknowledges what it returns, so a restarted follower carries on where it stopped, and
    /// everything a read returns is yielded: what the subscription delivers, at least once (a
    /// `replay-events` during the follow hands its range out again). Without `ack` the cursor
    /// stays where it is: each read is the subscription's pending events after what was
    /// yielded (`after_sequence`), so each comes once.
    ///
    /// The events are read by whoever iterates them, as they take them: a stream whose client
    /// does not read holds one read (at most `limit` events), not the log.
    ///
    /// With `keepAlive`, a stream that has had nothing to send for that long yields an empty
    /// chunk from ``FollowedEvents/batches()`` (the events themselves skip it): an event
    /// stream writes a comment then, so a client that went away silently is noticed.
    public func follow(
        _ request: OperationRequest, interval: Duration = .milliseconds(200), keepAlive: Duration? = nil,
        shouldStop: @escaping @Sendable () -> Bool
    ) -> FollowedEvents {
        FollowedEvents(
            hub: self, request: request, interval: interval, keepAlive: keepAlive, shouldStop: shouldStop,
            selection: Self.feedSelection(for: request))
    }

    /// The filter of a followed `get-events` that new events from the feed can be matched
    /// against as the log's read would: patterns, types, severities, times and workflow.
    /// `nil` for what the feed cannot serve (a subscription's events, which are acknowledged
    /// in the store) or parameters that do not decode (the first read reports them).
    private static func feedSelection(for request: OperationRequest) -> FeedSelection? {
        guard let lifted = try? liftWorkflowID(request), lifted.parameters["subscription"] == nil,
            let p = try? GetEvents.Parameters.decode(lifted.parameters),
            p.eventId == nil, p.deadLetters != true, p.order != "desc",
            let (selection, _, _) = try? GetEvents.selection(p)
        else { return nil }
        return FeedSelection(selection: selection, workflowID: lifted.workflowID)
    }
}

/// A followed stream's filter, applied to events from the feed.
struct FeedSelection: Sendable {
    var selection: GetEvents.Selection
    var workflowID: String?

    func admits(_ event: HubEvent) -> Bool {
        (workflowID == nil || event.workflowID == workflowID) && selection.admits(event)
    }
}

/// A followed read that failed: carries the operation's error response to print.
public struct FollowFailure: Error {
    public let response: OperationResponse
    public let error: HubError
}

/// The events of ``Hub/follow(_:interval:keepAlive:shouldStop:)``, read by whoever iterates
/// them, in that task: nothing reads ahead of its consumer (a stream whose client stops
/// reading holds at most one read, not the log), and a commit wakes the consumer itself, with
/// no task in between to hand the events over.
///
/// Events come in the chunks they were read in (one commit's events, one page of the log),
/// at most ``readAhead`` at a time: iterate the sequence for single events, or ``batches()``
/// to take a chunk at once — an event stream writes a chunk in one write, not one write and
/// flush per event.
public struct FollowedEvents: AsyncSequence, Sendable {
    public typealias Element = JSONValue

    /// The most events one chunk carries (a larger read is handed over in several).
    public static let readAhead = 256

    let hub: Hub
    let request: OperationRequest
    let interval: Duration
    let keepAlive: Duration?
    let shouldStop: @Sendable () -> Bool
    /// What the stream selects, to take new events from the feed; nil: always read the log.
    let selection: FeedSelection?

    public struct AsyncIterator: AsyncIteratorProtocol {
        var follower: Follower
        var pending: [JSONValue] = []
        var next = 0

        public mutating func next() async throws -> JSONValue? {
            while next == pending.count {
                guard let chunk = try await follower.nextChunk() else { return nil }
                pending = chunk
                next = 0
            }
            defer { next += 1 }
            return pending[next]
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(follower: Follower(self)) }

    /// The same events, a chunk at a time; empty only as a keep-alive (see `keepAlive`). Iterate
    /// either this or the events, not both.
    public func batches() -> Batches { Batches(events: self) }

    /// ``FollowedEvents`` in the chunks they were read in.
    public struct Batches: AsyncSequence, Sendable {
        public typealias Element = [JSONValue]
        let events: FollowedEvents

        public struct AsyncIterator: AsyncIteratorProtocol {
            var follower: Follower

            public mutating func next() async throws -> [JSONValue]? { try await follower.nextChunk(keepAlive: true) }
        }

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(follower: Follower(events)) }
    }
}

/// One iteration of a followed `get-events`: reads the log (the first read is the operation
/// itself), or, caught up, takes new events from the feed; waits for the next commit of this
/// process (or the hub's signal) when there is nothing new, and reads the log at least every
/// `interval` for other processes' events.
struct Follower {
    let events: FollowedEvents
    private var hub: Hub { events.hub }
    /// This follower's use of the feed, ended when the iteration is let go.
    private let membership: FeedMembership?
    private var last: Int64
    private let bySubscription: Bool
    /// A subscription's read that acknowledges what it returns: the next read starts at the
    /// subscription's cursor, not after `last`.
    private let acking: Bool
    private let limit: Int64
    /// Once a stop is asked for, one more read sends what is already there.
    private var draining = false
    /// The first read is the operation; a wait that ends without a commit reads the log too
    /// (other processes' events); otherwise a caught-up follower takes new events from the feed
    /// when it holds them all.
    private var readLog = true
    private var quietSince = ContinuousClock.now
    private var finished = false
    /// Read and not yet handed over (a read larger than a chunk).
    private var unsent: ArraySlice<JSONValue> = []

    init(_ events: FollowedEvents) {
        self.events = events
        membership = events.selection.map { _ in FeedMembership(events.hub.eventFeed) }
        last = events.request.parameters["after_sequence"]?.intValue ?? -1
        bySubscription = events.request.parameters["subscription"] != nil
        acking = bySubscription && events.request.parameters["ack"]?.boolValue == true
        limit = events.request.parameters["limit"]?.intValue ?? 100
    }

    /// The next events, at most ``FollowedEvents/readAhead``; with `keepAlive`, an empty chunk
    /// when nothing came for the follow's keep-alive; `nil` once the follow has ended (a stop
    /// and the read after it, or cancellation).
    mutating func nextChunk(keepAlive: Bool = false) async throws -> [JSONValue]? {
        while true {
            if !unsent.isEmpty {
                let chunk = unsent.prefix(FollowedEvents.readAhead)
                unsent = unsent.dropFirst(chunk.count)
                return Array(chunk)
            }
            if finished || Task.isCancelled { return nil }
            if events.shouldStop() {
                if draining {
                    finished = true
                    return nil
                }
                draining = true
            }
            // Taken before the read, so a change committed during it still wakes the wait below.
            let seen = events.selection == nil ? await hub.eventSignal.current() : 0
            let seenCommit = hub.eventFeed.generation
            let found = try await read()
            readLog = false
            if found {
                quietSince = .now
                if !unsent.isEmpty { continue }
            } else if let every = events.keepAlive, ContinuousClock.now - quietSince >= every {
                quietSince = .now
                if keepAlive { return [] }
            }
            if !found && !draining {
                if await hub.eventSignal.isClosed {
                    try? await Task.sleep(for: events.interval)
                    readLog = true
                } else if events.selection != nil {
                    // Woken by the commit itself, on the writer, rather than by the hub's
                    // signal once the committing operation has answered.
                    await hub.eventFeed.waitForCommit(after: seenCommit, timeout: events.interval)
                    readLog = hub.eventFeed.generation == seenCommit
                } else {
                    await hub.eventSignal.wait(after: seen, timeout: events.interval)
                    readLog = await hub.eventSignal.current() == seen
                }
            }
        }
    }

    /// One read, from the feed when it can serve it, else the log; what it found that the
    /// follower sends goes to `unsent`. Whether the read found any new event (sent or not).
    private mutating func read() async throws -> Bool {
        if !readLog, let selection = events.selection, last >= 0, let fresh = hub.eventFeed.events(after: last) {
            unsent = ArraySlice(fresh.lazy.filter { selection.admits($0) }.map(\.json))
            last = fresh.last?.sequence ?? last
            return !fresh.isEmpty
        }
        var next = events.request
        if !acking && last >= 0 { next.parameters["after_sequence"] = .int(last) }
        // The log's end before the read: a read that did not fill its limit looked at
        // everything up to it, so the next starts there, not again from the last
        // event it kept (a filter that matches rarely rescanned the log every read).
        let head = bySubscription ? nil : try? await hub.store.read { tx in try tx.lastEventSequence() }
        let response = await hub.perform(next)
        if let error = response.error {
            finished = true
            throw FollowFailure(response: response, error: error)
        }
        let returned = response.json["result"]?["events"]?.arrayValue ?? []
        // An acknowledging read returns what the subscription delivers, replayed events again
        // among them, all acknowledged by the read: leaving out those at or before the last one
        // yielded lost them (acknowledged, never printed). Other reads start after `last`.
        let read = acking ? returned : returned.filter { ($0["sequence"]?.intValue ?? 0) > last }
        for event in read { last = max(last, event["sequence"]?.intValue ?? last) }
        // A subscription's read looked this far: the next starts there, not again from the last
        // event (a subscription that matches rarely would have been scanned from there each read).
        if bySubscription, let through = response.json["result"]?["read_through"]?.intValue {
            last = max(last, through)
        }
        unsent = ArraySlice(read)
        let count = response.json["result"]?["count"]?.intValue ?? limit
        if let head, count < limit { last = max(last, head) }
        return !read.isEmpty
    }
}

/// A follower's use of the hub's event feed: the feed collects commits while someone follows.
final class FeedMembership: Sendable {
    let feed: EventFeed

    init(_ feed: EventFeed) {
        self.feed = feed
        feed.addFollower()
    }

    deinit { feed.removeFollower() }
}
