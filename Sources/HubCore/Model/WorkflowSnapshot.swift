import Collections

/// A workflow with its phases and tasks, complete enough to be stored and loaded
/// again exactly (bundles now, checkpoints later). Its JSON is canonicalized for checksums.
public struct WorkflowSnapshot: Sendable, Equatable {
    public var workflow: Workflow
    public var phases: [Phase]
    public var tasks: [WorkTask]

    public init(workflow: Workflow, phases: [Phase], tasks: [WorkTask]) {
        self.workflow = workflow
        self.phases = phases
        self.tasks = tasks
    }

    /// `progress_percentage` (§5), as every view of the workflow reports it.
    public var progressPercentage: Double {
        WorkflowProgression.progressPercentage(phases: phases, tasks: tasks, cancelled: workflow.status == .cancelled)
    }

    /// Every field, under stable names.
    public var json: JSONValue {
        let w = workflow
        let workflowJSON: JSONValue = [
            "id": .string(w.id), "name": .string(w.name), "description": .string(w.description),
            "status": .string(w.status.rawValue), "archived": .bool(w.archived),
            "priority": .string(w.priority.rawValue),
            "agent_requirements": w.agentRequirements.json, "dependencies": w.dependencies.json,
            "timeout_ms": .int(w.configuration.timeout.milliseconds),
            "checkpoint_interval_ms": .int(w.configuration.checkpointInterval.milliseconds),
            "failure_tolerance": .string(w.configuration.failureTolerance.rawValue),
            "max_agents": .optional(w.configuration.maxAgents), "workspace": .string(w.workspace),
            "created_at": .int(w.createdAt), "updated_at": .int(w.updatedAt), "started_at": .optional(w.startedAt),
            "finished_at": .optional(w.finishedAt), "finalized_at": .optional(w.finalizedAt),
            "current_phase": .count(w.currentPhase),
            "total_phases": .count(w.totalPhases), "state_version": .int(w.stateVersion),
            "active_ms": .int(w.activeMilliseconds), "running_since": .optional(w.runningSince),
            "failure_reason": .optional(w.failureReason), "correlation_id": .string(w.correlationID),
            "budget": w.budget?.json ?? .null, "spend": w.spend.json,
        ]
        let phasesJSON: [JSONValue] = phases.map { p in
            [
                "completed_at": .optional(p.completedAt), "name": .string(p.name), "phase_id": .count(p.phaseID),
                "started_at": .optional(p.startedAt), "status": .string(p.status.rawValue),
            ]
        }
        let tasksJSON: [JSONValue] = tasks.map(Self.taskJSON)
        return ["workflow": workflowJSON, "phases": .array(phasesJSON), "tasks": .array(tasksJSON)]
    }

    /// A task's fields in canonical (UTF-8) key order, so the canonical serializer need not
    /// sort them; fields without a value are left out (the reader takes a missing field as
    /// none), which keeps a large workflow's checkpoint about half the size.
    static func taskJSON(_ t: WorkTask) -> JSONValue {
        var keys: [String] = []
        var values: [JSONValue] = []
        keys.reserveCapacity(28)
        values.reserveCapacity(28)
        func put(_ key: String, _ value: JSONValue) {
            guard !value.isNull else { return }
            keys.append(key)
            values.append(value)
        }
        var resources: JSONValue = .emptyObject
        for name in t.resources.keys.sorted() { resources[name] = .count(t.resources[name] ?? 1) }
        put("assigned_agent", .optional(t.assignedAgent))
        put("attempts", .count(t.attempts))
        put("command", .optional(t.command))
        put("completed_at", .optional(t.completedAt))
        put("created_at", .int(t.createdAt))
        put("critical_path_ms", .int(t.criticalPathMilliseconds))
        put("depends_on", .strings(t.dependsOn))
        put("description", .string(t.description))
        put("estimate_ms", .optional(t.estimate?.milliseconds))
        put("evidence", t.evidence ?? .null)
        put("execution_ms", .optional(t.executionMilliseconds))
        put("files", .strings(t.files))
        put("last_error", t.lastError ?? .null)
        put("max_retries", .count(t.maxRetries))
        put("payload", t.payload ?? .null)
        put("phase_id", .count(t.phaseID))
        put("priority", .string(t.priority.rawValue))
        put("reserved_for", .optional(t.reservedFor))
        put("resources", resources)
        put("result", t.result ?? .null)
        put("risky", .bool(t.risky))
        put("role", .optional(t.role))
        put("run_deadline", .optional(t.runDeadline))
        put("started_at", .optional(t.startedAt))
        put("status", .string(t.status.rawValue))
        put("task_id", .string(t.taskID))
        put("timeout_ms", .optional(t.timeout?.milliseconds))
        put("verified_evidence", t.verifiedEvidence ?? .null)
        return .object(OrderedDictionary(uncheckedUniqueKeys: keys, values: values))
    }

