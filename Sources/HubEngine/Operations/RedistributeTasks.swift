import HubCore

/// `redistribute-tasks`: move a failing agent's work to others (§7, the seed's Dynamic Redistribution).
enum RedistributeTasks {
    struct Parameters: OperationParameters {
        var failedAgent: String
        var strategy: RedistributionStrategy?
        var preserveOrder: Bool?
        static let schema = Schema.object([
            .init("failed_agent", .id("The agent whose work moves; it is set offline."), required: true),
            .init(
                "strategy", .oneOf(RedistributionStrategy.allCases.map(\.rawValue), "Defaults to performance_based.")),
            .init(
                "preserve_order",
                .boolean("Place the tasks in their creation order (else longest critical path first).")),
        ])
    }

    static let descriptor = OperationDescriptor(
        "redistribute-tasks", scope: .workflow, mutating: true, parameters: Parameters.self,
        summary: "Revoke an agent's leases in the workflow and reserve each of its tasks for a new agent.",
        discussion: """
            Strategies: performance_based (best success rate, then free capacity), round_robin (eligible agents in turn), \
            specialization_match (agents preferring the task's role, then the most specialized). The named agent is set \
            offline and gets no task until it heartbeats or registers again; its work in other workflows keeps its \
            leases while it heartbeats, and when it falls silent it fails as a silent agent does (agent.<id>.failed). \
            Revoking does not count an attempt. \
            Returns new_assignments with a reason each; a task no agent can take stays unreserved (no_eligible_agent).
            """,
        example:
            "coordination-hub workflow_123 redistribute-tasks '{\"failed_agent\": \"agent_003\", \"strategy\": \"performance_based\", \"preserve_order\": true}'",
        handler: run)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        let id = try context.requiredWorkflowID
        let strategy = p.strategy ?? .performanceBased
        let expected = context.expectedVersion
        let plan = try await context.hub.dispatch { scope -> [Reassignment] in
            var agent = try scope.agent(p.failedAgent)
            var plan: [Reassignment] = []
            try scope.workflow(id) { m in
                try m.workflow.check(ifVersion: expected)
                guard WorkflowLifecycle(status: m.workflow.status, archived: m.workflow.archived).acceptsWork else {
                    throw HubError.invalidTransition(
                        operation: "redistribute-tasks", workflowID: id, current: m.workflow.status,
                        archived: m.workflow.archived,
                        allowed: WorkflowLifecycle(status: m.workflow.status, archived: m.workflow.archived)
                            .allowedOperations)
                }
            }
            agent.status = .offline
            try scope.tx.save(agent)
            let cause = try scope.workflow(id) { m in
                try m.emit(
                    "tasks_redistributed", severity: .warning,
                    data: ["failed_agent": .string(p.failedAgent), "strategy": .string(strategy.rawValue)])
            }
            var revoked: Set<String> = []
            for lease in try scope.tx.activeLeases(agentID: p.failedAgent) where lease.workflowID == id {
                try scope.requeue(
                    lease: lease, ending: .revoked, countAttempt: false, reason: "redistributed", cause: cause.eventID)
                revoked.insert(lease.taskID)
            }
            // §8: an agent set offline as failing holds no allocation of this workflow (or of none);
            // its work elsewhere keeps its leases, and the allocations with them.
            try scope.releaseAllocations(
                agentID: p.failedAgent, reason: "agent \(p.failedAgent) redistributed",
                where: { $0.workflowID == nil || $0.workflowID == id })
            let moved = try movableTasks(id, agent: p.failedAgent, revoked: revoked, scope: scope)
            let candidates = try scope.tx.agents().filter {
                $0.agentID != p.failedAgent && $0.takesWork
            }
            var reserved: [String: Int] = [:]
            for t in try scope.tx.reservedTasks() { if let a = t.reservedFor { reserved[a, default: 0] += 1 } }
            let pool = try scope.tx.pools(of: [id])[id]
            plan = Redistribution.plan(
                tasks: moved, agents: candidates, pool: pool, strategy: strategy,
                preserveOrder: p.preserveOrder ?? false,
                reserved: reserved, judgingPerformance: scope.configuration.performanceMonitoring)
            for decision in plan {
                guard var task = try scope.tx.task(workflowID: id, taskID: decision.taskID) else { continue }
                task.reservedFor = decision.targetAgent
                try scope.tx.update(task)
                try scope.workflow(id) { m in
                    try m.emit(
                        "task_redistributed",
                        data: [
                            "task_id": .string(task.taskID), "from_agent": .string(p.failedAgent),
                            "target_agent": .optional(decision.targetAgent), "reason": .string(decision.reason),
                        ], phase: task.phaseID, causedBy: cause.eventID)
                }
            }
            return plan
        }
        return try await .after(
            context.hub, id,
            result: [
                "failed_agent": .string(p.failedAgent), "strategy": .string(strategy.rawValue),
                "preserve_order": .bool(p.preserveOrder ?? false),
                "new_assignments": .array(
                    plan.map {
                        [
                            "task_id": .string($0.taskID), "target_agent": .optional($0.targetAgent),
                            "reason": .string($0.reason),
                        ]
                    }),
            ])
    }

    /// The agent's work in the workflow: the tasks whose leases this redistribution revoked
    /// (ready again) and tasks reserved for it. Not the tasks the sweep put back in the queue
    /// in the same transaction: those were other agents'.
    static func movableTasks(_ workflowID: String, agent: String, revoked: Set<String>, scope: DispatchScope) throws
        -> [WorkTask]
    {
        var out: [WorkTask] = []
        for task in try scope.tx.tasks(of: workflowID) where task.status == .ready {
            if task.reservedFor == agent || revoked.contains(task.taskID) { out.append(task) }
        }
        return out
    }
}
