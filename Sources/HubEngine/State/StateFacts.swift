import HubCore
import HubStore

/// Reads what ``StateInvariants`` judges, inside one transaction.
enum StateFacts {
    /// The agents judged are those holding the workflow's active leases, and `alsoAgents`
    /// (those whose lease on it a repair just ended: their load is to be recounted).
    static func read(_ tx: any StoreReader, workflow: Workflow, now: Int64? = nil, alsoAgents: Set<String> = [])
        throws -> StateInvariants.Facts
    {
        let phases = try tx.phases(of: workflow.id)
        let tasks = try tx.tasks(of: workflow.id)
        let leases = try tx.activeLeases(workflowID: workflow.id)
        var agents: [String: Agent] = [:]
        var counts: [String: Int] = [:]
        for agentID in Set(leases.map(\.agentID)).union(alsoAgents) {
            if let agent = try tx.agent(agentID) {
                agents[agentID] = agent
                counts[agentID] = try tx.activeLeases(agentID: agentID).count
            }
        }
        var counters: [Int: StateInvariants.Counters] = [:]
        for phase in phases {
            let c = try tx.phaseCounts(workflowID: workflow.id, phaseID: phase.phaseID)
            counters[phase.phaseID] = .init(total: c.total, open: c.open, failed: c.failed)
        }
        return StateInvariants.Facts(
            snapshot: WorkflowSnapshot(workflow: workflow, phases: phases, tasks: tasks), leases: leases,
            agents: agents, agentLeaseCounts: counts, counters: counters, now: now)
    }
}
