import HubCore
import HubStore

/// `list-workflows`: workflows, newest first (§6).
enum ListWorkflows {
    struct Parameters: OperationParameters {
        var status: StatusFilter?
        var includeArchived: Bool?
        var limit: Int?
        var offset: Int?
        var after: String?
        static let statuses = WorkflowStatus.allCases.map(\.rawValue)
        static let schema = Schema.object([
            .init(
                "status",
                .anyOf(
                    [.oneOf(statuses), .array(.oneOf(statuses), maxItems: 6)],
                    "Only workflows in this status (or these).")),
            .init("include_archived", .boolean("Include archived workflows. Defaults to false.")),
            .init("limit", .integer("Defaults to 100.", min: 1, max: 10_000)),
            .init("offset", .integer("Defaults to 0.", min: 0)),
            .init(
                "after",
                .string(
                    "Start after this workflow (the last id of the page before): paging by it repeats and skips nothing while workflows are created, where offset shifts.",
                    maxLength: 128)),
        ])
    }

    struct StatusFilter: Decodable, Sendable {
        var statuses: [WorkflowStatus]
        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let one = try? c.decode(WorkflowStatus.self) {
                statuses = [one]
            } else {
                statuses = try c.decode([WorkflowStatus].self)
            }
        }
    }

    static let descriptor = OperationDescriptor(
        "list-workflows", scope: .hub, mutating: false, parameters: Parameters.self,
        summary: "List workflows, newest first, with a status filter and paging.",
        example: "coordination-hub list-workflows '{\"status\": \"running\", \"limit\": 20}'",
        handler: run)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        let query = WorkflowQuery(
            statuses: p.status?.statuses ?? [], includeArchived: p.includeArchived ?? false, limit: p.limit ?? 100,
            offset: p.offset ?? 0)
        let (workflows, total, remaining) = try await context.store.read { [query] tx in
            var query = query
            if let after = p.after {
                guard let named = try tx.workflow(after) else {
                    throw HubError.parameter("after", "names no workflow (\(after.prefix(128)))")
                }
                query.after = WorkflowCursor(named)
            }
            // One row past the page tells whether more follow.
            query.limit += 1
            let (rows, total) = try tx.workflows(query)
            return (Array(rows.prefix(query.limit - 1)), total, rows.count == query.limit)
        }
        let items: [JSONValue] = workflows.map { w in
            [
                "id": .string(w.id), "name": .string(w.name), "status": .string(w.status.rawValue),
                "archived": .bool(w.archived), "priority": .string(w.priority.rawValue),
                "current_phase": .count(w.currentPhase), "total_phases": .count(w.totalPhases),
                "created_at": .string(Timestamp.format(milliseconds: w.createdAt)),
                "updated_at": .string(Timestamp.format(milliseconds: w.updatedAt)),
                "state_version": .int(w.stateVersion),
            ]
        }
        var steps: [String] = []
        let next = remaining ? workflows.last?.id : nil
        if let next { steps.append("More workflows: pass \"after\": \"\(next)\"") }
        if let first = workflows.first { steps.append("Read one with 'coordination-hub \(first.id) get-status'") }
        if total == 0 {
            steps.append("Create a workflow: coordination-hub <workflow-id> create '{\"phases\": [\"setup\"]}'")
        }
        return OperationOutcome(
            result: [
                "workflows": .array(items), "total": .count(total), "limit": .count(query.limit),
                "offset": .count(query.offset), "next_after": .optional(next),
            ],
            nextSteps: steps)
    }
}
