import HubCore

/// A task as `create` (inside a phase) and `add-tasks` accept it (§4).
struct TaskSpec: Decodable, Sendable {
    var taskId: String
    var description: String?
    var role: String?
    var dependsOn: [String]?
    var files: [String]?
    var resources: ResourceList?
    var priority: Priority?
    var estimate: HubDuration?
    var timeout: HubDuration?
    var maxRetries: Int?
    var command: String?
    var payload: JSONValue?
    var evidence: JSONValue?
    var risky: Bool?
    /// `add-tasks` only: the phase, by number or name.
    var phase: PhaseReference?

    static func schema(withPhase: Bool) -> Schema {
        var properties: [Schema.Property] = [
            .init("task_id", .id("Unique within the workflow; matches the id rule."), required: true),
            .init("description", .string("What the task does.", maxLength: 10_000)),
            .init(
                "role",
                .name("Specialization it needs: code, test, docs, config, … Absent means any agent.", maxLength: 128)),
            .init(
                "depends_on",
                .array(.id(), "Task ids (any earlier or the same phase) that must complete first.", maxItems: 1000)),
            .init(
                "files",
                .array(
                    .name(maxLength: 4096),
                    "Paths it will touch, inside the workflow's workspace (relative to it, or absolute): no two running tasks may share one.",
                    maxItems: 10_000)),
            .init("resources", ResourceList.schema),
            .init("priority", .oneOf(["high", "medium", "low"], "Defaults to medium.")),
            .init("estimate", .duration("Expected duration, e.g. 10m.")),
            .init("timeout", .duration("Longest run before the task is failed and retried.")),
            .init("max_retries", .integer("Retries after a failure. Defaults to 2.", min: 0, max: 100)),
            .init(
                "command", .string("Shell command the bundled agent runner runs with /bin/sh -c.", maxLength: 100_000)),
            .init("payload", .anyJSON("Free JSON handed to the agent.")),
            .init("evidence", EvidenceRequirement.schema),
            .init(
                "risky",
                .boolean(
                    "Take a checkpoint (before_<task_id>, with the files the task declares) before the task starts.")),
        ]
        if withPhase { properties.append(.init("phase", PhaseReference.schema)) }
        return .object(properties, "A task.")
    }

    func task(workflowID: String, phase: Int, now: Int64) -> WorkTask {
        var t = WorkTask(
            workflowID: workflowID, taskID: taskId, phaseID: phase, description: description ?? "", createdAt: now)
        t.role = role
        t.dependsOn = dependsOn ?? []
        t.files = files ?? []
        // A resource named file:<path> is the file (§8): held as one of its files, so that
        // it conflicts with the same file declared in files and is checked as a path.
        for (name, _) in (resources?.units ?? [:]).sorted(by: { $0.key < $1.key }) where name.hasPrefix("file:") {
            let path = String(name.dropFirst(5))
            if !t.files.contains(path) { t.files.append(path) }
        }
        t.resources = (resources?.units ?? [:]).filter { !$0.key.hasPrefix("file:") }
        t.priority = priority ?? .medium
        t.estimate = estimate
        t.timeout = timeout
        t.maxRetries = maxRetries ?? 2
        t.command = command
        t.payload = payload
        t.evidence = evidence
        t.risky = risky ?? false
        return t
    }
}

/// Named resources: a list of names (one unit each) or `{"name": units}`.
struct ResourceList: Decodable, Sendable {
    var units: [String: Int]

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let names = try? c.decode([String].self) {
            var units: [String: Int] = [:]
            for n in names { units[n, default: 0] += 1 }
            self.units = units
        } else {
            self.units = try c.decode([String: Int].self)
        }
    }

    static let schema = Schema.anyOf(
        [.array(.name(maxLength: 256), maxItems: 1000), .map(.integer(min: 1, max: 1_000_000))],
        "Named resources it needs: [\"database\"] or {\"database\": 1}, at most their capacity; file:<path> is held as one of its files."
    )
}
