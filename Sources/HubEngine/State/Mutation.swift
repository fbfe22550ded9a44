import HubCore
import HubStore

/// One change to one workflow inside a write transaction: the workflow as it
/// stands, the events appended so far, and the rule that every change bumps
/// `state_version` and publishes `workflow_state_updated` (§9).
struct Mutation {
    let tx: any StoreWriter
    var workflow: Workflow
    let now: Int64
    let ids: any IDGenerator
    private(set) var events: [HubEvent] = []
    /// Checkpoints to take when the change commits (see ``checkpointAtCommit(_:name:)``).
    var pendingCheckpoints: [(trigger: CheckpointTrigger, name: String)] = []
    /// How many checkpoints per workflow retention keeps.
    let checkpointRetention: Int
    /// What caused the whole change when another event did (a recovery of `report-error`):
    /// the cause of its first event.
    let rootCause: String?
    /// Events from this one on are caused, unless they name a cause, by the first of them
    /// (``beginChain()``): what the dispatcher's sweep emitted first causes nothing the
    /// operation does after it, and each task a claim hands out starts a chain of its own.
    private(set) var chainStartsAt = 0

    /// The event that causes the operations run in this task (``rootCause``), read where a
    /// change begins, before its transaction (which runs on the store's own queue).
    @TaskLocal static var causeOfChanges: String?

    init(
        tx: any StoreWriter, workflow: Workflow, now: Int64, ids: any IDGenerator,
        checkpointRetention: Int = Configuration().checkpointRetention, rootCause: String? = nil
    ) {
        self.tx = tx
        self.workflow = workflow
        self.now = now
        self.ids = ids
        self.checkpointRetention = checkpointRetention
        self.rootCause = rootCause
    }

    /// Starts a new chain of causes: the next event emitted is not caused by the ones before.
    mutating func beginChain() { chainStartsAt = events.count }

    /// Appends an event of the hub about this workflow. By default it is caused by
    /// the first event of its chain (the change's first, unless ``beginChain()`` started
    /// another), so one operation's events form a chain.
    @discardableResult
    mutating func emit(
        _ type: String, severity: Severity = .info, data: JSONValue = .emptyObject, phase: Int? = nil,
        causedBy cause: String? = nil
    ) throws -> HubEvent {
        let chainStart = events.count > chainStartsAt ? events[chainStartsAt].eventID : nil
        var draft = EventDraft.workflow(
            type, workflow, severity: severity, data: data, causedBy: cause ?? chainStart ?? rootCause)
        if let phase { draft.phase = phase }
        let event = try tx.append(draft, eventID: ids.make("evt"), timestamp: now)
        events.append(event)
        return event
    }

    /// Stores the changed phases and tasks of a progression and announces its effects.
    mutating func apply(_ progression: WorkflowProgression, effects: [ProgressEffect]) throws {
        workflow.currentPhase = progression.workflow.currentPhase
        for phase in progression.phases where progression.changedPhases.contains(phase.phaseID) { try tx.update(phase) }
        for task in progression.tasks where progression.changedTasks.contains(task.taskID) { try tx.update(task) }
        // A task's events carry its own phase (a start or resume from a later phase skips
        // earlier phases' tasks: their events carried the phase being started).
        let hasTaskEffects = effects.contains {
            switch $0 {
            case .taskReady, .taskSkipped: true
            default: false
            }
        }
        let phases =
            hasTaskEffects
            ? Dictionary(progression.tasks.map { ($0.taskID, $0.phaseID) }, uniquingKeysWith: { a, _ in a }) : [:]
        func phase(of id: String) -> Int? { phases[id] }
        for effect in effects {
            switch effect {
            case .taskReady(let id): try emit("task_ready", data: ["task_id": .string(id)], phase: phase(of: id))
            case .taskSkipped(let id, let reason):
                try emit(
                    "task_skipped", data: ["task_id": .string(id), "reason": .string(reason)], phase: phase(of: id))
            case .phaseStarted(let n):
                let name = progression.phases.first { $0.phaseID == n }?.name ?? ""
                try emit("phase_started", data: ["phase": .count(n), "name": .string(name)], phase: n)
            case .phaseCompleted(let n):
                let name = progression.phases.first { $0.phaseID == n }?.name ?? ""
                try emit("phase_completed", data: ["phase": .count(n), "name": .string(name)], phase: n)
                checkpointAtCommit(.phaseCompleted, name: "phase_\(n)_complete")
            case .phaseFailed(let n, let failed):
                try emit(
                    "phase_failed", severity: .error, data: ["phase": .count(n), "failed_tasks": .strings(failed)],
                    phase: n)
            case .workflowCompleted:
                workflow.enter(.completed, now: now)
                try emit(
                    "completed",
                    data: [
                        "completion_status": .string(
                            CompletionStatus.of(progression.tasks, status: .completed).rawValue)
                    ])
                _ = try releaseAllocations(reason: "workflow completed")
            case .workflowFailed(let reason):
                workflow.enter(.failed, now: now)
                workflow.failureReason = reason
                try emit("failed", severity: .error, data: ["reason": .string(reason)])
                _ = try releaseAllocations(reason: "workflow failed")
            }
        }
    }

