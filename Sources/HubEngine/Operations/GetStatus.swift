import HubCore
import HubStore

/// `get-status`: the workflow in the seed's State Schema shape (§6, §17).
enum GetStatus {
    struct Parameters: OperationParameters {
        var includeMetrics: Bool?
        var agentDetails: Bool?
        var recentEvents: Int?
        static let schema = Schema.object([
            .init(
                "include_metrics",
                .boolean("Add workflow_state.metrics (measured figures; null where nothing is measured yet).")),
            .init("agent_details", .boolean("Add workflow_state.agent_details.")),
            .init(
                "recent_events", .integer("Return the newest N events in result.recent_events.", min: 0, max: 10_000)),
        ])
    }

    static let descriptor = OperationDescriptor(
        "get-status", scope: .workflow, mutating: false, parameters: Parameters.self,
        summary: "Read a workflow: phases, tasks, progress, configuration and state_version.",
        discussion: """
            A running task shows its lease's lease_expires_at, and lease_expired: true once that has passed: a read \
            gives nothing back, so the task stays running until the next dispatcher operation (a claim, a heartbeat, \
            the server's sweep) returns it to ready. A task completed with evidence shows verified_evidence: what \
            complete-task verified (files' SHA-256, the commit, the check's exit code and output tail). A finished \
            workflow's status also carries hub_to_orchestrate.
            """,
        example:
            "coordination-hub workflow_123 get-status '{\"include_metrics\": true, \"agent_details\": true, \"recent_events\": 10}'",
        handler: run)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        let id = try context.requiredWorkflowID
        let limit = p.recentEvents ?? 0
        let (snapshot, agents, recent) = try await context.store.read { tx in
            guard let workflow = try tx.workflow(id) else { throw HubError.workflowNotFound(id) }
            let snapshot = WorkflowSnapshot(
                workflow: workflow, phases: try tx.phases(of: id), tasks: try tx.tasks(of: id))
            let agents = try WorkflowAgents.read(id, tasks: snapshot.tasks, in: tx)
            let recent = limit > 0 ? try tx.events(EventQuery(workflowID: id, limit: limit, descending: true)) : []
            return (snapshot, agents, recent)
        }
        var judgedAgents = agents
        judgedAgents.judged = context.hub.configuration.performanceMonitoring
        let view = WorkflowStateView(snapshot: snapshot, now: context.now, agents: judgedAgents)
        var result: JSONValue = [
            "workflow_state": view.json(
                includeMetrics: p.includeMetrics ?? false, agentDetails: p.agentDetails ?? false)
        ]
        if limit > 0 { result["recent_events"] = .array(recent.reversed().map(\.json)) }
        if snapshot.workflow.status.isFinished {
            // The artifacts its finalization wrote (§12): it said none, even after `complete` wrote them.
            let handoff = HandoffView(hub: context.hub)
            result["hub_to_orchestrate"] = handoff.json(snapshot, artifacts: handoff.existingArtifacts(of: snapshot))
        }
        return OperationOutcome(
            result: result, nextSteps: NextSteps.after(snapshot), stateVersion: snapshot.workflow.stateVersion)
    }
}
