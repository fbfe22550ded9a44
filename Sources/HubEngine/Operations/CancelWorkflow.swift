import HubCore

/// `cancel`: any unfinished workflow → `cancelled`, a terminal status (§5).
enum CancelWorkflow {
    struct Parameters: OperationParameters {
        var reason: String?
        static let schema = Schema.object([.init("reason", .string("Why, for the event log.", maxLength: 10_000))])
    }

    static let descriptor = OperationDescriptor(
        "cancel", scope: .workflow, mutating: true, parameters: Parameters.self,
        summary: "Cancel a workflow: its open tasks are cancelled and nothing more runs.",
        discussion: "Allowed from created, running, paused and failed. cancelled is terminal; cleanup archives it.",
        example: "coordination-hub workflow_123 cancel '{\"reason\": \"superseded\"}'",
        handler: run)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        let id = try context.requiredWorkflowID
        let (cancelled, _, _) = try await context.hub.mutate(context) { m -> [String] in
            _ = try m.lifecycle(.cancel)
            m.workflow.enter(.cancelled, now: m.now)
            try m.emit("cancelled", severity: .warning, data: ["reason": .optional(p.reason)])
            // Every open task is cancelled: running ones by the end of their leases, the rest here.
            let open = try m.tx.tasks(of: id).filter { !$0.status.isSettled }.map(\.taskID)
            try m.revokeLeases(reason: "workflow cancelled")
            _ = try m.releaseAllocations(reason: "workflow cancelled")
            for var task in try m.tx.tasks(of: id) where !task.status.isSettled {
                task.status = .cancelled
                try m.tx.update(task)
            }
            for var phase in try m.tx.phases(of: id) where phase.status == .running || phase.status == .pending {
                phase.status = .skipped
                phase.completedAt = m.now
                try m.tx.update(phase)
            }
            return open
        }
        return try await .after(context.hub, id, result: ["tasks_cancelled": .strings(cancelled)])
    }
}