    /// Stores and announces `effects` of `progression`, then carries the workflow on. Each time
    /// a phase has completed and another waits to start, the change so far is committed as a
    /// version of its own and the phase's checkpoint taken of it, before the next phase starts
    /// (§17): restoring that checkpoint brings back the phase completed and the next one not
    /// yet begun (resuming starts it).
    mutating func progress(_ progression: inout WorkflowProgression, _ effects: [ProgressEffect]) throws {
        try apply(progression, effects: effects)
        progression.markStored()
        try carryOn(&progression, after: effects)
    }

    /// What ``progress(_:_:)`` does once `effects` are stored and announced (a caller that
    /// announces them in steps of its own, as `complete-phase` does, goes on from here): when
    /// they completed a phase, commits and starts the next, and so on.
    mutating func carryOn(_ progression: inout WorkflowProgression, after effects: [ProgressEffect]) throws {
        var effects = effects
        while true {
            let phaseEnded = effects.contains { if case .phaseCompleted = $0 { true } else { false } }
            guard phaseEnded, workflow.status == .running || workflow.status == .paused else { return }
            try commit()
            effects = progression.advance(now: now, stopAtPhaseEnd: true)
            guard !effects.isEmpty else { return }
            try apply(progression, effects: effects)
            progression.markStored()
        }
    }

    /// Bumps the version, stores the workflow and publishes `workflow_state_updated`; then
    /// takes the checkpoints the change asked for, of the state it committed.
    mutating func commit() throws {
        // Refused, not trapped: a version at the edge (a store written before bundles were held
        // to ``WorkflowSnapshot/largestCounter``) took the whole process down with it.
        guard workflow.stateVersion < WorkflowSnapshot.largestCounter else {
            throw HubError(
                .invalidTransition,
                "Workflow \(workflow.id) is at state_version \(workflow.stateVersion), the largest the hub counts to; nothing was changed",
                details: "Its version cannot go higher, so it can take no further change.",
                context: [
                    "current_status": .string(workflow.status.rawValue), "allowed_operations": .strings([]),
                    "state_version": .int(workflow.stateVersion),
                ],
                suggestions: ["Create the workflow again under a new id"])
        }
        workflow.stateVersion += 1
        workflow.updatedAt = now
        try tx.update(workflow)
        // The version and the checkpoints asked for are the whole change's, whoever began it
        // (a sweep's expiry, an operation): caused by its first event.
        chainStartsAt = 0
        try emit(
            "workflow_state_updated",
            data: [
                "state_version": .int(workflow.stateVersion), "status": .string(workflow.status.rawValue),
                "current_phase": .count(workflow.currentPhase),
            ])
        let requested = pendingCheckpoints
        pendingCheckpoints = []
        for (trigger, name) in requested {
            let taken = try CheckpointCapture.take(
                tx: tx, workflow: workflow, trigger: trigger, name: name, now: now, ids: ids,
                keep: checkpointRetention)
            try emit("checkpoint_created", data: CheckpointCapture.eventData(taken.checkpoint, expired: taken.expired))
        }
    }
}

/// How a finished workflow ended, as `hub_to_orchestrate` and `stakeholder_notified` say it (§17).
enum CompletionStatus: String {
    case success, partial, failed

