/// How `restore` brings a checkpoint back (§11).
public enum RestoreStrategy: String, Sendable, CaseIterable {
    /// The state and the captured files exactly as at the checkpoint (the workflow left paused).
    case fullRestore = "full_restore"
    /// The state only, or only the listed phases; files are left alone.
    case partialRestore = "partial_restore"
    /// As full_restore, and every task completed since goes back to the queue with its attempts kept.
    case rollback
}

/// The workflow state a restore produces from the current state and a checkpoint's: pure,
/// so the rules are tested without a store.
public struct RestorePlan: Sendable {
    /// The state to store (its `state_version` is the current one; the commit bumps it).
    public var snapshot: WorkflowSnapshot
    /// Tasks completed now but not at the checkpoint, put back in the queue (rollback).
    public var undoneTasks: [String] = []
    /// Tasks that exist now but not at the checkpoint, which the restore removes.
    public var removedTasks: [String] = []
    /// Every task the restore puts back in the queue: waiting (`ready` or `pending`) after it and
    /// not before — running or assigned ones whose leases end, ones completed, failed or skipped
    /// since the checkpoint, ones it brings back — in task order, each once. ``undoneTasks`` are
    /// among them.
    public var requeuedTasks: [String] = []
    /// Phases whose state was restored.
    public var restoredPhases: [Int] = []
    /// Phases left out of a restore of some phases that have started although an earlier
    /// phase is open again: their tasks would run before the work they depend on. Such a
    /// plan must not be committed (the restore names them to add).
    public var startedAfterReopened: [Int] = []
    /// Phases the restore brings back as started (running or done) while an earlier phase it
    /// leaves stays open: their tasks would run, and the workflow complete, before that phase's.
    /// Such a plan must not be committed either.
    public var restoredAheadOfOpen: [Int] = []
    /// The first phase that is open after a restore of some phases.
    public var firstOpenPhase: Int?

