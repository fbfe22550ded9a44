import HubCore

/// `resume`: `paused` or `failed` → `running` (§5).
enum ResumeWorkflow {
    struct Parameters: OperationParameters {
        var resumeFromPhase: PhaseReference?
        var budget: JSONValue?
        var timeout: HubDuration?
        static let schema = Schema.object([
            .init(
                "budget",
                Budget.changeSchema.described(
                    "Limits to change (e.g. a larger one after budget_exhausted): each limit given replaces that of the workflow's budget, null removes it; those left out stay as they are."
                )),
            .init(
                "timeout",
                .duration(
                    "A new running-time limit (paused time excluded), e.g. a longer one for a workflow that failed by its timeout."
                )),
            .init(
                "resume_from_phase",
                PhaseReference.schema.described(
                    "Continue from this phase: it and the phases after it run again, their failed and skipped tasks back to ready (completed ones stay completed)."
                )),
        ])
    }

    static let descriptor = OperationDescriptor(
        "resume", scope: .workflow, mutating: true, parameters: Parameters.self,
        summary: "Resume a paused or failed workflow.",
        discussion: """
            From failed, the failed phase runs again and its failed tasks go back to ready (their attempts are kept). \
            resume_from_phase (number or name) continues from that phase instead: a later phase skips the ones between; \
            an earlier one runs again from there, with the failed and skipped tasks of every phase from it on back to ready \
            (completed tasks stay completed). A workflow that has run for its whole timeout already (paused time excluded) \
            would time out at once: without a longer timeout, resume refuses it with INVALID_TRANSITION.
            """,
        example: "coordination-hub workflow_123 resume '{\"resume_from_phase\": 2}'",
        handler: run)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        let id = try context.requiredWorkflowID
        try Budget.validate(p.budget, field: "budget")
        let (changed, _, _) = try await context.hub.mutate(context) { m -> (reset: [String], revived: [String]) in
            let wasFailed = m.workflow.status == .failed
            // A workflow restored from a checkpoint taken before its start is paused at phase 0:
            // resuming it begins its first phase, as start would have.
            let neverStarted = m.workflow.currentPhase == 0
            _ = try m.lifecycle(.resume)
            if let timeout = p.timeout { m.workflow.configuration.timeout = timeout }
            // Resumed past its timeout, it would fail again at once: refused, saying how to go on.
            let ran = m.workflow.activeTime(now: m.now)
            let timeout = m.workflow.configuration.timeout
            if ran.milliseconds >= timeout.milliseconds {
                // Held to what a duration may be: the sum of two long ones overflowed (a trap).
                let longer = HubDuration(
                    milliseconds: min(
                        ran.milliseconds.saturatingAdd(timeout.milliseconds), WorkflowSnapshot.longestDuration))
                let suggestion =
                    "Resume with a longer timeout: coordination-hub \(id) resume '{\"timeout\": \"\(longer)\"}'"
                let problem = "has run \(ran) already: resumed, it would time out at once"
                // The parameter is blamed only when it was sent; otherwise it is the workflow's own timeout.
                guard p.timeout == nil else {
                    throw HubError.parameter(
                        "timeout", "is \(timeout), and workflow \(id) \(problem)", suggestions: [suggestion])
                }
                // No parameter to blame: the workflow as it stands cannot run on (a bundle loaded
                // with more running time than its timeout). Said as a transition refused from its
                // status, with the way on: a longer timeout.
                let machine = WorkflowLifecycle(status: m.workflow.status, archived: m.workflow.archived)
                throw HubError(
                    .invalidTransition,
                    "Cannot resume workflow \(id) as it is: its timeout is \(timeout), and it \(problem). Pass a longer timeout with resume",
                    details: "Nothing was changed. resume's timeout parameter sets a new running-time limit.",
                    context: [
                        "current_status": .string(m.workflow.status.rawValue), "archived": .bool(m.workflow.archived),
                        "allowed_operations": .strings(machine.allowedOperations.map(\.rawValue)),
                        "timeout": .string(timeout.description), "ran": .string(ran.description),
                    ],
                    suggestions: [suggestion])
            }
            if let budget = p.budget { m.workflow.budget = Budget.merging(budget, into: m.workflow.budget) }
            // A spent budget stops more work being handed out; a workflow whose work all finished
            // while it was paused (its last tasks were running) has none to hand out, and resuming
            // it completes it — refused, it stayed paused at 100 % for good.
            var progression = try m.progression()
            // Cancelled tasks in a paused workflow come from a checkpoint taken after a cancel,
            // restored (which leaves it paused): resumed, they run again as failed ones do. Left
            // as they were, the workflow completed at once with their work never done. Only those
            // from the current phase on: one left behind by a resume from a later phase stayed
            // cancelled for good, and every later resume ran the phase's failed tasks again.
            let from = max(1, m.workflow.currentPhase)
            let restoredAfterCancel = progression.tasks.contains { $0.status == .cancelled && $0.phaseID >= from }
            let workLeft =
                p.resumeFromPhase != nil || wasFailed || restoredAfterCancel
                || progression.tasks.contains { !$0.status.isSettled }
                || progression.phases.contains { $0.status == .pending }
            if let budget = m.workflow.budget, workLeft {
                let ran = m.workflow.activeTime(now: m.now)
                let exceeded = budget.exhausted(by: m.workflow.spend, time: ran)
                if !exceeded.isEmpty {
                    let larger = budget.raised(exceeded, spend: m.workflow.spend, time: ran)
                    throw HubError(
                        .budgetExhausted, "Workflow \(id) has spent its budget (\(exceeded.joined(separator: ", ")))",
                        details: "Resume it with a larger budget; the limits given replace those, the others stay.",
                        context: [
                            "exceeded": .strings(exceeded), "budget": budget.json,
                            "spend": BudgetView.spend(m.workflow, now: m.now),
                        ],
                        suggestions: [
                            "Resume with a larger budget: coordination-hub \(id) resume '{\"budget\": \(larger.serialized(.compact))}'"
                        ])
                }
            }
            let current = max(1, m.workflow.currentPhase)
            let target = try p.resumeFromPhase?.resolve(in: progression.phases, field: "resume_from_phase") ?? current
            m.workflow.enter(.running, now: m.now)
            progression.workflow = m.workflow
            try m.emit(
                "resumed", data: ["phase": .count(target), "from_status": .string(wasFailed ? "failed" : "paused")])
            var reset: [String] = []
            var revivedIDs: [String] = []
            if target != current || wasFailed || neverStarted || restoredAfterCancel {
                // The target phase and every phase after it run again (§5): their failed tasks get
                // another go (attempts kept), their tasks skipped without a failed dependency (a phase
                // skipped or closed by force) wait their turn again; completed tasks stay completed.
                // Resetting only the target phase left a later phase's failed task failed, and the
                // workflow failed again within the same resume.
                var rerun: Set<String> = []
                for i in progression.tasks.indices where progression.tasks[i].phaseID >= target {
                    switch progression.tasks[i].status {
                    case .failed, .cancelled:
                        reset.append(progression.tasks[i].taskID)
                    case .skipped where progression.tasks[i].lastError?["blocked_by"] == nil:
                        rerun.insert(progression.tasks[i].taskID)
                    default:
                        continue
                    }
                    progression.tasks[i].status = .pending
                    progression.tasks[i].assignedAgent = nil
                }
                let redone = Set(reset).union(rerun)
                for i in progression.phases.indices
                where progression.phases[i].phaseID > target
                    && (progression.phases[i].status != .completed
                        || progression.tasks.contains {
                            $0.phaseID == progression.phases[i].phaseID && redone.contains($0.taskID)
                        })
                {
                    progression.phases[i].status = .pending
                    progression.phases[i].completedAt = nil
                }
                // The tasks skipped because those failed wait for them again (in any later phase too).
                let revived = SkippedDependents.revived(after: Set(reset), in: progression.tasks)
                let revivedByID = Dictionary(revived.map { ($0.taskID, $0) }, uniquingKeysWith: { a, _ in a })
                for i in progression.tasks.indices {
                    guard let task = revivedByID[progression.tasks[i].taskID] else { continue }
                    progression.tasks[i] = task
                    try m.tx.update(task)
                }
                for i in progression.tasks.indices where rerun.contains(progression.tasks[i].taskID) {
                    try m.tx.update(progression.tasks[i])
                }
                revivedIDs = progression.tasks.map(\.taskID).filter { revivedByID[$0] != nil || rerun.contains($0) }
                for i in progression.tasks.indices where reset.contains(progression.tasks[i].taskID) {
                    progression.tasks[i].queuedBy =
                        try m.emit(
                            "task_retried",
                            data: [
                                "task_id": .string(progression.tasks[i].taskID), "reason": "workflow resumed",
                                // No run ends here: the failed attempt was counted when it failed.
                                "attempt_counted": false,
                            ]
                        ).eventID
                    try m.tx.update(progression.tasks[i])
                }
                // Tasks of a later phase that waits its turn again wait with it: left ready (their phase
                // had started), they were handed out before it ran; left running, they ran beside it.
                let waiting = Set(
                    progression.phases.filter { $0.phaseID > target && $0.status == .pending }.map(\.phaseID))
                for i in progression.tasks.indices
                where waiting.contains(progression.tasks[i].phaseID)
                    && (progression.tasks[i].status == .ready || progression.tasks[i].status == .running)
                {
                    progression.tasks[i].status = .pending
                    progression.tasks[i].assignedAgent = nil
                    progression.tasks[i].runDeadline = nil
                    try m.tx.update(progression.tasks[i])
                }
                for phase in progression.phases where phase.phaseID > target { try m.tx.update(phase) }
                try m.progress(&progression, progression.startPhase(target, now: m.now, stopAtPhaseEnd: true))
                // A task the resume took off its run (skipped with an earlier phase, or waiting with a
                // later one) loses its lease, as complete-phase with force does: left active, the agent
                // could neither report it nor be free of it.
                let stopped = Set(progression.tasks.filter { $0.status != .running }.map(\.taskID))
                let leased = Set(try m.tx.activeLeases(workflowID: id).map(\.taskID)).intersection(stopped)
                if !leased.isEmpty {
                    try m.revokeLeases(reason: "workflow resumed from phase \(target)", tasks: leased)
                }
            } else {
                try m.progress(&progression, progression.advance(now: m.now, stopAtPhaseEnd: true))
            }
            // Everything the resume runs again was reset above, so no phase can fail at once; should
            // one still, the resume is refused (and changes nothing) rather than reported done.
            if m.workflow.status == .failed {
                throw HubError.internal(
                    "resume left workflow \(id) failed: \(m.workflow.failureReason ?? "no reason recorded")")
            }
            return (reset, revivedIDs)
        }
        return try await .after(
            context.hub, id,
            result: ["tasks_reset": .strings(changed.reset), "tasks_revived": .strings(changed.revived)])
    }
}
