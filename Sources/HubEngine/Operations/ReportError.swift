import HubCore
import HubStore

/// `report-error`: the seed's Error Reporting Protocol (§11, §17).
enum ReportError {
    struct Parameters: OperationParameters {
        var errorCategory: String?
        var errorType: String
        var errorMessage: String
        var context: JSONValue?
        var taskId: String?
        var agentId: String?
        var autoRecovery: Bool?
        static let schema = Schema.object([
            .init("error_category", .name("Free text, echoed (e.g. execution, infrastructure).", maxLength: 256)),
            .init(
                "error_type",
                .name(
                    "Decides severity and recoverability: task_failure, timeout, agent_unresponsive, agent_crash, dependency_unavailable, resource_exhausted, state_corruption, validation_failure, configuration_error; anything else is error / not recoverable.",
                    maxLength: 128), required: true),
            .init("error_message", .name("What happened.", maxLength: 10_000), required: true),
            .init("context", .anyJSON("Free JSON; task_id and agent_id inside it are used like the parameters.")),
            .init("task_id", .name("The task the error is about.", maxLength: 256)),
            .init("agent_id", .id("The agent the error is about.")),
            .init(
                "auto_recovery",
                .boolean("Perform the recovery when the error is recoverable. Defaults to the auto_recovery setting.")),
        ])
    }

    static let descriptor = OperationDescriptor(
        "report-error", scope: .workflow, mutating: true, parameters: Parameters.self,
        summary:
            "Report an error: classified, its impact computed from the task graph, and recovered from when possible.",
        discussion: """
            Publishes error_encountered with the classification (docs/errors.md has the table), the impact \
            (tasks blocked, phases delayed) and suggestions drawn from the state. When the error is recoverable and \
            auto_recovery is on, the recovery runs and the result reports it: task_failure, timeout and \
            dependency_unavailable retry the task; agent_unresponsive and agent_crash redistribute the agent's \
            tasks; state_corruption restores the newest valid checkpoint (state only), but not on a completed \
            or cancelled workflow (terminal: restore it by hand to bring it back); resource_exhausted is \
            reported for throttling.
            """,
        example:
            "coordination-hub workflow_123 report-error '{\"error_category\": \"execution\", \"error_type\": \"task_failure\", \"error_message\": \"tests failed\", \"context\": {\"task_id\": \"run_tests\"}}'",
        handler: run)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        let id = try context.requiredWorkflowID
        let hub = context.hub
        let classification = ErrorClassification.of(p.errorType)
        let taskID = p.taskId ?? p.context?["task_id"]?.stringValue
        let agentID = p.agentId ?? p.context?["agent_id"]?.stringValue
        let errorID = hub.ids.make("err")
        let auto = p.autoRecovery ?? hub.configuration.autoRecovery

        let change = try await hub.mutate(context) { m -> (JSONValue, [String], HubEvent) in
            let tasks = try m.tx.tasks(of: id)
            let phases = try m.tx.phases(of: id)
            if let taskID, !tasks.contains(where: { $0.taskID == taskID }) {
                throw HubError(
                    .taskNotFound, "Workflow \(id) has no task \(taskID.prefix(128))",
                    details: "Name a task of the workflow in task_id (or context.task_id).",
                    context: ["field": "task_id"],
                    suggestions: ["List its tasks with 'coordination-hub \(id) get-status'"])
            }
            var affected: [String] = []
            if let taskID { affected.append(taskID) }
            if let agentID {
                affected += tasks.filter {
                    ($0.assignedAgent == agentID || $0.reservedFor == agentID) && !$0.status.isSettled
                }
                .map(\.taskID).filter { !affected.contains($0) }
            }
            let impact = ErrorImpact(affected: affected, tasks: tasks, phases: phases)
            let suggestions = try suggest(
                classification, type: p.errorType, taskID: taskID, agentID: agentID, tasks: tasks, m: m)
            let related = try m.tx.events(EventQuery(workflowID: id, limit: 5, descending: true))
                .filter { event in
                    let data = event.data
                    return (taskID != nil && data["task_id"]?.stringValue == taskID)
                        || (agentID != nil && data["agent_id"]?.stringValue == agentID)
                }.map(\.eventID)
            let report: JSONValue = [
                "error_id": .string(errorID), "workflow_id": .string(id),
                "classification": [
                    "category": .optional(p.errorCategory), "severity": .string(classification.severity.rawValue),
                    "type": .string(p.errorType),
                    "scope": .string(taskID != nil ? "task" : agentID != nil ? "agent" : "workflow"),
                    "recoverable": .bool(classification.recoverable),
                ],
                "context": [
                    "component": "coordination-hub", "operation": "report-error",
                    "phase": .count(m.workflow.currentPhase),
                    "additional_context": p.context ?? .null,
                ],
                "details": ["error_message": .string(p.errorMessage), "related_events": .strings(related)],
                "impact_assessment": impact.json,
                "recovery_suggestions": .strings(suggestions),
            ]
            // A report is a fact about the workflow, not a change to it: published without a new
            // state_version (an orchestrator's if_version still holds); a recovery that changes
            // something bumps it then.
            let reported = try m.tx.append(
                .workflow(
                    "error_encountered", m.workflow, severity: classification.severity,
                    data: ["error_report": report], causedBy: m.rootCause),
                eventID: m.ids.make("evt"), timestamp: m.now)
            return (report, suggestions, reported)
        }
        let (report, suggestions, reported) = change.value

