/// How `report-error` classifies an error by its `error_type` (§17's table; `docs/errors.md`
/// prints it): severity, whether it is recoverable, and the recovery the hub performs when
/// it is and `auto_recovery` is on.
public struct ErrorClassification: Sendable, Equatable {
    /// What the hub does about a recoverable error.
    public enum Recovery: String, Sendable {
        /// Put the task back in the queue.
        case retryTask = "retry_task"
        /// Move the agent's tasks to other agents.
        case redistribute
        /// Wait for the dependency, then retry the task (the hub retries; waiting is the queue's).
        case waitAndRetry = "wait_and_retry"
        /// Slow down: nothing the hub can do by itself, reported as a suggestion.
        case throttle
        /// Restore the newest valid checkpoint (state only).
        case restoreCheckpoint = "restore_checkpoint"
    }

    public var severity: Severity
    public var recoverable: Bool
    public var recovery: Recovery?

    public init(severity: Severity, recoverable: Bool, recovery: Recovery?) {
        self.severity = severity
        self.recoverable = recoverable
        self.recovery = recovery
    }

    /// The table, by `error_type`; anything not listed is error / not recoverable.
    public static let table: [(type: String, classification: ErrorClassification)] = [
        ("task_failure", .init(severity: .error, recoverable: true, recovery: .retryTask)),
        ("timeout", .init(severity: .warning, recoverable: true, recovery: .retryTask)),
        ("agent_unresponsive", .init(severity: .warning, recoverable: true, recovery: .redistribute)),
        ("agent_crash", .init(severity: .error, recoverable: true, recovery: .redistribute)),
        ("dependency_unavailable", .init(severity: .error, recoverable: true, recovery: .waitAndRetry)),
        ("resource_exhausted", .init(severity: .warning, recoverable: true, recovery: .throttle)),
        ("state_corruption", .init(severity: .critical, recoverable: true, recovery: .restoreCheckpoint)),
        ("validation_failure", .init(severity: .error, recoverable: false, recovery: nil)),
        ("configuration_error", .init(severity: .error, recoverable: false, recovery: nil)),
    ]

    public static func of(_ errorType: String) -> ErrorClassification {
        table.first { $0.type == errorType }?.classification
            ?? ErrorClassification(severity: .error, recoverable: false, recovery: nil)
    }
}

/// What an error holds up, computed from the task graph: the tasks it touches directly,
/// every unfinished task that depends on them (transitively), and the unfinished phases
/// from the first of theirs on (later phases wait for it).
public struct ErrorImpact: Sendable, Equatable {
    public var affectedTasks: [String]
    public var blockedTasks: [String]
    public var delayedPhases: [Int]

    public init(affected: [String], tasks: [WorkTask], phases: [Phase]) {
        var dependents: [String: [String]] = [:]
        for t in tasks { for d in t.dependsOn { dependents[d, default: []].append(t.taskID) } }
        let byID = Dictionary(tasks.map { ($0.taskID, $0) }, uniquingKeysWith: { a, _ in a })
        var blocked: [String] = []
        var seen = Set(affected)
        var queue = affected
        while let next = queue.popLast() {
            for d in dependents[next] ?? [] where !seen.contains(d) {
                seen.insert(d)
                queue.append(d)
                if let t = byID[d], !t.status.isSettled { blocked.append(d) }
            }
        }
        let finished = Set(phases.filter { $0.status == .completed || $0.status == .skipped }.map(\.phaseID))
        let involved = Set((affected + blocked).compactMap { byID[$0]?.phaseID })
        affectedTasks = affected
        blockedTasks = blocked.sorted()
        // Phases run in order: every unfinished phase after the first one held up waits for it too.
        let firstDelayed = involved.subtracting(finished).min()
        delayedPhases = phases.map(\.phaseID).filter { id in
            firstDelayed.map { id >= $0 } == true && !finished.contains(id)
        }.sorted()
    }

    public var json: JSONValue {
        [
            "affected_tasks": .strings(affectedTasks), "tasks_blocked": .count(blockedTasks.count),
            "blocked_tasks": .strings(blockedTasks), "phases_delayed": .array(delayedPhases.map { .count($0) }),
        ]
    }
}
