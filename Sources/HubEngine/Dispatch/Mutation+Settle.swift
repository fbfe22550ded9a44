import HubCore
import HubStore

extension Mutation {
    /// Moves the workflow along after one of its tasks settled, reading only what
    /// that task touches: its dependents, and its phase's counters. Only when the
    /// phase is done is the whole workflow read, to start the next phase.
    mutating func settle(_ task: WorkTask) throws {
        if task.status == .completed {
            for var dependent in try tx.dependents(workflowID: task.workflowID, of: task.taskID)
            where dependent.status == .pending && dependent.phaseID == workflow.currentPhase {
                let ready = try dependent.dependsOn.allSatisfy { id in
                    guard let dep = try tx.task(workflowID: task.workflowID, taskID: id) else { return false }
                    return dep.status.satisfiesDependents && !dep.isDead
                }
                guard ready else { continue }
                dependent.status = .ready
                try tx.update(dependent)
                try emit("task_ready", data: ["task_id": .string(dependent.taskID)], phase: dependent.phaseID)
            }
        } else if task.isDead {
            var blocked = [task]
            var reasons = SkipReasons()
            let workflowID = task.workflowID
            while let next = blocked.popLast() {
                var reason: String?
                for var dependent in try tx.dependents(workflowID: next.workflowID, of: next.taskID)
                where dependent.status == .pending {
                    // Said once per blocker, and only of one with dependents to skip.
                    let said: String
                    if let reason {
                        said = reason
                    } else {
                        said = try reasons.reason(blockedBy: next) { try tx.task(workflowID: workflowID, taskID: $0) }
                        reason = said
                    }
                    dependent.status = .skipped
                    dependent.lastError = ["blocked_by": .string(next.taskID)]
                    try tx.update(dependent)
                    try emit(
                        "task_skipped",
                        data: [
                            "task_id": .string(dependent.taskID), "reason": .string(said),
                        ],
                        phase: dependent.phaseID)
                    blocked.append(dependent)
                }
            }
        }
        guard workflow.status == .running || workflow.status == .paused, task.phaseID == workflow.currentPhase else {
            return
        }
        let counts = try tx.phaseCounts(workflowID: workflow.id, phaseID: task.phaseID)
        let allowed = workflow.configuration.failureTolerance.allowedFailures(taskCount: counts.total)
        guard counts.open == 0 || counts.failed > allowed else { return }
        // The phase is decided: let the whole-workflow rules close it and start the next one.
        // A paused workflow records the outcome and closes the phase, and goes no further.
        var progression = try progression()
        try progress(&progression, progression.advance(now: now, stopAtPhaseEnd: true))
        if workflow.status == .failed { try revokeLeases(reason: "workflow failed") }
    }

    /// Announces a task handed back to the queue: `task_retried` with `data`, then, when it can
    /// be claimed (`ready`, not waiting for a dependency), `task_ready` (§10), as a task that
    /// becomes ready any other way announces. Answers the last event: the cause of its next
    /// assignment.
    mutating func announceRetry(of task: WorkTask, data: JSONValue, causedBy cause: String?) throws -> String {
        let retried = try emit("task_retried", data: data, phase: task.phaseID, causedBy: cause)
        guard task.status == .ready else { return retried.eventID }
        return try emit(
            "task_ready", data: ["task_id": .string(task.taskID)], phase: task.phaseID, causedBy: retried.eventID
        ).eventID
    }

    /// Ends every active lease of the workflow (it failed, was cancelled or was completed
    /// with force), or those on `tasks` (a phase closed with force); their agents' load drops,
    /// no attempt is counted, and their tasks go back to `ready` (`cancelled` in a cancelled
    /// workflow) for the caller to settle. Answers the tasks whose leases ended.
    @discardableResult
    mutating func revokeLeases(reason: String, tasks only: Set<String>? = nil) throws -> [String] {
        var revoked: [String] = []
        for var lease in try tx.activeLeases(workflowID: workflow.id) where only?.contains(lease.taskID) ?? true {
            revoked.append(lease.taskID)
            lease.state = .revoked
            lease.endedAt = now
            try tx.update(lease)
            // Its agent learns at its next heartbeat: until then the task's files stay held.
            if lease.expiresAt > now { try tx.setHold(leaseID: lease.leaseID, until: lease.expiresAt) }
            if var agent = try tx.agent(lease.agentID) {
                agent.currentLoad = max(0, agent.currentLoad - 1)
                if agent.status == .busy, agent.currentLoad < agent.maxConcurrentTasks { agent.status = .available }
                try tx.save(agent)
            }
            if var task = try tx.task(workflowID: lease.workflowID, taskID: lease.taskID), task.status == .running {
                task.status = workflow.status == .cancelled ? .cancelled : .ready
                task.assignedAgent = nil
                task.runDeadline = nil
                try tx.update(task)
            }
            try emit(
                "task_lease_revoked",
                data: ["task_id": .string(lease.taskID), "agent_id": .string(lease.agentID), "reason": .string(reason)])
        }
        return revoked
    }
}
