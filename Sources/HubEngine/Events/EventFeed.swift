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
        state.withLock { s in
            guard s.followers > 0 else { return }
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