    static func of(_ tasks: [WorkTask], status: WorkflowStatus) -> CompletionStatus {
        guard status == .completed else { return .failed }
        return tasks.allSatisfy { $0.status == .completed } ? .success : .partial
    }
}

/// The workflows as the running operation's own changes committed them. The response
/// reports that `state_version` and status, not those of a change another process
/// made between the commit and the read that follows it (§9).
actor CommittedChange {
    /// The record of the operation running in this task (bound by `Hub.perform`).
    @TaskLocal static var current: CommittedChange?

    private var workflows: [String: Workflow] = [:]

    func record(_ workflow: Workflow) { workflows[workflow.id] = workflow }

    func workflow(_ id: String) -> Workflow? { workflows[id] }
}

extension Hub {
    /// Runs `body` on an existing workflow in one write transaction, after the
    /// checks every mutation shares: the workflow exists, `if_version` matches,
    /// and (unless `allowArchived`) it is not archived. When the body emitted
    /// events, the change is committed with a new `state_version`.
    func mutate<T: Sendable>(
        _ context: OperationContext, allowArchived: Bool = false,
        _ body: @escaping @Sendable (inout Mutation) throws -> T
    ) async throws -> (value: T, workflow: Workflow, events: [HubEvent]) {
        let workflowID = try context.requiredWorkflowID
        let now = clock.nowMilliseconds()
        let ids = self.ids
        let expected = context.expectedVersion
        let operation = context.operation
        let keep = configuration.checkpointRetention
        let rootCause = Mutation.causeOfChanges
        let change: (value: T, workflow: Workflow, events: [HubEvent]) = try await store.write { tx in
            guard let workflow = try tx.workflow(workflowID) else { throw HubError.workflowNotFound(workflowID) }
            try workflow.check(ifVersion: expected)
            if workflow.archived && !allowArchived {
                throw HubError.invalidTransition(
                    operation: operation, workflowID: workflowID, current: workflow.status, archived: true, allowed: [])
            }
            var mutation = Mutation(
                tx: tx, workflow: workflow, now: now, ids: ids, checkpointRetention: keep, rootCause: rootCause)
            let value = try body(&mutation)
            if !mutation.events.isEmpty { try mutation.commit() }
            return (value, mutation.workflow, mutation.events)
        }
        if !change.events.isEmpty { await CommittedChange.current?.record(change.workflow) }
        return change
    }

    /// Fails a running workflow that has outlived its timeout, and times out its tasks
    /// past their own. Run before every operation that names the workflow, so timeouts
    /// hold with no server running. Returns whether the workflow exists, so callers need
    /// not read it again.
    @discardableResult
    func enforceDeadline(_ workflowID: String) async throws -> Bool {
        guard Identifier.isValid(workflowID) else { return false }
        let now = clock.nowMilliseconds()
        let (exists, due, checkpointDue, tasksOverdue) = try await store.read { tx -> (Bool, Bool, Bool, Bool) in
            guard let w = try tx.workflow(workflowID) else { return (false, false, false, false) }
            let overBudget =
                w.status == .running
                && !(w.budget?.exhausted(by: w.spend, time: w.activeTime(now: now)).isEmpty ?? true)
            let checkpointDue = try Self.intervalCheckpointDue(w, tx: tx, now: now)
            // Through the index of running tasks' deadlines: nothing to read when none is past.
            let tasksOverdue = try tx.overdueTasks(now: now).contains { $0.workflowID == workflowID }
            return (true, w.hasTimedOut(now: now) || overBudget, checkpointDue, tasksOverdue)
        }
        // A task past its own timeout is timed out (and retried or failed) by the dispatcher's
        // sweep, the one every claim runs first: left to the next claim, it stayed running
        // through every status read, pause and resume of its workflow.
        if tasksOverdue { try await dispatch { _ in } }
        if checkpointDue && !due { try await takeIntervalCheckpoint(workflowID, now: now) }
        guard due else { return exists }
        let ids = self.ids
        let keep = configuration.checkpointRetention
        try await store.write { tx in
            guard var workflow = try tx.workflow(workflowID) else { return }
            guard workflow.hasTimedOut(now: now) else {
                // Not timed out: its wall-time budget ran out.
                var mutation = Mutation(tx: tx, workflow: workflow, now: now, ids: ids, checkpointRetention: keep)
                try mutation.pauseIfBudgetExhausted()
                if !mutation.events.isEmpty { try mutation.commit() }
                return
            }
            let timeout = workflow.configuration.timeout
            workflow.enter(.failed, now: now)
            workflow.failureReason = "timed out after \(timeout) of running time"
            var mutation = Mutation(tx: tx, workflow: workflow, now: now, ids: ids, checkpointRetention: keep)
            let cause = try mutation.emit(
                "timed_out", severity: .error, data: ["timeout": .string(timeout.description)])
            try mutation.emit(
                "failed", severity: .error, data: ["reason": .string(workflow.failureReason ?? "timed out")],
                causedBy: cause.eventID)
            // As `fail` does: its running tasks' leases and its allocations end with it (§8).
            try mutation.revokeLeases(reason: "workflow timed out")
            _ = try mutation.releaseAllocations(reason: "workflow timed out")
            try mutation.commit()
        }
        return true
    }

