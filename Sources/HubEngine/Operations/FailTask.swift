import HubCore

/// `fail-task`: record a task's failure under its lease; retried up to `max_retries` (§7).
enum FailTask {
    struct Parameters: OperationParameters {
        var leaseId: String
        var taskId: String?
        var error: JSONValue?
        var retryable: Bool?
        var usage: UsageReport?
        static let schema = Schema.object([
            .init(
                "lease_id", .id("The lease claim-task returned; enough on its own."), required: true
            ),
            .init("task_id", .string("Checked against the lease when given.", maxLength: 128)),
            .init("error", .anyJSON("What went wrong, kept with the task.")),
            .init("retryable", .boolean("Whether another attempt may succeed. Defaults to true.")),
            .init("usage", Spend.usageSchema),
        ])
    }

    static let descriptor = OperationDescriptor(
        "fail-task", scope: .hub, mutating: false, parameters: Parameters.self,
        summary: "Report a task failed under its lease; it is retried up to max_retries, then fails for good.",
        discussion: """
            A task that fails for good counts against its phase's failure_tolerance (low: none, medium: 10% rounded up, \
            high: any); past it the workflow fails. Tasks depending on it are skipped. A second outcome for the same \
            lease, or a stale or foreign lease, gets LEASE_EXPIRED and changes nothing.
            """,
        example:
            "coordination-hub fail-task '{\"lease_id\": \"lease_038hqm3a0a00117sp5797zky4n\", \"error\": \"tests failed\", \"retryable\": true}'",
        workflowID:
            "Checked against the lease: a lease of another workflow's task is LEASE_EXPIRED (lease_id alone is enough).",
        withoutVersion:
            "fail-task acts through the task's lease, which is its guard: a stale or foreign lease, or a second outcome, is LEASE_EXPIRED",
        handler: run)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        // The lease's workflow times out first, however the call names it.
        try await context.hub.enforceDeadline(ofLease: p.leaseId, named: context.workflowID)
        let workflowID = context.workflowID
        let (task, willRetry, status) = try await context.hub.dispatch { scope -> (WorkTask, Bool, WorkflowStatus) in
            let (lease, found) = try scope.usableLease(p.leaseId, taskID: p.taskId, workflowID: workflowID)
            var task = found
            let (outcome, degradation) = try scope.recordOutcome(
                lease: lease, task: task, succeeded: false, usage: p.usage?.spend ?? Spend())
            let willRetry = (p.retryable ?? true) && task.attempts <= task.maxRetries
            task.lastError = p.error ?? .null
            task.assignedAgent = willRetry ? nil : task.assignedAgent
            task.runDeadline = nil
            task.executionMilliseconds = outcome.milliseconds
            if willRetry {
                task.status = .ready
                task.startedAt = nil
            } else {
                task.status = .failed
                task.completedAt = scope.now
            }
            try scope.tx.update(task)
            let failed = task
            let (retriedBy, failure, status) = try scope.workflow(task.workflowID) {
                m -> (String?, String, WorkflowStatus) in
                let event = try m.emit(
                    "task_failed", severity: .error,
                    data: [
                        "task_id": .string(failed.taskID), "agent_id": .string(lease.agentID),
                        "error": p.error ?? .null,
                        "attempts": .count(failed.attempts), "will_retry": .bool(willRetry),
                    ], phase: failed.phaseID)
                try m.charge(p.usage?.spend ?? Spend(), by: lease.agentID, pausing: false)
                if willRetry {
                    let queuedBy = try m.announceRetry(
                        of: failed,
                        data: [
                            "task_id": .string(failed.taskID), "attempts": .count(failed.attempts), "reason": "failed",
                            // As every retry names whose run ended and whether the attempt counted (the
                            // failure itself is task_failed's, the retry's cause).
                            "agent_id": .string(lease.agentID), "lease_id": .string(lease.leaseID),
                            "attempt_counted": true,
                        ],
                        causedBy: event.eventID)
                    try m.pauseIfBudgetExhausted()
                    return (queuedBy, event.eventID, m.workflow.status)
                }
                try m.settle(failed)
                try m.pauseIfBudgetExhausted()
                return (nil, event.eventID, m.workflow.status)
            }
            try scope.announce(degradation, causedBy: failure)
            if let retriedBy {
                task.queuedBy = retriedBy
                try scope.tx.update(task)
            }
            return (failed, willRetry, status)
        }
        return OperationOutcome(
            result: [
                "workflow_id": .string(task.workflowID), "task_id": .string(task.taskID),
                "status": .string(task.status.rawValue),
                "attempts": .count(task.attempts), "will_retry": .bool(willRetry),
                "workflow_status": .string(status.rawValue),
            ],
            nextSteps: nextSteps(task, willRetry: willRetry, status: status))
    }

    /// What to do next, as the workflow now is (§3): a task that failed for good within its
    /// phase's tolerance leaves the workflow running, where `resume` is refused (the step said
    /// to retry the phase with it whatever the state).
    static func nextSteps(_ task: WorkTask, willRetry: Bool, status: WorkflowStatus) -> [String] {
        let id = task.workflowID
        if willRetry {
            guard status == .running else {
                return ["The task is ready again; \(CompleteTask.nextStep(workflowID: id, status: status))"]
            }
            return ["The task is ready again; any agent of its role may claim it"]
        }
        switch status {
        case .failed:
            return [
                "Task \(task.taskID) failed for good and workflow \(id) failed with it: fix the cause, then run the phase again: coordination-hub \(id) resume '{\"resume_from_phase\": \(task.phaseID)}'",
                "Check the workflow with 'coordination-hub \(id) get-status'",
            ]
        case .running:
            return [
                "Task \(task.taskID) failed for good within its phase's failure tolerance; workflow \(id) carries on: claim the next task with claim-task",
                "Check the workflow with 'coordination-hub \(id) get-status'",
            ]
        case .paused:
            return [
                "Task \(task.taskID) failed for good within its phase's failure tolerance; workflow \(id) is paused: resume it with 'coordination-hub \(id) resume'"
            ]
        case .completed, .cancelled, .created:
            return [
                "Task \(task.taskID) failed for good; \(CompleteTask.nextStep(workflowID: id, status: status))",
                "Check the workflow with 'coordination-hub \(id) get-status'",
            ]
        }
    }
}
