/// How a subscription's events leave the hub (§10).
public enum DeliveryMethod: String, Sendable, CaseIterable, Codable {
    /// Pushed to connected streams as they arrive.
    case realtime
    /// Grouped per `batch_size` / `batch_timeout`.
    case batch
    /// POSTed to `webhook_url`.
    case webhook
}

/// What a subscription's advice and delivery favour (§10 `optimization_goal`).
public enum OptimizationGoal: String, Sendable, CaseIterable, Codable {
    case efficiency, latency, completeness
}

/// The filters of a subscription or a query, applied after the patterns. Empty lists admit everything.
public struct EventFilter: Sendable, Equatable {
    public var severities: [Severity]
    public var workflowIDs: [String]
    public var eventTypes: [String]

    public init(severities: [Severity] = [], workflowIDs: [String] = [], eventTypes: [String] = []) {
        self.severities = severities
        self.workflowIDs = workflowIDs
        self.eventTypes = eventTypes
    }

    public var isEmpty: Bool { severities.isEmpty && workflowIDs.isEmpty && eventTypes.isEmpty }

    /// What passes either filter: each list joined, and a list that is empty (anything) in
    /// either stays empty.
    public func widened(by other: EventFilter) -> EventFilter {
        func union<T: Equatable>(_ a: [T], _ b: [T]) -> [T] {
            a.isEmpty || b.isEmpty ? [] : a + b.filter { !a.contains($0) }
        }
        return EventFilter(
            severities: union(severities, other.severities), workflowIDs: union(workflowIDs, other.workflowIDs),
            eventTypes: union(eventTypes, other.eventTypes))
    }

    public func admits(_ event: HubEvent) -> Bool {
        (severities.isEmpty || severities.contains(event.severity))
            && (workflowIDs.isEmpty || event.workflowID.map(workflowIDs.contains) == true)
            && (eventTypes.isEmpty || eventTypes.contains(event.eventType))
    }
}

/// A subscription's real counters (§10 `optimize-subscriptions`, `get-metrics`).
public struct SubscriptionCounters: Sendable, Equatable {
    /// Events matched, per pattern text.
    public var matchedByPattern: [String: Int]
    /// Events a pattern matched that the filters then refused.
    public var filtered: Int
    /// Events handed to the subscriber (a pull returned them, acknowledged or not; a stream or
    /// webhook took them), each once until a replay hands it out again.
    public var delivered: Int
    /// The sequence through which every event the subscription selects has been counted in
    /// `delivered` by a pull, so reading the same events again before acknowledging them does
    /// not count them twice.
    public var deliveredThrough: Int64
    /// Delivery attempts after a failure.
    public var retried: Int
    /// Events moved to the dead-letter list.
    public var deadLettered: Int
    /// Events acknowledged.
    public var acked: Int
    /// Events of any subject the subscription has looked at, matched or not.
    public var examined: Int
    /// The sequence through which `examined`, `matched_by_pattern` and `filtered` have counted
    /// the log: a pull read again before acknowledging, an acknowledgement after it, and a
    /// replay count each event once.
    public var examinedThrough: Int64 = 0

    public init(
        matchedByPattern: [String: Int] = [:], filtered: Int = 0, delivered: Int = 0, retried: Int = 0,
        deadLettered: Int = 0, acked: Int = 0, examined: Int = 0, deliveredThrough: Int64 = 0
    ) {
        self.matchedByPattern = matchedByPattern
        self.filtered = filtered
        self.delivered = delivered
        self.retried = retried
        self.deadLettered = deadLettered
        self.acked = acked
        self.examined = examined
        self.deliveredThrough = deliveredThrough
    }
}

