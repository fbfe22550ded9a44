import HubCore
import HubStore

/// Reads subscriptions' pending events: those after each one's cursor (and, during
/// a replay, up to the replay's end) that its patterns and filters select, in
/// sequence order. A scan also reports how far it looked, so acknowledging a page
/// can move the cursor past events the subscription does not want without ever
/// passing one it does.
///
/// ``scanAll(_:_:limit:)`` serves many subscriptions in one pass over the log:
/// each event is routed once through a ``SubjectTrie`` of all their patterns, so
/// its cost follows the subscriptions it matches, not how many there are (§10).
struct SubscriptionScan {
    /// The selected events, at most `limit`.
    var events: [HubEvent] = []
    /// Events looked at that one of the subscription's patterns matched (selected or filtered out).
    var matched: [HubEvent] = []
    /// The sequences of every event the pass looked at, in order (shared by the
    /// subscriptions scanned together); those after `start` count as examined.
    var looked: [Int64] = []
    /// Where the scan started (the cursor it read from).
    var start: Int64
    /// The cursor may move here once `events` are acknowledged: nothing the
    /// subscription wants lies between its cursor and this sequence except `events`.
    var safeThrough: Int64
    /// Whether `limit` events were found (more may follow).
    var full: Bool = false
    /// Whether the pass stopped at ``examineLimit`` (more may follow).
    var truncated: Bool = false

    /// Rows read per query.
    static let pageSize = 1000
    /// Events looked at per pass at most, so one call's cost is bounded however sparse the matches.
    static let examineLimit = 20_000

    /// How many events the scan looked at in `(after, through]` (`after` no earlier than its start).
    func examinedCount(after: Int64, through: Int64) -> Int {
        max(0, looked.partitioningIndex { $0 > through } - looked.partitioningIndex { $0 > max(after, start) })
    }

    /// Scans one subscription. `also` narrows the selection further (a read-only view: a
    /// caller that acknowledges must not pass it, or it would skip wanted events).
    static func scan(
        _ tx: any StoreReader, _ subscription: Subscription, limit: Int, also: ((HubEvent) -> Bool)? = nil
    ) throws -> SubscriptionScan {
        try scanAll(tx, [subscription], limit: limit, also: also)[0]
    }

    /// Scans several subscriptions in one pass, each from its own cursor; the result
    /// is in the order of `subscriptions`.
    static func scanAll(
        _ tx: any StoreReader, _ subscriptions: [Subscription], limit: Int, also: ((HubEvent) -> Bool)? = nil
    ) throws -> [SubscriptionScan] {
        var results = subscriptions.map { SubscriptionScan(start: $0.cursor, safeThrough: $0.cursor) }
        guard let first = subscriptions.map(\.cursor).min() else { return results }
        let router = router(for: subscriptions)
        var done = subscriptions.map { _ in false }
        var open = subscriptions.count
        var looked: [Int64] = []
        var query = EventQuery(afterSequence: first, limit: pageSize)
        // Replays bound the pass only when every subscription is replaying.
        let ends = subscriptions.compactMap(\.replayEnd)
        if ends.count == subscriptions.count, let end = ends.max() { query.beforeSequence = end + 1 }
        var exhausted = false
        pages: while open > 0 && looked.count < examineLimit {
            let page = try tx.events(query)
            for event in page {
                looked.append(event.sequence)
                for n in router.match(event.subject) where !done[n] {
                    let s = subscriptions[n]
                    guard event.sequence > s.cursor, s.replayEnd.map({ event.sequence <= $0 }) ?? true else { continue }
                    guard s.replayAdmits(event) else { continue }
                    results[n].matched.append(event)
                    guard s.filter.admits(event), also?(event) ?? true else { continue }
                    results[n].events.append(event)
                    if results[n].events.count == limit {
                        results[n].full = true
                        results[n].safeThrough = event.sequence
                        done[n] = true
                        open -= 1
                    }
                }
                if looked.count == examineLimit { break pages }
            }
            guard page.count == query.limit, let last = page.last else {
                exhausted = true
                break
            }
            query.afterSequence = last.sequence
        }
        let lastLooked = looked.last
        for n in results.indices where !done[n] {
            let s = subscriptions[n]
            results[n].truncated = !exhausted
            // Everything up to the last event looked at was seen; a replay seen to its end is over.
            var through = max(s.cursor, min(lastLooked ?? s.cursor, s.replayEnd ?? .max))
            if exhausted, let end = s.replayEnd { through = max(through, end) }
            results[n].safeThrough = through
        }
        for n in results.indices { results[n].looked = looked }
        return results
    }
}

extension SubscriptionScan {
    /// Events looked at per subscription at most while counting its pending events.
    static let countLimit = 100_000

    /// All subscriptions' patterns in one trie, each leading to its subscription's index.
    static func router(for subscriptions: [Subscription]) -> SubjectTrie<Int> {
        var router = SubjectTrie<Int>()
        for (n, s) in subscriptions.enumerated() { for p in s.compiledPatterns { router.insert(p, n) } }
        return router
    }

