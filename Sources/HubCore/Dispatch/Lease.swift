/// The state of a lease (§7).
public enum LeaseState: String, Sendable, CaseIterable {
    /// Held: the agent may report the task's outcome.
    case active
    /// Its outcome was recorded as a completion.
    case completed
    /// Its outcome was recorded as a failure.
    case failed
    /// Taken back by the hub (deregistration, redistribution, cancellation).
    case revoked
    /// Lapsed: its agent went silent or the task timed out.
    case expired
}

/// An agent's right to work on one task and report its outcome once.
public struct Lease: Sendable, Equatable {
    /// `lease_…`, unique across the store.
    public var leaseID: String
    public var workflowID: String
    public var taskID: String
    public var agentID: String
    public var claimedAt: Int64
    public var expiresAt: Int64
    public var state: LeaseState
    public var endedAt: Int64?
    /// Set when the hub ended the lease while its agent may still be running the task (a
    /// timeout, a revocation): until then, or until the agent's heartbeat shows it has let go,
    /// the task's files and resources stay held, so its retry cannot run beside the old run.
    public var holdsUntil: Int64?

    public init(
        leaseID: String, workflowID: String, taskID: String, agentID: String, claimedAt: Int64, expiresAt: Int64
    ) {
        self.leaseID = leaseID
        self.workflowID = workflowID
        self.taskID = taskID
        self.agentID = agentID
        self.claimedAt = claimedAt
        self.expiresAt = expiresAt
        self.state = .active
        self.endedAt = nil
        self.holdsUntil = nil
    }

    /// Whether the lease still allows an outcome at `now`.
    public func isUsable(now: Int64) -> Bool { state == .active && now < expiresAt }
}
