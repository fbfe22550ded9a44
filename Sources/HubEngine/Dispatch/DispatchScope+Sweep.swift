import HubCore
import HubStore

extension DispatchScope {
    /// Applies what is due at `now` (§7): agents silent for 3 heartbeat intervals
    /// become `unresponsive` and lose their leases; lapsed leases end; tasks past
    /// their own `timeout` are failed and retried. Every dispatcher operation runs
    /// this first, so it works with no server running. `holdingExpiry`: a server that has
    /// just started (``Hub/expiryHeldUntil``) fails no agent and ends no lease for silence yet.
    mutating func sweep(holdingExpiry: Bool = false) throws {
        // Each agent is silent 3 intervals after it was last heard from, by the interval it was
        // told then (``Agent/silentAt``); one recorded without it, by this process's.
        let silentBy = holdingExpiry ? Int64.min : now
        let unrecordedSilentSince = holdingExpiry ? Int64.min : now - leaseDuration
        let leasesDue = holdingExpiry ? Int64.min : now
        guard
            try tx.sweepHasWork(
                agentsSilentBy: silentBy, unrecordedSilentSince: unrecordedSilentSince, leasesExpiredBy: leasesDue,
                now: now)
        else { return }
        for agent in try tx.agentsSilent(by: silentBy, unrecordedSince: unrecordedSilentSince) {
            // Silent, but holding a lease that runs on (given or renewed by a process with a longer
            // interval than the agent was last told): the agent was told it had until then.
            guard try !tx.activeLeases(agentID: agent.agentID).contains(where: { $0.expiresAt > now }) else {
                continue
            }
            try fail(agent, reason: "no heartbeat for 3 intervals")
        }
        var failedNow: Set<String> = []
        for lease in try tx.expiredLeases(now: leasesDue) {
            // An agent set offline (redistribute-tasks named it failed) that still held work
            // elsewhere and fell silent has failed as a silent agent does: its leases lapsed
            // with no agent.<id>.failed and no checkpoint.
            if !failedNow.contains(lease.agentID), let agent = try tx.agent(lease.agentID), agent.status == .offline,
                agent.silentAt(defaultInterval: configuration.heartbeatInterval) <= silentBy
            {
                failedNow.insert(lease.agentID)
                try fail(agent, reason: "offline holding leases, no heartbeat for 3 intervals")
            }
            guard try tx.lease(lease.leaseID)?.state == .active else { continue }
            try requeue(
                lease: lease, ending: .expired, countAttempt: true, reason: "lease expired", cause: nil,
                runEnded: lease.expiresAt)
        }
        for task in try tx.overdueTasks(now: now) {
            guard
                let lease = try tx.activeLeases(workflowID: task.workflowID).first(where: { $0.taskID == task.taskID })
            else {
                continue
            }
            let cause = try workflow(task.workflowID) { m in
                m.checkpointAtCommit(.taskTimeout, name: "timeout_\(task.taskID)")
                return try m.emit(
                    "task_timed_out", severity: .warning,
                    data: [
                        "task_id": .string(task.taskID), "agent_id": .string(lease.agentID),
                        "timeout": .optional(task.timeout?.description),
                    ], phase: task.phaseID)
            }
            try requeue(
                lease: lease, ending: .expired, countAttempt: true, reason: "task timed out", cause: cause.eventID,
                runEnded: task.runDeadline)
        }
        try rebalanceReservations()
        try processResourceQueue()
    }

