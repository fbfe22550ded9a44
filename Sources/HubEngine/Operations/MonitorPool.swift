import HubCore

/// `monitor-pool`: the agent pool in the seed's Agent Performance Tracking shape (§7).
enum MonitorPool {
    static let descriptor = OperationDescriptor(
        "monitor-pool", scope: .hub, mutating: false, parameters: NoParameters.self,
        summary:
            "Show the agent pool: availability, load and each agent's track record (real figures; null before any).",
        example: "coordination-hub monitor-pool",
        handler: run)

    static func run(_ context: OperationContext, _ p: NoParameters) async throws -> OperationOutcome {
        let (agents, running) = try await context.hub.dispatch { scope in
            let agents = try scope.tx.agents()
            return (agents, try AgentView.runningLeases(of: agents, in: scope.tx))
        }
        // With performance monitoring off the records are shown but no agent is judged (§14).
        let judged = context.hub.configuration.performanceMonitoring
        var metrics: JSONValue = .emptyObject
        for a in agents {
            metrics[a.agentID] = AgentView.json(a, running: running[a.agentID] ?? [], now: context.now, judged: judged)
        }
        let degraded = judged ? agents.filter { $0.record.isDegraded }.map(\.agentID) : []
        var steps: [String] = []
        if agents.isEmpty { steps.append("Register agents with register-agent, or run 'coordination-hub agent'") }
        for id in degraded {
            steps.append(
                "Agent \(id) is degraded: it is offered tasks only when no healthy agent of its role has capacity")
        }
        for a in agents where a.status == .unresponsive {
            steps.append("Agent \(a.agentID) is unresponsive: restart it or deregister it")
        }
        return OperationOutcome(
            result: [
                "agent_pool": [
                    "total_agents": .count(agents.count),
                    "available_agents": .count(agents.filter { $0.status == .available }.count),
                    "busy_agents": .count(agents.filter { $0.status == .busy }.count),
                    "unresponsive_agents": .count(agents.filter { $0.status == .unresponsive }.count),
                    "offline_agents": .count(agents.filter { $0.status == .offline }.count),
                    "active_assignments": .count(agents.reduce(0) { $0 + $1.currentLoad }),
                    "degraded_agents": judged ? .strings(degraded) : .null,
                    "performance_monitoring": .bool(judged),
                    "performance_metrics": metrics,
                    // What silence is judged by: an agent heartbeats more often than this.
                    "heartbeat_interval": .string(context.hub.configuration.heartbeatInterval.description),
                ]
            ],
            nextSteps: steps)
    }
}