/// A durable consumer of the event log (§10): patterns, filters and a cursor.
///
/// The cursor is the sequence acknowledged so far; the subscription receives
/// every matching event after it, in sequence order, until they are acknowledged.
/// A replay with an end rewinds the cursor, delivers up to `replayEnd`, then
/// returns to where the subscription was (`resumeAt`).
public struct Subscription: Sendable, Equatable {
    /// `sub_…`.
    public var id: String
    /// The subscriber's name; unique.
    public var callback: String
    /// Pattern texts, each valid as a ``SubjectPattern``.
    public var patterns: [String]
    public var filter: EventFilter
    public var delivery: DeliveryMethod
    public var webhookURL: String?
    /// The HMAC key for `X-Hub-Signature-256`.
    public var secret: String?
    public var retryPolicy: RetryPolicy
    /// Acknowledged through this sequence.
    public var cursor: Int64
    public var replayEnd: Int64?
    public var resumeAt: Int64?
    /// A replay narrowed to one workflow (§17): up to ``ReplayNarrowing/through``, events of
    /// other workflows are not handed out again.
    public var replayNarrowing: ReplayNarrowing?
    public var smartFiltering: Bool
    /// Keep the safe advice applied (repeated and covered patterns dropped) when the patterns change.
    public var adaptiveFiltering: Bool
    public var optimizationGoal: OptimizationGoal
    public var createdAt: Int64
    public var counters: SubscriptionCounters

    public init(
        id: String, callback: String, patterns: [String], filter: EventFilter = .init(),
        delivery: DeliveryMethod = .realtime, webhookURL: String? = nil, secret: String? = nil,
        retryPolicy: RetryPolicy = .standard, cursor: Int64 = 0, replayEnd: Int64? = nil, resumeAt: Int64? = nil,
        replayNarrowing: ReplayNarrowing? = nil,
        smartFiltering: Bool = false, adaptiveFiltering: Bool = false, optimizationGoal: OptimizationGoal = .efficiency,
        createdAt: Int64,
        counters: SubscriptionCounters = .init()
    ) {
        self.id = id
        self.callback = callback
        self.patterns = patterns
        self.filter = filter
        self.delivery = delivery
        self.webhookURL = webhookURL
        self.secret = secret
        self.retryPolicy = retryPolicy
        self.cursor = cursor
        self.replayEnd = replayEnd
        self.resumeAt = resumeAt
        self.replayNarrowing = replayNarrowing
        self.smartFiltering = smartFiltering
        self.adaptiveFiltering = adaptiveFiltering
        self.optimizationGoal = optimizationGoal
        self.createdAt = createdAt
        self.counters = counters
    }

    /// The compiled patterns (texts were validated when the subscription was made).
    public var compiledPatterns: [SubjectPattern] { patterns.compactMap { try? SubjectPattern($0) } }

    /// Whether one of the compiled patterns matches the event's subject and the filters admit it.
    public func selects(_ event: HubEvent, compiled: [SubjectPattern]) -> Bool {
        compiled.contains { $0.matches(event.subject) } && filter.admits(event)
    }

    /// Whether a narrowed replay hands out `event` (every event when the replay is not narrowed).
    public func replayAdmits(_ event: HubEvent) -> Bool {
        guard let narrowing = replayNarrowing, event.sequence <= narrowing.through else { return true }
        return event.workflowID == narrowing.workflowID
    }

    /// How far the subscription has come: its cursor, or where a replay under way returns to.
    public var position: Int64 { max(cursor, resumeAt ?? 0) }

    /// Whether a range starting at `first` lies wholly after the ``position``: nothing in it
    /// has been handed out yet, so there is nothing to deliver again.
    public func isAhead(of first: Int64) -> Bool { first - 1 >= position }

    /// The highest sequence this subscription should read up to now, or `nil` for no bound.
    public var upperBound: Int64? { replayEnd }

    /// Moves the cursor forward to `sequence` (never back), ending a replay that reached its end.
    public mutating func acknowledge(through sequence: Int64) {
        cursor = max(cursor, sequence)
        if let narrowing = replayNarrowing, cursor >= narrowing.through { replayNarrowing = nil }
        if let end = replayEnd, cursor >= end {
            cursor = max(cursor, resumeAt ?? cursor)
            replayEnd = nil
            resumeAt = nil
        }
    }

