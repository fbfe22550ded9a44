import HubCore
import HubStore
import Synchronization

/// The events this process's writes committed most recently, kept in memory for the
/// event streams: a stream that has caught up takes new events from here instead of
/// reading the log again after every publish (the read, and the `get-events` call
/// around it, were most of a stream's cost per event).
///
/// The feed only vouches for what it saw: it holds a run of consecutive sequences,
/// started again whenever a commit does not follow the last one it saw (another
/// process wrote in between). ``events(after:)`` answers `nil` whenever it cannot be
/// sure it has every event after the given sequence; the caller then reads the log,
/// so a stream never misses an event because of the feed.
public final class EventFeed: CommitObserver {
    /// Events kept at most (a stream further behind reads the log).
    public let capacity: Int
    private let state = Mutex(State())

    private struct State {
        /// Consecutive sequences, oldest first; `events[head...]` are live.
        var events: [HubEvent] = []
        var head = 0
        /// Streams using the feed; with none it collects nothing.
        var followers = 0
        /// Counts commits seen, for ``waitForCommit(after:timeout:)``.
        var generation = 0
        /// Streams waiting for the next commit, by key.
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        /// Keys of waits begun but not yet suspended; a wake before they suspend takes the key out.
        var starting: Set<Int> = []
        var nextWaiter = 0
    }

    public init(capacity: Int = 1024) { self.capacity = max(1, capacity) }

    /// A stream starts using the feed. The first one starts it afresh: what was collected
    /// before may have a gap (commits made while nobody followed were not collected).
    public func addFollower() {
        state.withLock { s in
            if s.followers == 0 {
                s.events.removeAll()
                s.head = 0
            }
            s.followers += 1
        }
    }

    /// A stream stopped using the feed; after the last one, it lets its events go.
    public func removeFollower() {
        state.withLock { s in
            s.followers = max(0, s.followers - 1)
            if s.followers == 0 {
                s.events.removeAll()
                s.head = 0
            }
        }
    }

    public var wantsCommits: Bool { state.withLock { $0.followers > 0 } }

    public func committed(_ events: [HubEvent]) {
        guard let first = events.first else { return }
        let waiting = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            if s.followers > 0 {
                if let last = s.events.last, first.sequence != last.sequence + 1 {
                    // A gap (another process's commit) or an overlap: start a new run.
                    s.events.removeAll(keepingCapacity: true)
                    s.head = 0
                }
                s.events += events
                // Old events are let go `capacity` at a time, so that costs little per event.
                if s.events.count - s.head > capacity { s.head = s.events.count - capacity }
                if s.head >= capacity {
                    s.events.removeFirst(s.head)
                    s.head = 0
                }
            }
            // Waiters are woken with the events already in the feed, in the same step.
            s.generation += 1
            s.starting.removeAll()
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        // Woken here, on the writer as the commit is durable: not after the operation that
        // committed has built its answer and gone through the hub's signal.
        for continuation in waiting { continuation.resume() }
    }

    /// The number of commits seen so far, to wait for a later one.
    public var generation: Int { state.withLock { $0.generation } }

    /// Returns once a commit after generation `seen` has been seen, `timeout` has passed, or
    /// the waiting task is cancelled (a commit made before the call returns at once).
    public func waitForCommit(after seen: Int, timeout: Duration) async {
        let key: Int? = state.withLock { s in
            guard s.generation == seen else { return nil }
            s.nextWaiter += 1
            s.starting.insert(s.nextWaiter)
            return s.nextWaiter
        }
        guard let key else { return }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            self.resume(key)
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let late = state.withLock { s -> Bool in
                    // A commit, the timer or a cancellation came between the check and here.
                    guard s.starting.remove(key) != nil else { return true }
                    s.waiters[key] = continuation
                    return false
                }
                if late { continuation.resume() }
            }
        } onCancel: {
            timer.cancel()
            resume(key)
        }
        timer.cancel()
    }

    /// Resumes one waiter, if it still waits (or ends its wait before it suspends).
    private func resume(_ key: Int) {
        state.withLock { s in
            s.starting.remove(key)
            return s.waiters.removeValue(forKey: key)
        }?.resume()
    }

    /// Every event with a sequence above `sequence` that this process committed, when
    /// the feed holds them all — also when there are none so far (an empty list); `nil`
    /// when it cannot tell: the feed has seen no commit yet, or the events right after
    /// `sequence` are older than it holds or were written by another process.
    ///
    /// An empty answer covers this process's commits only: events another process
    /// wrote since reach a stream through its periodic read of the log.
    public func events(after sequence: Int64) -> [HubEvent]? {
        state.withLock { s in
            guard s.head < s.events.count else { return nil }
            let oldest = s.events[s.head].sequence
            let newest = s.events[s.events.count - 1].sequence
            if sequence >= newest { return [] }
            guard sequence + 1 >= oldest else { return nil }
            return Array(s.events[(s.head + Int(sequence + 1 - oldest))...])
        }
    }
}