    /// Plans a restore. `phases` (partial_restore only) limits it to those phases; `nil` restores them all.
    public static func make(
        current: WorkflowSnapshot, checkpoint: WorkflowSnapshot, strategy: RestoreStrategy, phases: [Int]?,
        now: Int64
    ) -> RestorePlan {
        let currentTasks = Dictionary(current.tasks.map { ($0.taskID, $0) }, uniquingKeysWith: { a, _ in a })
        var workflow: Workflow
        var phaseList: [Phase]
        var tasks: [WorkTask]
        var plan = RestorePlan(snapshot: current)
        if let phases, strategy == .partialRestore {
            let chosen = Set(phases)
            workflow = current.workflow
            phaseList = current.phases.map { phase in
                guard chosen.contains(phase.phaseID),
                    let saved = checkpoint.phases.first(where: { $0.phaseID == phase.phaseID })
                else { return phase }
                return saved
            }
            let savedIDs = Set(checkpoint.tasks.map(\.taskID))
            // Tasks of other phases stay; tasks of the chosen phases come from the checkpoint,
            // and those added to them since are kept as they are.
            tasks = current.tasks.filter { !chosen.contains($0.phaseID) || !savedIDs.contains($0.taskID) }
            tasks += checkpoint.tasks.filter { chosen.contains($0.phaseID) }
            let order = Dictionary(
                current.tasks.enumerated().map { ($1.taskID, $0) }, uniquingKeysWith: { a, _ in a })
            tasks.sort { (order[$0.taskID] ?? Int.max) < (order[$1.taskID] ?? Int.max) }
            plan.restoredPhases = phases.sorted()
            let open = phaseList.filter { $0.status == .running || $0.status == .pending }.map(\.phaseID)
            if let first = open.min() {
                workflow.currentPhase = min(workflow.currentPhase, first)
                // Phases run one after another: none after the first open one may have begun.
                let started = phaseList.filter { $0.phaseID > first && $0.status != .pending }.map(\.phaseID)
                plan.startedAfterReopened = started.filter { !chosen.contains($0) }
                plan.restoredAheadOfOpen = started.filter { chosen.contains($0) }
                plan.firstOpenPhase = first
            }
        } else {
            workflow = checkpoint.workflow
            phaseList = checkpoint.phases
            tasks = checkpoint.tasks
            plan.restoredPhases = checkpoint.phases.map(\.phaseID)
            let kept = Set(tasks.map(\.taskID))
            plan.removedTasks = current.tasks.map(\.taskID).filter { !kept.contains($0) }
            // Identity, accounting and money spent stay as they are now, and so does the
            // workspace: a load-state into another directory moved the workflow there, and a
            // restore sent it (and its files, and its agents) back to the directory it had left.
            workflow.workspace = current.workflow.workspace
            workflow.stateVersion = current.workflow.stateVersion
            workflow.correlationID = current.workflow.correlationID
            workflow.spend = current.workflow.spend
            workflow.archived = false
        }
        // Time run stays as it is now, as money spent does: the checkpoint's earlier figure let a
        // restore escape the wall_time budget and the timeout (and a partial restore dropped the
        // time since the workflow last started running).
        workflow.activeMilliseconds = current.workflow.activeTime(now: now).milliseconds
        workflow.runningSince = nil
        workflow.status = .paused
        workflow.finishedAt = nil
        workflow.finalizedAt = nil
        workflow.failureReason = nil
        workflow.updatedAt = now

        let phaseStatus = Dictionary(phaseList.map { ($0.phaseID, $0.status) }, uniquingKeysWith: { a, _ in a })
        let restoredPhases = Set(plan.restoredPhases)
        // Tasks whose status the plan sets anew, settled once every status is known.
        var queued: Set<String> = []
        for i in tasks.indices where restoredPhases.contains(tasks[i].phaseID) {
            let id = tasks[i].taskID
            // Running at the checkpoint: its lease is not coming back.
            if tasks[i].status == .running || tasks[i].status == .assigned { queued.insert(id) }
            if strategy == .rollback, let now = currentTasks[id] {
                tasks[i].attempts = max(tasks[i].attempts, now.attempts)
                if now.status == .completed && tasks[i].status != .completed {
                    plan.undoneTasks.append(id)
                    queued.insert(id)
                }
            }
        }
        Self.requeue(queued, in: &tasks, phaseStatus: phaseStatus)
        // What the restore did to the queue, read from the states before and after it.
        func waiting(_ status: TaskStatus) -> Bool { status == .ready || status == .pending }
        plan.requeuedTasks = tasks.filter { task in
            restoredPhases.contains(task.phaseID) && waiting(task.status)
                && !(currentTasks[task.taskID].map { waiting($0.status) } ?? false)
        }.map(\.taskID)
        workflow.totalPhases = phaseList.count
        plan.snapshot = WorkflowSnapshot(workflow: workflow, phases: phaseList, tasks: tasks)
        return plan
    }

    /// Puts `queued` back in the queue: `ready` when their dependencies are done and their
    /// phase runs, else `pending`, with no agent, deadline or reservation. Tasks that were
    /// running when a state was saved have no lease once it is brought back.
    public static func requeue(_ queued: Set<String>, in tasks: inout [WorkTask], phaseStatus: [Int: PhaseStatus]) {
        guard !queued.isEmpty else { return }
        let done = Set(tasks.filter { $0.status == .completed || $0.status == .skipped }.map(\.taskID))
        for i in tasks.indices where queued.contains(tasks[i].taskID) {
            let ready = tasks[i].dependsOn.allSatisfy(done.contains) && phaseStatus[tasks[i].phaseID] == .running
            tasks[i].status = ready ? .ready : .pending
            tasks[i].assignedAgent = nil
            tasks[i].runDeadline = nil
            tasks[i].startedAt = nil
            tasks[i].completedAt = nil
            tasks[i].reservedFor = nil
        }
    }
}
