import HubCore
import HubStore

/// `register-agent`: an agent joins the pool, or updates itself (§7).
enum RegisterAgent {
    struct Parameters: OperationParameters {
        var agentId: String
        var specializations: [String]?
        var maxConcurrentTasks: Int?
        var preferredTaskTypes: [String]?
        var labels: [String: String]?
        var budget: JSONValue?
        var runnerId: String?

        static let schema = Schema.object([
            .init("agent_id", .id("The agent's id; matches the id rule."), required: true),
            .init(
                "specializations",
                .array(
                    .name(maxLength: 128),
                    "Roles it can take: code, test, docs, … Tasks without a role fit any agent.", maxItems: 100)),
            .init("max_concurrent_tasks", .integer("Tasks it may hold at once. Defaults to 1.", min: 1, max: 1000)),
            .init("preferred_task_types", .array(.name(maxLength: 128), maxItems: 100)),
            .init("labels", .map(.string(maxLength: 1000), "Free key/value labels.")),
            .init("budget", Budget.schema.described("What the agent may spend; once spent it gets no more tasks.")),
            .init("runner_id", runnerIDSchema),
        ])
    }

    static let descriptor = OperationDescriptor(
        "register-agent", scope: .hub, mutating: false, parameters: Parameters.self,
        summary: "Register an agent (or update one): its roles and how many tasks it may hold.",
        discussion: """
            Re-registering keeps the agent's track record and leases and brings an unresponsive or offline agent back. \
            An agent silent for 3 heartbeat intervals (of the interval its last registration, heartbeat or claim was answered with) becomes unresponsive: its leases are revoked and its tasks go back to the queue. \
            The result's heartbeat_interval is the hub's (a duration such as "30s"): heartbeat more often than that. \
            With runner_id, one runner process at a time holds the agent id: another runner_id is refused with VERSION_CONFLICT \
            (error.context: agent_id, the holder's runner_id, last_heartbeat, retry_after) while the agent is live, that is \
            available or busy and heard from within 3 heartbeat intervals, and changes nothing. \
            A registration without runner_id is never refused; it leaves a live holder's hold and clears one whose agent is not live.
            """,
        example: """
            coordination-hub register-agent '{"agent_id": "agent_001", "specializations": ["code", "test"], "max_concurrent_tasks": 2}'
            """,
        handler: run)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        try Budget.validate(p.budget, field: "budget")
        let reserved = Hub.isCommandName(p.agentId, table: context.hub.table)
        let agent = try await context.hub.dispatch { scope -> Agent in
            var agent = try scope.tx.agent(p.agentId) ?? Agent(agentID: p.agentId, registeredAt: scope.now)
            let returning = agent.status == .unresponsive || agent.status == .offline
            let isNew = try scope.tx.agent(p.agentId) == nil
            let interval = scope.configuration.heartbeatInterval
            switch agent.registration(by: p.runnerId, now: scope.now, heartbeatInterval: interval) {
            case .heldByAnother(let holder):
                throw agent.heldByAnotherRunner(
                    holder: holder, now: scope.now, heartbeatInterval: interval, registering: true)
            case .proceed(let holder):
                agent.runnerID = holder
            }
            // §2: ids are not operation names. Agents registered before the rule keep working.
            if isNew && reserved {
                throw HubError.parameter(
                    "agent_id", "must not be the name of an operation or command",
                    suggestions: ["Use an id such as \(p.agentId)_agent"])
            }
            // Each role once, in the order given: a role named twice had a claim read (and take)
            // its tasks twice.
            if let roles = p.specializations {
                var seen: Set<String> = []
                agent.specializations = roles.filter { seen.insert($0).inserted }
            }
            if let max = p.maxConcurrentTasks { agent.maxConcurrentTasks = max }
            if let preferred = p.preferredTaskTypes { agent.preferredTaskTypes = preferred }
            if let budget = p.budget { agent.budget = Budget(json: budget) }
            agent.heard(at: scope.now, heartbeatInterval: interval)
            agent.status = agent.currentLoad >= agent.maxConcurrentTasks ? .busy : .available
            try scope.tx.save(agent)
            let event = try scope.emitAgent(
                "registered", agent.agentID,
                data: [
                    "specializations": .strings(agent.specializations),
                    "max_concurrent_tasks": .count(agent.maxConcurrentTasks),
                    "updated": .bool(!isNew),
                ])
            if returning { try scope.emitAgent("recovered", agent.agentID, causedBy: event.eventID) }
            return agent
        }
        return OperationOutcome(
            // The interval the hub judges silence by: a runner heartbeats by it, whatever its own configuration says.
            result: [
                "agent": AgentView.json(agent, judged: context.hub.configuration.performanceMonitoring),
                "heartbeat_interval": .string(context.hub.configuration.heartbeatInterval.description),
            ],
            nextSteps: [
                "Claim work: coordination-hub claim-task '{\"agent_id\": \"\(agent.agentID)\"}'",
                "Heartbeat at least every \(context.hub.configuration.heartbeatInterval): coordination-hub heartbeat '{\"agent_id\": \"\(agent.agentID)\"}'",
            ])
    }
}