        var recovery: JSONValue = ["attempted": false]
        if classification.recoverable, auto, let action = classification.recovery {
            // The recovery's events are caused by the report's error_encountered (§16).
            let cause = reported.eventID
            recovery = await recover(action, context: context, taskID: taskID, agentID: agentID, cause: cause)
        } else if classification.recoverable {
            recovery = ["attempted": false, "reason": "auto_recovery is off"]
        } else {
            recovery = ["attempted": false, "reason": "not recoverable by the hub"]
        }
        var outcome = try await OperationOutcome.after(
            hub, id, result: ["error_report": report, "recovery_action": recovery])
        // The report's suggestions describe the state the error was reported in; after a
        // recovery that ran, they would tell of a task still running that is ready again.
        let recovered = recovery["succeeded"] == true
        outcome.nextSteps = (recovered ? [] : suggestions) + outcome.nextSteps
        return outcome
    }

    /// Suggestions from the state at hand: the task's attempts, the agent's load, the newest valid checkpoint.
    static func suggest(
        _ c: ErrorClassification, type: String, taskID: String?, agentID: String?, tasks: [WorkTask], m: Mutation
    ) throws -> [String] {
        let id = m.workflow.id
        var out: [String] = []
        if let taskID, let task = tasks.first(where: { $0.taskID == taskID }) {
            let left = max(0, task.maxRetries + 1 - task.attempts)
            out.append(
                "Task \(taskID) is \(task.status.rawValue) after \(task.attempts) attempt(s); \(left) left before it fails for good"
            )
        }
        if let agentID {
            let held = tasks.filter { $0.assignedAgent == agentID && $0.status == .running }.count
            out.append(
                "Move agent \(agentID)'s \(held) running task(s): coordination-hub \(id) redistribute-tasks '{\"failed_agent\": \"\(agentID)\"}'"
            )
        }
        if type == "dependency_unavailable" {
            let deps = (m.workflow.dependencies.external + m.workflow.dependencies.internal).map(\.name)
            if !deps.isEmpty { out.append("Check the workflow's dependencies: \(deps.joined(separator: ", "))") }
        }
        if type == "resource_exhausted" { out.append("Lower the concurrency: fewer agents or max_concurrent_tasks") }
        if type == "state_corruption" || !c.recoverable {
            let newest = try m.tx.checkpoints(of: id, limit: 20).first(where: \.isValid)
            if let newest {
                out.append(
                    "Restore the newest valid checkpoint \(newest.checkpointID) (\(newest.name)): coordination-hub \(id) restore '{\"checkpoint_id\": \"\(newest.checkpointID)\"}'"
                )
            }
            out.append("Check the state: coordination-hub \(id) verify-state")
        }
        return out
    }

    /// Performs the recovery and says what happened; a recovery that cannot run is reported, not thrown.
    static func recover(
        _ action: ErrorClassification.Recovery, context: OperationContext, taskID: String?, agentID: String?,
        cause: String? = nil
    ) async -> JSONValue {
        var context = context
        context.expectedVersion = nil
        // Every change the recovery makes is caused by the report's error_encountered (§16).
        return await Mutation.$causeOfChanges.withValue(cause) {
            await recover(action, context: context, taskID: taskID, agentID: agentID)
        }
    }

    private static func recover(
        _ action: ErrorClassification.Recovery, context: OperationContext, taskID: String?, agentID: String?
    ) async -> JSONValue {
        do {
            switch action {
            case .retryTask, .waitAndRetry:
                guard let taskID else {
                    return ["attempted": false, "action": .string(action.rawValue), "reason": "no task_id to retry"]
                }
                return try await retry(taskID, context: context, action: action)
            case .redistribute:
                guard let agentID else {
                    return ["attempted": false, "action": "redistribute", "reason": "no agent_id to redistribute"]
                }
                let parameters = try RedistributeTasks.Parameters.decode(["failed_agent": .string(agentID)])
                let outcome = try await RedistributeTasks.run(context, parameters)
                return [
                    "attempted": true, "action": "redistribute", "succeeded": true,
                    "new_assignments": outcome.result["new_assignments"] ?? .array([]),
                ]
            case .throttle:
                return [
                    "attempted": false, "action": "throttle",
                    "reason": "throttling is up to the agents; see the suggestions",
                ]
            case .restoreCheckpoint:
                let parameters = try Restore.Parameters.decode([
                    "checkpoint_id": "latest", "strategy": "partial_restore",
                ])
                let outcome: OperationOutcome
                do {
                    outcome = try await Restore.run(context, parameters, automatic: true)
                } catch let error as HubError where error.code == .invalidTransition {
                    // A completed or cancelled workflow (§5): not brought back by a recovery.
                    return [
                        "attempted": false, "action": "restore_checkpoint", "reason": .string(error.message),
                        "error": error.errorObject,
                    ]
                }
                return [
                    "attempted": true, "action": "restore_checkpoint", "succeeded": true,
                    "used_checkpoint": outcome.result["used_checkpoint"] ?? .null,
                    "fallback_used": outcome.result["fallback_used"] ?? false,
                    "skipped_corrupt": outcome.result["skipped_corrupt"] ?? .array([]),
                ]
            }
        } catch let error as HubError {
            return [
                "attempted": true, "action": .string(action.rawValue), "succeeded": false, "error": error.errorObject,
            ]
        } catch {
            return [
                "attempted": true, "action": .string(action.rawValue), "succeeded": false, "error": .string("\(error)"),
            ]
        }
    }

    /// The task's `max_retries` raised so the retry asked for can run (its attempts had used
    /// them up): said in the result, or the user's limit changed without a word. `nil` when
    /// it was not raised.
    static func raised(from limit: Int, to now: Int) -> JSONValue? {
        now > limit ? ["from": .count(limit), "to": .count(now)] : nil
    }

    /// Puts a failed task back in the queue (attempts kept), unless its retries are spent or it is still running.
    static func retry(_ taskID: String, context: OperationContext, action: ErrorClassification.Recovery) async throws
        -> JSONValue
    {
        let id = try context.requiredWorkflowID
        // A running task the reporter says failed: its lease ends and it goes back to the queue.
        let requeued = try await context.hub.dispatch { scope -> JSONValue? in
            guard let lease = try scope.tx.activeLeases(workflowID: id).first(where: { $0.taskID == taskID }),
                var task = try scope.tx.task(workflowID: id, taskID: taskID)
            else { return nil }
            let limit = task.maxRetries
            if task.attempts > task.maxRetries {
                task.maxRetries = task.attempts
                try scope.tx.update(task)
            }
            try scope.requeue(
                lease: lease, ending: .revoked, countAttempt: true, reason: "report-error recovery",
                cause: Mutation.causeOfChanges)
            var result: JSONValue = [
                "attempted": true, "action": .string(action.rawValue), "succeeded": true, "task_id": .string(taskID),
                "task_status": "ready", "lease_revoked": .string(lease.leaseID),
            ]
            result["max_retries_raised"] = raised(from: limit, to: task.maxRetries)
            return result
        }
        if let requeued { return requeued }
        let change = try await context.hub.mutate(context) { m -> JSONValue in
            guard var task = try m.tx.task(workflowID: id, taskID: taskID) else {
                return ["attempted": false, "reason": "the task is gone"]
            }
            guard task.status == .failed || task.status == .cancelled else {
                return [
                    "attempted": false, "action": .string(action.rawValue),
                    "reason": .string("task \(taskID) is \(task.status.rawValue), not failed: nothing to retry"),
                ]
            }
            guard m.workflow.status == .running || m.workflow.status == .paused else {
                return [
                    "attempted": false, "action": .string(action.rawValue),
                    "reason": .string(
                        "the workflow is \(m.workflow.status.rawValue); resume it to retry its failed tasks"),
                ]
            }
            let phase = try m.tx.phases(of: id).first { $0.phaseID == task.phaseID }
            guard phase?.status == .running else {
                // Its phase is closed (a failure tolerance let it complete): the task would wait in a
                // phase that never runs again, and its revived dependents with it, for good.
                return [
                    "attempted": false, "action": .string(action.rawValue),
                    "reason": .string(
                        "task \(taskID)'s phase \(task.phaseID) is \(phase?.status.rawValue ?? "gone"); run the phase again with pause, then resume '{\"resume_from_phase\": \(task.phaseID)}'"
                    ),
                ]
            }
            let tasks = try m.tx.tasks(of: id)
            let done = Set(tasks.filter { $0.status == .completed || $0.status == .skipped }.map(\.taskID))
            task.status = task.dependsOn.allSatisfy(done.contains) ? .ready : .pending
            task.completedAt = nil
            task.assignedAgent = nil
            let limit = task.maxRetries
            task.maxRetries = max(task.maxRetries, task.attempts)
            // The tasks skipped because it failed wait for it again.
            let revived = SkippedDependents.revived(after: taskID, in: tasks)
            for dependent in revived { try m.tx.update(dependent) }
            task.queuedBy = try m.announceRetry(
                of: task,
                data: [
                    "task_id": .string(taskID), "reason": "report-error recovery",
                    "attempts": .count(task.attempts),
                    // No run ends here: the failed attempt was counted when it failed.
                    "attempt_counted": false,
                    "revived_tasks": .strings(revived.map(\.taskID)),
                ],
                causedBy: nil)
            try m.tx.update(task)
            var result: JSONValue = [
                "attempted": true, "action": .string(action.rawValue), "succeeded": true, "task_id": .string(taskID),
                "task_status": .string(task.status.rawValue), "revived_tasks": .strings(revived.map(\.taskID)),
            ]
            result["max_retries_raised"] = raised(from: limit, to: task.maxRetries)
            return result
        }
        return change.value
    }
}
