import HubCore

/// `complete-phase`: close the current phase by hand (§4, §17).
enum CompletePhase {
    struct Parameters: OperationParameters {
        var phase: PhaseReference?
        var force: Bool?
        static let schema = Schema.object([
            .init(
                "phase",
                PhaseReference.schema.described("The current phase, by number or name. Defaults to the current phase.")),
            .init("force", .boolean("Close it although tasks remain: they become skipped.")),
        ])
    }

    static let descriptor = OperationDescriptor(
        "complete-phase", scope: .workflow, mutating: true, parameters: Parameters.self,
        summary: "Close the current phase (for phases without tasks, or with force) and start the next one.",
        discussion: """
            Only the current phase can be closed (another phase is INVALID_PARAMETERS). With open tasks and no force: \
            WORKFLOW_INCOMPLETE listing them. Closing the last phase completes the workflow. On a paused workflow the \
            phase closes and nothing more: the next phase starts, or the workflow completes, at resume.
            """,
        example: "coordination-hub workflow_123 complete-phase '{\"phase\": \"setup\"}'",
        handler: run)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        let id = try context.requiredWorkflowID
        let (closed, _, _) = try await context.hub.mutate(context) { m -> Int in
            guard m.workflow.status == .running || m.workflow.status == .paused else {
                let machine = WorkflowLifecycle(status: m.workflow.status, archived: m.workflow.archived)
                throw HubError.invalidTransition(
                    operation: "complete-phase", workflowID: id, current: m.workflow.status,
                    archived: m.workflow.archived,
                    allowed: machine.allowedOperations)
            }
            var progression = try m.progression()
            // Between a closed phase and the next (a phase's checkpoint restored, or a phase closed
            // while paused): the phase to close is the next one, which starts first. Once closed, a
            // paused workflow goes no further: the phase after it starts (or the workflow
            // completes) at resume (§5).
            if progression.nextPhaseAwaiting != nil {
                try m.progress(
                    &progression, progression.startAwaitingPhase(now: m.now, readying: m.workflow.status != .paused))
            }
            let current = m.workflow.currentPhase
            // Paused with every phase closed, it waits for resume (or `complete`) to complete it:
            // closing the closed phase again would announce it twice.
            if m.workflow.status == .paused, let phase = progression.phases.first(where: { $0.phaseID == current }),
                phase.status == .completed || phase.status == .skipped
            {
                let machine = WorkflowLifecycle(status: m.workflow.status, archived: m.workflow.archived)
                throw HubError(
                    .invalidTransition,
                    "Cannot complete-phase workflow \(id): its last phase, \(current), is \(phase.status.rawValue) already; it completes when it is resumed",
                    details: "A paused workflow goes no further than the end of a phase until it is resumed (§5).",
                    context: [
                        "current_status": .string(m.workflow.status.rawValue), "archived": .bool(m.workflow.archived),
                        "allowed_operations": .strings(machine.allowedOperations.map(\.rawValue)),
                        "phase": .count(current),
                    ],
                    suggestions: [
                        "Resume it to complete it: coordination-hub \(id) resume",
                        "Or complete it now: coordination-hub \(id) complete",
                    ])
            }
            if let requested = try p.phase?.resolve(in: progression.phases, field: "phase"), requested != current {
                throw HubError.parameter(
                    "phase", "names phase \(requested), but only the current phase (\(current)) can be closed")
            }
            let force = p.force ?? false
            var running: Set<String> = []
            if force {
                // Tasks running in the phase are skipped with it and lose their leases (their agents'
                // load drops, as `complete` with force does).
                let leased = Set(try m.tx.activeLeases(workflowID: id).map(\.taskID))
                running = Set(
                    progression.tasks.filter { $0.phaseID == current && leased.contains($0.taskID) }.map(\.taskID))
                for i in progression.tasks.indices where running.contains(progression.tasks[i].taskID) {
                    progression.tasks[i].assignedAgent = nil
                    progression.tasks[i].runDeadline = nil
                }
            }
            let (effects, remaining) = progression.completeCurrentPhase(force: force, now: m.now, stopAtPhaseEnd: true)
            if !remaining.isEmpty {
                throw HubError(
                    .workflowIncomplete,
                    "Phase \(current) of workflow \(id) still has open tasks: \(remaining.joined(separator: ", "))",
                    details: "Finish them, or pass force: true to skip them.",
                    context: ["phase": .count(current), "remaining_tasks": .strings(remaining)],
                    suggestions: ["Close it anyway: coordination-hub \(id) complete-phase '{\"force\": true}'"])
            }
            // `phase_completed` is announced first and causes what follows, as `cancelled` does:
            // the leases revoked and the tasks skipped are its effects (revoked first, the
            // revocation was the root of the chain and the phase's completion its effect).
            let closed = effects.filter { if case .phaseCompleted = $0 { true } else { false } }
            try m.apply(progression, effects: closed)
            progression.markStored()
            if !running.isEmpty {
                try m.revokeLeases(reason: "phase \(current) closed by complete-phase", tasks: running)
            }
            try m.apply(progression, effects: effects.filter { if case .phaseCompleted = $0 { false } else { true } })
            try m.carryOn(&progression, after: effects)
            return current
        }
        return try await .after(context.hub, id, result: ["completed_phase": .count(closed)])
    }
}
