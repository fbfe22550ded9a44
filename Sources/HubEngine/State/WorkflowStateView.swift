import HubCore

/// The seed's "State Schema Definition" of a workflow, with real values (§4, §17).
struct WorkflowStateView {
    let snapshot: WorkflowSnapshot
    let now: Int64
    /// The workflow's pool and the agents that ran its tasks (empty where the caller did not read them).
    var agents = WorkflowAgents()

    /// `workflow_state` as `get-status` returns it.
    func json(includeMetrics: Bool, agentDetails: Bool) -> JSONValue {
        let w = snapshot.workflow
        var tasksByPhase: [Int: [WorkTask]] = [:]
        for t in snapshot.tasks { tasksByPhase[t.phaseID, default: []].append(t) }
        let phases: [JSONValue] = snapshot.phases.map { p in
            [
                "phase_id": .count(p.phaseID), "name": .string(p.name), "status": .string(p.status.rawValue),
                "started_at": .optional(p.startedAt.map(Timestamp.format(milliseconds:))),
                "completed_at": .optional(p.completedAt.map(Timestamp.format(milliseconds:))),
                "tasks": .array((tasksByPhase[p.phaseID] ?? []).map(taskJSON)),
            ]
        }
        var state: JSONValue = [
            "id": .string(w.id),
            "name": .string(w.name),
            "description": .string(w.description),
            "status": .string(w.status.rawValue),
            "archived": .bool(w.archived),
            "priority": .string(w.priority.rawValue),
            "created_at": .string(Timestamp.format(milliseconds: w.createdAt)),
            "updated_at": .string(Timestamp.format(milliseconds: w.updatedAt)),
            "started_at": .optional(w.startedAt.map(Timestamp.format(milliseconds:))),
            "finished_at": .optional(w.finishedAt.map(Timestamp.format(milliseconds:))),
            "finalized_at": .optional(w.finalizedAt.map(Timestamp.format(milliseconds:))),
            "current_phase": .count(w.currentPhase),
            "total_phases": .count(w.totalPhases),
            "progress_percentage": .double(
                snapshot.progressPercentage),
            "phases": .array(phases),
            "agent_assignments": agents.assignments(snapshot.tasks),
            "agent_requirements": w.agentRequirements.json,
            "dependencies": w.dependencies.json,
            "configuration": [
                "max_agents": .optional(w.configuration.maxAgents),
                "checkpoint_interval": .string(w.configuration.checkpointInterval.description),
                "timeout": .string(w.configuration.timeout.description),
                "failure_tolerance": .string(w.configuration.failureTolerance.rawValue),
                "priority": .string(w.priority.rawValue),
            ],
            "workspace": .string(w.workspace),
            "state_version": .int(w.stateVersion),
            "budget": BudgetView.status(w, now: now).budget,
            "spend": BudgetView.status(w, now: now).spend,
        ]
        if let reason = w.failureReason { state["failure_reason"] = .string(reason) }
        if includeMetrics { state["metrics"] = metrics }
        if agentDetails { state["agent_details"] = agents.details(now: now) }
        return state
    }

    /// Figures computed from the records; what cannot be measured yet is `null`.
    var metrics: JSONValue {
        let tasks = snapshot.tasks
        // Completed tasks' times: a failed, retried or waiting task keeps its last attempt's time.
        let finished = tasks.filter { $0.status == .completed }.compactMap(\.executionMilliseconds)
        let estimated = tasks.filter { $0.status == .completed }.compactMap { t -> (Int64, Int64)? in
            guard let e = t.estimate?.milliseconds, e > 0, let x = t.executionMilliseconds else { return nil }
            return (e, x)
        }
        return [
            "total_execution_time": .string(snapshot.workflow.activeTime(now: now).description),
            "tasks_total": .count(tasks.count),
            "tasks_completed": .count(tasks.filter { $0.status == .completed }.count),
            "tasks_failed": .count(tasks.filter { $0.status == .failed }.count),
            "tasks_skipped": .count(tasks.filter { $0.status == .skipped }.count),
            "tasks_ready": .count(tasks.filter { $0.status == .ready }.count),
            "tasks_running": .count(tasks.filter { $0.status == .running || $0.status == .assigned }.count),
            // Each attempt after a task's first, and the one a task waiting in the queue after a
            // failed attempt is about to get (it counted only once claimed).
            "retries": .count(
                tasks.reduce(0) { n, t in
                    n + (t.status == .ready || t.status == .pending ? t.attempts : max(0, t.attempts - 1))
                }),
            "average_task_time": finished.isEmpty
                ? .null
                : .string(HubDuration(milliseconds: finished.saturatingSum() / Int64(finished.count)).description),
            "planned_vs_actual": estimated.isEmpty
                ? .null
                : .double(
                    (Double(estimated.map(\.0).saturatingSum()) / Double(estimated.map(\.1).saturatingSum()) * 100)
                        .rounded()
                        / 100),
            "agent_efficiency": .null,
            "resource_utilization": .null,
        ]
    }

    /// A task as ``taskJSON(_:)`` has it, and for a running one its lease's expiry: reads do not
    /// sweep, so a task whose agent went silent stays `running` until a dispatcher operation
    /// gives it back, and `lease_expired` says that is coming.
    func taskJSON(_ t: WorkTask) -> JSONValue {
        var out = Self.taskJSON(t)
        if let lease = agents.leases[t.taskID] {
            out["lease_expires_at"] = .string(Timestamp.format(milliseconds: lease.expiresAt))
            if lease.expiresAt <= now { out["lease_expired"] = true }
        }
        return out
    }

    static func taskJSON(_ t: WorkTask) -> JSONValue {
        var out: JSONValue = [
            "task_id": .string(t.taskID),
            "description": .string(t.description),
            "status": .string(t.status.rawValue),
            "role": .optional(t.role),
            "priority": .string(t.priority.rawValue),
            "depends_on": .strings(t.dependsOn),
            "assigned_agent": .optional(t.assignedAgent),
            "attempts": .count(t.attempts),
            "max_retries": .count(t.maxRetries),
            "execution_time": .optional(t.executionMilliseconds.map { HubDuration(milliseconds: $0).description }),
        ]
        // Set aside for an agent by redistribute-tasks or the imbalance rule; only it claims the task.
        if let agent = t.reservedFor, !t.status.isSettled { out["reserved_for"] = .string(agent) }
        if !t.files.isEmpty { out["files"] = .strings(t.files) }
        if !t.resources.isEmpty {
            var r: JSONValue = .emptyObject
            for k in t.resources.keys.sorted() { r[k] = .count(t.resources[k] ?? 1) }
            out["resources"] = r
        }
        if let e = t.estimate { out["estimate"] = .string(e.description) }
        if let x = t.timeout { out["timeout"] = .string(x.description) }
        if t.risky { out["risky"] = true }
        if let c = t.command { out["command"] = .string(c) }
        if let p = t.payload { out["payload"] = p }
        if let e = t.evidence { out["evidence"] = e }
        if let v = t.verifiedEvidence { out["verified_evidence"] = v }
        if let r = t.result { out["result"] = r }
        if let e = t.lastError { out["error"] = e }
        return out
    }
}
