/// What moving a workflow along changed, for the caller to store and announce.
public enum ProgressEffect: Sendable, Equatable {
    case taskReady(taskID: String)
    case taskSkipped(taskID: String, reason: String)
    case phaseStarted(phase: Int)
    case phaseCompleted(phase: Int)
    case phaseFailed(phase: Int, failedTasks: [String])
    case workflowCompleted
    case workflowFailed(reason: String)
}

/// The rules that move a running workflow along (§5), as a pure function over its phases and tasks.
///
/// Tasks of the current phase become `ready` when their dependencies are done; a
/// phase with tasks completes when they are all settled within the failure
/// tolerance and fails past it; the next phase then starts, and after the last
/// one the workflow completes. A phase without tasks waits for `complete-phase`. A paused
/// workflow goes no further than the end of its current phase: `resume` carries it on.
public struct WorkflowProgression: Sendable {
    public var workflow: Workflow
    public var phases: [Phase]
    public var tasks: [WorkTask]
    /// Indexes of phases and tasks that changed, so the caller stores only those.
    public private(set) var changedPhases: Set<Int> = []
    public private(set) var changedTasks: Set<String> = []

    public init(workflow: Workflow, phases: [Phase], tasks: [WorkTask]) {
        self.workflow = workflow
        self.phases = phases.sorted { $0.phaseID < $1.phaseID }
        self.tasks = tasks
    }

    private func phaseIndex(_ id: Int) -> Int? { phases.firstIndex { $0.phaseID == id } }

    /// Starts phase `phase`: earlier phases that have not finished and their open tasks are skipped.
    /// Then advances (``advance(now:stopAtPhaseEnd:)``).
    public mutating func startPhase(_ phase: Int, now: Int64, stopAtPhaseEnd: Bool = false) -> [ProgressEffect] {
        startOnly(phase, now: now) + advance(now: now, stopAtPhaseEnd: stopAtPhaseEnd)
    }

    /// ``startPhase(_:now:)`` without advancing.
    private mutating func startOnly(_ phase: Int, now: Int64) -> [ProgressEffect] {
        var effects: [ProgressEffect] = []
        for i in phases.indices where phases[i].phaseID < phase && phases[i].status != .completed {
            phases[i].status = .skipped
            phases[i].completedAt = phases[i].completedAt ?? now
            changedPhases.insert(phases[i].phaseID)
            for t in tasks.indices where tasks[t].phaseID == phases[i].phaseID && !tasks[t].status.isSettled {
                tasks[t].status = .skipped
                changedTasks.insert(tasks[t].taskID)
                effects.append(.taskSkipped(taskID: tasks[t].taskID, reason: "phase skipped"))
            }
        }
        guard let i = phaseIndex(phase) else { return effects }
        phases[i].status = .running
        // Started again (a resume of its failure, a re-run), it keeps when it first started: a
        // report's timeline had the phase begin after tasks of it had finished.
        phases[i].startedAt = phases[i].startedAt ?? now
        phases[i].completedAt = nil
        changedPhases.insert(phase)
        workflow.currentPhase = phase
        effects.append(.phaseStarted(phase: phase))
        return effects
    }

    /// Starts the phase ``nextPhaseAwaiting`` names and advances to its end at most: what
    /// closing a phase by hand does first on a workflow standing between phases (a phase's
    /// checkpoint restored, or a phase closed while paused), paused or not, since the phase it
    /// closes is that one. Nothing when no phase awaits. Without `readying` it does not
    /// advance: a paused workflow's phase starts only to be closed at once, its open tasks
    /// skipped, and announcing them ready first told agents of work nobody could claim.
    public mutating func startAwaitingPhase(now: Int64, readying: Bool = true) -> [ProgressEffect] {
        guard let next = nextPhaseAwaiting else { return [] }
        return startOnly(next, now: now) + (readying ? advance(now: now, stopAtPhaseEnd: true) : [])
    }

    /// Closes the current phase by hand. With `force`, its unsettled tasks become `skipped`.
    /// Returns the open tasks (changing nothing) when tasks remain and `force` is false.
    /// Then advances, or with `stopAtPhaseEnd` leaves the next phase to the caller's
    /// ``advance(now:stopAtPhaseEnd:)``.
    public mutating func completeCurrentPhase(force: Bool, now: Int64, stopAtPhaseEnd: Bool = false) -> (
        effects: [ProgressEffect], remaining: [String]
    ) {
        let current = workflow.currentPhase
        let open = tasks.filter { $0.phaseID == current && !$0.status.isSettled }.map(\.taskID)
        guard open.isEmpty || force else { return ([], open) }
        var effects: [ProgressEffect] = []
        for t in tasks.indices where tasks[t].phaseID == current && !tasks[t].status.isSettled {
            tasks[t].status = .skipped
            changedTasks.insert(tasks[t].taskID)
            effects.append(.taskSkipped(taskID: tasks[t].taskID, reason: "phase closed by complete-phase"))
        }
        effects += finishPhase(current, now: now)
        if !stopAtPhaseEnd { effects += advance(now: now) }
        return (effects, [])
    }