    /// Reads the form ``json`` writes. Throws `CHECKPOINT_CORRUPT` naming the first unreadable field.
    public init(json: JSONValue) throws(HubError) {
        func corrupt(_ what: String) -> HubError {
            HubError(
                .checkpointCorrupt, "the stored workflow state is unreadable: \(what)",
                details: "The snapshot does not have the shape coordination-hub writes.")
        }
        guard let w = json["workflow"], let phaseList = json["phases"]?.arrayValue,
            let taskList = json["tasks"]?.arrayValue
        else { throw corrupt("missing workflow, phases or tasks") }
        // Field names are built only for the error (a snapshot has thousands of fields).
        func str(_ v: JSONValue?, _ field: @autoclosure () -> String) throws(HubError) -> String {
            guard let s = v?.stringValue else { throw corrupt(field()) }
            return s
        }
        func int(_ v: JSONValue?, _ field: @autoclosure () -> String) throws(HubError) -> Int64 {
            guard let i = v?.intValue else { throw corrupt(field()) }
            return i
        }
        func optInt(_ v: JSONValue?) -> Int64? { v?.intValue }
        guard let status = WorkflowStatus(rawValue: try str(w["status"], "workflow.status")),
            let priority = Priority(rawValue: try str(w["priority"], "workflow.priority")),
            let tolerance = FailureTolerance(rawValue: try str(w["failure_tolerance"], "workflow.failure_tolerance"))
        else { throw corrupt("workflow status, priority or failure_tolerance") }
        var workflow = Workflow(
            id: try str(w["id"], "workflow.id"), name: try str(w["name"], "workflow.name"),
            description: try str(w["description"], "workflow.description"), priority: priority,
            agentRequirements: AgentRequirements(json: w["agent_requirements"] ?? .null),
            dependencies: Dependencies(json: w["dependencies"] ?? .null),
            configuration: WorkflowConfiguration(
                timeout: HubDuration(milliseconds: try int(w["timeout_ms"], "workflow.timeout_ms")),
                checkpointInterval: HubDuration(
                    milliseconds: try int(w["checkpoint_interval_ms"], "workflow.checkpoint_interval_ms")),
                failureTolerance: tolerance, maxAgents: optInt(w["max_agents"]).map { Int($0) }),
            workspace: try str(w["workspace"], "workflow.workspace"),
            createdAt: try int(w["created_at"], "workflow.created_at"),
            totalPhases: Int(try int(w["total_phases"], "workflow.total_phases")),
            correlationID: try str(w["correlation_id"], "workflow.correlation_id"))
        guard Identifier.isValid(workflow.id) else { throw corrupt("workflow.id") }
        workflow.status = status
        workflow.archived = w["archived"]?.boolValue ?? false
        workflow.updatedAt = try int(w["updated_at"], "workflow.updated_at")
        workflow.startedAt = optInt(w["started_at"])
        workflow.finishedAt = optInt(w["finished_at"])
        // Absent from snapshots taken before finalization was recorded (migration 18).
        workflow.finalizedAt = optInt(w["finalized_at"])
        workflow.currentPhase = Int(try int(w["current_phase"], "workflow.current_phase"))
        workflow.stateVersion = try int(w["state_version"], "workflow.state_version")
        workflow.activeMilliseconds = try int(w["active_ms"], "workflow.active_ms")
        workflow.runningSince = optInt(w["running_since"])
        workflow.failureReason = w["failure_reason"]?.stringValue
        workflow.budget = Budget(json: w["budget"])
        workflow.spend = Spend(json: w["spend"])
        var phases: [Phase] = []
        for (n, p) in phaseList.enumerated() {
            guard let phaseStatus = PhaseStatus(rawValue: try str(p["status"], "phases[\(n)].status")) else {
                throw corrupt("phases[\(n)].status")
            }
            var phase = Phase(
                workflowID: workflow.id, phaseID: Int(try int(p["phase_id"], "phases[\(n)].phase_id")),
                name: try str(p["name"], "phases[\(n)].name"), status: phaseStatus)
            phase.startedAt = optInt(p["started_at"])
            phase.completedAt = optInt(p["completed_at"])
            phases.append(phase)
        }
        var tasks: [WorkTask] = []
        for (n, t) in taskList.enumerated() {
            guard let taskStatus = TaskStatus(rawValue: try str(t["status"], "tasks[\(n)].status")),
                let taskPriority = Priority(rawValue: try str(t["priority"], "tasks[\(n)].priority"))
            else { throw corrupt("tasks[\(n)].status or priority") }
            var task = WorkTask(
                workflowID: workflow.id, taskID: try str(t["task_id"], "tasks[\(n)].task_id"),
                phaseID: Int(try int(t["phase_id"], "tasks[\(n)].phase_id")),
                description: try str(t["description"], "tasks[\(n)].description"),
                createdAt: try int(t["created_at"], "tasks[\(n)].created_at"))
            task.role = t["role"]?.stringValue
            task.status = taskStatus
            task.priority = taskPriority
            task.dependsOn = t["depends_on"]?.arrayValue?.compactMap(\.stringValue) ?? []
            task.files = t["files"]?.arrayValue?.compactMap(\.stringValue) ?? []
            var resources: [String: Int] = [:]
            for (k, v) in t["resources"]?.objectValue ?? [:] { resources[k] = Int(v.intValue ?? 1) }
            task.resources = resources
            task.estimate = optInt(t["estimate_ms"]).map(HubDuration.init(milliseconds:))
            task.timeout = optInt(t["timeout_ms"]).map(HubDuration.init(milliseconds:))
            task.maxRetries = Int(try int(t["max_retries"], "tasks[\(n)].max_retries"))
            task.attempts = Int(try int(t["attempts"], "tasks[\(n)].attempts"))
            task.risky = t["risky"]?.boolValue ?? false
            task.evidence = t["evidence"].flatMap { $0.isNull ? nil : $0 }
            task.command = t["command"]?.stringValue
            task.payload = t["payload"].flatMap { $0.isNull ? nil : $0 }
            task.assignedAgent = t["assigned_agent"]?.stringValue
            task.result = t["result"].flatMap { $0.isNull ? nil : $0 }
            task.lastError = t["last_error"].flatMap { $0.isNull ? nil : $0 }
            task.startedAt = optInt(t["started_at"])
            task.completedAt = optInt(t["completed_at"])
            task.executionMilliseconds = optInt(t["execution_ms"])
            task.criticalPathMilliseconds = optInt(t["critical_path_ms"]) ?? 0
            task.reservedFor = t["reserved_for"]?.stringValue
            task.runDeadline = optInt(t["run_deadline"])
            // Absent from snapshots taken before it was kept with the task (migration 19).
            task.verifiedEvidence = t["verified_evidence"].flatMap { $0.isNull ? nil : $0 }
            tasks.append(task)
        }
        self.init(workflow: workflow, phases: phases, tasks: tasks)
        if let problem = problem() { throw corrupt(problem) }
    }
}
