/// Decides what a subscription's delivery does now (§10): send a batch, wait for
/// one to fill, or nothing. Pure: the delivery service hands it the pending events
/// (in sequence order), the batching settings and the time.
public enum DeliveryPlanner {
    public enum Plan: Sendable, Equatable {
        /// Nothing is pending.
        case idle
        /// Deliver these events (a prefix of the pending ones) now.
        case deliver([HubEvent])
        /// A batch is filling: look again at this time (milliseconds since 1970).
        case wait(until: Int64)
    }

    /// How many batch timeouts a batch may fill for in throughput mode.
    public static let throughputPatience: Int64 = 5

    /// The plan for `pending`. A batch holds consecutive events whose types batch the
    /// same way as the first one; it goes when full, when its oldest event has waited
    /// the batch timeout (five in throughput mode), and at once in latency mode or for
    /// a type with batching off.
    public static func plan(
        _ pending: [HubEvent], batching: BatchingSettings, mode: AsyncProcessing.Mode, queueDepth: Int, now: Int64
    ) -> Plan {
        guard let first = pending.first else { return .idle }
        let rule = batching.rule(for: first)
        if !rule.enabled || mode == .latency { return .deliver([first]) }
        let size = rule.batchSize(queueDepth: max(queueDepth, pending.count))
        var batch: [HubEvent] = []
        for event in pending {
            guard batch.count < size, batching.rule(for: event) == rule else { break }
            batch.append(event)
        }
        // A batch cut short by a type that batches differently cannot grow: it goes now.
        let cut = batch.count < pending.count && batch.count < size
        if batch.count >= size || cut { return .deliver(batch) }
        // Throughput mode lets a batch fill for longer: five timeouts.
        let timeout = rule.timeout.milliseconds * (mode == .throughput ? Self.throughputPatience : 1)
        let due = first.timestamp + timeout
        return now >= due ? .deliver(batch) : .wait(until: due)
    }

    /// The order in which ready deliveries go when there are more than the pool runs at
    /// once. Subscriptions whose goal is `latency` go first under every scheme (§10);
    /// then `fifo` orders by first event; `strict` by the most severe event first;
    /// `weighted` by severity too, with `latency` subscriptions also counted one level up.
    public static func order(
        _ ready: [(subscription: Subscription, events: [HubEvent])], scheme: AsyncProcessing.PriorityScheme
    ) -> [(subscription: Subscription, events: [HubEvent])] {
        typealias Item = (subscription: Subscription, events: [HubEvent])
        func firstSequence(_ item: Item) -> Int64 { item.events.first?.sequence ?? .max }
        func urgent(_ item: Item) -> Int { item.subscription.optimizationGoal == .latency ? 1 : 0 }
        func weight(_ item: Item) -> Int {
            let severity = item.events.map(\.severity.rank).max() ?? 0
            switch scheme {
            case .fifo: return 0
            case .strict: return severity
            case .weighted: return severity + urgent(item)
            }
        }
        return ready.sorted { a, b in
            if urgent(a) != urgent(b) && scheme != .weighted { return urgent(a) > urgent(b) }
            if weight(a) != weight(b) { return weight(a) > weight(b) }
            return firstSequence(a) < firstSequence(b)
        }
    }
}

/// Remembers what a subscription was recently sent, to drop repeats inside the
/// dedup window (§10 `deduplication_enabled`): the same `dedup_id`, or the same type,
/// workflow, phase and data, published within the window of the one sent. The window is
/// measured between the events' own timestamps, not the times they were sent: a stream
/// resumed, a replay or a subscription starting from `all` reads hours of history in a
/// moment, and two reports published hours apart are not repeats because they are read
/// together.
public struct DeliveryDedup: Sendable {
    /// When the event that last carried a key was published, and its id (`nil` for a stream's keys).
    private struct Sent: Sendable {
        var publishedAt: Int64
        var eventID: String?
    }

    private var sent: [String: Sent] = [:]
    public let window: Int64

    public init(window: HubDuration) { self.window = window.milliseconds }

    /// The key two events share when one repeats the other.
    public static func key(_ event: HubEvent) -> String {
        key(
            eventType: event.eventType, workflowID: event.workflowID, subject: event.subject, phase: event.phase,
            data: event.data, dedupID: event.dedupID)
    }

    /// The same key from an event's fields. A dedup id names one publisher's event, on its
    /// subject in its workflow (as publishing matches it); the same id elsewhere is another.
    public static func key(
        eventType: String, workflowID: String?, subject: String, phase: Int, data: JSONValue, dedupID: String?
    ) -> String {
        if let dedupID { return "id:\(workflowID ?? "")|\(subject)|\(dedupID)" }
        return "content:\(eventType)|\(workflowID ?? "")|\(phase)|\(data.serialized(.canonical))"
    }

    /// Whether `event` repeats another event sent before it that was published within the
    /// window of it. The same event again (a retry of a failed delivery, a replay) is not a
    /// repeat of itself, so it goes out again. Records nothing: a webhook records only what
    /// its receiver took.
    public func repeats(_ event: HubEvent) -> Bool {
        guard let last = sent[Self.key(event)], within(last.publishedAt, event.timestamp) else { return false }
        return last.eventID != event.eventID
    }

    /// Remembers that `event` was sent: another event with its key published within the
    /// window of it repeats it.
    public mutating func record(_ event: HubEvent) {
        remember(Self.key(event), Sent(publishedAt: event.timestamp, eventID: event.eventID))
    }

    /// Whether an event with this ``key(_:)``, published at `publishedAt`, repeats one seen
    /// before it; records it when not. For a stream, whose events count as sent once handed over.
    public mutating func isRepeat(key: String, publishedAt: Int64) -> Bool {
        if let last = sent[key], within(last.publishedAt, publishedAt) { return true }
        remember(key, Sent(publishedAt: publishedAt, eventID: nil))
        return false
    }

    /// Publication times need not follow the sequence (processes sharing a store each read
    /// their own clock), so the distance is taken either way.
    private func within(_ a: Int64, _ b: Int64) -> Bool { abs(b - a) < window }

    private mutating func remember(_ key: String, _ entry: Sent) {
        // Keys of events published long before this one can no longer catch a repeat.
        if sent.count > 10_000 { sent = sent.filter { within($0.value.publishedAt, entry.publishedAt) } }
        sent[key] = entry
    }
}
