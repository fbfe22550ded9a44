import HubCore

/// How many tasks a phase has, how many are still open, and how many failed for good.
/// Kept by the store as tasks change, so that judging a phase does not read its tasks.
public struct PhaseCounts: Sendable, Equatable {
    public var total: Int
    /// Tasks not yet settled (`pending`, `ready`, `assigned`, `running`).
    public var open: Int
    /// Tasks `failed` or `cancelled`.
    public var failed: Int

    public init(total: Int, open: Int, failed: Int) {
        self.total = total
        self.open = open
        self.failed = failed
    }
}

/// Reads of the agent pool and task dispatch (§7). Every one is an indexed
/// lookup whose cost follows the rows it returns, not the size of the store.
public protocol DispatchReader {
    /// The agent with that id, or `nil`.
    func agent(_ id: String) throws -> Agent?
    /// Every registered agent.
    func agents() throws -> [Agent]
    /// The lease with that id, or `nil`.
    func lease(_ id: String) throws -> Lease?
    /// The agent's active leases.
    func activeLeases(agentID: String) throws -> [Lease]
    /// The workflow's active leases.
    func activeLeases(workflowID: String) throws -> [Lease]
    /// How many of the workflow's leases ended in a recorded completion and how many in a
    /// failure — recorded (`failed`) or a run that timed out or whose agent went silent
    /// (`expired`): its attempts as agents' track records count them — and which agents held them.
    func attemptOutcomes(workflowID: String) throws -> AttemptOutcomes
    /// One task, or `nil`.
    func task(workflowID: String, taskID: String) throws -> WorkTask?
    /// The tasks of one phase, in creation order.
    func tasks(of workflowID: String, phase: Int) throws -> [WorkTask]
    /// Tasks that depend on `taskID`.
    func dependents(workflowID: String, of taskID: String) throws -> [WorkTask]
    /// The phase's task counts.
    func phaseCounts(workflowID: String, phaseID: Int) throws -> PhaseCounts
    /// `ready` tasks of running workflows needing `role` (`nil`: tasks without a role),
    /// in the policy's order (workflow priority, task priority, critical path, age), one page.
    /// Only those `agentID` may take as far as reservations and pools go: a task reserved for
    /// another agent, or of a workflow whose pool leaves it out, is not listed (listed, a
    /// large pooled workflow filled every page a claim reads, and an outsider was told nothing
    /// was eligible while another workflow's task was).
    func readyCandidates(role: String?, workflowID: String?, agentID: String, offset: Int, limit: Int) throws
        -> [TaskCandidate]
    /// `ready` tasks of running workflows reserved for `agentID` (of `workflowID` only, when
    /// given), whatever their role: the policy offers them first (§7), and the pages of
    /// ``readyCandidates(role:workflowID:agentID:offset:limit:)`` come in an order that does
    /// not put them first.
    func reservedCandidates(agentID: String, workflowID: String?) throws -> [TaskCandidate]
    /// Files (as ``WorkTask/fileKey(_:workspace:)``) and resource units held by running tasks.
    func runningHolds() throws -> (files: Set<String>, resources: [String: Int])
    /// Ended leases whose agent may still be running the task (``Lease/holdsUntil`` after `now`),
    /// of one agent or of all.
    func lingeringLeases(agentID: String?, now: Int64) throws -> [Lease]
    /// Files and resource units of the tasks of ``lingeringLeases(agentID:now:)``.
    func lingeringHolds(now: Int64) throws -> (files: Set<String>, resources: [String: Int])
    /// The pools of those workflows that have one.
    func pools(of workflowIDs: [String]) throws -> [String: Set<String>]
    /// The workflows whose pool holds `agentID`.
    func workflowsPooling(agentID: String) throws -> [String]
    /// Available or busy agents silent by `time` (their ``Agent/silentAt`` at or before it), and
    /// those recorded without a `silentAt` whose last heartbeat is at or before `unrecordedSince`.
    func agentsSilent(by time: Int64, unrecordedSince: Int64) throws -> [Agent]
    /// `ready` tasks reserved for an agent, in creation order.
    func reservedTasks() throws -> [WorkTask]
    /// Queued and granted resource requests, in arrival order.
    func liveAllocations() throws -> [ResourceAllocation]
    /// A resource request by its `req_…` or `alloc_…` id.
    func allocation(_ id: String) throws -> ResourceAllocation?
    /// Active leases whose expiry is at or before `now`.
    func expiredLeases(now: Int64) throws -> [Lease]
    /// Running tasks whose own timeout is at or before `now`.
    func overdueTasks(now: Int64) throws -> [WorkTask]
    /// Whether any of the reads the dispatcher's sweep makes would find something:
    /// `agentsSilent(by: agentsSilentBy, unrecordedSince: unrecordedSilentSince)`,
    /// `expiredLeases(now: leasesExpiredBy)`, `overdueTasks(now:)`, `reservedTasks()` or
    /// `liveAllocations()`. One look instead of five, for every dispatcher operation, most of
    /// which find nothing due.
    func sweepHasWork(agentsSilentBy: Int64, unrecordedSilentSince: Int64, leasesExpiredBy: Int64, now: Int64) throws
        -> Bool
}

/// Writes of the agent pool and task dispatch.
public protocol DispatchWriter: DispatchReader {
    /// Inserts or replaces an agent.
    func save(_ agent: Agent) throws
    /// Removes an agent (its leases must have ended) and its pool memberships.
    func removeAgent(_ id: String) throws
    /// Inserts a lease; a second active lease on the same task is refused.
    func insert(_ lease: Lease) throws
    /// Replaces a stored lease (all but ``Lease/holdsUntil``).
    func update(_ lease: Lease) throws
    /// Sets or clears an ended lease's ``Lease/holdsUntil``.
    func setHold(leaseID: String, until: Int64?) throws
    /// Inserts a resource request; the store assigns its arrival sequence.
    func insert(_ allocation: ResourceAllocation) throws -> ResourceAllocation
    /// Replaces a stored resource request.
    func update(_ allocation: ResourceAllocation) throws
    /// Replaces the workflow's pool.
    func setPool(workflowID: String, agents: [String]) throws
}

/// A workflow's finished attempts (``DispatchReader/attemptOutcomes(workflowID:)``).
public struct AttemptOutcomes: Sendable, Equatable {
    public var completed: Int
    public var failed: Int
    /// Every agent that held one of the workflow's finished attempts.
    public var agents: Set<String>

    public init(completed: Int = 0, failed: Int = 0, agents: Set<String> = []) {
        self.completed = completed
        self.failed = failed
        self.agents = agents
    }
}
