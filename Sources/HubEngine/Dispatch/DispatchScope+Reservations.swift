import HubCore
import HubStore

extension DispatchScope {
    /// Reservations follow live agents (§7): a reservation for an agent that is gone,
    /// unresponsive or offline, has spent its budget (§16: it gets no more tasks), or no longer in the workflow's pool (only members claim its
    /// tasks, so nobody could), is released, and while one agent holds 2 or more
    /// reserved-but-not-started tasks more than another that could take them, they move.
    mutating func rebalanceReservations() throws {
        let reserved = try tx.reservedTasks()
        guard !reserved.isEmpty else { return }
        let agents = try tx.agents()
        let live = Set(agents.filter(\.takesWork).map(\.agentID))
        let spent = Set(agents.filter { !$0.exhaustedBudget.isEmpty }.map(\.agentID))
        let pools = try tx.pools(of: reserved.map(\.workflowID))
        var kept: [WorkTask] = []
        for var task in reserved {
            guard let holder = task.reservedFor,
                !live.contains(holder) || !(pools[task.workflowID]?.contains(holder) ?? true)
            else {
                kept.append(task)
                continue
            }
            let reason =
                live.contains(holder)
                ? "reserved_agent_not_in_pool"
                : spent.contains(holder) ? "reserved_agent_budget_exhausted" : "reserved_agent_unavailable"
            task.reservedFor = nil
            try tx.update(task)
            let released = task
            try workflow(task.workflowID) { m in
                _ = try m.emit(
                    "task_redistributed",
                    data: [
                        "task_id": .string(released.taskID), "from_agent": .string(holder), "target_agent": .null,
                        "reason": .string(reason),
                    ], phase: released.phaseID)
            }
        }
        let moves = Redistribution.balance(reserved: kept, agents: agents, pools: pools)
        var byWorkflow: [String: [Reassignment]] = [:]
        for move in moves { byWorkflow[move.workflowID, default: []].append(move) }
        for (workflowID, list) in byWorkflow.sorted(by: { $0.key < $1.key }) {
            try workflow(workflowID) { m in
                let cause = try m.emit(
                    "tasks_redistributed", data: ["reason": "load_imbalance", "moved": .count(list.count)])
                for move in list {
                    guard var task = try m.tx.task(workflowID: workflowID, taskID: move.taskID) else { continue }
                    let from = task.reservedFor
                    task.reservedFor = move.targetAgent
                    try m.tx.update(task)
                    try m.emit(
                        "task_redistributed",
                        data: [
                            "task_id": .string(task.taskID), "from_agent": .optional(from),
                            "target_agent": .optional(move.targetAgent), "reason": .string(move.reason),
                        ], phase: task.phaseID, causedBy: cause.eventID)
                }
            }
        }
    }
}
