import Foundation
import HubCore
import HubStore

/// `create`: a new workflow in status `created` (§5).
enum CreateWorkflow {
    struct Parameters: OperationParameters {
        var name: String?
        var description: String?
        var phases: [PhaseSpec]
        var agentRequirements: JSONValue?
        var dependencies: JSONValue?
        var timeout: HubDuration?
        var priority: Priority?
        var configuration: ConfigurationSpec?
        var workspace: String?
        var budget: JSONValue?

        static let schema = Schema.object([
            .init("name", .name("Human-readable name. Defaults to the workflow id.", maxLength: 1000)),
            .init("description", .string("What the workflow is for.", maxLength: 100_000)),
            .init(
                "phases",
                .array(
                    .anyOf([
                        .name("A phase without tasks yet.", maxLength: 256),
                        .object([
                            .init("name", .name(maxLength: 256), required: true),
                            .init("tasks", .array(TaskSpec.schema(withPhase: false), maxItems: 100_000)),
                        ]),
                    ]), "Ordered phases: names, or {\"name\", \"tasks\"} objects.", minItems: 1, maxItems: 1000),
                required: true),
            .init(
                "agent_requirements",
                .object([
                    .init("min_agents", .integer(min: 0, max: 10_000)),
                    .init("max_agents", .integer(min: 1, max: 10_000)),
                    .init("min", .integer("Same as min_agents.", min: 0, max: 10_000)),
                    .init("max", .integer("Same as max_agents.", min: 1, max: 10_000)),
                    .init("specialized_roles", .array(.name(maxLength: 128), maxItems: 100)),
                ])),
            .init("dependencies", dependencySchema),
            .init("timeout", .duration("Running time (paused time excluded) after which it fails. Defaults to 4h.")),
            .init("priority", .oneOf(["high", "medium", "low"], "Defaults to medium.")),
            .init("configuration", ConfigurationSpec.schema),
            .init(
                "workspace",
                .string(
                    "Directory whose files checkpoints may capture. Defaults to the hub's current directory: the command's, or the server's through --hub, HTTP and MCP against a server.",
                    maxLength: 4096
                )),
            .init("budget", Budget.schema),
        ])

        static let dependencyEntry = Schema.anyOf([
            .name(maxLength: 256),
            .object([
                .init("name", .name(maxLength: 256), required: true),
                .init("check_command", .string(maxLength: 10_000)),
            ]),
        ])
        static let dependencySchema = Schema.anyOf(
            [
                .array(dependencyEntry, maxItems: 1000),
                .object([
                    .init("external", .array(dependencyEntry, maxItems: 1000)),
                    .init("internal", .array(dependencyEntry, maxItems: 1000)),
                ]),
            ], "A list (external dependencies) or {\"external\": [...], \"internal\": [...]}.")
    }

    enum PhaseSpec: Decodable, Sendable {
        case name(String)
        case object(name: String, tasks: [TaskSpec])

        private enum Keys: String, CodingKey { case name, tasks }

        init(from decoder: any Decoder) throws {
            if let name = try? decoder.singleValueContainer().decode(String.self) {
                self = .name(name)
            } else {
                let c = try decoder.container(keyedBy: Keys.self)
                self = .object(
                    name: try c.decode(String.self, forKey: .name),
                    tasks: try c.decodeIfPresent([TaskSpec].self, forKey: .tasks) ?? [])
            }
        }

        var name: String {
            switch self {
            case .name(let n), .object(let n, _): return n
            }
        }
        var tasks: [TaskSpec] {
            if case .object(_, let t) = self { return t }
            return []
        }
    }

    struct ConfigurationSpec: Decodable, Sendable {
        var timeout: HubDuration?
        var checkpointInterval: HubDuration?
        var failureTolerance: FailureTolerance?
        var maxAgents: Int?
        var priority: Priority?

        static let schema = Schema.object(
            [
                .init("timeout", .duration("Same as the top-level timeout.")),
                .init("checkpoint_interval", .duration("Time between automatic checkpoints. Defaults to 15m.")),
                .init(
                    "failure_tolerance",
                    .oneOf(["low", "medium", "high"], "Failed tasks a phase tolerates. Defaults to low.")),
                .init("max_agents", .integer(min: 1, max: 10_000)),
                .init("priority", .oneOf(["high", "medium", "low"])),
            ], "Workflow settings.")
    }

