import HubCore

/// `fail`: `running` or `paused` → `failed` (§5).
enum FailWorkflow {
    struct Parameters: OperationParameters {
        var reason: String?
        static let schema = Schema.object([.init("reason", .string("Why the workflow failed.", maxLength: 10_000))])
    }

    static let descriptor = OperationDescriptor(
        "fail", scope: .workflow, mutating: true, parameters: Parameters.self,
        summary: "Mark a running or paused workflow failed.",
        discussion: "A failed workflow can be resumed (resume) or given up (cancel, then cleanup).",
        example: "coordination-hub workflow_123 fail '{\"reason\": \"requirements changed\"}'",
        handler: run)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        let id = try context.requiredWorkflowID
        let reason = p.reason ?? "failed by request"
        _ = try await context.hub.mutate(context) { m in
            _ = try m.lifecycle(.fail)
            m.workflow.enter(.failed, now: m.now)
            m.workflow.failureReason = reason
            try m.emit("failed", severity: .error, data: ["reason": .string(reason)])
            try m.revokeLeases(reason: "workflow failed")
            _ = try m.releaseAllocations(reason: "workflow failed")
        }
        return try await .after(context.hub, id, result: ["reason": .string(reason)])
    }
}
