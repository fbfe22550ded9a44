/// What a snapshot read from outside the store must satisfy before the hub trusts it.
///
/// A bundle's checksums prove only that its sections agree with themselves: anyone who
/// can write a bundle can recompute them. So a loaded snapshot is held to the rules the
/// operations that build a workflow enforce (§2 ids, §4 phases and the dependency graph)
/// and to ranges that keep the hub's arithmetic on its times in bounds.
extension WorkflowSnapshot {
    /// The latest time a snapshot may carry: the end of year 9999, in milliseconds.
    public static let latestTimestamp: Int64 = 253_402_300_799_999
    /// The longest duration a snapshot may carry (what `HubDuration(parsing:)` accepts).
    public static let longestDuration: Int64 = 9_000_000_000_000_000
    /// The largest `state_version` or event sequence a snapshot may carry: 2^53 − 1, the
    /// largest whole number JSON clients' doubles hold exactly. Every change adds one to the
    /// version, so a bundle at `Int64.max` trapped the process at its load or the next change;
    /// from here the hub could count for millions of years.
    public static let largestCounter: Int64 = 9_007_199_254_740_991
    /// The most attempts or retries a task may carry: far beyond any real use (`max_retries`
    /// is at most 100 at `create`), and small enough that the views adding them up over
    /// every task never overflow.
    public static let largestAttemptCount = 1_000_000_000
    /// The most units of a resource a task may need (what `create` accepts).
    public static let largestResourceCount = 1_000_000

    /// The first rule the snapshot breaks, as the field and what is wrong with it; `nil` when it keeps them all.
    public func problem() -> String? {
        let w = workflow
        if let p = Self.problem(timestamp: w.createdAt, "workflow.created_at")
            ?? Self.problem(timestamp: w.updatedAt, "workflow.updated_at")
            ?? Self.problem(timestamp: w.startedAt, "workflow.started_at")
            ?? Self.problem(timestamp: w.finishedAt, "workflow.finished_at")
            ?? Self.problem(timestamp: w.runningSince, "workflow.running_since")
            ?? Self.problem(duration: w.activeMilliseconds, "workflow.active_ms")
            ?? Self.problem(duration: w.configuration.timeout.milliseconds, "workflow.timeout_ms")
            ?? Self.problem(
                duration: w.configuration.checkpointInterval.milliseconds, "workflow.checkpoint_interval_ms")
        {
            return p
        }
        // The store requires both (and so does create): a bundle's 0 reached the database and was
        // refused there, reported as the store failing.
        if w.configuration.timeout.milliseconds < 1 { return "workflow.timeout_ms must be at least 1" }
        if w.configuration.checkpointInterval.milliseconds < 1 {
            return "workflow.checkpoint_interval_ms must be at least 1"
        }
        if w.stateVersion < 0 { return "workflow.state_version is negative" }
        if w.stateVersion > Self.largestCounter {
            return "workflow.state_version \(w.stateVersion) is out of range (at most \(Self.largestCounter))"
        }
        if let p = Self.problem(budget: w.budget, spend: w.spend) { return p }
        if w.totalPhases != phases.count {
            return "workflow.total_phases is \(w.totalPhases) but there are \(phases.count) phases"
        }
        if w.currentPhase < 0 || w.currentPhase > w.totalPhases {
            return "workflow.current_phase \(w.currentPhase) is outside 0...\(w.totalPhases)"
        }
        if let max = w.configuration.maxAgents, max < 1 { return "workflow.max_agents is below 1" }
        for (n, phase) in phases.enumerated() {
            if phase.phaseID != n + 1 { return "phases[\(n)].phase_id is \(phase.phaseID), not \(n + 1)" }
            if let p = Self.problem(timestamp: phase.startedAt, "phases[\(n)].started_at")
                ?? Self.problem(timestamp: phase.completedAt, "phases[\(n)].completed_at")
            {
                return p
            }
        }
        for (n, task) in tasks.enumerated() {
            if let p = Self.problem(task, at: n, phases: phases.count) { return p }
        }
        do {
            // Unique ids, known dependencies in the same or an earlier phase, no cycle.
            try TaskGraph.validate(existing: [], adding: tasks)
        } catch {
            return "tasks: \(error.message)"
        }
        return nil
    }

    private static func problem(_ task: WorkTask, at n: Int, phases: Int) -> String? {
        let field = "tasks[\(n)]"
        if let why = Identifier.problem(with: task.taskID) { return "\(field).task_id \(why)" }
        if task.phaseID < 1 || task.phaseID > phases { return "\(field).phase_id \(task.phaseID) names no phase" }
        if task.attempts < 0 { return "\(field).attempts is negative" }
        if task.maxRetries < 0 { return "\(field).max_retries is negative" }
        if task.attempts > largestAttemptCount {
            return "\(field).attempts \(task.attempts) is out of range (at most \(largestAttemptCount))"
        }
        if task.maxRetries > largestAttemptCount {
            return "\(field).max_retries \(task.maxRetries) is out of range (at most \(largestAttemptCount))"
        }
        if let p = problem(duration: task.criticalPathMilliseconds, "\(field).critical_path_ms") { return p }
        for agent in [task.assignedAgent, task.reservedFor].compactMap({ $0 }) where !Identifier.isValid(agent) {
            return "\(field) names an agent with an invalid id"
        }
        if task.resources.values.contains(where: { $0 < 1 || $0 > largestResourceCount }) {
            return "\(field).resources holds a count outside 1...\(largestResourceCount)"
        }
        return problem(timestamp: task.createdAt, "\(field).created_at")
            ?? problem(timestamp: task.startedAt, "\(field).started_at")
            ?? problem(timestamp: task.completedAt, "\(field).completed_at")
            ?? problem(timestamp: task.runDeadline, "\(field).run_deadline")
            ?? problem(duration: task.executionMilliseconds, "\(field).execution_ms")
            ?? problem(duration: task.estimate?.milliseconds, "\(field).estimate_ms")
            ?? problem(duration: task.timeout?.milliseconds, "\(field).timeout_ms")
    }

    /// A budget and a spend as the hub keeps them: never below nothing, never infinite (a
    /// budget of zero is what workflows created before `create` refused one may hold).
    private static func problem(budget: Budget?, spend: Spend) -> String? {
        if let tokens = budget?.tokens, tokens < 0 { return "workflow.budget.tokens \(tokens) is negative" }
        if let cost = budget?.cost, !(cost >= 0 && cost.isFinite) {
            return "workflow.budget.cost \(cost) is out of range"
        }
        if let wall = budget?.wallTime?.milliseconds, wall < 0 || wall > longestDuration {
            return "workflow.budget.wall_time \(wall)ms is out of range"
        }
        if spend.tokens < 0 { return "workflow.spend.tokens \(spend.tokens) is negative" }
        if !(spend.cost >= 0 && spend.cost.isFinite) { return "workflow.spend.cost \(spend.cost) is out of range" }
        return nil
    }

    private static func problem(timestamp: Int64?, _ field: String) -> String? {
        guard let timestamp, timestamp < 0 || timestamp > latestTimestamp else { return nil }
        return "\(field) \(timestamp) is not a time between 1970 and 9999"
    }

    private static func problem(duration: Int64?, _ field: String) -> String? {
        guard let duration, duration < 0 || duration > longestDuration else { return nil }
        return "\(field) \(duration) is out of range"
    }
}
