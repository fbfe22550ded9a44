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
    /// acknowledges what it returns, so a restarted follower carries on where it stopped.
    ///
    /// The follower reads at most ``FollowedEvents/readAhead`` events ahead of whoever
    /// iterates it: a stream whose client does not read holds that many, not the log.
    ///
    /// With `keepAlive`, a stream that has had nothing to send for that long yields an empty
    /// chunk from ``FollowedEvents/batches()`` (the events themselves skip it): an event
    /// stream writes a comment then, so a client that went away silently is noticed.
    public func follow(
        _ request: OperationRequest, interval: Duration = .milliseconds(200), keepAlive: Duration? = nil,
        shouldStop: @escaping @Sendable () -> Bool
    ) -> FollowedEvents {
        // What the stream selects, to take new events from the feed; nil: always read the log.
        let selection = Self.feedSelection(for: request)
        let credits = Credits(FollowedEvents.readAhead)
        let stream = AsyncThrowingStream<[JSONValue], any Error> { continuation in
            let task = Task {
                if selection != nil { eventFeed.addFollower() }
                defer { if selection != nil { eventFeed.removeFollower() } }
                var last: Int64 = request.parameters["after_sequence"]?.intValue ?? -1
                let bySubscription = request.parameters["subscription"] != nil
                // Once a stop is asked for, one more read sends what is already there.
                var draining = false
                // The first read is the operation; a wait that ends without a signal reads the
                // log too (other processes' events); otherwise a caught-up stream takes new
                // events from the feed when it holds them all.
                var readLog = true
                let limit = request.parameters["limit"]?.intValue ?? 100
                var quietSince = ContinuousClock.now
                while !Task.isCancelled {
                    if shouldStop() {
                        if draining { break }
                        draining = true
                    }
                    // Taken before the read, so a change committed during it still wakes the wait below.
                    let seen = await eventSignal.current()
                    let seenCommit = eventFeed.generation
                    var found = false
                    if !readLog, let selection, last >= 0, let fresh = eventFeed.events(after: last) {
                        var chunk = Chunk(continuation: continuation, credits: credits)
                        for event in fresh where selection.admits(event) {
                            guard await chunk.append(event.json) else { break }
                        }
                        chunk.send()
                        last = fresh.last?.sequence ?? last
                        found = !fresh.isEmpty
                    } else {
                        var next = request
                        if !bySubscription && last >= 0 { next.parameters["after_sequence"] = .int(last) }
                        // The log's end before the read: a read that did not fill its limit looked at
                        // everything up to it, so the next starts there, not again from the last
                        // event it kept (a filter that matches rarely rescanned the log every read).
                        let head = bySubscription ? nil : try? await store.read { tx in try tx.lastEventSequence() }
                        let response = await perform(next)
                        if let error = response.error {
                            continuation.finish(throwing: FollowFailure(response: response, error: error))
                            return
                        }
                        let events = (response.json["result"]?["events"]?.arrayValue ?? []).filter {
                            ($0["sequence"]?.intValue ?? 0) > last
                        }
                        var chunk = Chunk(continuation: continuation, credits: credits)
                        var complete = true
                        for event in events {
                            guard await chunk.append(event) else {
                                complete = false
                                break
                            }
                            last = max(last, event["sequence"]?.intValue ?? last)
                        }
                        chunk.send()
                        let returned = response.json["result"]?["count"]?.intValue ?? Int64(limit)
                        if complete, let head, returned < Int64(limit) { last = max(last, head) }
                        found = !events.isEmpty
                    }
                    readLog = false
                    if found {
                        quietSince = .now
                    } else if let keepAlive, ContinuousClock.now - quietSince >= keepAlive {
                        continuation.yield([])
                        quietSince = .now
                    }
                    if !found && !draining {
                        if await eventSignal.isClosed {
                            try? await Task.sleep(for: interval)
                            readLog = true
                        } else if selection != nil {
                            // Woken by the commit itself, on the writer, rather than by the hub's
                            // signal once the committing operation has answered.
                            await eventFeed.waitForCommit(after: seenCommit, timeout: interval)
                            readLog = eventFeed.generation == seenCommit
                        } else {
                            await eventSignal.wait(after: seen, timeout: interval)
                            readLog = await eventSignal.current() == seen
                        }
                    }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
        return FollowedEvents(stream: stream, credits: credits)
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

/// The events of ``Hub/follow(_:interval:shouldStop:)``, read ahead of their consumer by at
/// most ``readAhead``: each event taken from the sequence lets the follower read one more.
///
/// Events come in the chunks the follower read them in (one commit's events, one page of the
/// log): iterate the sequence for single events, or ``batches()`` to take a chunk at once —
/// an event stream writes a chunk in one write, not one write and flush per event.
public struct FollowedEvents: AsyncSequence, Sendable {
    public typealias Element = JSONValue

    /// How many events a follower holds that its consumer has not taken. A client that stops
    /// reading an SSE stream kept the whole log and everything published after it.
    public static let readAhead = 256

    let stream: AsyncThrowingStream<[JSONValue], any Error>
    let credits: Credits

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<[JSONValue], any Error>.AsyncIterator
        let credits: Credits
        var pending: [JSONValue] = []
        var next = 0

        public mutating func next() async throws -> JSONValue? {
            while next == pending.count {
                guard let chunk = try await base.next() else { return nil }
                pending = chunk
                next = 0
            }
            defer { next += 1 }
            credits.give()
            return pending[next]
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: stream.makeAsyncIterator(), credits: credits)
    }

    /// The same events, a chunk at a time; empty only as a keep-alive (see `keepAlive`). Iterate
    /// either this or the events, not both.
    public func batches() -> Batches { Batches(stream: stream, credits: credits) }

    /// ``FollowedEvents`` in the chunks they were read in.
    public struct Batches: AsyncSequence, Sendable {
        public typealias Element = [JSONValue]
        let stream: AsyncThrowingStream<[JSONValue], any Error>
        let credits: Credits

        public struct AsyncIterator: AsyncIteratorProtocol {
            var base: AsyncThrowingStream<[JSONValue], any Error>.AsyncIterator
            let credits: Credits

            public mutating func next() async throws -> [JSONValue]? {
                guard let chunk = try await base.next() else { return nil }
                credits.give(chunk.count)
                return chunk
            }
        }

        public func makeAsyncIterator() -> AsyncIterator {
            AsyncIterator(base: stream.makeAsyncIterator(), credits: credits)
        }
    }
}

/// The events of one read on their way to a follower's consumer: gathered while credits are
/// there to take, sent as one chunk when the credits run out (before waiting for more) and
/// when the read ends.
private struct Chunk {
    let continuation: AsyncThrowingStream<[JSONValue], any Error>.Continuation
    let credits: Credits
    var events: [JSONValue] = []

    /// Adds `event`, first sending what is gathered and waiting when no credit is left;
    /// `false` once the follower is cancelled.
    mutating func append(_ event: JSONValue) async -> Bool {
        if !credits.tryTake() {
            send()
            guard await credits.take() else { return false }
        }
        events.append(event)
        return true
    }

    mutating func send() {
        guard !events.isEmpty else { return }
        continuation.yield(events)
        events = []
    }
}

/// A count a producer takes from before each event and its consumer gives back after, so
/// the producer waits while `limit` events are in between.
final class Credits: Sendable {
    private struct State {
        var available: Int
        var waiter: CheckedContinuation<Bool, Never>?
        var cancelled = false
    }
    private let state: Mutex<State>

    init(_ limit: Int) { state = Mutex(State(available: limit)) }

    /// Takes one credit if one is there, without waiting.
    func tryTake() -> Bool {
        state.withLock { s in
            guard !s.cancelled, s.available > 0 else { return false }
            s.available -= 1
            return true
        }
    }

    /// Takes one credit, waiting for the consumer if there is none; `false` once the waiting task is cancelled.
    func take() async -> Bool {
        // Most takes find a credit: no suspension, no cancellation handler.
        let now: Bool? = state.withLock { s in
            if s.cancelled { return false }
            guard s.available > 0 else { return nil }
            s.available -= 1
            return true
        }
        if let now { return now }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let ready: Bool? = state.withLock { s in
                    if s.cancelled { return false }
                    if s.available > 0 {
                        s.available -= 1
                        return true
                    }
                    s.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            let waiter = state.withLock { s in
                s.cancelled = true
                defer { s.waiter = nil }
                return s.waiter
            }
            waiter?.resume(returning: false)
        }
    }

    /// Gives `count` credits back, waking a waiting producer with one of them.
    func give(_ count: Int = 1) {
        guard count > 0 else { return }
        let waiter = state.withLock { s -> CheckedContinuation<Bool, Never>? in
            guard let waiter = s.waiter else {
                s.available += count
                return nil
            }
            s.waiter = nil
            s.available += count - 1
            return waiter
        }
        waiter?.resume(returning: true)
    }
}
