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
    public func follow(
        _ request: OperationRequest, interval: Duration = .milliseconds(200),
        shouldStop: @escaping @Sendable () -> Bool
    ) -> FollowedEvents {
        // What the stream selects, to take new events from the feed; nil: always read the log.
        let selection = Self.feedSelection(for: request)
        let credits = Credits(FollowedEvents.readAhead)
        let stream = AsyncThrowingStream<JSONValue, any Error> { continuation in
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
                while !Task.isCancelled {
                    if shouldStop() {
                        if draining { break }
                        draining = true
                    }
                    // Taken before the read, so a change committed during it still wakes the wait below.
                    let seen = await eventSignal.current()
                    var found = false
                    if !readLog, let selection, last >= 0, let fresh = eventFeed.events(after: last) {
                        for event in fresh where selection.admits(event) {
                            guard await credits.take() else { break }
                            continuation.yield(event.json)
                        }
                        last = fresh.last?.sequence ?? last
                        found = !fresh.isEmpty
                    } else {
                        var next = request
                        if !bySubscription && last >= 0 { next.parameters["after_sequence"] = .int(last) }
                        let response = await perform(next)
                        if let error = response.error {
                            continuation.finish(throwing: FollowFailure(response: response, error: error))
                            return
                        }
                        let events = (response.json["result"]?["events"]?.arrayValue ?? []).filter {
                            ($0["sequence"]?.intValue ?? 0) > last
                        }
                        for event in events {
                            guard await credits.take() else { break }
                            continuation.yield(event)
                            last = max(last, event["sequence"]?.intValue ?? last)
                        }
                        found = !events.isEmpty
                    }
                    readLog = false
                    if !found && !draining {
                        if await eventSignal.isClosed {
                            try? await Task.sleep(for: interval)
                            readLog = true
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
public struct FollowedEvents: AsyncSequence, Sendable {
    public typealias Element = JSONValue

    /// How many events a follower holds that its consumer has not taken. A client that stops
    /// reading an SSE stream kept the whole log and everything published after it.
    public static let readAhead = 256

    let stream: AsyncThrowingStream<JSONValue, any Error>
    let credits: Credits

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<JSONValue, any Error>.AsyncIterator
        let credits: Credits

        public mutating func next() async throws -> JSONValue? {
            let event = try await base.next()
            if event != nil { credits.give() }
            return event
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: stream.makeAsyncIterator(), credits: credits)
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

    /// Gives one credit back, waking a waiting producer with it.
    func give() {
        let waiter = state.withLock { s -> CheckedContinuation<Bool, Never>? in
            guard let waiter = s.waiter else {
                s.available += 1
                return nil
            }
            s.waiter = nil
            return waiter
        }
        waiter?.resume(returning: true)
    }
}
