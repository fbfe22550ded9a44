import HubCore

/// `assign-agents`: bind registered agents to a workflow's pool (§7).
enum AssignAgents {
    struct Parameters: OperationParameters {
        var agentCount: Int?
        var specializations: [String]?
        var performanceThreshold: Double?
        static let schema = Schema.object([
            .init(
                "agent_count",
                .integer(
                    "How many agents to bind, at most the workflow's max_agents. Defaults to max_agents, else every match.",
                    min: 1,
                    max: 10_000)),
            .init(
                "specializations",
                .array(
                    .name(maxLength: 128), "Roles wanted. Defaults to the workflow's specialized_roles.",
                    maxItems: 100)),
            .init(
                "performance_threshold",
                .number(
                    "Lowest success rate (percent) accepted; agents without a record rank after those above it.",
                    min: 0, max: 100)),
        ])
    }

    static let descriptor = OperationDescriptor(
        "assign-agents", scope: .workflow, mutating: true, parameters: Parameters.self,
        summary: "Bind matching registered agents to the workflow's pool; only pool members claim its tasks then.",
        discussion: """
            Live agents with one of the roles are ranked: success rate at or above the threshold first (best first), \
            then agents without a track record; agents below the threshold are left out. The result lists who was bound \
            and which roles remain uncovered. Binding replaces the workflow's previous pool.
            """,
        example:
            "coordination-hub workflow_123 assign-agents '{\"agent_count\": 5, \"specializations\": [\"code\", \"test\", \"docs\"], \"performance_threshold\": 80}'",
        handler: run)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        let id = try context.requiredWorkflowID
        let poolLimit = context.hub.configuration.maxAgentPoolSize
        let (bound, _, _) = try await context.hub.mutate(context) {
            m -> (agents: [Agent], uncovered: [String]) in
            guard WorkflowLifecycle(status: m.workflow.status, archived: m.workflow.archived).acceptsWork else {
                let machine = WorkflowLifecycle(status: m.workflow.status, archived: m.workflow.archived)
                throw HubError.invalidTransition(
                    operation: "assign-agents", workflowID: id, current: m.workflow.status,
                    archived: m.workflow.archived,
                    allowed: machine.allowedOperations)
            }
            let roles = p.specializations ?? m.workflow.agentRequirements.specializedRoles
            let threshold = p.performanceThreshold ?? 0
            if let asked = p.agentCount {
                try PoolBinding.refuseBeyondMaximum(asked, field: "agent_count", of: m.workflow)
            }
            let count = min(poolLimit, p.agentCount ?? m.workflow.configuration.maxAgents ?? poolLimit)
            let chosen = PoolBinding.choose(
                count: count, limit: poolLimit, roles: roles, threshold: threshold, from: try m.tx.agents())
            let uncovered = PoolBinding.uncovered(roles, by: chosen)
            try m.tx.setPool(workflowID: id, agents: chosen.map(\.agentID))
            try m.emit(
                "agents_assigned",
                data: [
                    "agents": .strings(chosen.map(\.agentID)), "uncovered_roles": .strings(uncovered),
                    "requested": .count(count),
                ])
            return (chosen, uncovered)
        }
        let shortfall = max(0, (p.agentCount ?? bound.agents.count) - bound.agents.count)
        return try await .after(
            context.hub, id,
            result: [
                "bound_agents": .array(
                    bound.agents.map { a in
                        [
                            "agent_id": .string(a.agentID), "specializations": .strings(a.specializations),
                            "success_rate": .optional(a.record.successRate),
                            "reason": .string(a.record.successRate == nil ? "no_track_record" : "above_threshold"),
                        ]
                    }),
                "uncovered_roles": .strings(bound.uncovered), "shortfall": .count(shortfall),
                // What bounds every pool, as start and accept-handoff say it: a shortfall may be its doing.
                "max_agent_pool_size": .count(poolLimit),
            ])
    }
}