    /// Applies the automatic rules until nothing changes. With `stopAtPhaseEnd` it stops once
    /// a phase has completed and another waits to start, so that the caller can take the
    /// completed phase's checkpoint before the next one starts (§17), then call it again.
    public mutating func advance(now: Int64, stopAtPhaseEnd: Bool = false) -> [ProgressEffect] {
        var effects: [ProgressEffect] = []
        while workflow.status == .running || workflow.status == .paused {
            let current = workflow.currentPhase
            guard let p = phaseIndex(current) else { break }
            if phases[p].status == .completed || phases[p].status == .skipped {
                // Paused, it goes no further than closing its phase, whatever closed it (a task's
                // outcome, complete-phase, add-tasks): no next phase starts and the workflow does not
                // complete before it is resumed (§5: a pause hands out nothing new, and paused →
                // completed is `complete`'s alone; resume carries it on from here).
                guard workflow.status == .running else { break }
                // A closed current phase hands over to the next waiting one (the step after a
                // phase's checkpoint, or a workflow restored to that checkpoint).
                guard let next = phases.first(where: { $0.phaseID > current && $0.status == .pending }) else {
                    // Every phase closed (the last phase's checkpoint restored): the workflow is done.
                    if phases.allSatisfy({ $0.status == .completed || $0.status == .skipped }) {
                        workflow.status = .completed
                        effects.append(.workflowCompleted)
                    }
                    break
                }
                effects += startOnly(next.phaseID, now: now)
                continue
            }
            if phases[p].status == .pending {
                // The current phase not begun (a partial restore put it back): it starts.
                effects += startOnly(current, now: now)
                continue
            }
            guard phases[p].status == .running else { break }
            effects += settleBlockedTasks(phase: current)
            effects += markReady(phase: current)
            let phaseTasks = tasks.filter { $0.phaseID == current }
            guard !phaseTasks.isEmpty else { break }
            let failed = phaseTasks.filter { $0.status == .failed || $0.status == .cancelled }.map(\.taskID)
            let allowed = workflow.configuration.failureTolerance.allowedFailures(taskCount: phaseTasks.count)
            if failed.count > allowed {
                phases[p].status = .failed
                phases[p].completedAt = now
                changedPhases.insert(current)
                effects.append(.phaseFailed(phase: current, failedTasks: failed))
                workflow.status = .failed
                workflow.failureReason =
                    "phase \(current) exceeded its failure tolerance (\(workflow.configuration.failureTolerance.rawValue)): "
                    + "failed tasks \(failed.joined(separator: ", "))"
                effects.append(.workflowFailed(reason: workflow.failureReason ?? "failure tolerance exceeded"))
                break
            }
            guard phaseTasks.allSatisfy({ $0.status.isSettled }) else { break }
            effects += finishPhase(current, now: now)
            if stopAtPhaseEnd { break }
        }
        return effects
    }

    /// The phase that starts next when the current one is closed and the workflow stands
    /// between them (a phase's checkpoint restored: §17 takes it before the next starts);
    /// `nil` otherwise.
    public var nextPhaseAwaiting: Int? {
        guard let p = phaseIndex(workflow.currentPhase), phases[p].status == .completed || phases[p].status == .skipped
        else { return nil }
        return phases.first(where: { $0.phaseID > workflow.currentPhase && $0.status == .pending })?.phaseID
    }

    /// Forgets which phases and tasks changed, once the caller has stored them.
    public mutating func markStored() {
        changedPhases = []
        changedTasks = []
    }

    private mutating func finishPhase(_ current: Int, now: Int64) -> [ProgressEffect] {
        guard let p = phaseIndex(current) else { return [] }
        var effects: [ProgressEffect] = []
        phases[p].status = .completed
        phases[p].completedAt = now
        changedPhases.insert(current)
        effects.append(.phaseCompleted(phase: current))
        // The next phase, if any, is started by the loop of advance(now:stopAtPhaseEnd:); a paused
        // workflow completes when it is resumed.
        if workflow.status == .running, !phases.contains(where: { $0.phaseID > current && $0.status == .pending }) {
            workflow.status = .completed
            effects.append(.workflowCompleted)
        }
        return effects
    }

