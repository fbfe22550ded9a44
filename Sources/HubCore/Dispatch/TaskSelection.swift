/// A task the store offers for selection: ready, with what the policy weighs.
public struct TaskCandidate: Sendable, Equatable {
    public var workflowID: String
    public var taskID: String
    public var role: String?
    public var workflowPriority: Priority
    public var taskPriority: Priority
    /// Milliseconds of the longest chain of estimates through the task (``CriticalPath``).
    public var criticalPath: Int64
    public var createdAt: Int64
    /// Creation order within its workflow, to break ties between tasks created together.
    public var position: Int64
    public var files: [String]
    public var resources: [String: Int]
    /// The agent it is reserved for, if any.
    public var reservedFor: String?

    public init(
        workflowID: String, taskID: String, role: String? = nil, workflowPriority: Priority = .medium,
        taskPriority: Priority = .medium, criticalPath: Int64 = 0, createdAt: Int64 = 0, position: Int64 = 0,
        files: [String] = [], resources: [String: Int] = [:], reservedFor: String? = nil
    ) {
        self.workflowID = workflowID
        self.taskID = taskID
        self.role = role
        self.workflowPriority = workflowPriority
        self.taskPriority = taskPriority
        self.criticalPath = criticalPath
        self.createdAt = createdAt
        self.position = position
        self.files = files
        self.resources = resources
        self.reservedFor = reservedFor
    }
}

/// What the policy knows about the world besides the candidates.
public struct SelectionContext: Sendable {
    /// Files held by running tasks.
    public var heldFiles: Set<String>
    /// Units of each resource still free; a resource not listed has its configured capacity free.
    public var freeResources: [String: Int]
    /// Capacity of resources not in ``freeResources`` (undeclared resources have 1).
    public var defaultCapacity: [String: Int]
    /// Workflows whose pool is set: only these agents may claim their tasks.
    public var pools: [String: Set<String>]
    /// The other agents that are healthy (not degraded), live, within budget and have free
    /// capacity: a degraded agent gets a task only when none of them could take it.
    public var healthyAgents: [Agent]

    public init(
        heldFiles: Set<String> = [], freeResources: [String: Int] = [:], defaultCapacity: [String: Int] = [:],
        pools: [String: Set<String>] = [:], healthyAgents: [Agent] = []
    ) {
        self.heldFiles = heldFiles
        self.freeResources = freeResources
        self.defaultCapacity = defaultCapacity
        self.pools = pools
        self.healthyAgents = healthyAgents
    }

    /// Whether a healthy agent could take `c`: it has the role and, when the workflow has a
    /// pool, is in it (one outside the pool cannot take the task, so it does not count).
    func healthyAgentCouldTake(_ c: TaskCandidate) -> Bool {
        let pool = pools[c.workflowID]
        return healthyAgents.contains { h in h.canTake(role: c.role) && (pool?.contains(h.agentID) ?? true) }
    }
}

/// The task-selection policy of §7, a pure and deterministic function.
///
/// Eligible: the agent has the task's role, free capacity and (when the
/// workflow has a pool) membership; none of the task's files is held; its
/// resources are free; it is not reserved for another agent; and a degraded
/// agent only gets a role's task when no healthy agent of that role has
/// capacity. Among eligible tasks, highest first: tasks reserved for this
/// agent, workflow priority, task priority, critical path, the agent's own
/// success rate on the task's type, then the oldest.
public enum TaskSelection {
    /// Picks up to `limit` tasks (bounded by the agent's free capacity) for `agent`.
    public static func choose(
        from candidates: [TaskCandidate], for agent: Agent, context: SelectionContext, limit: Int
    ) -> [TaskCandidate] {
        let wanted = min(limit, agent.freeCapacity)
        guard wanted > 0, agent.status == .available || agent.status == .busy else { return [] }
        let degraded = agent.record.isDegraded
        let eligible = candidates.filter { c in
            if let reserved = c.reservedFor, reserved != agent.agentID { return false }
            guard agent.canTake(role: c.role) else { return false }
            if let pool = context.pools[c.workflowID], !pool.contains(agent.agentID) { return false }
            if degraded && c.reservedFor != agent.agentID && context.healthyAgentCouldTake(c) { return false }
            return true
        }
        let ordered = eligible.sorted { a, b in precedes(a, b, agent: agent) }
        var held = context.heldFiles
        var free = context.freeResources
        var chosen: [TaskCandidate] = []
        for c in ordered where chosen.count < wanted {
            guard c.files.allSatisfy({ !held.contains($0) }) else { continue }
            let fits = c.resources.allSatisfy { name, units in
                (free[name] ?? context.defaultCapacity[name] ?? 1) >= units
            }
            guard fits else { continue }
            for (name, units) in c.resources { free[name] = (free[name] ?? context.defaultCapacity[name] ?? 1) - units }
            held.formUnion(c.files)
            chosen.append(c)
        }
        return chosen
    }

    /// The policy's order: `true` when `a` should be offered before `b`.
    public static func precedes(_ a: TaskCandidate, _ b: TaskCandidate, agent: Agent) -> Bool {
        let aReserved = a.reservedFor == agent.agentID
        let bReserved = b.reservedFor == agent.agentID
        if aReserved != bReserved { return aReserved }
        if a.workflowPriority != b.workflowPriority { return a.workflowPriority > b.workflowPriority }
        if a.taskPriority != b.taskPriority { return a.taskPriority > b.taskPriority }
        if a.criticalPath != b.criticalPath { return a.criticalPath > b.criticalPath }
        let aRate = a.role.flatMap { agent.record.byType[$0]?.successRate } ?? -1
        let bRate = b.role.flatMap { agent.record.byType[$0]?.successRate } ?? -1
        if aRate != bRate { return aRate > bRate }
        if a.createdAt != b.createdAt { return a.createdAt < b.createdAt }
        if a.workflowID != b.workflowID { return a.workflowID < b.workflowID }
        return a.position < b.position
    }
}
