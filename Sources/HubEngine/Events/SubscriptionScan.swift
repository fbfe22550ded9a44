import HubCore
import HubStore

/// Reads a subscription's pending events: those after its cursor (and, during a
/// replay, up to the replay's end) that its patterns and filters select, in
/// sequence order. The scan also reports how far it looked, so acknowledging a
/// page can move the cursor past events the subscription does not want without
/// ever passing one it does.
struct SubscriptionScan {
    /// The selected events, at most `limit`.
    var events: [HubEvent] = []
    /// Every event looked at, selected or not, in sequence order.
    var examined: [HubEvent] = []
    /// The cursor may move here once `events` are acknowledged: nothing the
    /// subscription wants lies between its cursor and this sequence except `events`.
    var safeThrough: Int64
    /// Whether `limit` events were found (more may follow).
    var full: Bool = false

    /// Rows read per query.
    static let pageSize = 1000
    /// Events looked at per call at most, so one call's cost is bounded however sparse the matches.
    static let examineLimit = 20_000

    /// Scans from the subscription's cursor. `also` narrows the selection further (a read-only
    /// view: a caller that acknowledges must not pass it, or it would skip wanted events).
    static func scan(
        _ tx: any StoreReader, _ subscription: Subscription, limit: Int, also: ((HubEvent) -> Bool)? = nil
    ) throws -> SubscriptionScan {
        let compiled = subscription.compiledPatterns
        var result = SubscriptionScan(safeThrough: subscription.cursor)
        var query = EventQuery(afterSequence: subscription.cursor, limit: pageSize)
        if let end = subscription.replayEnd { query.beforeSequence = end + 1 }
        while result.examined.count < examineLimit {
            let page = try tx.events(query)
            for event in page {
                result.examined.append(event)
                result.safeThrough = event.sequence
                if subscription.selects(event, compiled: compiled), also?(event) ?? true {
                    result.events.append(event)
                    if result.events.count == limit {
                        result.full = true
                        return result
                    }
                }
                if result.examined.count == examineLimit { return result }
            }
            guard page.count == query.limit, let last = page.last else {
                // The log (or the replay range) is exhausted: a replay may end here.
                if let end = subscription.replayEnd { result.safeThrough = max(result.safeThrough, end) }
                return result
            }
            query.afterSequence = last.sequence
        }
        return result
    }
}

extension Subscription {
    /// Acknowledges a scan's events: counts what it examined and moves the cursor as far as is safe.
    mutating func acknowledge(_ scan: SubscriptionScan) {
        let compiled = compiledPatterns
        for event in scan.examined { count(event, compiled: compiled) }
        counters.acked += scan.events.count
        acknowledge(through: scan.safeThrough)
        if adaptiveFiltering && counters.examined >= Self.adaptiveMinimum {
            self = SubscriptionAdvice.compute(self, sample: []).applySafe(to: self).0
        }
    }

    /// Events a subscription must have examined before adaptive filtering drops a pattern.
    static let adaptiveMinimum = 1000
}
