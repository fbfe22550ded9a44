import HubCore

/// `heartbeat`: the agent is alive; all its leases are renewed (§7, §17).
enum Heartbeat {
    struct Parameters: OperationParameters {
        var agentId: String
        var usage: UsageReport?
        var heldLeases: [String]?
        var releasedLeases: [String]?
        var offline: Bool?
        var runnerId: String?
        static let schema = Schema.object([
            .init("agent_id", .id("The agent."), required: true),
            .init(
                "held_leases",
                .array(
                    .string(maxLength: 128),
                    "The leases the agent knows it holds. Given, only these are renewed; its other leases older than one heartbeat interval (claims whose answer never reached it), or all of them with offline: true, go back to the queue without counting an attempt. A lease the hub ended (a timeout, a revocation) keeps its task's files and resources held while the agent still names it, or until it would have expired, so the retry never runs beside the old run.",
                    maxItems: 1000)),
            .init(
                "released_leases",
                .array(
                    .string(maxLength: 128),
                    "Leases the agent gives back without an outcome (it was stopped, or took the task as it stopped): their tasks go back to the queue at once, no attempt counted. A lease of this agent's that has already ended (timed out, revoked, or its outcome refused with LEASE_EXPIRED) may be named too, to charge its run's usage: it changes nothing else.",
                    maxItems: 1000)),
            .init(
                "offline",
                .boolean(
                    "The agent is stopping: it is set offline and gets no task until it heartbeats again or registers (no agent.<id>.failed follows its silence). Defaults to false."
                )),
            .init(
                "runner_id",
                RegisterAgent.runnerIDSchema.described(
                    "The runner process sending the heartbeat, as it registered. Another runner than the one holding the agent is refused with VERSION_CONFLICT and changes nothing: the sender has lost the id and should stop. With offline: true the holder lets go of the id. Given for an agent no runner holds, the sender takes it."
                )),
            .init(
                "usage",
                Spend.usageSchema.described(
                    "Usage since the last report: added to the agent's spend. It is charged to the workflows of the leases in released_leases that are this agent's, active or ended (split evenly: the usage of runs that end without an outcome); without any, split evenly across the workflows whose leases this heartbeat renews."
                )),
        ])
    }

    static let descriptor = OperationDescriptor(
        "heartbeat", scope: .hub, mutating: false, parameters: Parameters.self,
        summary: "Keep an agent alive and renew its leases; returns each lease's new lease_expires_at.",
        discussion:
            "Leases last 3 heartbeat intervals (heartbeat_interval, default 30s) from the claim or the last heartbeat. An agent that stops sends offline: true last (after giving back its leases), so that its silence is not taken for a failure.",
        example: "coordination-hub heartbeat '{\"agent_id\": \"agent_001\"}'",
        withoutVersion:
            "heartbeat renews the agent's own leases, which are the guard of its tasks",
        handler: run)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        let (agent, leases) = try await context.hub.dispatch { scope -> (Agent, [Lease]) in
            var agent = try scope.agent(p.agentId)
            let stopping = p.offline ?? false
            switch agent.heartbeat(from: p.runnerId, offline: stopping) {
            case .heldByAnother(let holder):
                throw agent.heldByAnotherRunner(
                    holder: holder, now: scope.now, heartbeatInterval: scope.configuration.heartbeatInterval,
                    registering: false)
            case .proceed(let holder):
                agent.runnerID = holder
            }
            let returning = !stopping && (agent.status == .unresponsive || agent.status == .offline)
            agent.heard(at: scope.now, heartbeatInterval: scope.configuration.heartbeatInterval)
            let usage = p.usage?.spend ?? Spend()
            agent.spend.add(usage)
            if returning { agent.status = agent.currentLoad >= agent.maxConcurrentTasks ? .busy : .available }
            // A stopping agent is not judged by its silence: the sweep looks at available and busy agents only.
            if stopping { agent.status = .offline }
            try scope.tx.save(agent)
            if returning { try scope.emitAgent("recovered", agent.agentID) }
            var renewed: [Lease] = []
            let held = p.heldLeases.map(Set.init)
            // Ended leases it may still have been running: a heartbeat that no longer names one
            // (or names none at all) lets go of its task's files and resources; one that still
            // names it (its command is still being stopped) keeps them held as long as a lease.
            for lease in try scope.tx.lingeringLeases(agentID: p.agentId, now: scope.now) {
                let stillRunning = held?.contains(lease.leaseID) ?? false
                try scope.tx.setHold(
                    leaseID: lease.leaseID, until: stillRunning ? scope.now + scope.leaseDuration : nil)
            }
            let released = Set(p.releasedLeases ?? [])
            // Read before the leases end below: the usage of a run given back, or of one whose lease
            // had already ended (its outcome refused), is that run's workflow's, not the others'.
            let releasedWorkflows = try Set(
                released.compactMap { id in try scope.tx.lease(id).flatMap { $0.agentID == p.agentId ? $0 : nil } }
                    .map(\.workflowID))
            let known = scope.now - scope.configuration.heartbeatInterval.milliseconds
            for var lease in try scope.tx.activeLeases(agentID: p.agentId) {
                if released.contains(lease.leaseID) {
                    // Given back: not a failure of the task nor of the agent, so no attempt is counted.
                    try scope.requeue(
                        lease: lease, ending: .revoked, countAttempt: false,
                        reason: "agent \(p.agentId) gave it back", cause: nil, holderMayRun: false)
                    continue
                }
                // Claimed, but the answer never reached the agent (a lost response): released once
                // older than an interval (an answer may still be on its way), or at once when the
                // agent is stopping: its runner cut its last claim short and runs nothing more.
                if let held, !held.contains(lease.leaseID), lease.claimedAt <= known || stopping {
                    try scope.requeue(
                        lease: lease, ending: .revoked, countAttempt: false,
                        reason: "agent \(p.agentId) does not hold it (its claim's answer was lost)", cause: nil,
                        holderMayRun: false)
                    continue
                }
                lease.expiresAt = scope.now + scope.leaseDuration
                try scope.tx.update(lease)
                renewed.append(lease)
            }
            let charged = releasedWorkflows.isEmpty ? Set(renewed.map(\.workflowID)) : releasedWorkflows
            // A workflow removed since its lease ended has no spend to add to; the agent's still counts.
            let workflows = try charged.filter { try scope.tx.workflow($0) != nil }.sorted()
            for (n, id) in workflows.enumerated() {
                try scope.workflow(id) { m in try m.charge(usage.share(n, of: workflows.count), by: p.agentId) }
            }
            // Leases given back lowered its load (and status) as the tasks went back: answered as now.
            return (try scope.tx.agent(p.agentId) ?? agent, renewed)
        }
        return OperationOutcome(
            result: [
                "agent_id": .string(agent.agentID), "status": .string(agent.status.rawValue),
                "leases": .array(leases.map(LeaseView.json)),
                "next_heartbeat_due": .string(
                    Timestamp.format(
                        milliseconds: agent.lastHeartbeat + context.hub.configuration.heartbeatInterval.milliseconds)),
            ])
    }
}

enum LeaseView {
    static func json(_ l: Lease) -> JSONValue {
        [
            "lease_id": .string(l.leaseID), "workflow_id": .string(l.workflowID), "task_id": .string(l.taskID),
            "lease_expires_at": .string(Timestamp.format(milliseconds: l.expiresAt)),
        ]
    }
}
