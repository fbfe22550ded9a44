import HubCore
import HubStore

/// `accept-handoff`: take a workflow over from an orchestrator (§12): create, subscribe
/// and start it in one transaction, so the orchestrator never sees half a handoff.
enum AcceptHandoff {
    struct Parameters: OperationParameters {
        var orchestrateToHub: Handoff
        static let schema = Schema.object([
            .init("orchestrate_to_hub", Handoff.schema, required: true)
        ])
    }

    struct Handoff: Decodable, Sendable {
        var workflowDefinition: JSONValue
        var initialState: String?
        var agentPreferences: AgentPreferences?
        var monitoringConfig: Monitoring?

        static var schema: Schema {
            var definition = CreateWorkflow.Parameters.schema
            if case .object(var properties, let additional) = definition.kind {
                properties.insert(
                    // A string here, checked as every workflow id is (INVALID_WORKFLOW_ID, §2).
                    .init(
                        "workflow_id", .string("The workflow's id (or give it in the call form).", maxLength: 256),
                        required: false),
                    at: 0)
                definition.kind = .object(properties, additional: additional)
            }
            return .object(
                [
                    .init(
                        "workflow_definition", definition.described("The workflow, as create takes it."), required: true
                    ),
                    .init(
                        "initial_state",
                        .oneOf(
                            ["phase_0_ready", "running", "created"],
                            "phase_0_ready or running (default): started; created: created and subscribed, not started."
                        )),
                    .init("agent_preferences", AgentPreferences.schema),
                    .init("monitoring_config", Monitoring.schema),
                ], "The seed's orchestrate_to_hub object.")
        }
    }

    struct AgentPreferences: Decodable, Sendable {
        var agentPoolSize: Int?
        var specializations: [String]?
        static let schema = Schema.object(
            [
                .init(
                    "agent_pool_size", .integer("Bind this many registered agents to the pool.", min: 1, max: 10_000)),
                .init(
                    "specializations",
                    .array(
                        .name(maxLength: 128),
                        "Roles the pool's agents must have (one of them each); the workflow's specialized_roles when absent.",
                        maxItems: 100)),
            ], "Which agents the workflow's pool takes.")
    }

    struct Monitoring: Decodable, Sendable {
        var subscriptions: [SubscribeEvent.Parameters]?
        static let schema = Schema.object(
            [
                .init(
                    "subscriptions",
                    .array(
                        SubscribeEvent.Parameters.schema,
                        "Subscriptions as subscribe-event takes them; each is narrowed to this workflow and sees its events from the handoff on.",
                        maxItems: 20))
            ], "Event subscriptions the orchestrator monitors through.")
    }

