import HubCore

extension Mutation {
    /// Asks the lifecycle machine for `operation`; throws `INVALID_TRANSITION` when it refuses.
    func lifecycle(_ operation: LifecycleOperation) throws(HubError) -> WorkflowLifecycle.Action {
        var machine = WorkflowLifecycle(status: workflow.status, archived: workflow.archived)
        let action = machine.apply(operation)
        if case .refuse(let current, let archived, let allowed) = action {
            throw HubError.invalidTransition(
                operation: operation.rawValue, workflowID: workflow.id, current: current, archived: archived,
                allowed: allowed)
        }
        return action
    }

    /// Loads the workflow's phases and tasks into a progression.
    func progression() throws -> WorkflowProgression {
        WorkflowProgression(
            workflow: workflow, phases: try tx.phases(of: workflow.id), tasks: try tx.tasks(of: workflow.id))
    }
}

extension OperationOutcome {
    /// The usual outcome of a change to a workflow: a result plus next steps from its new state.
    static func after(_ hub: Hub, _ workflowID: String, result: JSONValue) async throws -> OperationOutcome {
        let snapshot = try await hub.snapshot(workflowID)
        // This change's version, even when another process changed the workflow again since (§9).
        let committed = await CommittedChange.current?.workflow(workflowID) ?? snapshot.workflow
        var result = result
        result["status"] = .string(committed.status.rawValue)
        result["state_version"] = .int(committed.stateVersion)
        return OperationOutcome(
            result: result, nextSteps: NextSteps.after(snapshot), stateVersion: committed.stateVersion)
    }
}