    /// Tasks whose dependency failed for good can never run: they are skipped, and so
    /// are their own dependents (a skip for this reason does not satisfy dependents).
    private mutating func settleBlockedTasks(phase: Int) -> [ProgressEffect] {
        var dead: Set<String> = []
        for t in tasks where t.isDead { dead.insert(t.taskID) }
        guard !dead.isEmpty else { return [] }
        var effects: [ProgressEffect] = []
        var reasons = SkipReasons()
        // Built at the first skip: most calls skip nothing.
        var found: [String: Int]?
        var changed = true
        while changed {
            changed = false
            for t in tasks.indices
            where tasks[t].status == .pending && (tasks[t].phaseID == phase || tasks[t].phaseID > phase) {
                guard let blocker = tasks[t].dependsOn.first(where: { dead.contains($0) }) else { continue }
                tasks[t].status = .skipped
                tasks[t].lastError = ["blocked_by": .string(blocker)]
                changedTasks.insert(tasks[t].taskID)
                dead.insert(tasks[t].taskID)
                let index =
                    found ?? Dictionary(tasks.indices.map { (tasks[$0].taskID, $0) }, uniquingKeysWith: { a, _ in a })
                found = index
                var reason = "dependency \(blocker) failed"
                if let blocking = index[blocker] {
                    reason = reasons.reason(blockedBy: tasks[blocking]) { id in index[id].map { tasks[$0] } }
                }
                effects.append(.taskSkipped(taskID: tasks[t].taskID, reason: reason))
                changed = true
            }
        }
        return effects
    }

    private mutating func markReady(phase: Int) -> [ProgressEffect] {
        var done: Set<String> = []
        for t in tasks where t.status.satisfiesDependents && !t.isDead { done.insert(t.taskID) }
        var effects: [ProgressEffect] = []
        for t in tasks.indices where tasks[t].phaseID == phase && tasks[t].status == .pending {
            if tasks[t].dependsOn.allSatisfy({ done.contains($0) }) {
                tasks[t].status = .ready
                changedTasks.insert(tasks[t].taskID)
                effects.append(.taskReady(taskID: tasks[t].taskID))
            }
        }
        return effects
    }

    /// Share of tasks completed or skipped, a phase without tasks counting as one unit (§5), in percent.
    /// In a `cancelled` workflow a task-less phase counts only once completed: the cancel skipped
    /// every open phase, and its open tasks became `cancelled`, which does not count either (a
    /// workflow cancelled before any work showed 100 %).
    public static func progressPercentage(phases: [Phase], tasks: [WorkTask], cancelled: Bool = false) -> Double {
        var units = 0
        var done = 0
        var counts: [Int: (Int, Int)] = [:]
        for t in tasks {
            var c = counts[t.phaseID] ?? (0, 0)
            c.0 += 1
            if t.status.satisfiesDependents { c.1 += 1 }
            counts[t.phaseID] = c
        }
        for p in phases {
            if let (total, finished) = counts[p.phaseID] {
                units += total
                done += finished
            } else {
                units += 1
                if p.status == .completed || p.status == .skipped && !cancelled { done += 1 }
            }
        }
        guard units > 0 else { return 0 }
        return (Double(done) * 1000 / Double(units)).rounded() / 10
    }
}

/// The tasks a retry brings back: those skipped because `taskID` failed, and transitively
/// those skipped because one of them was (each marked `blocked_by` when it was skipped),
/// back to `pending` so they run once their dependencies complete. Pure.
public enum SkippedDependents {
    public static func revived(after taskID: String, in tasks: [WorkTask]) -> [WorkTask] {
        revived(after: [taskID], in: tasks)
    }

    /// Those brought back by a retry of every task in `taskIDs`.
    public static func revived(after taskIDs: Set<String>, in tasks: [WorkTask]) -> [WorkTask] {
        var blockers = taskIDs
        var revived: [WorkTask] = []
        var remaining = tasks.filter { $0.status == .skipped && $0.lastError?["blocked_by"]?.stringValue != nil }
        var changed = true
        while changed {
            changed = false
            for i in remaining.indices.reversed() {
                guard let blocker = remaining[i].lastError?["blocked_by"]?.stringValue, blockers.contains(blocker)
                else { continue }
                var task = remaining.remove(at: i)
                task.status = .pending
                task.lastError = nil
                blockers.insert(task.taskID)
                revived.append(task)
                changed = true
            }
        }
        let order = Dictionary(tasks.enumerated().map { ($1.taskID, $0) }, uniquingKeysWith: { a, _ in a })
        return revived.sorted { (order[$0.taskID] ?? 0) < (order[$1.taskID] ?? 0) }
    }
}
