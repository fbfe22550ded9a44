/// Validation of the task dependency graph: a DAG across phases (§4).
public enum TaskGraph {
    /// Checks `added` against `existing`: ids unique, dependencies known and not in
    /// a later phase, no cycle. Throws `INVALID_PARAMETERS` naming the tasks involved.
    public static func validate(existing: [WorkTask], adding added: [WorkTask]) throws(HubError) {
        var phaseOf: [String: Int] = [:]
        for task in existing { phaseOf[task.taskID] = task.phaseID }
        var duplicates: [String] = []
        for task in added {
            if phaseOf[task.taskID] != nil { duplicates.append(task.taskID) }
            phaseOf[task.taskID] = task.phaseID
        }
        if !duplicates.isEmpty {
            throw HubError(
                .invalidParameters, "duplicate task ids: \(duplicates.joined(separator: ", "))",
                details: "Task ids must be unique within a workflow.",
                context: ["field": "tasks", "tasks": .strings(duplicates)],
                suggestions: ["Rename the duplicate tasks", "Read existing task ids with 'get-status'"])
        }
        var unknown: [String] = []
        var forward: [String] = []
        for task in added {
            for dep in task.dependsOn {
                guard let depPhase = phaseOf[dep] else {
                    unknown.append("\(task.taskID) -> \(dep)")
                    continue
                }
                if depPhase > task.phaseID {
                    forward.append("\(task.taskID) (phase \(task.phaseID)) -> \(dep) (phase \(depPhase))")
                }
            }
        }
        if !unknown.isEmpty {
            throw HubError(
                .invalidParameters, "unknown dependencies: \(unknown.joined(separator: ", "))",
                details: "Every depends_on entry must name a task of the workflow.",
                context: ["field": "depends_on", "tasks": .strings(unknown)],
                suggestions: ["Declare the missing tasks, or remove them from depends_on"])
        }
        if !forward.isEmpty {
            throw HubError(
                .invalidParameters,
                "tasks depend on tasks of a later phase, which can never run first: \(forward.joined(separator: ", "))",
                details: "Phases run in order; a task may depend on tasks of its own or an earlier phase.",
                context: ["field": "depends_on", "tasks": .strings(forward)],
                suggestions: ["Move the dependency to an earlier phase, or the dependent task to a later one"])
        }
        if let cycle = findCycle(existing + added) {
            throw HubError(
                .invalidParameters, "dependency cycle: \(cycle.joined(separator: " -> "))",
                details: "depends_on must form a directed acyclic graph.",
                context: ["field": "depends_on", "tasks": .strings(cycle)],
                suggestions: ["Remove one of the dependencies in the cycle"])
        }
    }

    /// Refuses evidence files that could never be checked: completion reads them inside the
    /// workspace only, so a path outside it made the task uncompletable. The rule is the one
    /// for task files (``WorkspacePath/resolved(_:in:)``): `./a`, `b/../a` and an absolute
    /// path inside the workspace are accepted as they are there.
    public static func validateEvidence(_ tasks: [WorkTask], workspace: String) throws(HubError) {
        for task in tasks {
            for path in EvidenceRequirement(json: task.evidence)?.files ?? []
            where WorkspacePath.resolved(path, in: workspace) == nil {
                throw HubError(
                    .invalidParameters,
                    "evidence.files of task \(task.taskID): \"\(path.prefix(256))\" is not a path inside the workspace \(workspace)",
                    details: "Evidence files are read inside the workspace; relative paths are relative to it.",
                    context: ["field": "evidence.files", "task_id": .string(task.taskID)],
                    suggestions: ["Name the file relative to the workspace, e.g. docs/report.md"])
            }
        }
    }