    /// How many events each subscription has pending: after its cursor (a replay's window and
    /// what follows its resume point), matched by its patterns and admitted by its filters, as
    /// ``scanAll(_:_:limit:also:)`` selects them. One pass in sequence order, from the nearest
    /// cursor, jumping over stretches no open subscription reads; a subscription with more than
    /// `examineLimit` events after its cursor gets `nil` (not counted) instead of a guess.
    static func pendingCounts(
        _ tx: any StoreReader, _ subscriptions: [Subscription], examineLimit: Int = countLimit
    ) throws -> [Int?] {
        var counts: [Int?] = subscriptions.map { _ in 0 }
        var closed = subscriptions.map { _ in false }
        let router = router(for: subscriptions)
        // By cursor: the pass enters them in this order, and the first entered has looked at
        // the most, so they reach the limit in this order too.
        let order = subscriptions.indices.sorted { subscriptions[$0].cursor < subscriptions[$1].cursor }
        var base = subscriptions.map { _ in 0 }
        var looked = 0
        var entered = 0
        var front = 0
        var position: Int64 = 0
        pages: while front < order.count {
            if entered == front { position = max(position, subscriptions[order[front]].cursor) }
            let page = try tx.events(EventQuery(afterSequence: position, limit: pageSize))
            for event in page {
                while entered < order.count && subscriptions[order[entered]].cursor < event.sequence {
                    base[order[entered]] = looked
                    entered += 1
                }
                looked += 1
                while front < entered && looked - base[order[front]] > examineLimit {
                    counts[order[front]] = nil
                    closed[order[front]] = true
                    front += 1
                }
                for n in router.match(event.subject) where !closed[n] {
                    let s = subscriptions[n]
                    guard s.awaits(event.sequence), s.replayAdmits(event), s.filter.admits(event), let c = counts[n]
                    else { continue }
                    counts[n] = c + 1
                }
                position = event.sequence
                if front == order.count { break pages }
            }
            if page.count < pageSize { break }
        }
        return counts
    }
}

extension SubscriptionScan {
    /// Events looked at per retention run past the lowest cursor.
    static let retentionLimit = 20_000

    /// The events after `after` (the lowest cursor) that no subscription still has to hand
    /// out: every subscription whose patterns and filters select one has acknowledged it
    /// (§10 `acknowledged_only`). Looks at `limit` events at most; the next run goes on.
    static func acknowledgedByAll(
        _ tx: any StoreReader, _ subscriptions: [Subscription], after: Int64, limit: Int = retentionLimit
    ) throws -> [Int64] {
        let router = router(for: subscriptions)
        var done: [Int64] = []
        var looked = 0
        var query = EventQuery(afterSequence: after, limit: pageSize)
        while looked < limit {
            let page = try tx.events(query)
            for event in page {
                looked += 1
                let wanted = router.match(event.subject).contains { n in
                    let s = subscriptions[n]
                    return s.awaits(event.sequence) && s.replayAdmits(event) && s.filter.admits(event)
                }
                if !wanted { done.append(event.sequence) }
                if looked == limit { break }
            }
            guard page.count == query.limit, let last = page.last else { break }
            query.afterSequence = last.sequence
        }
        return done
    }
}

extension Subscription {
    /// Whether an event at `sequence` is still to be handed out: after the cursor, and not
    /// between a replay's end and the point it resumes at (already acknowledged).
    fileprivate func awaits(_ sequence: Int64) -> Bool {
        guard sequence > cursor else { return false }
        guard let end = replayEnd, let resume = resumeAt else { return true }
        return sequence <= end || sequence > resume
    }
}

extension Array where Element == Int64 {
    /// The first index whose element satisfies `belongs` (the array is partitioned by it).
    fileprivate func partitioningIndex(where belongs: (Int64) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let mid = (low + high) / 2
            if belongs(self[mid]) { high = mid } else { low = mid + 1 }
        }
        return low
    }
}

extension Subscription {
    /// Counts what a scan examined in `(scan.start, through]` and was not counted before:
    /// events looked at, matches per pattern, and matches the filters refused.
    mutating func absorb(_ scan: SubscriptionScan, through: Int64) {
        let after = counters.examinedThrough
        guard through > after else { return }
        let compiled = compiledPatterns
        counters.examined += scan.examinedCount(after: after, through: through)
        for event in scan.matched where event.sequence > after && event.sequence <= through {
            countMatches(event, compiled: compiled)
        }
        counters.examinedThrough = through
    }

    /// Acknowledges a scan's events: counts what it examined and moves the cursor as far as is safe.
    mutating func acknowledge(_ scan: SubscriptionScan) {
        absorb(scan, through: scan.safeThrough)
        counters.acked += scan.events.count
        acknowledge(through: scan.safeThrough)
    }
}
