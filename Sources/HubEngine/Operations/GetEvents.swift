import HubCore
import HubStore

/// `get-events`: read the event log with filters (§9, §10).
enum GetEvents {
    struct Parameters: OperationParameters {
        var afterSequence: Int64?
        var since: String?
        var until: String?
        var patterns: [String]?
        var eventTypes: [String]?
        var severity: OneOrMany?
        var minSeverity: Severity?
        var limit: Int?
        var order: String?
        var subscription: String?
        var ack: Bool?
        var deadLetters: Bool?
        var eventId: String?
        var chain: Bool?
        var follow: Bool?

        static let severities = Severity.allCases.map(\.rawValue)
        static let schema = Schema.object([
            .init(
                "after_sequence",
                .integer(
                    "Only events with a higher sequence. With subscription (not with ack): its pending events after this sequence, a view that leaves the cursor where it is.",
                    min: 0)),
            .init("since", .dateTime("Only events at or after this time.")),
            .init("until", .dateTime("Only events at or before this time.")),
            .init(
                "patterns",
                .array(
                    .string(maxLength: SubjectPattern.maximumLength),
                    "Subject patterns: '*' one segment, '#' zero or more; without '#' a pattern matches the end of the subject (e.g. '*.failed').",
                    minItems: 1, maxItems: 100)),
            .init(
                "event_types", .array(.string(maxLength: 128), "Only these event types.", minItems: 1, maxItems: 100)),
            .init(
                "severity",
                .anyOf(
                    [.oneOf(severities), .array(.oneOf(severities), minItems: 1, maxItems: 4)],
                    "Only this severity (or these).")),
            .init("min_severity", .oneOf(severities, "Only this severity and above.")),
            .init(
                "limit",
                .integer(
                    "Defaults to 100. With follow, the most events one read hands over: a follow goes on until interrupted.",
                    min: 1, max: 10_000)),
            .init("order", .oneOf(["asc", "desc"], "asc (default) or desc; desc with limit returns the newest.")),
            .init(
                "subscription",
                .string(
                    "The events after this subscription's cursor (its id or callback name); the same events come again until acknowledged.",
                    maxLength: 128)),
            .init("ack", .boolean("With subscription: acknowledge the events this call returns.")),
            .init("dead_letters", .boolean("With subscription: list its dead-lettered events instead.")),
            .init("event_id", .string("Only this event.", maxLength: 128)),
            .init(
                "chain",
                .boolean("With event_id: also the events that caused it (caused_by) and those it caused (causes).")),
            .init(
                "follow",
                .boolean(
                    "On the command line: keep printing new events as JSON lines until interrupted. Without after_sequence, since or subscription it starts after the newest event when it begins (new events only); after_sequence 0 prints the whole log first. With subscription and ack it prints what the subscription delivers, acknowledging each read (a replay's events come again); without ack it prints each pending and new event once and leaves the cursor alone."
                )),
        ])
    }

