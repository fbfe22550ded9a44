/// A workflow: ordered phases of tasks, with its lifecycle status and settings (§4).
///
/// Phases and tasks are separate values (and separate rows in a store), so that
/// a change to one task never rewrites the whole workflow.
public struct Workflow: Sendable, Equatable {
    public var id: String
    public var name: String
    public var description: String
    public var status: WorkflowStatus
    /// True after `cleanup`; the status keeps the outcome.
    public var archived: Bool
    public var priority: Priority
    public var agentRequirements: AgentRequirements
    public var dependencies: Dependencies
    public var configuration: WorkflowConfiguration
    /// Directory whose files checkpoints may capture.
    public var workspace: String
    public var createdAt: Int64
    public var updatedAt: Int64
    public var startedAt: Int64?
    public var finishedAt: Int64?
    /// When `complete` finalized the completed workflow (§5, §17); `nil` while it has not,
    /// and again once the workflow leaves `completed` (a restore).
    public var finalizedAt: Int64?
    /// 1-based; 0 before the workflow starts.
    public var currentPhase: Int
    public var totalPhases: Int
    /// Incremented by every change (§9).
    public var stateVersion: Int64
    /// Running time accumulated before the current running stretch, in milliseconds.
    public var activeMilliseconds: Int64
    /// When the current running stretch began; `nil` unless running.
    public var runningSince: Int64?
    /// Why the workflow failed, when it did.
    public var failureReason: String?
    /// Shared by every event of this workflow (`metadata.correlation_id`).
    public var correlationID: String
    /// What the workflow may spend; `nil` for no limit.
    public var budget: Budget?
    /// What it has spent, from reported usage.
    public var spend: Spend

    public init(
        id: String, name: String, description: String = "", priority: Priority = .medium,
        agentRequirements: AgentRequirements = .init(), dependencies: Dependencies = .init(),
        configuration: WorkflowConfiguration, workspace: String, createdAt: Int64, totalPhases: Int,
        correlationID: String
    ) {
        self.id = id
        self.name = name
        self.description = description
        self.status = .created
        self.archived = false
        self.priority = priority
        self.agentRequirements = agentRequirements
        self.dependencies = dependencies
        self.configuration = configuration
        self.workspace = workspace
        self.createdAt = createdAt
        self.updatedAt = createdAt
        self.startedAt = nil
        self.finishedAt = nil
        self.finalizedAt = nil
        self.currentPhase = 0
        self.totalPhases = totalPhases
        self.stateVersion = 1
        self.activeMilliseconds = 0
        self.runningSince = nil
        self.failureReason = nil
        self.correlationID = correlationID
        self.budget = nil
        self.spend = Spend()
    }

    /// Running time so far, paused time excluded.
    public func activeTime(now: Int64) -> HubDuration {
        HubDuration(milliseconds: activeMilliseconds + (runningSince.map { max(0, now - $0) } ?? 0))
    }

    /// When a running workflow times out; `nil` unless running.
    public var deadline: Int64? {
        guard status == .running, let since = runningSince else { return nil }
        return since + max(0, configuration.timeout.milliseconds - activeMilliseconds)
    }

    /// Whether the workflow is running and has outlived its timeout at `now`.
    public func hasTimedOut(now: Int64) -> Bool {
        guard let deadline else { return false }
        return now >= deadline
    }
}

/// How many agents, of which roles, a workflow wants.
public struct AgentRequirements: Sendable, Equatable, Codable {
    public var minAgents: Int?
    public var maxAgents: Int?
    public var specializedRoles: [String]

    public init(minAgents: Int? = nil, maxAgents: Int? = nil, specializedRoles: [String] = []) {
        self.minAgents = minAgents
        self.maxAgents = maxAgents
        self.specializedRoles = specializedRoles
    }
}

/// What a workflow depends on outside itself and inside the project.
public struct Dependencies: Sendable, Equatable, Codable {
    /// One dependency: a name, and optionally a command whose exit 0 means it is available.
    public struct Entry: Sendable, Equatable, Codable {
        public var name: String
        public var checkCommand: String?
        public init(name: String, checkCommand: String? = nil) {
            self.name = name
            self.checkCommand = checkCommand
        }
    }

    public var external: [Entry]
    public var `internal`: [Entry]

    public init(external: [Entry] = [], internal: [Entry] = []) {
        self.external = external
        self.internal = `internal`
    }
}

/// A workflow's own settings; defaults come from the hub's ``Configuration``.
public struct WorkflowConfiguration: Sendable, Equatable {
    /// Running time after which the workflow fails. Defaults to the hub's `workflow_timeout` (4h).
    public var timeout: HubDuration
    /// Time between automatic checkpoints. Defaults to the hub's `checkpoint_interval` (15m).
    public var checkpointInterval: HubDuration
    /// Defaults to `low`.
    public var failureTolerance: FailureTolerance
    /// Upper bound of the agent pool; `nil` when unset.
    public var maxAgents: Int?

    public init(
        timeout: HubDuration, checkpointInterval: HubDuration, failureTolerance: FailureTolerance = .low,
        maxAgents: Int? = nil
    ) {
        self.timeout = timeout
        self.checkpointInterval = checkpointInterval
        self.failureTolerance = failureTolerance
        self.maxAgents = maxAgents
    }
}

extension Workflow {
    /// Moves to `next`, keeping the running-time account (paused time is not counted)
    /// and the start and finish times.
    public mutating func enter(_ next: WorkflowStatus, now: Int64) {
        if status == .running, next != .running, let since = runningSince {
            activeMilliseconds += max(0, now - since)
            runningSince = nil
        }
        if next == .running, status != .running {
            runningSince = now
            if startedAt == nil { startedAt = now }
        }
        if next.isFinished { finishedAt = now } else { finishedAt = nil }
        if next != .completed { finalizedAt = nil }
        if next != .failed { failureReason = nil }
        status = next
    }
}