    /// Rewinds to redeliver events from `first` (inclusive) through `last` (inclusive; to
    /// the present when `nil`). With an end, the subscription afterwards returns to where it was.
    ///
    /// An empty range (`last` below `first`: a time window that holds no event) changes
    /// nothing: there is nothing to deliver again, and rewinding to just before `first` would
    /// hand out again every event after the window. The cursor stays where it was (a replay
    /// still under way carries on), so pending events are neither skipped nor repeated.
    ///
    /// So does a range that starts past the subscription's ``position``: its events are still
    /// to come, and moving the cursor up to it skipped the unacknowledged events before it.
    public mutating func replay(from first: Int64, through last: Int64?, workflowID: String? = nil) {
        if let last, last < first { return }
        guard !isAhead(of: first) else { return }
        let position = self.position
        cursor = max(0, first - 1)
        // Narrowed, the replay leaves out other workflows' events it would hand out again; what
        // follows the old position is new to the subscription and comes as it would have.
        let again = min(last ?? position, position)
        replayNarrowing = workflowID.flatMap { again > cursor ? ReplayNarrowing(workflowID: $0, through: again) : nil }
        // Replayed events are handed out again, so they count as delivered again.
        counters.deliveredThrough = min(counters.deliveredThrough, cursor)
        if let last, last < position {
            replayEnd = last
            resumeAt = position
        } else {
            replayEnd = nil
            resumeAt = nil
        }
    }

    /// Counts as delivered the `handed` events of a pull that were not counted before. `wanted`
    /// is every event the subscription selects that the pull looked at, in sequence order
    /// (`handed` itself unless the pull was narrowed by extra filters): counting stops at the
    /// first wanted event the pull left out, which a later pull will count when it hands it out.
    /// A pull that looked at the log through `lookedThrough` and handed out every wanted event
    /// has counted everything the subscription selects through there: a pull that goes on from
    /// there (a follow without ack) counts on.
    public mutating func countDelivered(_ handed: [HubEvent], wanted: [HubEvent], lookedThrough: Int64? = nil) {
        let handedSequences = Set(handed.map(\.sequence))
        for event in wanted where event.sequence > counters.deliveredThrough {
            guard handedSequences.contains(event.sequence) else { return }
            counters.delivered += 1
            counters.deliveredThrough = event.sequence
        }
        if let lookedThrough { counters.deliveredThrough = max(counters.deliveredThrough, lookedThrough) }
    }

    /// Counts one examined event: which patterns matched it and whether the filters refused it.
    public mutating func count(_ event: HubEvent, compiled: [SubjectPattern]) {
        counters.examined += 1
        countMatches(event, compiled: compiled)
    }

    /// Counts which patterns matched an event (each pattern text once) and whether the filters refused it.
    public mutating func countMatches(_ event: HubEvent, compiled: [SubjectPattern]) {
        var matched: Set<String> = []
        for pattern in compiled where !matched.contains(pattern.text) && pattern.matches(event.subject) {
            counters.matchedByPattern[pattern.text, default: 0] += 1
            matched.insert(pattern.text)
        }
        if !matched.isEmpty && !filter.admits(event) { counters.filtered += 1 }
    }
}

/// An event a subscription could not deliver within its retry policy.
public struct DeadLetter: Sendable, Equatable {
    public var subscriptionID: String
    public var sequence: Int64
    public var eventID: String
    public var attempts: Int
    public var lastError: String
    /// When it was dead-lettered (milliseconds since 1970).
    public var at: Int64

    public init(subscriptionID: String, sequence: Int64, eventID: String, attempts: Int, lastError: String, at: Int64) {
        self.subscriptionID = subscriptionID
        self.sequence = sequence
        self.eventID = eventID
        self.attempts = attempts
        self.lastError = lastError
        self.at = at
    }
}

/// One workflow's events alone, up to `through`, in a replay (§17: a workflow id narrows
/// `replay-events`).
public struct ReplayNarrowing: Sendable, Equatable {
    public var workflowID: String
    public var through: Int64

    public init(workflowID: String, through: Int64) {
        self.workflowID = workflowID
        self.through = through
    }

    public var json: JSONValue { ["workflow_id": .string(workflowID), "through_sequence": .int(through)] }

    public init?(json: JSONValue?) {
        guard let id = json?["workflow_id"]?.stringValue, let through = json?["through_sequence"]?.intValue else {
            return nil
        }
        self.init(workflowID: id, through: through)
    }
}
