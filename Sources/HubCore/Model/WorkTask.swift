/// A unit of work inside a phase (§4). Named `WorkTask` because `Task` is Swift concurrency's.
public struct WorkTask: Sendable, Equatable {
    public var workflowID: String
    public var taskID: String
    /// The 1-based phase the task belongs to.
    public var phaseID: Int
    public var description: String
    /// The specialization it needs (`code`, `test`, …), or `nil` for any agent.
    public var role: String?
    public var status: TaskStatus
    public var dependsOn: [String]
    /// Paths it will touch: no two running tasks may share one.
    public var files: [String]
    /// Named resources it needs and how many units of each.
    public var resources: [String: Int]
    public var priority: Priority
    public var estimate: HubDuration?
    public var timeout: HubDuration?
    /// Defaults to 2.
    public var maxRetries: Int
    public var attempts: Int
    /// A checkpoint is taken before it starts.
    public var risky: Bool
    /// Evidence its completion requires (§16), as given.
    public var evidence: JSONValue?
    /// What `complete-task` verified of its evidence at its last completion (§16): the files'
    /// SHA-256, the commit, the check command's exit and output tail. Kept with the task
    /// because the `task_completed` event that also carries it may go with event retention.
    public var verifiedEvidence: JSONValue?
    /// A shell string the bundled agent runner runs with `/bin/sh -c`.
    public var command: String?
    /// Free JSON handed to the agent.
    public var payload: JSONValue?
    public var assignedAgent: String?
    public var result: JSONValue?
    public var lastError: JSONValue?
    public var createdAt: Int64
    public var startedAt: Int64?
    public var completedAt: Int64?
    /// How long its finished run took, in milliseconds.
    public var executionMilliseconds: Int64?
    /// Milliseconds of the longest chain of estimates through it (``CriticalPath``).
    public var criticalPathMilliseconds: Int64
    /// The agent it is reserved for, if any.
    public var reservedFor: String?
    /// When its current run times out; `nil` unless running with a `timeout`.
    public var runDeadline: Int64?
    /// The event that put it back in the queue (`task_retried`), until it is claimed: the
    /// cause of its next `task_assigned` (§16's chain task failed → retried → assigned).
    public var queuedBy: String?
    /// The workspace's git HEAD when the task, asking for a commit, was first handed out, or
    /// `nil` (none read yet, or git could not tell): that commit is not the task's work, so a
    /// retry's runner may offer the HEAD it finds as evidence only when it is another (§16).
    public var headBefore: String?

    public init(workflowID: String, taskID: String, phaseID: Int, description: String = "", createdAt: Int64) {
        self.workflowID = workflowID
        self.taskID = taskID
        self.phaseID = phaseID
        self.description = description
        self.role = nil
        self.status = .pending
        self.dependsOn = []
        self.files = []
        self.resources = [:]
        self.priority = .medium
        self.estimate = nil
        self.timeout = nil
        self.maxRetries = 2
        self.attempts = 0
        self.risky = false
        self.evidence = nil
        self.verifiedEvidence = nil
        self.command = nil
        self.payload = nil
        self.assignedAgent = nil
        self.result = nil
        self.lastError = nil
        self.createdAt = createdAt
        self.startedAt = nil
        self.completedAt = nil
        self.executionMilliseconds = nil
        self.criticalPathMilliseconds = 0
        self.reservedFor = nil
        self.runDeadline = nil
        self.queuedBy = nil
        self.headBefore = nil
    }

    /// Whether it will never do its work and its dependents cannot run: failed or
    /// cancelled, or skipped because a dependency failed.
    public var isDead: Bool {
        status == .failed || status == .cancelled || (status == .skipped && lastError?["blocked_by"] != nil)
    }

    /// The keys under which its files are held: absolute paths inside `workspace`, normalized.
    public func fileKeys(workspace: String) -> [String] {
        files.map { WorkTask.fileKey($0, workspace: workspace) }
    }

    /// One file's key: the path made absolute against the workspace and normalized.
    public static func fileKey(_ file: String, workspace: String) -> String {
        let joined = file.hasPrefix("/") ? file : workspace + "/" + file
        var parts: [Substring] = []
        for part in joined.split(separator: "/") {
            if part == "." || part.isEmpty { continue }
            if part == ".." {
                if !parts.isEmpty { parts.removeLast() }
                continue
            }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }
}