    /// An agent that fell silent (§7): `unresponsive`, `agent.<id>.failed` published, its
    /// leases revoked with the attempt counted, a checkpoint of each workflow that was
    /// running, and its allocations released.
    mutating func fail(_ agent: Agent, reason: String) throws {
        var agent = agent
        agent.status = .unresponsive
        try tx.save(agent)
        let leases = try tx.activeLeases(agentID: agent.agentID)
        let failed = try emitAgent(
            "failed", agent.agentID, severity: .error,
            data: [
                "reason": .string(reason),
                "last_heartbeat": .string(Timestamp.format(milliseconds: agent.lastHeartbeat)),
                "leases_revoked": .count(leases.count),
            ])
        for lease in leases {
            // §7: a checkpoint of each workflow running when the agent failed (also when the lost
            // attempt fails it), once its tasks are back in the queue.
            let wasRunning = try workflow(lease.workflowID) { m in m.workflow.status == .running }
            try requeue(
                lease: lease, ending: .expired, countAttempt: true, reason: "agent \(agent.agentID) failed",
                cause: failed.eventID, runEnded: lease.expiresAt)
            if wasRunning {
                try workflow(lease.workflowID) { m in
                    m.checkpointAtCommit(.agentFailure, name: "agent_failure_\(agent.agentID)")
                }
            }
        }
        try releaseAllocations(agentID: agent.agentID, reason: "agent \(agent.agentID) failed")
    }

    /// Ends a lease the agent did not finish and puts its task back in the queue —
    /// or, when its attempts are spent, fails it for good. `countAttempt: false`
    /// (deregistration, redistribution) gives the attempt back. `runEnded`: when the run is
    /// taken to have ended, if before now — the lease's expiry for a silent agent, the task's
    /// deadline for a timeout — so that a sweep that comes late (no server, no command for a
    /// while) does not charge the wait to the agent's task times and wall-time spend.
    mutating func requeue(
        lease: Lease, ending: LeaseState, countAttempt: Bool, reason: String, cause: String?,
        holderMayRun: Bool = true, runEnded: Int64? = nil
    ) throws {
        var lease = lease
        lease.state = ending
        lease.endedAt = now
        try tx.update(lease)
        // Its agent learns at its next heartbeat: until then (or the lease's end) the task's
        // files and resources stay held, so its retry does not run beside the old run.
        if holderMayRun && lease.expiresAt > now { try tx.setHold(leaseID: lease.leaseID, until: lease.expiresAt) }
        let current = try tx.task(workflowID: lease.workflowID, taskID: lease.taskID)
        if countAttempt, let running = current, running.status == .running {
            // A run that timed out or whose holder went silent is a failed attempt of that agent:
            // its track record (and so degradation) counts it, as a fail-task would.
            // Caused by what ended the run (the agent's failure, the task's timeout), if anything did.
            try announce(
                credit(
                    TrackRecord.Outcome(
                        succeeded: false,
                        milliseconds: max(0, min(now, runEnded ?? now) - (running.startedAt ?? now)),
                        estimateMilliseconds: running.estimate?.milliseconds, taskType: running.role),
                    to: lease.agentID),
                causedBy: cause)
        } else {
            try adjustLoad(of: lease.agentID, by: -1)
        }
        guard var task = current, task.status == .running else { return }
        if !countAttempt { task.attempts = max(0, task.attempts - 1) }
        task.assignedAgent = nil
        task.runDeadline = nil
        if countAttempt && task.attempts > task.maxRetries {
            task.status = .failed
            task.completedAt = now
            task.lastError = ["reason": .string(reason)]
            try tx.update(task)
            let failedTask = task
            try workflow(task.workflowID) { m in
                try m.emit(
                    "task_failed", severity: .error,
                    data: [
                        "task_id": .string(failedTask.taskID), "agent_id": .string(lease.agentID),
                        "reason": .string(reason), "attempts": .count(failedTask.attempts),
                        "will_retry": false,
                    ], phase: failedTask.phaseID, causedBy: cause)
                try m.settle(failedTask)
            }
        } else {
            task.status = .ready
            task.startedAt = nil
            let retried = task
            task.queuedBy = try workflow(task.workflowID) { m in
                try m.announceRetry(
                    of: retried,
                    data: [
                        "task_id": .string(retried.taskID), "reason": .string(reason),
                        "attempts": .count(retried.attempts),
                        "lease_id": .string(lease.leaseID),
                        // Whose run ended, and whether it counts as that agent's failed attempt
                        // (the report's agent results read both).
                        "agent_id": .string(lease.agentID), "attempt_counted": .bool(countAttempt),
                    ], causedBy: cause)
            }
            try tx.update(task)
        }
    }
}
