import HubCore

/// `pause`: `running` → `paused`; no new task is handed out (§5).
enum PauseWorkflow {
    struct Parameters: OperationParameters {
        var reason: String?
        static let schema = Schema.object([.init("reason", .string("Why, for the event log.", maxLength: 10_000))])
    }

    static let descriptor = OperationDescriptor(
        "pause", scope: .workflow, mutating: true, parameters: Parameters.self,
        summary: "Pause a running workflow: no new task is handed out; running tasks may finish.",
        discussion: """
            Paused time does not count against the workflow's timeout. A running task that finishes is \
            recorded and may close its phase; the next phase starts, or the workflow completes, at resume.
            """,
        example: "coordination-hub workflow_123 pause '{\"reason\": \"waiting for review\"}'",
        handler: run)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        let id = try context.requiredWorkflowID
        _ = try await context.hub.mutate(context) { m in
            _ = try m.lifecycle(.pause)
            m.workflow.enter(.paused, now: m.now)
            try m.emit("paused", data: ["reason": .optional(p.reason)])
        }
        return try await .after(context.hub, id, result: [:])
    }
}