    static let descriptor = OperationDescriptor(
        "create", scope: .workflow, mutating: false, parameters: Parameters.self,
        summary: "Create a workflow of ordered phases, optionally with their tasks.",
        discussion: """
            Phases are names or {"name", "tasks"} objects; tasks may also be added later with add-tasks. \
            depends_on must form a DAG: unknown dependencies and cycles are refused with INVALID_PARAMETERS. \
            The workflow starts in status 'created'. WORKFLOW_EXISTS when the id is taken.
            """,
        example: """
            coordination-hub workflow_123 create '{"name": "Feature Implementation", "phases": ["setup", "implementation", "testing", "deployment"], "agent_requirements": {"min": 3, "max": 8}, "timeout": "2h"}'
            """,
        touchesExistingWorkflow: false,
        withoutVersion:
            "create makes the workflow, which has no state_version to compare yet; an id already taken is refused with WORKFLOW_EXISTS",
        handler: run)

    /// Validates the parameters and builds the workflow, its phases and tasks (nothing is stored).
    static func build(_ p: Parameters, id: String, hub: Hub, now: Int64) throws -> (Workflow, [Phase], [WorkTask]) {
        var seen: Set<String> = []
        for (n, phase) in p.phases.enumerated() {
            guard !phase.name.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw HubError.parameter("phases[\(n)]", "has an empty name")
            }
            guard seen.insert(phase.name).inserted else {
                throw HubError.parameter(
                    "phases[\(n)]", "repeats the phase name \"\(phase.name)\"; phase names must be unique")
            }
        }
        // min/max are the seed's names for min_agents/max_agents: both given, they must agree.
        for (short, long) in [("min", "min_agents"), ("max", "max_agents")] {
            if let a = p.agentRequirements?[short], let b = p.agentRequirements?[long], a != b {
                throw HubError.parameter(
                    "agent_requirements.\(short)",
                    "is \(a.serialized()) but \(long) is \(b.serialized()); give one of the two")
            }
        }
        let requirements = AgentRequirements(json: p.agentRequirements ?? .emptyObject)
        if let lo = requirements.minAgents, let hi = requirements.maxAgents, lo > hi {
            throw HubError.parameter("agent_requirements", "has min_agents \(lo) above max_agents \(hi)")
        }
        // The top-level timeout and priority are the configuration's, by another name: both given, they must agree.
        if let a = p.timeout, let b = p.configuration?.timeout, a != b {
            throw HubError.parameter("configuration.timeout", "is \(b) but timeout is \(a); give one of the two")
        }
        if let a = p.priority, let b = p.configuration?.priority, a != b {
            throw HubError.parameter(
                "configuration.priority", "is \(b.rawValue) but priority is \(a.rawValue); give one of the two")
        }
        // So are agent_requirements' max_agents and the configuration's (both are stored).
        if let a = requirements.maxAgents, let b = p.configuration?.maxAgents, a != b {
            throw HubError.parameter(
                "configuration.max_agents", "is \(b) but agent_requirements.max_agents is \(a); give one of the two")
        }
        if let interval = p.configuration?.checkpointInterval, interval.milliseconds < 1000 {
            throw HubError.parameter("configuration.checkpoint_interval", "must be at least 1s")
        }
        let config = WorkflowConfiguration(
            timeout: p.timeout ?? p.configuration?.timeout ?? hub.configuration.workflowTimeout,
            checkpointInterval: p.configuration?.checkpointInterval ?? hub.configuration.checkpointInterval,
            failureTolerance: p.configuration?.failureTolerance ?? .low,
            maxAgents: p.configuration?.maxAgents ?? requirements.maxAgents)
        guard config.timeout.milliseconds > 0 else { throw HubError.parameter("timeout", "must be longer than 0s") }
        try Budget.validate(p.budget, field: "budget")
        let workspace = try Paths.workspace(p.workspace, hub: hub)
        var workflow = Workflow(
            id: id, name: p.name ?? id, description: p.description ?? "",
            priority: p.priority ?? p.configuration?.priority ?? .medium, agentRequirements: requirements,
            dependencies: Dependencies(json: p.dependencies ?? .null), configuration: config, workspace: workspace,
            createdAt: now, totalPhases: p.phases.count, correlationID: hub.ids.make("corr"))
        workflow.stateVersion = 1
        workflow.budget = Budget(json: p.budget)
        let phases = p.phases.enumerated().map { n, spec in Phase(workflowID: id, phaseID: n + 1, name: spec.name) }
        var tasks = p.phases.enumerated().flatMap { n, spec in
            spec.tasks.map { $0.task(workflowID: id, phase: n + 1, now: now) }
        }
        try TaskGraph.validate(existing: [], adding: tasks)
        try TaskGraph.validateFields(tasks, workspace: workspace, capacities: hub.configuration.resources)
        let lengths = CriticalPath.lengths(tasks)
        for i in tasks.indices { tasks[i].criticalPathMilliseconds = lengths[tasks[i].taskID] ?? 0 }
        return (workflow, phases, tasks)
    }

    /// Stores a built workflow with its `created` and `workflow_state_updated` events.
    static func insert(
        _ workflow: Workflow, phases: [Phase], tasks: [WorkTask], tx: any StoreWriter, now: Int64, ids: any IDGenerator
    ) throws {
        try tx.insert(workflow)
        try tx.insert(phases)
        try tx.insert(tasks)
        var mutation = Mutation(tx: tx, workflow: workflow, now: now, ids: ids)
        let created = try mutation.emit(
            "created",
            data: [
                "name": .string(workflow.name), "total_phases": .count(phases.count),
                "total_tasks": .count(tasks.count), "priority": .string(workflow.priority.rawValue),
            ])
        try mutation.emit(
            "workflow_state_updated",
            data: ["state_version": .int(workflow.stateVersion), "status": "created", "current_phase": 0],
            causedBy: created.eventID)
    }

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        let id = try context.requiredWorkflowID
        let hub = context.hub
        let now = context.now
        let (workflow, phases, tasks) = try build(p, id: id, hub: hub, now: now)
        let config = workflow.configuration
        let workspace = workflow.workspace
        let ids = hub.ids
        let finalWorkflow = workflow
        let finalTasks = tasks
        try await context.store.write { tx in
            try insert(finalWorkflow, phases: phases, tasks: finalTasks, tx: tx, now: now, ids: ids)
        }
        let snapshot = WorkflowSnapshot(workflow: workflow, phases: phases, tasks: finalTasks)
        return OperationOutcome(
            result: [
                "workflow_id": .string(id), "status": "created", "name": .string(workflow.name),
                "total_phases": .count(phases.count), "total_tasks": .count(tasks.count),
                "phases": .array(phases.map { p in ["phase_id": .count(p.phaseID), "name": .string(p.name)] }),
                "timeout": .string(config.timeout.description), "priority": .string(workflow.priority.rawValue),
                "workspace": .string(workspace), "state_version": .int(workflow.stateVersion),
            ],
            nextSteps: NextSteps.after(snapshot), stateVersion: workflow.stateVersion)
    }
}