    /// Whether a running workflow's `checkpoint_interval` has passed since its newest
    /// checkpoint (or its start, when it has none).
    static func intervalCheckpointDue(_ w: Workflow, tx: any StoreReader, now: Int64) throws -> Bool {
        guard w.status == .running, !w.archived else { return false }
        let latest = try tx.latestCheckpointTime(of: w.id)
        // Nothing changed since the newest checkpoint: another would hold the same state, and
        // copies of an idle workflow pushed its manual and phase checkpoints out of retention.
        if let latest, w.updatedAt < latest { return false }
        let since = latest ?? w.startedAt ?? w.createdAt
        return now - since >= w.configuration.checkpointInterval.milliseconds
    }

    /// Takes the `interval` checkpoint when it is still due. It records the state without
    /// changing it, so `state_version` stays; `checkpoint_created` is appended to the log.
    func takeIntervalCheckpoint(_ workflowID: String, now: Int64) async throws {
        let ids = self.ids
        let keep = configuration.checkpointRetention
        try await store.write { tx in
            guard let w = try tx.workflow(workflowID), try Self.intervalCheckpointDue(w, tx: tx, now: now) else {
                return
            }
            let taken = try CheckpointCapture.take(
                tx: tx, workflow: w, trigger: .interval, name: "interval", now: now, ids: ids, keep: keep)
            _ = try tx.append(
                .workflow(
                    "checkpoint_created", w,
                    data: CheckpointCapture.eventData(taken.checkpoint, expired: taken.expired),
                    causedBy: nil), eventID: ids.make("evt"), timestamp: now)
        }
    }

    /// Reads a workflow with its phases and tasks, or throws `WORKFLOW_NOT_FOUND`.
    func snapshot(_ workflowID: String) async throws -> WorkflowSnapshot {
        try await store.read { tx in
            guard let workflow = try tx.workflow(workflowID) else { throw HubError.workflowNotFound(workflowID) }
            return WorkflowSnapshot(
                workflow: workflow, phases: try tx.phases(of: workflowID), tasks: try tx.tasks(of: workflowID))
        }
    }
}

extension HubError {
    /// `WORKFLOW_NOT_FOUND` with the seed's recovery suggestions.
    static func workflowNotFound(_ id: String) -> HubError {
        HubError(
            .workflowNotFound, "Workflow \(id) does not exist",
            details: "Check workflow ID or create new workflow first",
            suggestions: [
                "List available workflows with 'list-workflows'",
                "Create new workflow with 'coordination-hub \(id) create'",
            ])
    }
}

extension Workflow {
    /// Refuses with `VERSION_CONFLICT` when the caller's `if_version` (`expected`) is given and
    /// is not this workflow's `state_version` (§9); `nil` passes.
    func check(ifVersion expected: Int64?) throws(HubError) {
        guard let expected, expected != stateVersion else { return }
        throw HubError(
            .versionConflict, "Workflow \(id) is at state_version \(stateVersion), not \(expected)",
            details: "Someone changed the workflow since you read it; nothing was changed.",
            context: ["current_version": .int(stateVersion), "expected_version": .int(expected)],
            suggestions: ["Read the workflow again with 'get-status' and retry with if_version \(stateVersion)"])
    }
}