    /// A string or a list of strings.
    struct OneOrMany: Decodable, Sendable {
        var values: [String]
        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let one = try? c.decode(String.self) { values = [one] } else { values = try c.decode([String].self) }
        }
    }

    static let descriptor = OperationDescriptor(
        "get-events", scope: .hub, mutating: false, parameters: Parameters.self,
        summary: "Read events from the log in sequence order, filtered by subject pattern, type, severity and time.",
        discussion: """
            With a workflow id, only that workflow's events. Ranges are inclusive of their bounds. With follow \
            (command line; GET /v1/events/stream on the server) the events are printed as they come; a follow that \
            names no starting point (after_sequence, since, subscription; Last-Event-ID on the stream) begins after \
            the newest event at its start, fixed before it reports that it is on (the stream: before its headers), \
            so an event published after that is never missed. after_sequence 0 gives the whole history first. \
            A follow of a subscription with ack prints every event the subscription delivers, acknowledging each \
            read, so a replay-events during it prints the replayed events again; without ack the cursor stays \
            where it is and the follow reads on after what it printed (after_sequence, which with a subscription \
            and no ack reads its pending events past that sequence), printing each pending and new event once.
            """,
        example: """
            coordination-hub workflow_123 get-events '{"patterns": ["*.task_completed", "*.failed"], "min_severity": "info", "after_sequence": 0, "limit": 50}'
            """,
        workflowID:
            "Only this workflow's events (with subscription: only its pending events, a view that cannot be acknowledged; with event_id: only an event of this workflow).",
        handler: run)

    /// A follow reads new events in ascending order until interrupted: a descending read, one
    /// event, the dead letters or an `until` cannot be followed.
    static func refuseWhatCannotBeFollowed(_ p: Parameters) throws(HubError) {
        if p.follow == true && (p.order == "desc" || p.eventId != nil || p.deadLetters == true) {
            throw HubError.parameter(
                "follow", "reads new events in ascending order: drop order desc, event_id and dead_letters")
        }
        if p.follow == true && p.until != nil {
            // A follow ends when it is interrupted: past `until` it would wait for ever, printing nothing.
            throw HubError.parameter(
                "until", "cannot end a follow, which runs until interrupted",
                suggestions: ["Leave until out to follow, or read the range without follow"])
        }
    }

    /// Rows read per page while filtering by pattern.
    static let pageSize = 1000

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        try refuseWhatCannotBeFollowed(p)
        if let eventID = p.eventId {
            // One event, named: a filter beside it was ignored, a subscription not even looked up.
            if let refusal = HubError.refusing(
                [
                    "after_sequence": p.afterSequence != nil, "since": p.since != nil, "until": p.until != nil,
                    "patterns": p.patterns != nil, "event_types": p.eventTypes != nil, "severity": p.severity != nil,
                    "min_severity": p.minSeverity != nil, "limit": p.limit != nil, "order": p.order != nil,
                    "subscription": p.subscription != nil, "ack": p.ack != nil, "dead_letters": p.deadLetters != nil,
                ], beside: "event_id, which reads that one event (with chain, its causes and effects)",
                suggestion: "Give event_id alone, or leave it out to filter the log")
            {
                throw refusal
            }
            return try await one(eventID, chain: p.chain ?? false, context: context)
        }
        if p.chain != nil { throw HubError.parameter("chain", "needs event_id") }
        if let name = p.subscription { return try await forSubscription(name, p, context: context) }
        if p.ack != nil || p.deadLetters != nil {
            throw HubError.parameter(p.ack != nil ? "ack" : "dead_letters", "needs subscription")
        }
        let (filter, limit, descending) = try selection(p)
        let events = try await read(
            filter, after: p.afterSequence, limit: limit, descending: descending, context: context)
        var steps: [String] = []
        if let last = events.last, events.count == limit, !descending {
            steps.append("More events: pass after_sequence \(last.sequence)")
        }
        return OperationOutcome(
            result: [
                "events": .array(events.map(\.json)), "count": .count(events.count),
                "last_sequence": .optional(events.map(\.sequence).max()),
            ],
            nextSteps: steps)
    }

    /// The call's own selection: patterns, types, severities and times.
    struct Selection {
        var patterns = SubjectTrie<Int>()
        var eventTypes: [String] = []
        var severities: [Severity] = []
        var since: Int64?
        var until: Int64?
        /// A min_severity that no listed severity reaches: nothing can match.
        var empty = false

        func admits(_ event: HubEvent) -> Bool {
            !empty && (patterns.count == 0 || !patterns.match(event.subject).isEmpty)
                && (eventTypes.isEmpty || eventTypes.contains(event.eventType))
                && (severities.isEmpty || severities.contains(event.severity))
                && (since.map { event.timestamp >= $0 } ?? true) && (until.map { event.timestamp <= $0 } ?? true)
        }

        var isEmpty: Bool {
            patterns.count == 0 && eventTypes.isEmpty && severities.isEmpty && since == nil && until == nil && !empty
        }
    }

    static func selection(_ p: Parameters) throws(HubError) -> (Selection, limit: Int, descending: Bool) {
        var selection = Selection()
        for (n, text) in (p.patterns ?? []).enumerated() {
            selection.patterns.insert(try SubjectPattern(text, field: "patterns[\(n)]"), n)
        }
        var severities = (p.severity?.values ?? []).compactMap(Severity.init(rawValue:))
        if let min = p.minSeverity {
            let atLeast = Severity.allCases.filter { $0 >= min }
            severities = severities.isEmpty ? atLeast : severities.filter { $0 >= min }
            selection.empty = severities.isEmpty
        }
        selection.severities = severities
        selection.eventTypes = p.eventTypes ?? []
        try PublishEvent.checkEventTypes(selection.eventTypes, field: "event_types")
        selection.since = p.since.flatMap(Timestamp.parseMilliseconds)
        selection.until = p.until.flatMap(Timestamp.parseMilliseconds)
        if let since = selection.since, let until = selection.until, since > until {
            throw HubError.parameter("until", "is before since")
        }
        return (selection, p.limit ?? 100, p.order == "desc")
    }

    /// Reads the log through `selection`: the store filters what it can by index, patterns are matched here.
    static func read(
        _ selection: Selection, after: Int64?, limit: Int, descending: Bool, context: OperationContext
    ) async throws -> [HubEvent] {
        let patterns = selection.patterns
        var query = EventQuery(
            afterSequence: after, eventTypes: selection.eventTypes, workflowID: context.workflowID,
            limit: patterns.count == 0 ? limit : pageSize, descending: descending, since: selection.since,
            until: selection.until, severities: selection.severities)
        var events: [HubEvent] = []
        while !selection.empty && events.count < limit {
            let page = try await context.store.read { [query] tx in try tx.events(query) }
            events += patterns.count == 0 ? page : page.filter { !patterns.match($0.subject).isEmpty }
            guard page.count == query.limit, let last = page.last else { break }
            if descending { query.beforeSequence = last.sequence } else { query.afterSequence = last.sequence }
        }
        if events.count > limit { events.removeLast(events.count - limit) }
        return events
    }
}

extension Hub {
    /// Refuses a `get-events` follow as the hub does before it follows (its parameters' schema,
    /// then what cannot be followed), for a client that follows a server's event stream and
    /// should answer bad parameters as a local follow does.
    public static func refuseUnfollowable(_ request: OperationRequest, table: OperationTable) throws(HubError) {
        try table["get-events"]?.schema.validate(request.parameters)
        try GetEvents.refuseWhatCannotBeFollowed(try GetEvents.Parameters.decode(request.parameters))
    }
}
