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

        static let severities = Severity.allCases.map(\.rawValue)
        static let schema = Schema.object([
            .init("after_sequence", .integer("Only events with a higher sequence.", min: 0)),
            .init("since", .dateTime("Only events at or after this time.")),
            .init("until", .dateTime("Only events at or before this time.")),
            .init(
                "patterns",
                .array(
                    .string(maxLength: SubjectPattern.maximumLength),
                    "Subject patterns: '*' one segment, '#' zero or more; without '#' a pattern matches the end of the subject (e.g. '*.failed').",
                    maxItems: 100)),
            .init("event_types", .array(.string(maxLength: 128), "Only these event types.", maxItems: 100)),
            .init(
                "severity",
                .anyOf([.oneOf(severities), .array(.oneOf(severities), maxItems: 4)], "Only this severity (or these).")),
            .init("min_severity", .oneOf(severities, "Only this severity and above.")),
            .init("limit", .integer("Defaults to 100.", min: 1, max: 10_000)),
            .init("order", .oneOf(["asc", "desc"], "asc (default) or desc; desc with limit returns the newest.")),
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
        discussion: "With a workflow id, only that workflow's events. Ranges are inclusive of their bounds.",
        example: """
            coordination-hub workflow_123 get-events '{"patterns": ["*.task_completed", "*.failed"], "min_severity": "info", "after_sequence": 0, "limit": 50}'
            """,
        handler: run)

    /// Rows read per page while filtering by pattern.
    static let pageSize = 1000

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        var patterns = SubjectTrie<Int>()
        for (n, text) in (p.patterns ?? []).enumerated() {
            patterns.insert(try SubjectPattern(text, field: "patterns[\(n)]"), n)
        }
        var severities = (p.severity?.values ?? []).compactMap(Severity.init(rawValue:))
        if let min = p.minSeverity {
            let atLeast = Severity.allCases.filter { $0 >= min }
            severities = severities.isEmpty ? atLeast : severities.filter { $0 >= min }
        }
        let since = p.since.flatMap(Timestamp.parseMilliseconds)
        let until = p.until.flatMap(Timestamp.parseMilliseconds)
        if let since, let until, since > until { throw HubError.parameter("until", "is before since") }
        let limit = p.limit ?? 100
        let descending = p.order == "desc"
        let emptySeverityFilter = p.minSeverity != nil && severities.isEmpty
        var query = EventQuery(
            afterSequence: p.afterSequence, eventTypes: p.eventTypes ?? [], workflowID: context.workflowID,
            limit: patterns.count == 0 ? limit : pageSize, descending: descending, since: since, until: until,
            severities: severities)
        var events: [HubEvent] = []
        while !emptySeverityFilter && events.count < limit {
            let page = try await context.store.read { [query] tx in try tx.events(query) }
            events += patterns.count == 0 ? page : page.filter { !patterns.match($0.subject).isEmpty }
            guard page.count == query.limit, let last = page.last else { break }
            if descending { query.beforeSequence = last.sequence } else { query.afterSequence = last.sequence }
        }
        if events.count > limit { events.removeLast(events.count - limit) }
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
}
