import HubCore

/// Which registered agents a workflow's pool binds: `assign-agents`, and `start`'s
/// `agent_pool_size` and `accept-handoff`'s agent preferences, which bind "as `assign-agents`
/// would" (§7, §12, §17).
enum PoolBinding {
    /// Up to `count` live agents having one of `roles` (any agent when there are none) and a
    /// success rate of at least `threshold`, best track record first, agents without one after
    /// those with one, then by id; but first the best of each wanted role not yet covered, so
    /// that a role is left uncovered only when no such agent could be bound. Agents lacking
    /// every wanted role are never bound: a pool
    /// member takes the workflow's tasks and keeps everyone else from them.
    /// At most `limit` agents (the hub's `max_agent_pool_size`, §14), however many are asked for.
    static func choose(count: Int, limit: Int, roles: [String], threshold: Double = 0, from agents: [Agent]) -> [Agent]
    {
        let candidates = agents.filter { a in
            a.takesWork
                && (roles.isEmpty || a.specializations.contains(where: roles.contains))
                && (a.record.successRate.map { $0 >= threshold } ?? true)
        }
        let ranked = candidates.sorted { a, b in
            switch (a.record.successRate, b.record.successRate) {
            case (let x?, let y?) where x != y: return x > y
            case (.some, nil): return true
            case (nil, .some): return false
            default: return a.agentID < b.agentID
            }
        }
        let size = max(0, min(count, limit))
        // Each wanted role first, by the best-ranked agent having it: a pool without one of its
        // roles' agents never runs that role's tasks, and keeps the agents outside it from them.
        var bound: Set<String> = []
        for role in roles where bound.count < size {
            guard !ranked.contains(where: { bound.contains($0.agentID) && $0.specializations.contains(role) }),
                let agent = ranked.first(where: { !bound.contains($0.agentID) && $0.specializations.contains(role) })
            else { continue }
            bound.insert(agent.agentID)
        }
        for agent in ranked where bound.count < size { bound.insert(agent.agentID) }
        return ranked.filter { bound.contains($0.agentID) }
    }

    /// Refuses a request for more agents than the workflow's `max_agents` (§4) with
    /// `INVALID_PARAMETERS` naming `field`: the pool would outgrow what the workflow says it takes.
    static func refuseBeyondMaximum(_ count: Int, field: String, of workflow: Workflow) throws {
        guard let maximum = workflow.configuration.maxAgents, count > maximum else { return }
        throw HubError(
            .invalidParameters,
            "parameter '\(field)' asks for \(count) agents, more than workflow \(workflow.id)'s max_agents (\(maximum))",
            details: "Ask for at most \(maximum), or create the workflow with a larger agent_requirements.max_agents.",
            context: ["field": .string(field), "max_agents": .count(maximum)])
    }

    /// The wanted roles no chosen agent has.
    static func uncovered(_ roles: [String], by chosen: [Agent]) -> [String] {
        let covered = Set(chosen.flatMap(\.specializations))
        return roles.filter { !covered.contains($0) }
    }
}