    static let descriptor = OperationDescriptor(
        "accept-handoff", scope: .hub, mutating: false, parameters: Parameters.self,
        summary: "Take a workflow over from an orchestrator: create, subscribe and start it in one step.",
        discussion: """
            orchestrate_to_hub carries workflow_definition (create's parameters plus workflow_id), initial_state, \
            agent_preferences (agent_pool_size, specializations) and monitoring_config (subscriptions). A \
            subscription under a callback that exists already widens it (its patterns and this workflow added, its \
            cursor kept, and its delivery, webhook, secret, retry policy and severity and event type filters kept \
            unless this one gives them), so one orchestrator follows every workflow it hands over with one \
            subscription. When that subscription has no workflow filter (it sees every workflow), the patterns \
            added are rewritten to name this workflow's subjects (*.started becomes workflow.<id>.started; a \
            pattern that matches none of them, such as agent.*.failed, is not added), so they still match only \
            this workflow's events. Everything \
            happens in one transaction: any error (a taken id, a bad pattern) leaves nothing behind. complete and \
            get-status of the finished workflow return hub_to_orchestrate.
            """,
        example: """
            coordination-hub accept-handoff '{"orchestrate_to_hub": {"workflow_definition": {"workflow_id": "workflow_123", "phases": ["setup", "build"]}, "initial_state": "phase_0_ready", "agent_preferences": {"agent_pool_size": 2}, "monitoring_config": {"subscriptions": [{"patterns": ["workflow.*.phase_completed", "*.failed"], "callback": "orchestrator"}]}}}'
            """,
        workflowID:
            "The workflow to create, instead of orchestrate_to_hub.workflow_definition.workflow_id (the two must agree when both are given); it need not exist yet.",
        touchesExistingWorkflow: false,
        withoutVersion:
            "accept-handoff makes the workflow, which has no state_version to compare yet; an id already taken is refused with WORKFLOW_EXISTS",
        handler: run)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        let hub = context.hub
        var definition = p.orchestrateToHub.workflowDefinition
        let named = definition["workflow_id"]?.stringValue
        definition["workflow_id"] = nil
        if let named, let given = context.workflowID, named != given {
            throw HubError.parameter(
                "orchestrate_to_hub.workflow_definition.workflow_id", "is \(named) but the call names workflow \(given)"
            )
        }
        guard let id = named ?? context.workflowID else {
            throw HubError.parameter(
                "orchestrate_to_hub.workflow_definition.workflow_id", "is required (or name the workflow in the call)")
        }
        try hub.validateWorkflowID(id)
        let now = context.now
        let create = try CreateWorkflow.Parameters.decode(definition)
        let (workflow, phases, tasks) = try CreateWorkflow.build(create, id: id, hub: hub, now: now)
        let scoped = OperationContext(hub: hub, workflowID: id, expectedVersion: nil, operation: "accept-handoff")
        var subscriptions: [(Subscription, SubscribeEvent.Parameters)] = []
        for (n, spec) in (p.orchestrateToHub.monitoringConfig?.subscriptions ?? []).enumerated() {
            do {
                subscriptions.append((try SubscribeEvent.make(spec, context: scoped), spec))
            } catch {
                var error = error
                error.message = "orchestrate_to_hub.monitoring_config.subscriptions[\(n)]: " + error.message
                throw error
            }
        }
        let start = (p.orchestrateToHub.initialState ?? "phase_0_ready") != "created"
        let preferences = p.orchestrateToHub.agentPreferences
        let ids = hub.ids
        let keep = hub.configuration.checkpointRetention
        let poolLimit = hub.configuration.maxAgentPoolSize
        let handed = try await context.store.write { [subscriptions] tx -> (Workflow, [Subscription], [String]) in
            let before = try tx.lastEventSequence()
            try CreateWorkflow.insert(workflow, phases: phases, tasks: tasks, tx: tx, now: now, ids: ids)
            var stored: [Subscription] = []
            for (subscription, spec) in subscriptions {
                var s = subscription
                if let updated = try SubscribeEvent.updateExisting(s, in: tx, widening: spec, workflow: id) {
                    stored.append(updated)
                    continue
                }
                switch spec.startFrom ?? .new {
                case .all: s.cursor = 0
                case .sequence(let n):
                    guard n <= before + 1 else {
                        throw HubError.parameter(
                            "orchestrate_to_hub.monitoring_config.subscriptions.start_from.sequence",
                            "is \(n), past the newest event (\(before))")
                    }
                    s.cursor = max(0, n - 1)
                case .new, .time: s.cursor = before
                }
                try tx.insert(s)
                stored.append(s)
            }
            var m = Mutation(tx: tx, workflow: workflow, now: now, ids: ids, checkpointRetention: keep)
            var bound: [String] = []
            if let size = preferences?.agentPoolSize {
                try PoolBinding.refuseBeyondMaximum(
                    size, field: "orchestrate_to_hub.agent_preferences.agent_pool_size", of: workflow)
                let roles = preferences?.specializations ?? workflow.agentRequirements.specializedRoles
                let chosen = PoolBinding.choose(count: size, limit: poolLimit, roles: roles, from: try tx.agents())
                bound = chosen.map(\.agentID)
                try tx.setPool(workflowID: id, agents: bound)
                try m.emit(
                    "agents_assigned",
                    data: [
                        "agents": .strings(bound),
                        "uncovered_roles": .strings(PoolBinding.uncovered(roles, by: chosen)),
                        "requested": .count(size),
                    ])
            }
            try m.emit(
                "handoff_accepted",
                data: [
                    "from": "orchestrate", "subscriptions": .strings(stored.map(\.id)),
                    "initial_state": .string(start ? "running" : "created"),
                ])
            if start {
                _ = try m.lifecycle(.start)
                m.workflow.enter(.running, now: now)
                var progression = try m.progression()
                progression.workflow = m.workflow
                try m.emit("started", data: ["phase": 1], phase: 1)
                try m.progress(&progression, progression.startPhase(1, now: now, stopAtPhaseEnd: true))
            }
            try m.commit()
            return (m.workflow, stored, bound)
        }
        await CommittedChange.current?.record(handed.0)
        var result: JSONValue = [
            "workflow_id": .string(id), "accepted": true,
            "subscriptions": .array(
                handed.1.map { ["subscription_id": .string($0.id), "callback": .string($0.callback)] }),
        ]
        if let size = preferences?.agentPoolSize {
            result["agent_pool"] = [
                "requested": .count(size), "bound": .strings(handed.2),
                "shortfall": .count(max(0, size - handed.2.count)), "max_agent_pool_size": .count(poolLimit),
            ]
        }
        var outcome = try await OperationOutcome.after(hub, id, result: result)
        outcome.workflowID = id
        if let first = handed.1.first {
            outcome.nextSteps.append(
                "Follow it: coordination-hub get-events '{\"subscription\": \"\(first.callback)\", \"ack\": true}'")
        }
        return outcome
    }
}
