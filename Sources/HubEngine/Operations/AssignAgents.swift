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
            and which roles remain uncovered, and the shortfall against agent_count (or max_agents). Binding \
            replaces the workflow's previous pool; a call that would bind nobody is refused (AGENT_NOT_FOUND) and \
            leaves the pool as it was, since an empty pool lets every agent claim.
            """,
        example:
            "coordination-hub workflow_123 assign-agents '{\"agent_count\": 5, \"specializations\": [\"code\", \"test\", \"docs\"], \"performance_threshold\": 80}'",
        handler: run)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        let id = try context.requiredWorkflowID
        let poolLimit = context.hub.configuration.maxAgentPoolSize
        let (bound, _, _) = try await context.hub.mutate(context) {
            m -> (agents: [Agent], uncovered: [String], wanted: Int?) in
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
            guard !chosen.isEmpty else {
                // An empty binding is no pool at all (every agent may claim): the narrowing asked
                // for would have opened the workflow to everyone, without a word.
                let wanted = roles.isEmpty ? "" : " with one of the roles \(roles.joined(separator: ", "))"
                let bar = threshold > 0 ? " and a success rate of at least \(threshold)%" : ""
                throw HubError(
                    .agentNotFound, "No live registered agent\(wanted)\(bar) to bind; the pool was not changed",
                    context: ["specializations": .strings(roles), "performance_threshold": .double(threshold)],
                    suggestions: [
                        "Register agents for those roles (coordination-hub register-agent '{\"agent_id\": \"…\", \"specializations\": [\"…\"]}'), or name other roles"
                    ])
            }
            let uncovered = PoolBinding.uncovered(roles, by: chosen)
            try m.tx.setPool(workflowID: id, agents: chosen.map(\.agentID))
            try m.emit(
                "agents_assigned",
                data: [
                    "agents": .strings(chosen.map(\.agentID)), "uncovered_roles": .strings(uncovered),
                    "requested": .count(count),
                ])
            return (chosen, uncovered, p.agentCount ?? m.workflow.configuration.maxAgents)
        }
        // Against what was asked for, or by default the workflow's max_agents ("every match" has none).
        let shortfall = max(0, (bound.wanted ?? bound.agents.count) - bound.agents.count)
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
