import HubCore
import HubStore

/// `verify-state`: check the invariants of §11 and, with `repair`, repair what can be.
enum VerifyState {
    struct Parameters: OperationParameters {
        var repair: Bool?
        var checkpoints: Bool?
        static let schema = Schema.object([
            .init("repair", .boolean("Repair what can be repaired and report each repair.")),
            .init("checkpoints", .boolean("Also verify every checkpoint's checksum. Defaults to true.")),
        ])
    }

    static let descriptor = OperationDescriptor(
        "verify-state", scope: .workflow, mutating: true, parameters: Parameters.self,
        summary: "Check a workflow's invariants (and its checkpoints' checksums); repair what can be repaired.",
        discussion: """
            Checks: statuses of tasks against their phases and dependencies, of phases against each other and \
            the workflow (a running workflow with every phase closed waits for nothing); \
            running tasks hold a lease and every lease is on a running task held by a live agent, within its \
            expiry; phase counters \
            and agent loads agree with the records. With repair: true, tasks go back to the queue, dead leases end, \
            counters are recounted; a lease past its expiry ends as the heartbeat monitor ends it (its silent \
            agent fails, the attempt counts); each repair is listed and published in state_repaired. What cannot be repaired \
            is reported as remaining. Without repair nothing changes.
            """,
        example: "coordination-hub workflow_123 verify-state '{\"repair\": true}'",
        handler: run)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        let id = try context.requiredWorkflowID
        let expected = context.expectedVersion
        let now = context.now
        let (found, checkpointReport, anyCheckpoint) = try await context.store.read {
            tx -> ([StateInvariants.Violation], JSONValue, Bool) in
            guard let workflow = try tx.workflow(id) else { throw HubError.workflowNotFound(id) }
            // A stale if_version is refused whether or not there is anything to repair.
            try workflow.check(ifVersion: expected)
            let violations = StateInvariants.check(try StateFacts.read(tx, workflow: workflow, now: now))
            guard p.checkpoints ?? true else {
                return (violations, .null, !(try tx.checkpoints(of: id, limit: 1)).isEmpty)
            }
            let all = try tx.checkpoints(of: id, limit: 10_000)
            // Corrupt: a snapshot that fails its checksum or cannot be read, or file contents that fail theirs.
            var validity = CheckpointValidity()
            let corrupt = try all.filter { !(try validity.check($0, in: tx, parse: true).isValid) }.map(\.checkpointID)
            return (
                violations,
                [
                    "total": .count(all.count), "corrupt": .strings(corrupt),
                    "newest_valid_checkpoint": .optional(
                        all.first { !corrupt.contains($0.checkpointID) }?.checkpointID),
                ],
                !all.isEmpty
            )
        }
        var repairs: [JSONValue] = []
        var remaining = found
        let lapsed = found.compactMap { v -> String? in
            guard v.invariant == "lease_past_its_expiry", case .revokeLease(let leaseID)? = v.repair else { return nil }
            return leaseID
        }
        if p.repair == true && !lapsed.isEmpty {
            // Lapsed leases end as the heartbeat monitor ends them (any dispatcher operation's
            // sweep): a silent holder fails (agent.<id>.failed, its checkpoint), the attempt
            // counts. Revoked here, the agent came back available with nothing recorded.
            repairs += try await context.hub.dispatch { scope -> [JSONValue] in
                let done = try lapsed.compactMap { leaseID -> JSONValue? in
                    guard let lease = try scope.tx.lease(leaseID), lease.state != .active else { return nil }
                    return [
                        "invariant": "lease_past_its_expiry",
                        "repair": [
                            "action": "expire_lease", "lease_id": .string(leaseID), "task_id": .string(lease.taskID),
                            "agent_id": .string(lease.agentID),
                        ],
                    ]
                }
                // Published as every repair is (the help says so), in the change that made it.
                if !done.isEmpty {
                    try scope.workflow(id) { m in
                        _ = try m.emit("state_repaired", severity: .warning, data: ["repairs": .array(done)])
                    }
                }
                return done
            }
        }
        if p.repair == true && found.contains(where: { $0.repair != nil }) {
            let change = try await context.hub.mutate(context) { m -> ([JSONValue], [StateInvariants.Violation]) in
                var done: [JSONValue] = []
                // Agents whose lease a repair ended: their load is recounted in the next pass,
                // though they may hold no other lease of this workflow (it stayed one too high).
                var revokedFrom: Set<String> = []
                // A repair can reveal another (a revoked lease leaves its task to requeue): a few passes.
                for _ in 0..<3 {
                    let violations = StateInvariants.check(
                        try StateFacts.read(m.tx, workflow: m.workflow, now: m.now, alsoAgents: revokedFrom))
                    let fixable = violations.filter { $0.repair != nil }
                    if fixable.isEmpty { break }
                    for violation in fixable {
                        guard let repair = violation.repair else { continue }
                        if let record = try apply(repair, in: &m) {
                            done.append(["invariant": .string(violation.invariant), "repair": record])
                            if case .revokeLease = repair, let agentID = record["agent_id"]?.stringValue {
                                revokedFrom.insert(agentID)
                            }
                        }
                    }
                }
                let left = StateInvariants.check(
                    try StateFacts.read(m.tx, workflow: m.workflow, now: m.now, alsoAgents: revokedFrom))
                if !done.isEmpty { try m.emit("state_repaired", severity: .warning, data: ["repairs": .array(done)]) }
                return (done, left)
            }
            repairs += change.value.0
            remaining = change.value.1
        }
        let result: JSONValue = [
            "valid": .bool(remaining.isEmpty), "violations": .array(found.map(\.json)),
            "repairs": .array(repairs), "remaining": .array(remaining.map(\.json)),
            "checkpoints": checkpointReport,
        ]
        var outcome = try await OperationOutcome.after(context.hub, id, result: result)
        // `valid` is the state's; corrupt checkpoints are said here, or a valid state with none to
        // fall back on passed for healthy.
        if let corrupt = checkpointReport["corrupt"]?.arrayValue, !corrupt.isEmpty {
            if let newest = checkpointReport["newest_valid_checkpoint"]?.stringValue {
                outcome.nextSteps.insert(
                    "\(corrupt.count) checkpoint(s) of \(id) are corrupt; restores fall back to the newest valid one, \(newest)",
                    at: 0)
            } else {
                outcome.nextSteps.insert(
                    "No checkpoint of \(id) is valid: take one now with 'coordination-hub \(id) checkpoint'", at: 0)
            }
        }
        if !remaining.isEmpty {
            if remaining.contains(where: { $0.repair != nil }) && p.repair != true {
                outcome.nextSteps.insert("Repair it: coordination-hub \(id) verify-state '{\"repair\": true}'", at: 0)
            }
            let unrepairable = remaining.filter { $0.repair == nil }
            let commands = unrepairable.compactMap { command(for: $0.invariant, workflowID: id) }
            // Only a checkpoint that can be restored is suggested: with none, restore is CHECKPOINT_NOT_FOUND
            // (with every one corrupt, the step above says to take one).
            if commands.count < unrepairable.count, let checkpoint = restorable(checkpointReport, any: anyCheckpoint) {
                outcome.nextSteps.insert(
                    "Restore a valid checkpoint: coordination-hub \(id) restore '{\"checkpoint_id\": \"\(checkpoint)\"}'",
                    at: 0)
            }
            outcome.nextSteps.insert(contentsOf: Set(commands).sorted(), at: 0)
        }
        return outcome
    }

    /// The operation that settles an unrepairable violation, for those the state's own
    /// commands settle (their messages name them).
    static func command(for invariant: String, workflowID id: String) -> String? {
        switch invariant {
        case "running_workflow_with_every_phase_closed":
            "Complete it, as every phase is closed: coordination-hub \(id) complete"
        case "running_phase_with_every_task_settled":
            "Close the phase, as all its tasks are settled: coordination-hub \(id) complete-phase"
        default: nil
        }
    }

    /// The checkpoint to restore: the newest valid one when the checkpoints were verified,
    /// `latest` (the restore skips corrupt ones) when they were not and there is any.
    static func restorable(_ report: JSONValue, any: Bool) -> String? {
        guard report != .null else { return any ? "latest" : nil }
        return report["newest_valid_checkpoint"]?.stringValue
    }

    /// Carries one repair out; returns what was done, or `nil` when there was nothing left to do.
    static func apply(_ repair: StateInvariants.Repair, in m: inout Mutation) throws -> JSONValue? {
        switch repair {
        case .setTaskStatus(let taskID, let status):
            guard var task = try m.tx.task(workflowID: m.workflow.id, taskID: taskID), task.status != status else {
                return nil
            }
            let from = task.status
            task.status = status
            if status != .running && status != .assigned {
                task.assignedAgent = nil
                task.runDeadline = nil
            }
            if status == .skipped { task.completedAt = m.now }
            try m.tx.update(task)
            return [
                "action": "set_task_status", "task_id": .string(taskID), "from": .string(from.rawValue),
                "to": .string(status.rawValue),
            ]
        case .revokeLease(let leaseID):
            guard var lease = try m.tx.lease(leaseID), lease.state == .active else { return nil }
            lease.state = .revoked
            lease.endedAt = m.now
            try m.tx.update(lease)
            // The agent's load is left to its own repair (this pass's or the next), which
            // recounts and lists the change: done here, it went unlisted and the repair
            // listed after it moved the load back and forth.
            return [
                "action": "revoke_lease", "lease_id": .string(leaseID), "task_id": .string(lease.taskID),
                "agent_id": .string(lease.agentID),
            ]
        case .recountPhases:
            let phases = try m.tx.phases(of: m.workflow.id)
            let tasks = try m.tx.tasks(of: m.workflow.id)
            try m.tx.removeContents(of: m.workflow.id)
            try m.tx.insert(phases)
            try m.tx.insert(tasks)
            return ["action": "recount_phases"]
        case .setAgentLoad(let agentID, _):
            // Counted now: a lease revoked by an earlier repair of the pass changed it.
            guard var agent = try m.tx.agent(agentID) else { return nil }
            let load = try m.tx.activeLeases(agentID: agentID).count
            guard agent.currentLoad != load else { return nil }
            let from = agent.currentLoad
            agent.currentLoad = load
            if agent.status == .available || agent.status == .busy {
                agent.status = load >= agent.maxConcurrentTasks ? .busy : .available
            }
            try m.tx.save(agent)
            return ["action": "set_agent_load", "agent_id": .string(agentID), "from": .count(from), "to": .count(load)]
        }
    }
}
