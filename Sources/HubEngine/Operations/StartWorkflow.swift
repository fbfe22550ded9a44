import HubCore

/// `start`: `created` → `running`; the first phase (or `resume_from_phase`) begins (§5).
enum StartWorkflow {
    struct Parameters: OperationParameters {
        var resumeFromPhase: PhaseReference?
        var agentPoolSize: Int?
        var checkpointInterval: HubDuration?
        var failureTolerance: FailureTolerance?

        static let schema = Schema.object([
            .init(
                "resume_from_phase", PhaseReference.schema.described("Start at this phase; earlier phases are skipped.")
            ),
            .init(
                "agent_pool_size",
                .integer("Bind this many registered agents to the workflow's pool.", min: 1, max: 10_000)),
            .init("checkpoint_interval", .duration("Time between automatic checkpoints.")),
            .init("failure_tolerance", .oneOf(["low", "medium", "high"], "Failed tasks a phase tolerates.")),
        ])
    }

    static let descriptor = OperationDescriptor(
        "start", scope: .workflow, mutating: true, parameters: Parameters.self,
        summary: "Start a created workflow: its first phase begins and ready tasks are offered.",
        discussion: """
            resume_from_phase starts at a later phase (number or name) and marks earlier ones skipped. \
            agent_pool_size asks for that many registered agents (at most the workflow's max_agents); a shortfall is \
            reported, not an error.
            """,
        example: """
            coordination-hub workflow_123 start '{"resume_from_phase": 2, "agent_pool_size": 5, "checkpoint_interval": "15m", "failure_tolerance": "medium"}'
            """,
        handler: run)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        let id = try context.requiredWorkflowID
        let poolLimit = context.hub.configuration.maxAgentPoolSize
        if let interval = p.checkpointInterval, interval.milliseconds < 1000 {
            throw HubError.parameter("checkpoint_interval", "must be at least 1s")
        }
        let (started, _, _) = try await context.hub.mutate(context) { m -> (Int, [String], [String]) in
            _ = try m.lifecycle(.start)
            if let size = p.agentPoolSize {
                try PoolBinding.refuseBeyondMaximum(size, field: "agent_pool_size", of: m.workflow)
            }
            if let interval = p.checkpointInterval { m.workflow.configuration.checkpointInterval = interval }
            if let tolerance = p.failureTolerance { m.workflow.configuration.failureTolerance = tolerance }
            var progression = try m.progression()
            let first = try p.resumeFromPhase?.resolve(in: progression.phases, field: "resume_from_phase") ?? 1
            m.workflow.enter(.running, now: m.now)
            progression.workflow = m.workflow
            try m.emit("started", data: ["phase": .count(first)], phase: first)
            try m.progress(&progression, progression.startPhase(first, now: m.now, stopAtPhaseEnd: true))
            var bound: [String] = []
            var uncovered: [String] = []
            if let size = p.agentPoolSize {
                let roles = m.workflow.agentRequirements.specializedRoles
                let chosen = PoolBinding.choose(count: size, limit: poolLimit, roles: roles, from: try m.tx.agents())
                bound = chosen.map(\.agentID)
                uncovered = PoolBinding.uncovered(roles, by: chosen)
                try m.tx.setPool(workflowID: m.workflow.id, agents: bound)
                try m.emit(
                    "agents_assigned",
                    data: [
                        "agents": .strings(bound), "uncovered_roles": .strings(uncovered), "requested": .count(size),
                    ])
            }
            return (first, bound, uncovered)
        }
        var result: JSONValue = ["started_phase": .count(started.0)]
        if let size = p.agentPoolSize {
            result["agent_pool"] = [
                "requested": .count(size), "bound": .strings(started.1), "uncovered_roles": .strings(started.2),
                "shortfall": .count(max(0, size - started.1.count)), "max_agent_pool_size": .count(poolLimit),
            ]
        }
        return try await .after(context.hub, id, result: result)
    }
}

extension Schema {
    /// The same schema with another description.
    func described(_ text: String) -> Schema {
        var s = self
        s.summary = text
        return s
    }
}
