/// How `redistribute-tasks` picks a new agent for each task (§7).
public enum RedistributionStrategy: String, Sendable, CaseIterable, Codable {
    /// The best track record (success rate), then the most free capacity.
    case performanceBased = "performance_based"
    /// Eligible agents in turn, by id.
    case roundRobin = "round_robin"
    /// Agents whose preferred task types include the task's role, then the most specialized.
    case specializationMatch = "specialization_match"
}

/// One decision of a redistribution: the task, its new agent (or none) and why.
public struct Reassignment: Sendable, Equatable {
    public var workflowID: String
    public var taskID: String
    public var targetAgent: String?
    public var reason: String

    public init(workflowID: String, taskID: String, targetAgent: String?, reason: String) {
        self.workflowID = workflowID
        self.taskID = taskID
        self.targetAgent = targetAgent
        self.reason = reason
    }
}

/// Reservation planning for redistribution and load balancing, as pure functions.
public enum Redistribution {
    /// Chooses a new agent for each task. `agents` are the live candidates (the failed
    /// agent excluded); `reserved` counts reservations they already hold; a pool, when
    /// given, limits the candidates to its members. With `preserveOrder` tasks are
    /// placed in their creation order, else longest critical path first. Each task goes to
    /// an agent with room before one without, to a healthy agent before a degraded one, and
    /// among agents with room to one holding the fewest reservations (as ``balance(reserved:agents:pools:)``
    /// would move them); the strategy chooses among those. With `judgingPerformance` false
    /// (performance monitoring off) no agent counts as degraded.
    public static func plan(
        tasks: [WorkTask], agents: [Agent], pool: Set<String>?, strategy: RedistributionStrategy, preserveOrder: Bool,
        reserved: [String: Int] = [:], judgingPerformance: Bool = true
    ) -> [Reassignment] {
        var load: [String: Int] = [:]
        var reservations = reserved
        for a in agents { load[a.agentID] = a.currentLoad + (reserved[a.agentID] ?? 0) }
        let ordered = preserveOrder ? tasks : tasks.sorted { $0.criticalPathMilliseconds > $1.criticalPathMilliseconds }
        // Round robin's turn: the agent after the last one chosen, in id order, that can take the task.
        var lastChosen: String?
        var out: [Reassignment] = []
        func spare(_ a: Agent) -> Int { a.maxConcurrentTasks - (load[a.agentID] ?? 0) }
        // §7: a degraded agent is offered work only when no healthy agent of the role has room;
        // an agent without room waits to start its reservation, so one with room comes first.
        func tier(_ a: Agent) -> Int { (spare(a) > 0 ? 0 : 2) + (judgingPerformance && a.record.isDegraded ? 1 : 0) }
        for task in ordered {
            let candidates = agents.filter { a in
                a.canTake(role: task.role) && (pool?.contains(a.agentID) ?? true)
            }
            let best = candidates.map(tier).min()
            var eligible = candidates.filter { tier($0) == best }.sorted { $0.agentID < $1.agentID }
            // §7's imbalance rule moves a reservation from an agent holding 2 or more more than
            // another with room: among agents with room only those holding the fewest are
            // offered, so that the hub's next sweep leaves the plan as it was reported.
            if let best, best < 2, let fewest = eligible.map({ reservations[$0.agentID] ?? 0 }).min() {
                eligible = eligible.filter { (reservations[$0.agentID] ?? 0) == fewest }
            }
            guard !eligible.isEmpty else {
                out.append(
                    Reassignment(
                        workflowID: task.workflowID, taskID: task.taskID, targetAgent: nil, reason: "no_eligible_agent")
                )
                continue
            }
            let chosen: Agent
            let reason: String
            switch strategy {
            case .roundRobin:
                chosen = lastChosen.flatMap { last in eligible.first { $0.agentID > last } } ?? eligible[0]
                lastChosen = chosen.agentID
                reason = "round_robin"
            case .performanceBased:
                chosen =
                    eligible.max { a, b in
                        let ra = a.record.successRate ?? -1
                        let rb = b.record.successRate ?? -1
                        if ra != rb { return ra < rb }
                        if spare(a) != spare(b) { return spare(a) < spare(b) }
                        return a.agentID > b.agentID
                    } ?? eligible[0]
                reason = chosen.record.successRate == nil ? "available_capacity" : "best_match"
            case .specializationMatch:
                chosen =
                    eligible.max { a, b in
                        let pa = task.role.map { a.preferredTaskTypes.contains($0) } ?? false
                        let pb = task.role.map { b.preferredTaskTypes.contains($0) } ?? false
                        if pa != pb { return !pa }
                        if a.specializations.count != b.specializations.count {
                            return a.specializations.count > b.specializations.count
                        }
                        if spare(a) != spare(b) { return spare(a) < spare(b) }
                        return a.agentID > b.agentID
                    } ?? eligible[0]
                reason = "specialization_match"
            }
            load[chosen.agentID, default: 0] += 1
            reservations[chosen.agentID, default: 0] += 1
            out.append(
                Reassignment(
                    workflowID: task.workflowID, taskID: task.taskID, targetAgent: chosen.agentID, reason: reason))
        }
        return out
    }

    /// Moves reservations while one agent holds 2 or more reserved-but-not-started
    /// tasks more than another eligible agent: one that can take the task and has room for it
    /// (§7's imbalance rule).
    public static func balance(reserved: [WorkTask], agents: [Agent], pools: [String: Set<String>]) -> [Reassignment] {
        var tasks = reserved
        var counts: [String: Int] = [:]
        for t in tasks { if let a = t.reservedFor { counts[a, default: 0] += 1 } }
        let live = agents.filter(\.takesWork).sorted { $0.agentID < $1.agentID }
        var moves: [Reassignment] = []
        var progress = true
        while progress {
            progress = false
            // Take from the most loaded holder the newest task someone with 2 fewer can take.
            let holders = counts.keys.sorted { (counts[$0] ?? 0, $1) > (counts[$1] ?? 0, $0) }
            search: for from in holders {
                let fromCount = counts[from] ?? 0
                for i in tasks.indices.reversed() where tasks[i].reservedFor == from {
                    let task = tasks[i]
                    let targets = live.filter { a in
                        a.agentID != from && a.canTake(role: task.role)
                            && (pools[task.workflowID]?.contains(a.agentID) ?? true)
                            && fromCount - (counts[a.agentID] ?? 0) >= 2
                            // Eligible: room for this task beside what it runs and holds reserved
                            // (a full agent's reservation waited, the task idle, until it finished one).
                            && a.currentLoad + (counts[a.agentID] ?? 0) < a.maxConcurrentTasks
                    }
                    guard
                        let target = targets.min(by: {
                            (counts[$0.agentID] ?? 0, $0.agentID) < (counts[$1.agentID] ?? 0, $1.agentID)
                        })
                    else { continue }
                    tasks[i].reservedFor = target.agentID
                    counts[from] = fromCount - 1
                    counts[target.agentID, default: 0] += 1
                    moves.append(
                        Reassignment(
                            workflowID: task.workflowID, taskID: task.taskID, targetAgent: target.agentID,
                            reason: "load_imbalance"))
                    progress = true
                    break search
                }
            }
        }
        return moves
    }
}
