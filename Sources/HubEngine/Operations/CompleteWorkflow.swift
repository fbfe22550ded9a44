import HubCore
import HubStore

/// `complete`: finish a workflow (or finalize one that completed by itself) (§5, §17).
enum CompleteWorkflow {
    struct Parameters: OperationParameters {
        var force: Bool?
        var cleanupResources: Bool?
        var archiveState: Bool?
        var generateReport: Bool?
        var notifyStakeholders: Stakeholders?

        static let schema = Schema.object([
            .init("force", .boolean("Complete although work remains: remaining tasks and phases become skipped.")),
            .init("cleanup_resources", .boolean("Release the workflow's resource allocations. Defaults to true.")),
            .init("archive_state", .boolean("Write workflows/completed/<id>.json and events/<id>_events.jsonl.")),
            .init("generate_report", .boolean("Write a Markdown and a JSON report under reports/<id>/.")),
            .init(
                "notify_stakeholders",
                .anyOf(
                    [.array(.string(maxLength: 256), maxItems: 1000), .boolean()],
                    "Publish stakeholder_notified to these stakeholders (once each: a repeated complete tells only those not told before)."
                )),
        ])
    }

    /// A list of stakeholders, or `true` for "everyone" (an empty list in the event).
    struct Stakeholders: Decodable, Sendable {
        var names: [String]?
        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let list = try? c.decode([String].self) {
                names = list
            } else {
                names = try c.decode(Bool.self) ? [] : nil
            }
        }
    }

    static let descriptor = OperationDescriptor(
        "complete", scope: .workflow, mutating: true, parameters: Parameters.self,
        summary: "Complete a workflow, or finalize one that completed by itself.",
        discussion: """
            WORKFLOW_INCOMPLETE while tasks or task-less phases remain, unless force. On a completed workflow it only \
            finalizes (idempotent; the first finalization sets finalized_at and publishes finalized). Returns hub_to_orchestrate with the completion status, final state, metrics and artifacts.
            """,
        example: """
            coordination-hub workflow_123 complete '{"cleanup_resources": true, "archive_state": true, "generate_report": true, "notify_stakeholders": ["team", "pm"]}'
            """,
        handler: run)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        let id = try context.requiredWorkflowID
        let hub = context.hub
        try Finalization(hub: hub).prepare(id, archive: p.archiveState ?? false, report: p.generateReport ?? false)
        let (outcome, _, _) = try await hub.mutate(context) {
            m -> (skipped: [String], released: Int, notified: [String]) in
            let action = try m.lifecycle(.complete)
            var skipped: [String] = []
            if case .transition = action {
                let tasks = try m.tx.tasks(of: id)
                let phases = try m.tx.phases(of: id)
                let openTasks = tasks.filter { !$0.status.isSettled }
                let openPhases = phases.filter { phase in
                    (phase.status == .pending || phase.status == .running)
                        && !tasks.contains { $0.phaseID == phase.phaseID }
                }
                if !(p.force ?? false), !openTasks.isEmpty || !openPhases.isEmpty {
                    throw HubError(
                        .workflowIncomplete,
                        "Workflow \(id) still has \(openTasks.count) open task(s) and \(openPhases.count) phase(s) without tasks",
                        details: "Finish the work, or pass force: true to skip what remains.",
                        context: [
                            "remaining_tasks": .strings(openTasks.map(\.taskID)),
                            "remaining_phases": .strings(openPhases.map(\.name)),
                        ],
                        suggestions: [
                            "Complete with force: coordination-hub \(id) complete '{\"force\": true}'",
                            "Check what remains with 'get-status'",
                        ])
                }
                m.workflow.enter(.completed, now: m.now)
                // `completed` comes first and causes what follows, as `cancelled` and `failed` do: the
                // leases it revokes are its effects (revoked first, they were the root of the chain).
                skipped = openTasks.map(\.taskID)
                let final = tasks.map { task in
                    var task = task
                    if !task.status.isSettled { task.status = .skipped }
                    return task
                }
                try m.emit(
                    "completed",
                    data: [
                        "completion_status": .string(CompletionStatus.of(final, status: .completed).rawValue),
                        "forced": .bool(p.force ?? false), "skipped_tasks": .strings(skipped),
                    ])
                try m.revokeLeases(reason: "workflow completed")
                // Each task and phase it closes is announced as complete-phase with force announces
                // them (§9: no change without its event).
                for var t in try m.tx.tasks(of: id) where !t.status.isSettled {
                    t.status = .skipped
                    try m.tx.update(t)
                    try m.emit(
                        "task_skipped",
                        data: ["task_id": .string(t.taskID), "reason": "workflow completed with force"],
                        phase: t.phaseID)
                }
                for var phase in phases where phase.status == .pending || phase.status == .running {
                    phase.status =
                        phase.status == .running && tasks.contains(where: { $0.phaseID == phase.phaseID })
                        ? .completed : .skipped
                    phase.completedAt = m.now
                    try m.tx.update(phase)
                    if phase.status == .completed {
                        try m.emit(
                            "phase_completed",
                            data: ["phase": .count(phase.phaseID), "name": .string(phase.name)],
                            phase: phase.phaseID)
                        m.checkpointAtCommit(.phaseCompleted, name: "phase_\(phase.phaseID)_complete")
                    }
                }
            }
            // The first finalization is a change of its own (`finalized_at`, and the event every change
            // carries); a later `complete` writes the artifacts again and changes nothing. It comes
            // before what it does: the release and the notice are its effects, so on a workflow that
            // completed by itself `finalized` is the root of the change (the notice, published
            // first, was the cause of the finalization and of the version).
            var finalization: String?
            if m.workflow.finalizedAt == nil {
                m.workflow.finalizedAt = m.now
                let all = try m.tx.tasks(of: id)
                finalization =
                    try m.emit(
                        "finalized",
                        data: [
                            "completion_status": .string(
                                CompletionStatus.of(all, status: m.workflow.status).rawValue)
                        ]
                    ).eventID
            }
            let released = (p.cleanupResources ?? true) ? try m.releaseAllocations(reason: "workflow completed") : 0
            var notified: [String] = []
            if let stakeholders = p.notifyStakeholders, let asked = stakeholders.names {
                // Finalization is idempotent (§5): a stakeholder told once is not told again.
                let told = Set(
                    try m.tx.events(EventQuery(eventTypes: ["stakeholder_notified"], workflowID: id, limit: 10_000))
                        .flatMap { $0.data["stakeholders"]?.arrayValue?.compactMap(\.stringValue) ?? [] })
                notified = asked.filter { !told.contains($0) }
            }
            if !notified.isEmpty {
                let names = notified
                let all = try m.tx.tasks(of: id)
                let data: JSONValue = [
                    "stakeholders": .strings(names),
                    "completion_status": .string(CompletionStatus.of(all, status: m.workflow.status).rawValue),
                ]
                if let finalization {
                    try m.emit("stakeholder_notified", data: data, causedBy: finalization)
                } else {
                    // A later finalization changes nothing (§5): a stakeholder named for the first time
                    // is told, as a fact, without a new state_version (another client's if_version still holds).
                    _ = try m.tx.append(
                        .workflow("stakeholder_notified", m.workflow, data: data, causedBy: m.rootCause),
                        eventID: m.ids.make("evt"), timestamp: m.now)
                }
            }
            return (skipped, released, notified)
        }
        let skipped = outcome.skipped
        let snapshot = try await hub.snapshot(id)
        let artifacts = await Finalization(hub: hub).run(
            snapshot, archive: p.archiveState ?? false, report: p.generateReport ?? false)
        var result: JSONValue = [
            "skipped_tasks": .strings(skipped),
            "resources_released": .count(outcome.released),
            "stakeholders_notified": .strings(outcome.notified),
            "artifacts": artifacts.json,
        ]
        result["hub_to_orchestrate"] = HandoffView(hub: hub).json(snapshot, artifacts: artifacts.paths)
        return try await .after(hub, id, result: result)
    }
}
