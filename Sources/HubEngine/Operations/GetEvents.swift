import HubCore
import HubStore

/// `get-events`: read the event log (§9; the full event system extends it).
enum GetEvents {
    struct Parameters: OperationParameters {
        var afterSequence: Int64?
        var eventTypes: [String]?
        var limit: Int?
        var order: String?
        static let schema = Schema.object([
            .init("after_sequence", .integer("Only events with a higher sequence.", min: 0)),
            .init("event_types", .array(.string(maxLength: 128), "Only these event types.", maxItems: 100)),
            .init("limit", .integer("Defaults to 100.", min: 1, max: 10_000)),
            .init("order", .oneOf(["asc", "desc"], "asc (default) or desc; desc with limit returns the newest.")),
        ])
    }

    static let descriptor = OperationDescriptor(
        "get-events", scope: .hub, mutating: false, parameters: Parameters.self,
        summary: "Read events from the log in sequence order; with a workflow id, that workflow's only.",
        example:
            "coordination-hub workflow_123 get-events '{\"after_sequence\": 0, \"event_types\": [\"phase_completed\"], \"limit\": 50}'",
        handler: run)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        let query = EventQuery(
            afterSequence: p.afterSequence, eventTypes: p.eventTypes ?? [], workflowID: context.workflowID,
            limit: p.limit ?? 100, descending: p.order == "desc")
        let events = try await context.store.read { tx in try tx.events(query) }
        var steps: [String] = []
        if let last = events.map(\.sequence).max(), events.count == query.limit {
            steps.append("More events: pass after_sequence \(last)")
        }
        return OperationOutcome(
            result: [
                "events": .array(events.map(\.json)), "count": .count(events.count),
                "last_sequence": .optional(events.map(\.sequence).max()),
            ],
            nextSteps: steps)
    }
}
