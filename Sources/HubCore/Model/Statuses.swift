/// A workflow's status (§5). Stable lowercase strings.
public enum WorkflowStatus: String, Sendable, CaseIterable, Codable {
    case created, running, paused, completed, failed, cancelled

    /// Whether no more work is done in this status (`failed` can still be resumed).
    public var isTerminal: Bool { self == .completed || self == .cancelled }

    /// Whether the workflow has finished, one way or another.
    public var isFinished: Bool { self == .completed || self == .failed || self == .cancelled }
}

/// A phase's status (§4).
public enum PhaseStatus: String, Sendable, CaseIterable, Codable {
    case pending, running, completed, failed, skipped
}

/// A task's status (§4).
public enum TaskStatus: String, Sendable, CaseIterable, Codable {
    case pending, ready, assigned, running, completed, failed, cancelled, skipped

    /// Whether dependents may start: the task's work is done or was skipped.
    public var satisfiesDependents: Bool { self == .completed || self == .skipped }

    /// Whether the task will not run again without an explicit retry.
    public var isSettled: Bool { self == .completed || self == .skipped || self == .failed || self == .cancelled }
}

/// Workflow and task priority (§4), highest first.
public enum Priority: String, Sendable, CaseIterable, Codable, Comparable {
    case high, medium, low

    /// Larger is more urgent.
    public var rank: Int {
        switch self {
        case .high: return 3
        case .medium: return 2
        case .low: return 1
        }
    }

    public static func < (a: Priority, b: Priority) -> Bool { a.rank < b.rank }
}

/// How many failed tasks a phase tolerates (§5).
public enum FailureTolerance: String, Sendable, CaseIterable, Codable {
    /// No failed task (after retries).
    case low
    /// Up to 10% of the phase's tasks, rounded up (so at least one).
    case medium
    /// Any number: failures are recorded and the phase still completes.
    case high

    /// The most failed tasks a phase of `taskCount` tasks may have and still complete.
    public func allowedFailures(taskCount: Int) -> Int {
        switch self {
        case .low: return 0
        case .medium: return max(1, (taskCount + 9) / 10)
        case .high: return Int.max
        }
    }
}

/// An event's severity (§4), ordered from least to most severe.
public enum Severity: String, Sendable, CaseIterable, Codable, Comparable {
    case info, warning, error, critical

    public var rank: Int {
        switch self {
        case .info: return 0
        case .warning: return 1
        case .error: return 2
        case .critical: return 3
        }
    }

    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}
