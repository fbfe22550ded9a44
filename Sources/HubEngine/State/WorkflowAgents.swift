import HubCore
import HubStore

/// The agents of one workflow, as `get-status` shows them in `agent_assignments` (the seed's
/// State Schema Definition, §4) and `agent_details`: the members of its pool and every agent
/// that has run one of its tasks, with their records as the store holds them.
struct WorkflowAgents: Sendable {
    /// The workflow's pool (empty when it has none).
    var pool: Set<String> = []
    /// The registered agents among them, by id (an agent since deregistered has none).
    var records: [String: Agent] = [:]
    /// The active lease of each running task, by task id.
    var leases: [String: Lease] = [:]
    /// The active leases of agents whose budget limits wall time, by agent id (``AgentView``).
    var running: [String: [Lease]] = [:]
    /// Whether the hub judges performance (``AgentView/json(_:running:now:judged:)``).
    var judged = true

    static func read(_ workflowID: String, tasks: [WorkTask], in tx: any DispatchReader) throws -> WorkflowAgents {
        let pool = try tx.pools(of: [workflowID])[workflowID] ?? []
        var records: [String: Agent] = [:]
        for id in pool.union(tasks.compactMap(\.assignedAgent)) {
            if let agent = try tx.agent(id) { records[id] = agent }
        }
        var leases: [String: Lease] = [:]
        if tasks.contains(where: { $0.status == .running || $0.status == .assigned }) {
            for lease in try tx.activeLeases(workflowID: workflowID) { leases[lease.taskID] = lease }
        }
        return WorkflowAgents(
            pool: pool, records: records, leases: leases,
            running: try AgentView.runningLeases(of: Array(records.values), in: tx))
    }

    /// `agent_assignments`: for each agent, the role and task(s) it runs in this workflow now,
    /// its performance score (`null` before a track record), the tasks it completed here, and
    /// whether it is in the pool.
    func assignments(_ tasks: [WorkTask]) -> JSONValue {
        var running: [String: [WorkTask]] = [:]
        var completed: [String: Int] = [:]
        for task in tasks {
            guard let agent = task.assignedAgent else { continue }
            if task.status == .running || task.status == .assigned { running[agent, default: []].append(task) }
            if task.status == .completed { completed[agent, default: 0] += 1 }
        }
        var out: JSONValue = .emptyObject
        for id in pool.union(running.keys).union(completed.keys).sorted() {
            let record = records[id]
            let current = running[id] ?? []
            out[id] = [
                "role": .optional(current.first?.role ?? record?.specializations.first),
                "current_task": .optional(current.first?.taskID),
                "current_tasks": .strings(current.map(\.taskID)),
                "performance_score": .optional(record?.record.performanceScore),
                "tasks_completed": .count(completed[id] ?? 0),
                "in_pool": .bool(pool.contains(id)),
                // `null`: the agent has been deregistered since.
                "status": .optional(record?.status.rawValue),
            ]
        }
        return out
    }

    /// `agent_details`: each registered agent's whole record, as `monitor-pool` shows it.
    func details(now: Int64) -> JSONValue {
        var out: JSONValue = .emptyObject
        for (id, agent) in records {
            out[id] = AgentView.json(agent, running: running[id] ?? [], now: now, judged: judged)
        }
        return out
    }
}
