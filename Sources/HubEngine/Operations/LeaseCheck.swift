import HubCore
import HubStore

/// Read-only access for checks made before a dispatcher transaction.
struct ReadScope {
    let tx: any StoreReader
    let now: Int64
    var expiryHeld = false
}

extension ReadScope: LeaseChecking {}
extension DispatchScope: LeaseChecking {}

/// Where a lease can be checked: a read or a dispatcher transaction.
protocol LeaseChecking {
    var now: Int64 { get }
    var reader: any StoreReader { get }
    /// A server that has just started holds lease expiry back: an active lease past its expiry
    /// is still usable then (its agent could not heartbeat while the server was down).
    var expiryHeld: Bool { get }
}

extension ReadScope { var reader: any StoreReader { tx } }
extension DispatchScope { var reader: any StoreReader { tx } }

extension LeaseChecking {
    /// The lease behind an outcome, checked (§7, §17): it exists, is still active and
    /// unexpired, and belongs to the task and workflow when they are given. Anything
    /// else is `LEASE_EXPIRED` and changes nothing.
    func usableLease(_ leaseID: String, taskID: String?, workflowID: String?) throws -> (Lease, WorkTask) {
        func expired(_ why: String) -> HubError {
            HubError(
                .leaseExpired, "Lease \(leaseID.prefix(128)) \(why)",
                details: "The outcome was not recorded; the task's current holder (if any) reports it.",
                context: ["lease_id": .string(leaseID)],
                suggestions: [
                    "Claim new work with claim-task",
                    "Heartbeat more often than every heartbeat_interval to keep leases",
                ])
        }
        guard let lease = try reader.lease(leaseID) else { throw expired("is unknown") }
        if let taskID, taskID != lease.taskID { throw expired("belongs to another task than \(taskID.prefix(128))") }
        if let workflowID, workflowID != lease.workflowID {
            throw expired("belongs to another workflow than \(workflowID)")
        }
        switch lease.state {
        case .active: break
        case .completed, .failed:
            // Most often the caller's own report, sent again because its answer was lost: say
            // which outcome the lease recorded, so a retry is not taken for a loss.
            let outcome = lease.state == .completed ? "completed" : "failed"
            let at = lease.endedAt.map { " at " + Timestamp.format(milliseconds: $0) } ?? ""
            throw HubError(
                .leaseExpired,
                "Lease \(leaseID.prefix(128)) was already used to report an outcome: task \(lease.taskID) \(outcome) with it\(at)",
                details:
                    "That outcome is recorded and stands; this report changed nothing. A report sent again after a lost answer ends here.",
                context: [
                    "lease_id": .string(leaseID), "lease_state": .string(lease.state.rawValue),
                    "task_id": .string(lease.taskID), "agent_id": .string(lease.agentID),
                ],
                suggestions: ["Claim new work with claim-task"])
        case .revoked: throw expired("was revoked")
        case .expired: throw expired("has expired")
        }
        guard lease.state == .active && (expiryHeld || lease.isUsable(now: now)) else { throw expired("has expired") }
        guard let task = try reader.task(workflowID: lease.workflowID, taskID: lease.taskID), task.status == .running
        else {
            throw expired("no longer holds a running task")
        }
        return (lease, task)
    }
}

extension Hub {
    /// Enforces the timeout and budget of the workflow a lease belongs to, before an outcome is
    /// recorded under it (§5: whenever a workflow is touched). `perform` does so when the call
    /// names the workflow; a report by `lease_id` alone names none, and a workflow past its
    /// timeout then completed under it as a success where the same report naming the workflow
    /// got LEASE_EXPIRED. An unknown lease is left to ``LeaseChecking/usableLease(_:taskID:workflowID:)``.
    func enforceDeadline(ofLease leaseID: String, named workflowID: String?) async throws {
        guard workflowID == nil else { return }
        guard let leased = try await store.read({ tx in try tx.lease(leaseID)?.workflowID }) else { return }
        _ = try await enforceDeadline(leased)
    }
}

extension DispatchScope {
    /// An agent whose track record has just become degraded: what `performance_degraded`
    /// says of it, published by ``announce(_:causedBy:)`` once the event of the outcome
    /// that tipped the record (its cause) exists.
    struct Degradation {
        let agentID: String
        let data: JSONValue
    }

    /// Ends the lease with an outcome and updates the agent's load and track record; answers
    /// the degradation to announce (after the outcome's event) when the agent has just become degraded.
    mutating func recordOutcome(lease: Lease, task: WorkTask, succeeded: Bool, usage: Spend) throws
        -> (outcome: TrackRecord.Outcome, degradation: Degradation?)
    {
        var lease = lease
        lease.state = succeeded ? .completed : .failed
        lease.endedAt = now
        try tx.update(lease)
        let outcome = TrackRecord.Outcome(
            succeeded: succeeded, milliseconds: max(0, now - (task.startedAt ?? now)),
            estimateMilliseconds: task.estimate?.milliseconds, taskType: task.role)
        return (outcome, try credit(outcome, to: lease.agentID, usage: usage))
    }

    /// Adds a finished attempt to the agent's track record, takes it off its load and
    /// charges `usage`; answers the degradation to announce when the agent has just become degraded.
    mutating func credit(_ outcome: TrackRecord.Outcome, to agentID: String, usage: Spend = Spend()) throws
        -> Degradation?
    {
        guard var agent = try tx.agent(agentID) else { return nil }
        let wasDegraded = agent.record.isDegraded
        agent.record.add(outcome)
        agent.spend.add(usage)
        agent.currentLoad = max(0, agent.currentLoad - 1)
        if agent.status == .busy || agent.status == .available {
            agent.status = agent.currentLoad >= agent.maxConcurrentTasks ? .busy : .available
        }
        try tx.save(agent)
        // With performance monitoring off the record is kept but not judged (§14).
        guard configuration.performanceMonitoring, agent.record.isDegraded && !wasDegraded else { return nil }
        return Degradation(
            agentID: agent.agentID,
            data: [
                "reason": .optional(agent.record.degradation),
                "success_rate_recent": .double(
                    Double(agent.record.recent.filter(\.succeeded).count)
                        / Double(max(1, agent.record.recent.count)) * 100),
                "recent_performance": .array(agent.record.recentPerformance.map { .count($0) }),
            ])
    }

    /// Publishes `performance_degraded` for `degradation`, if any, caused by the event of the
    /// outcome that tipped the agent's record (§16).
    mutating func announce(_ degradation: Degradation?, causedBy cause: String?) throws {
        guard let degradation else { return }
        try emitAgent(
            "performance_degraded", degradation.agentID, severity: .warning, data: degradation.data, causedBy: cause)
    }
}
