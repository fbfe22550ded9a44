import HubCore

/// `add-tasks`: add tasks to a workflow's phases (§17).
enum AddTasks {
    struct Parameters: OperationParameters {
        var tasks: [TaskSpec]
        static let schema = Schema.object([
            .init(
                "tasks",
                .array(
                    TaskSpec.schema(withPhase: true), "Tasks; each may name its phase (number or name).",
                    minItems: 1, maxItems: 100_000), required: true)
        ])
    }

    static let descriptor = OperationDescriptor(
        "add-tasks", scope: .workflow, mutating: true, parameters: Parameters.self,
        summary:
            "Add tasks to a workflow; each goes to its phase (default: the current phase, or phase 1 before start).",
        discussion: """
            Duplicate task ids, unknown dependencies, dependencies on a later phase and cycles are refused with \
            INVALID_PARAMETERS naming the tasks; nothing is added then. Tasks added to a completed phase are refused.
            """,
        example: """
            coordination-hub workflow_123 add-tasks '{"tasks": [{"task_id": "write_api", "role": "code", "phase": "implementation", "files": ["src/api.swift"], "estimate": "20m"}, {"task_id": "test_api", "role": "test", "phase": "testing", "depends_on": ["write_api"]}]}'
            """,
        handler: run)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        let id = try context.requiredWorkflowID
        let resources = context.hub.configuration.resources
        let (added, _, _) = try await context.hub.mutate(context) { m -> [String] in
            guard WorkflowLifecycle(status: m.workflow.status, archived: m.workflow.archived).acceptsWork else {
                throw HubError.invalidTransition(
                    operation: "add-tasks", workflowID: id, current: m.workflow.status, archived: m.workflow.archived,
                    allowed: WorkflowLifecycle(status: m.workflow.status, archived: m.workflow.archived)
                        .allowedOperations)
            }
            var progression = try m.progression()
            // Between a closed phase and the next (a phase's checkpoint restored), tasks join the next.
            let defaultPhase = progression.nextPhaseAwaiting ?? max(1, m.workflow.currentPhase)
            var tasks: [WorkTask] = []
            for (n, spec) in p.tasks.enumerated() {
                let phase = try spec.phase?.resolve(in: progression.phases, field: "tasks[\(n)].phase") ?? defaultPhase
                if let status = progression.phases.first(where: { $0.phaseID == phase })?.status,
                    status == .completed || status == .skipped || status == .failed
                {
                    throw HubError.parameter(
                        "tasks[\(n)].phase",
                        "names phase \(phase), which is \(status.rawValue): tasks can join pending or running phases only"
                    )
                }
                tasks.append(spec.task(workflowID: id, phase: phase, now: m.now))
            }
            try TaskGraph.validate(existing: progression.tasks, adding: tasks)
            try TaskGraph.validateFields(tasks, workspace: m.workflow.workspace, capacities: resources)
            // New dependents lengthen the critical paths of the tasks they depend on.
            let lengths = CriticalPath.lengths(progression.tasks + tasks)
            for i in tasks.indices { tasks[i].criticalPathMilliseconds = lengths[tasks[i].taskID] ?? 0 }
            for i in progression.tasks.indices {
                let length = lengths[progression.tasks[i].taskID] ?? 0
                guard length != progression.tasks[i].criticalPathMilliseconds else { continue }
                progression.tasks[i].criticalPathMilliseconds = length
                try m.tx.update(progression.tasks[i])
            }
            try m.tx.insert(tasks)
            try m.emit("tasks_added", data: ["task_ids": .strings(tasks.map(\.taskID)), "count": .count(tasks.count)])
            progression.tasks += tasks
            try m.progress(&progression, progression.advance(now: m.now, stopAtPhaseEnd: true))
            return tasks.map(\.taskID)
        }
        return try await .after(context.hub, id, result: ["added": .strings(added), "count": .count(added.count)])
    }
}
