import HubCore

/// `deregister-agent`: the agent leaves the pool; its work goes back to the queue (§7, §17).
enum DeregisterAgent {
    struct Parameters: OperationParameters {
        var agentId: String
        static let schema = Schema.object([.init("agent_id", .id("The agent to remove."), required: true)])
    }

    static let descriptor = OperationDescriptor(
        "deregister-agent", scope: .hub, mutating: false, parameters: Parameters.self,
        summary:
            "Remove an agent: its leases are revoked without counting an attempt, its tokens are revoked, and it leaves monitor-pool. A workflow's pool it is the last member of keeps it (an empty pool would let every agent claim); the answer names those workflows. An agent not registered whose tokens exist only has them revoked.",
        example: "coordination-hub deregister-agent '{\"agent_id\": \"agent_001\"}'",
        withoutVersion:
            "deregister-agent acts on one agent and its leases, not on a workflow's state",
        handler: run)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        let (requeued, tokens, kept) = try await context.hub.dispatch { scope -> ([String], Int, [String]) in
            do {
                _ = try scope.agent(p.agentId)
            } catch let notFound as HubError where notFound.code == .agentNotFound {
                // Tokens issued to an agent that never registered (or left) were out of reach:
                // this is the one way to revoke them. With none, it is not found.
                let tokens = try scope.tx.removeTokens(agentID: p.agentId)
                guard tokens > 0 else { throw notFound }
                return ([], tokens, [])
            }
            let leases = try scope.tx.activeLeases(agentID: p.agentId)
            let event = try scope.emitAgent("deregistered", p.agentId, data: ["leases_revoked": .count(leases.count)])
            for lease in leases {
                try scope.requeue(
                    lease: lease, ending: .revoked, countAttempt: false, reason: "agent deregistered",
                    cause: event.eventID)
            }
            // §8: allocations of an agent that leaves are released (they outlived it).
            try scope.releaseAllocations(agentID: p.agentId, reason: "agent \(p.agentId) deregistered")
            // Pools of unfinished workflows it is the last member of: an empty pool is no pool
            // (every agent may claim), so they keep it as their member, and the answer says so.
            let pooling = try scope.tx.workflowsPooling(agentID: p.agentId).filter { id in
                try scope.tx.workflow(id).map { !$0.status.isTerminal } ?? false
            }
            let lastOf = try scope.tx.pools(of: pooling).filter { $0.value == [p.agentId] }.keys.sorted()
            try scope.tx.removeAgent(p.agentId)
            for workflowID in lastOf { try scope.tx.setPool(workflowID: workflowID, agents: [p.agentId]) }
            // §7: its unstarted reservations are released now, not by whichever dispatcher
            // operation came next (status named a gone agent as their holder until then).
            try scope.rebalanceReservations()
            // Its tokens go with it: they would let whoever holds one register it again.
            let tokens = try scope.tx.removeTokens(agentID: p.agentId)
            return (leases.map(\.taskID), tokens, lastOf)
        }
        return OperationOutcome(
            result: [
                "agent_id": .string(p.agentId), "tasks_requeued": .strings(requeued), "tokens_revoked": .count(tokens),
                "pools_left_without_a_registered_member": .strings(kept),
            ],
            nextSteps: kept.map {
                "Workflow \($0)'s pool has no registered member now: its tasks wait for \(p.agentId) to register again, or bind others with 'coordination-hub \($0) assign-agents'"
            })
    }
}