extension RegisterAgent {
    /// `runner_id` of `register-agent` and `heartbeat`.
    static let runnerIDSchema = Schema.id(
        "The runner process working under the agent id, made fresh by each process (the bundled runner sends run_…); matches the id rule. Given, a runner other than the one holding a live agent is refused with VERSION_CONFLICT."
    )
}

/// How the API shows an agent (the seed's Agent Performance Tracking entry).
enum AgentView {
    /// The active leases of the agents running tasks: their wall-time spend counts those tasks
    /// until now, whether a budget limits it or not (two agents alike show the same figure).
    static func runningLeases(of agents: [Agent], in tx: any DispatchReader) throws -> [String: [Lease]] {
        var out: [String: [Lease]] = [:]
        for a in agents where a.currentLoad > 0 {
            out[a.agentID] = try tx.activeLeases(agentID: a.agentID)
        }
        return out
    }

    /// An agent's record; `running` (its active leases) and `now` count its tasks under way in its wall-time spend.
    /// `judged` is whether the hub judges performance (§14 `performance_monitoring`): when it
    /// does not, `degraded` is `null`, as nothing was judged.
    static func json(_ a: Agent, running: [Lease] = [], now: Int64 = 0, judged: Bool) -> JSONValue {
        [
            "agent_id": .string(a.agentID),
            "specializations": .strings(a.specializations),
            "specialization": .optional(a.specializations.first),
            "status": .string(a.status.rawValue),
            "degraded": judged ? .bool(a.record.isDegraded) : .null,
            "current_load": .count(a.currentLoad),
            "max_concurrent_tasks": .count(a.maxConcurrentTasks),
            "preferred_task_types": .strings(a.preferredTaskTypes),
            "last_heartbeat": .string(Timestamp.format(milliseconds: a.lastHeartbeat)),
            "success_rate": .optional(a.record.successRate),
            "average_task_time": .optional(a.record.averageTaskTime?.description),
            "tasks_completed": .count(a.record.tasksCompleted),
            "tasks_failed": .count(a.record.tasksFailed),
            "recent_performance": .array(a.record.recentPerformance.map { .count($0) }),
            "performance_score": .optional(a.record.performanceScore),
            "budget": a.budget?.json ?? .null,
            "runner_id": .optional(a.runnerID),
            "spend": [
                "tokens": .int(a.spend.tokens), "cost": .double(Spend.shown(a.spend.cost)),
                "wall_time": .string(a.wallTime(running: running, now: now).description),
                "exhausted": .strings(a.exhaustedBudget(running: running, now: now)),
            ],
        ]
    }
}