extension Paths {
    /// The workspace `given` names (made absolute against the hub's working directory), which
    /// must be a directory, or the hub's working directory when none is given: checkpoints,
    /// restores, evidence and the agents' commands all work in it, so a wrong one is said
    /// now, not at the first of them.
    static func workspace(_ given: String?, hub: Hub) throws(HubError) -> String {
        // Symlinks resolved, as a workflow's workspace always was: a restore refuses to write
        // through one put in its place since.
        let workspace = resolved(absolute(given ?? hub.workingDirectory, relativeTo: hub.workingDirectory))
        var isDirectory: ObjCBool = false
        if given != nil,
            !FileManager.default.fileExists(atPath: workspace, isDirectory: &isDirectory) || !isDirectory.boolValue
        {
            throw HubError.parameter(
                "workspace", "is \(workspace), which is not a directory",
                suggestions: ["Create the directory first, or leave workspace out for the hub's working directory"])
        }
        // Checkpoints capture files under the workspace, restores write there: inside the state
        // directory they captured the store and wrote over the live database.
        let state = resolved(absolute(hub.stateDirectory, relativeTo: "/"))
        if workspace == state || workspace.hasPrefix(state + "/") {
            throw HubError.parameter(
                "workspace",
                given == nil
                    ? "defaults to the working directory, \(workspace), which is inside the hub's state directory \(state): name a workspace outside it"
                    : "is \(workspace), which is inside the hub's state directory \(state): checkpoints never capture files there nor restores write them",
                suggestions: ["Give a workspace outside \(state), e.g. the project's repository"])
        }
        return workspace
    }
}