    /// Refuses task `files` outside the workspace (absolute elsewhere, or leaving it by `..`):
    /// they are held by their path inside it (§8), and checkpoints capture only what is in it,
    /// so such a file was held for conflicts yet silently left out of every capture.
    public static func validateFiles(_ tasks: [WorkTask], workspace: String) throws(HubError) {
        for task in tasks {
            for file in task.files where WorkspacePath.resolved(file, in: workspace) == nil {
                throw HubError(
                    .invalidParameters,
                    "files of task \(task.taskID): \"\(file.prefix(256))\" is not a path inside the workspace \(workspace)",
                    details:
                        "A task's files are held by their path inside the workspace; relative paths are relative to it.",
                    context: ["field": "files", "task_id": .string(task.taskID)],
                    suggestions: ["Name the file relative to the workspace, e.g. src/api.swift"])
            }
        }
    }

    /// The rules a task's own fields meet wherever the task comes from (`create`, `add-tasks`,
    /// a bundle): its evidence, its files, its resources against `capacities` (not checked
    /// when `nil`) and its timeout.
    public static func validateFields(
        _ tasks: [WorkTask], workspace: String, capacities: [String: Int]?
    ) throws(HubError) {
        try validateEvidence(tasks, workspace: workspace)
        try validateFiles(tasks, workspace: workspace)
        if let capacities { try validateResources(tasks, capacities: capacities) }
        try validateTimeouts(tasks)
    }

    /// Refuses a task that needs more units of a resource than its capacity (`capacities`, 1
    /// for a resource not configured): it was offered as ready and no claim could ever take it,
    /// as `allocate-resources` refuses such a request.
    public static func validateResources(_ tasks: [WorkTask], capacities: [String: Int]) throws(HubError) {
        for task in tasks {
            for (name, units) in task.resources.sorted(by: { $0.key < $1.key }) where units > (capacities[name] ?? 1) {
                throw HubError(
                    .invalidParameters,
                    "resources of task \(task.taskID) ask for \(units) units of \(name.prefix(256)) but its capacity is \(capacities[name] ?? 1); the task could never run",
                    details: "Capacities come from the configuration's resources (1 for a resource not listed there).",
                    context: ["field": "resources", "task_id": .string(task.taskID)],
                    suggestions: [
                        "Ask for at most \(capacities[name] ?? 1), or raise the capacity in config.json's resources"
                    ])
            }
        }
    }

    /// Refuses a task `timeout` of zero: such a task timed out as soon as it was claimed and
    /// retried until it failed, as a workflow timeout of 0s is refused too.
    public static func validateTimeouts(_ tasks: [WorkTask]) throws(HubError) {
        for task in tasks {
            if let timeout = task.timeout, timeout.milliseconds <= 0 {
                throw HubError(
                    .invalidParameters, "timeout of task \(task.taskID) must be longer than 0s",
                    details: "A task's timeout is the longest it may run once claimed.",
                    context: ["field": "timeout", "task_id": .string(task.taskID)],
                    suggestions: ["Give a duration such as 10m, or leave timeout out for none"])
            }
        }
    }

    /// One cycle as a path that starts and ends with the same task, or `nil` for a DAG.
    public static func findCycle(_ tasks: [WorkTask]) -> [String]? {
        var edges: [String: [String]] = [:]
        for task in tasks { edges[task.taskID] = task.dependsOn }
        var state: [String: UInt8] = [:]  // 1 = on the stack, 2 = done
        for root in tasks.map(\.taskID) where state[root] == nil {
            // Iterative DFS so that a long chain cannot overflow the stack.
            var stack: [(String, Int)] = [(root, 0)]
            var path: [String] = [root]
            state[root] = 1
            while let (node, next) = stack.last {
                let deps = edges[node] ?? []
                if next < deps.count {
                    stack[stack.count - 1].1 += 1
                    let dep = deps[next]
                    switch state[dep] {
                    case 1:
                        if let start = path.firstIndex(of: dep) { return Array(path[start...]) + [dep] }
                    case nil:
                        state[dep] = 1
                        stack.append((dep, 0))
                        path.append(dep)
                    default: break
                    }
                } else {
                    state[node] = 2
                    stack.removeLast()
                    path.removeLast()
                }
            }
        }
        return nil
    }
}
