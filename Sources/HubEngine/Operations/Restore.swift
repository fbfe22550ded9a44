import Foundation
import HubCore
import HubStore

/// `restore`: bring a workflow back to a checkpoint (§11, §17).
enum Restore {
    struct Parameters: OperationParameters {
        var checkpointId: String?
        var name: String?
        var latest: Bool?
        var strategy: String?
        var phases: [PhaseReference]?
        var verifyDependencies: Bool?
        var autoRecovery: Bool?
        static let schema = Schema.object([
            .init(
                "checkpoint_id",
                .string("A chkpt_… id, 'latest', or a checkpoint name. Defaults to 'latest'.", maxLength: 256)),
            // Not an id: the hub names checkpoints before_<task_id> and agent_failure_<agent_id>,
            // longer than an id may be, and those must be named here too.
            .init(
                "name",
                .name(
                    "The newest checkpoint with this name; when it is corrupt (and auto_recovery is on), the newest valid checkpoint before it, of any name.",
                    maxLength: Checkpoint.maximumNameLength)),
            .init("latest", .boolean("The newest checkpoint (the same as checkpoint_id 'latest').")),
            .init(
                "strategy",
                .oneOf(
                    RestoreStrategy.allCases.map(\.rawValue),
                    "full_restore (state and files; default), partial_restore (state only, or the listed phases), rollback (full_restore, and tasks completed since go back to the queue)."
                )
            ),
            .init(
                "phases",
                .array(PhaseReference.schema, "partial_restore only: restore just these phases (numbers or names).")),
            .init(
                "verify_dependencies",
                .boolean("Run the workflow's dependencies' check_command first; a failure refuses the restore.")),
            .init(
                "auto_recovery",
                .boolean(
                    "When the hub chooses (latest, a name), skip corrupt checkpoints for the newest valid one taken no later than the one asked for. Defaults to the auto_recovery setting (true)."
                )),
        ])
    }

    static let descriptor = OperationDescriptor(
        "restore", scope: .workflow, mutating: true, parameters: Parameters.self,
        summary:
            "Restore a workflow (and its captured files) from a checkpoint; rollback re-queues the work done since.",
        discussion: """
            Every load verifies the checkpoint's SHA-256. A checkpoint named by id that is corrupt is refused with \
            CHECKPOINT_CORRUPT naming the newest valid one: an id is never silently replaced. For latest or a name \
            the hub chooses: with auto_recovery it skips corrupt checkpoints, from the newest (latest) or the newest \
            of that name back, for the newest valid one of any name, and says so (fallback_used, used_checkpoint, \
            skipped_corrupt and a next step); it never picks one newer than asked. The workflow is left paused \
            (resume continues); its state_version goes up; the event log keeps everything (state_restored, \
            state_rolled_back). Files are \
            written only inside the workspace, each to a temporary file renamed into place, modes kept, never \
            through a symlink; files the checkpoint's globs match that it did not hold are removed (but files it \
            found and could not read). Once the files are in place, files_restored is published. A restore \
            killed after its state committed is finished by the next operation of any process on the state \
            directory (its journal in <state-dir>/journal), with files_restored marked interrupted. Restores of one \
            workflow's files run one at a time, across processes, from reading the workspace and the checkpoint \
            (after verify_dependencies' checks) until the files are in place. A failing \
            check_command under verify_dependencies is DEPENDENCY_UNAVAILABLE and changes nothing.
            """,
        example:
            "coordination-hub workflow_123 restore '{\"checkpoint_id\": \"chkpt_789\", \"strategy\": \"full_restore\", \"verify_dependencies\": true}'",
        handler: { context, p in try await run(context, p) })

    /// `automatic`: report-error's recovery, which does not bring back a completed or cancelled
    /// workflow (§5: terminal); a restore asked for by name does (§17: any workflow not archived).
    static func run(_ context: OperationContext, _ p: Parameters, automatic: Bool = false) async throws
        -> OperationOutcome
    {
        let id = try context.requiredWorkflowID
        let hub = context.hub
        let strategy = RestoreStrategy(rawValue: p.strategy ?? "full_restore") ?? .fullRestore
        if p.phases != nil && strategy != .partialRestore {
            throw HubError.parameter("phases", "applies to partial_restore only, not \(strategy.rawValue)")
        }
        if p.phases?.isEmpty == true {
            throw HubError.parameter("phases", "lists no phase; leave it out to restore the whole state")
        }
        let given = [p.checkpointId, p.name, p.latest == true ? "latest" : nil].compactMap { $0 }
        guard given.count <= 1 else {
            throw HubError.parameter("checkpoint_id", "name one checkpoint: checkpoint_id, name or latest, not several")
        }
        if p.latest == false && given.isEmpty {
            throw HubError.parameter("latest", "is false, so name the checkpoint: checkpoint_id or name")
        }
        let reference = given.first ?? "latest"
        // A restore that puts files back needs their contents whole: without them the checkpoint counts as corrupt.
        let withFiles = strategy != .partialRestore
        let resolver = CheckpointResolver(
            workflowID: id, autoRecovery: p.autoRecovery ?? hub.configuration.autoRecovery, withContents: withFiles)
        let expected = context.expectedVersion

        // 1. Read and verify: the workflow, the checkpoint, the contents of its files.
        @Sendable func restorable(_ tx: any StoreReader) throws -> Workflow {
            guard let workflow = try tx.workflow(id) else { throw HubError.workflowNotFound(id) }
            if workflow.archived {
                throw HubError.invalidTransition(
                    operation: "restore", workflowID: id, current: workflow.status, archived: true, allowed: [])
            }
            return workflow
        }
        func read() async throws -> (Workflow, CheckpointResolver.Choice, [String: [UInt8]], Int64) {
            try await context.store.read {
                tx -> (Workflow, CheckpointResolver.Choice, [String: [UInt8]], Int64) in
                let workflow = try restorable(tx)
                try workflow.check(ifVersion: expected)
                let choice = try resolver.resolve(reference, in: tx)
                var contents: [String: [UInt8]] = [:]
                if withFiles {
                    for entry in choice.document.files where contents[entry.sha256] == nil {
                        // Contents the resolver hashed in this same read transaction are not hashed again.
                        guard let bytes = try tx.contents(sha256: entry.sha256),
                            choice.wholeContents.contains(entry.sha256) || Checksum.sha256(bytes) == entry.sha256
                        else {
                            throw HubError(
                                .checkpointCorrupt,
                                "Checkpoint \(choice.checkpoint.checkpointID): the stored contents of \(entry.path) are missing or fail their SHA-256",
                                details: "Nothing was changed.",
                                context: [
                                    "checkpoint_id": .string(choice.checkpoint.checkpointID),
                                    "newest_valid_checkpoint": .optional(choice.olderValid.first?.checkpointID),
                                ],
                                suggestions: ["Restore the state alone with strategy partial_restore"])
                        }
                        contents[entry.sha256] = bytes
                    }
                }
                return (workflow, choice, contents, try tx.lastEventSequence())
            }
        }
        // Restores of this workflow's files take turns (RestoreTurn), held until the files are
        // in place and the journal is gone. Everything the file plan rests on (the workspace,
        // the checkpoint chosen, its contents) is read within the turn: read before a wait, a
        // load-state or another restore could change it meanwhile, and the files went to the
        // workspace the workflow had before. A check of the dependencies (a command that may run
        // for minutes) is made before the turn is taken, and everything is read again within it.
        var turn: LockedFile?
        defer { withExtendedLifetime(turn) {} }
        // An unknown or archived workflow is refused before its turn is taken: the turn's lock
        // file was made for every id a restore named, and again after cleanup removed it.
        if withFiles { _ = try await context.store.read { tx in try restorable(tx) } }
        if withFiles && p.verifyDependencies != true {
            turn = try await RestoreTurn.take(workflowID: id, stateDirectory: hub.stateDirectory)
        }
        var (current, choice, contents, lastSequence) = try await read()

        // 2. Dependencies, before anything changes.
        var checked: [String]?
        if p.verifyDependencies == true {
            checked = try await verifyDependencies(
                current, limit: .milliseconds(hub.configuration.checkTimeout.milliseconds))
            if withFiles && choice.document.fileScope != nil {
                turn = try await RestoreTurn.take(workflowID: id, stateDirectory: hub.stateDirectory)
                (current, choice, contents, lastSequence) = try await read()
            }
        }
        // A restore without files leaves the turn to others at once.
        if choice.document.fileScope == nil { turn = nil }
        let saved = choice.document.state
        var phaseNumbers: [Int]?
        if let phases = p.phases {
            var numbers: [Int] = []
            for (n, ref) in phases.enumerated() {
                numbers.append(try ref.resolve(in: saved.phases, field: "phases[\(n)]"))
            }
            phaseNumbers = numbers
        }
        var steps: [JSONValue] = []
        func step(_ action: String, _ parameters: JSONValue) {
            steps.append(["step": .count(steps.count + 1), "action": .string(action), "parameters": parameters])
        }
        step(
            "verify_checkpoint",
            [
                "checkpoint_id": .string(choice.checkpoint.checkpointID),
                "checksum": .string(choice.checkpoint.checksum),
                "fallback_used": .bool(choice.fallbackUsed), "skipped_corrupt": .strings(choice.skippedCorrupt),
            ])

        if let checked { step("validate_dependencies", ["checked": .strings(checked)]) }

        // 3. Files, each written whole beside its target (temporary file, fsync) but not yet in place,
        // and the journal that finishes them if this process dies after the state commits.
        let checkpoint = choice.checkpoint
        var fileReport: JSONValue = .null
        var staged: (restorer: WorkspaceRestore, files: WorkspaceRestore.Staged, journal: RestoreJournal)?
        var held: RestoreJournal.Held?
        if withFiles, let scope = choice.document.fileScope {
            // An older restore of this workflow that could not be finished is replaced by this one.
            InterruptedRestores(hub: hub).supersede(workflowID: id)
            let workspace = WorkspaceFiles(workspace: current.workspace, stateDirectory: hub.stateDirectory)
            let restorer = WorkspaceRestore(files: workspace)
            let plan = try restorer.plan(choice.document.files, scope: scope, unread: choice.document.unreadFiles)
            // The journal first names the temporary files, so that a restore killed while it
            // writes them leaves nothing behind: the next operation removes what it names.
            var journal = RestoreJournal(
                workflowID: id, checkpointID: checkpoint.checkpointID, restoreID: hub.ids.make("rst"),
                afterSequence: lastSequence, workspace: current.workspace, staged: restorer.planned(plan),
                counts: [
                    "written": .count(plan.writes.count), "removed": .count(plan.removals.count),
                    "unchanged": .count(plan.unchanged.count),
                ])
            let journalHeld = try journal.prepare(stateDirectory: hub.stateDirectory)
            let files: WorkspaceRestore.Staged
            do {
                files = try restorer.stage(plan, as: journal.staged, contents: contents)
            } catch {
                _ = journalHeld.remove()  // the staging removed what it wrote
                throw error
            }
            if Self.interruption == .whileStaging { throw Self.interrupted }
            journal.staged = files
            do {
                try journalHeld.seal(journal)
            } catch {
                restorer.discard(files)
                _ = journalHeld.remove()
                throw error
            }
            held = journalHeld
            staged = (restorer, files, journal)
            fileReport = plan.json
        }
        if Self.interruption == .beforeStateCommit { throw Self.interrupted }

        // 4. The state, in one transaction with its events; a refusal here leaves the files as they were.
        let plan: RestorePlan
        let restored: Workflow
        let restoredEvent: String
        do {
            (plan, restored, _, restoredEvent) = try await commitState(
                context, choice: choice, strategy: strategy, phases: phaseNumbers, restorePool: phaseNumbers == nil,
                source: "restore", files: fileReport, restoreID: staged?.journal.restoreID, automatic: automatic)
        } catch {
            if let staged {
                staged.restorer.discard(staged.files)
                _ = held?.remove()
            }
            throw error
        }
        if Self.interruption == .afterStateCommit { throw Self.interrupted }
        Self.beforeInstall?()

        // 5. The files into place: each rename is atomic, so every file is wholly old or wholly new.
        if let staged {
            do {
                try staged.restorer.install(staged.files)
            } catch {
                // What this restore could not put in place it leaves to a rerun, which plans afresh.
                staged.restorer.discard(staged.files)
                _ = held?.remove()
                // The state is committed: say so, rather than pass for a restore that changed nothing.
                await CommittedChange.current?.record(restored)
                throw Self.filesUnfinished(error, restored: restored, checkpointID: checkpoint.checkpointID)
            }
            // 6. Recorded, then the journal goes. Should the event not commit, the journal stays
            // and the next operation publishes it.
            do {
                try await staged.journal.publishFilesRestored(hub: hub, interrupted: false, cause: restoredEvent)
                if Self.interruption != .afterFilesRestored { _ = held?.remove() }
            } catch {
                hub.logger.warning(
                    "files_restored not published; the next operation publishes it",
                    metadata: ["workflow": "\(id)", "error": "\(error)"])
            }
            step("restore_files", staged.journal.counts)
        }
        await CommittedChange.current?.record(restored)
        step(
            "restore_workflow_state",
            [
                "checkpoint": .string(checkpoint.name), "strategy": .string(strategy.rawValue),
                "phases": .array(plan.restoredPhases.map { .count($0) }),
            ])
        if !plan.removedTasks.isEmpty { step("remove_tasks_added_since", ["tasks": .strings(plan.removedTasks)]) }
        if !plan.requeuedTasks.isEmpty { step("requeue_tasks", ["tasks": .strings(plan.requeuedTasks)]) }
        var fallback: [JSONValue] = choice.olderValid.prefix(5).map {
            [
                "action": "restore", "checkpoint_id": .string($0.checkpointID), "name": .string($0.name),
                "created_at": .string(Timestamp.format(milliseconds: $0.createdAt)),
            ]
        }
        fallback.append(["action": "load-state", "description": "Load a bundle written by save-state"])
        var result: JSONValue = [
            "requested": .string(reference), "used_checkpoint": .string(checkpoint.checkpointID),
            "checkpoint_name": .string(checkpoint.name), "fallback_used": .bool(choice.fallbackUsed),
            "skipped_corrupt": .strings(choice.skippedCorrupt), "strategy": .string(strategy.rawValue),
            "checkpoint_state_version": .int(checkpoint.stateVersion),
            "restored_phases": .array(plan.restoredPhases.map { .count($0) }),
            "files": fileReport,
            "restoration_steps": .array(steps), "fallback_options": .array(fallback),
        ]
        if strategy == .rollback { result["undone_tasks"] = .strings(plan.undoneTasks) }
        // Tasks added since the checkpoint go with a whole-state restore: said, not left to be noticed.
        result["removed_tasks"] = .strings(plan.removedTasks)
        result["requeued_tasks"] = .strings(plan.requeuedTasks)
        // The state this restore committed, without reading the whole workflow again.
        result["status"] = .string(restored.status.rawValue)
        result["state_version"] = .int(restored.stateVersion)
        let state = WorkflowSnapshot(workflow: restored, phases: plan.snapshot.phases, tasks: plan.snapshot.tasks)
        var fallbackNote: [String] = []
        if choice.fallbackUsed {
            // The hub chose another checkpoint than the one asked for: the answer says so first.
            fallbackNote.append(
                "Skipped corrupt checkpoint(s) \(choice.skippedCorrupt.joined(separator: ", ")) for '\(reference)': restored \(checkpoint.checkpointID) (\(checkpoint.name)), the newest valid checkpoint before them; check its state with 'coordination-hub \(id) get-status'"
            )
        }
        if strategy == .partialRestore && checkpoint.fileCount > 0 {
            // The checkpoint holds files, and this strategy leaves them: said, not left to be noticed.
            fallbackNote.append(
                "The workspace's files were left as they are (partial_restore restores state only); \(checkpoint.fileCount) file(s) of this checkpoint come back with coordination-hub \(id) restore '{\"checkpoint_id\": \"\(checkpoint.checkpointID)\", \"strategy\": \"full_restore\"}' (or rollback)"
            )
        }
        return OperationOutcome(
            result: result,
            nextSteps: fallbackNote + NextSteps.after(state),
            stateVersion: restored.stateVersion)
    }

    /// Replaces the workflow's state by the plan for `choice` in one transaction, with
    /// `state_restored` (and `state_rolled_back`) and a new `state_version`; answers the pool it
    /// bound (`nil` when it left the pool as it was). `automatic` refuses a terminal workflow
    /// (``run(_:_:automatic:)``).
    static func commitState(
        _ context: OperationContext, choice: CheckpointResolver.Choice, strategy: RestoreStrategy, phases: [Int]?,
        restorePool: Bool, source: String, files: JSONValue, restoreID: String? = nil, automatic: Bool = false
    ) async throws -> (RestorePlan, Workflow, [String]?, String) {
        let id = try context.requiredWorkflowID
        let hub = context.hub
        let expected = context.expectedVersion
        let now = context.now
        let ids = hub.ids
        let keep = hub.configuration.checkpointRetention
        let checkpoint = choice.checkpoint
        let document = choice.document
        let fallbackUsed = choice.fallbackUsed
        let rootCause = Mutation.causeOfChanges
        let change = try await context.store.write { tx -> (RestorePlan, Workflow, [String]?, String) in
            guard let workflow = try tx.workflow(id) else { throw HubError.workflowNotFound(id) }
            try workflow.check(ifVersion: expected)
            if workflow.archived {
                throw HubError.invalidTransition(
                    operation: source, workflowID: id, current: workflow.status, archived: true, allowed: [])
            }
            if automatic && workflow.status.isTerminal { throw Self.terminal(workflow) }
            // The current tasks matter to a rollback (attempts, work undone), to a restore of some
            // phases (the others stay), and to every restore's writes: only what differs is rewritten.
            let live = WorkflowSnapshot(workflow: workflow, phases: try tx.phases(of: id), tasks: try tx.tasks(of: id))
            let plan = RestorePlan.make(
                current: live, checkpoint: document.state, strategy: strategy, phases: phases, now: now)
            if !plan.startedAfterReopened.isEmpty, let phases {
                let wanted = Set(phases).union(plan.startedAfterReopened).sorted()
                throw HubError.parameter(
                    "phases",
                    "reopens phase \(phases.min() ?? 0) while phase(s) \(plan.startedAfterReopened.map(String.init).joined(separator: ", ")) after it have started: their tasks would run before the work they depend on; nothing was changed",
                    suggestions: [
                        "Restore those phases too: {\"strategy\": \"partial_restore\", \"phases\": [\(wanted.map(String.init).joined(separator: ", "))]}",
                        "Or restore everything: {\"strategy\": \"full_restore\"}",
                    ])
            }
            if !plan.restoredAheadOfOpen.isEmpty, let phases, let first = plan.firstOpenPhase {
                let ahead = plan.restoredAheadOfOpen.map(String.init).joined(separator: ", ")
                let wanted = Set(phases).union(first..<(plan.restoredAheadOfOpen.min() ?? first)).sorted()
                throw HubError.parameter(
                    "phases",
                    "brings back phase(s) \(ahead) as started while phase \(first) before them is open: their tasks would run, and the workflow complete, before that phase's work; nothing was changed",
                    suggestions: [
                        "Restore the phases before them too: {\"strategy\": \"partial_restore\", \"phases\": [\(wanted.map(String.init).joined(separator: ", "))]}",
                        "Or restore everything: {\"strategy\": \"full_restore\"}",
                    ])
            }
            var m = Mutation(
                tx: tx, workflow: workflow, now: now, ids: ids, checkpointRetention: keep, rootCause: rootCause)
            // Leases of the tasks being replaced end; their agents' load drops.
            let touched = Set(plan.restoredPhases)
            let phaseOf = Dictionary(live.tasks.map { ($0.taskID, $0.phaseID) }, uniquingKeysWith: { a, _ in a })
            var revoked: [Lease] = []
            for var lease in try tx.activeLeases(workflowID: id)
            where phases == nil || touched.contains(phaseOf[lease.taskID] ?? -1) {
                revoked.append(lease)
                lease.state = .revoked
                lease.endedAt = now
                try tx.update(lease)
                if var agent = try tx.agent(lease.agentID) {
                    agent.currentLoad = max(0, agent.currentLoad - 1)
                    if agent.status == .busy, agent.currentLoad < agent.maxConcurrentTasks { agent.status = .available }
                    try tx.save(agent)
                }
            }
            m.workflow = plan.snapshot.workflow
            if let diff = SnapshotDiff.make(current: live, target: plan.snapshot) {
                try tx.removeTasks(diff.removedTasks, of: id)
                for phase in diff.changedPhases { try tx.update(phase) }
                for task in diff.changedTasks { try tx.update(task) }
            } else {
                try tx.removeContents(of: id)
                try tx.insert(plan.snapshot.phases)
                try tx.insert(plan.snapshot.tasks)
            }
            var pool: [String]?
            if restorePool && !document.pool.isEmpty {
                // Agents deregistered since are left out: a pool of agents that are not there
                // would keep every registered agent from the workflow's tasks.
                let present = try Set(tx.agents().map(\.agentID))
                pool = document.pool.filter(present.contains)
                try tx.setPool(workflowID: id, agents: pool ?? [])
            }
            var data: JSONValue = [
                "source": .string(source), "checkpoint_id": .string(checkpoint.checkpointID),
                "name": .string(checkpoint.name), "strategy": .string(strategy.rawValue),
                "phases": .array(plan.restoredPhases.map { .count($0) }),
                "checkpoint_state_version": .int(checkpoint.stateVersion),
                "fallback_used": .bool(fallbackUsed), "files": files,
                "removed_tasks": .strings(plan.removedTasks),
            ]
            // What ties the journal of the restore's files to this commit (RestoreJournal).
            if let restoreID { data["restore_id"] = .string(restoreID) }
            let restoredEvent = try m.emit("state_restored", data: data)
            if strategy == .rollback {
                try m.emit(
                    "state_rolled_back",
                    data: [
                        "checkpoint_id": .string(checkpoint.checkpointID), "undone_tasks": .strings(plan.undoneTasks),
                        "removed_tasks": .strings(plan.removedTasks), "requeued_tasks": .strings(plan.requeuedTasks),
                        "events_after_checkpoint": .int(max(0, try tx.lastEventSequence() - checkpoint.eventSequence)),
                    ], causedBy: restoredEvent.eventID)
            }
            // Each ended lease is announced, as every other operation that ends one does: its agent's
            // late report gets LEASE_EXPIRED, and a subscriber learns why.
            for lease in revoked {
                try m.emit(
                    "task_lease_revoked",
                    data: [
                        "task_id": .string(lease.taskID), "agent_id": .string(lease.agentID),
                        "reason": .string("state restored"),
                    ], causedBy: restoredEvent.eventID)
            }
            // Tasks the restore put back in the queue that can be claimed now become ready (§10).
            let requeued = Set(plan.requeuedTasks)
            for task in plan.snapshot.tasks where requeued.contains(task.taskID) && task.status == .ready {
                try m.emit(
                    "task_ready", data: ["task_id": .string(task.taskID)], phase: task.phaseID,
                    causedBy: restoredEvent.eventID)
            }
            try m.commit()
            return (plan, m.workflow, pool, restoredEvent.eventID)
        }
        await CommittedChange.current?.record(change.1)
        return change
    }

    /// Where a test makes a restore stop as if its process had been killed there: the journal's
    /// lock goes with the operation, and it and the staged files stay as a dead process leaves them
    /// (after `files_restored`, the restore answers as usual and only the journal stays).
    /// (`whileStaging`: the files are written but the journal still has its temporary name.)
    enum Interruption { case whileStaging, beforeStateCommit, afterStateCommit, afterFilesRestored }

    /// Tests only (`nil` otherwise): see ``Interruption``.
    @TaskLocal static var interruption: Interruption?
    /// Tests only (`nil` otherwise): runs after the state commits, before the files go into place.
    @TaskLocal static var beforeInstall: (@Sendable () -> Void)?

    static let interrupted = HubError(.internal, "restore interrupted (a test's simulated crash)")

    /// An install that failed after the state committed (something put in the way of a file
    /// between the plan and the rename): the error says the state is restored and the files
    /// are not all back, and how to finish.
    static func filesUnfinished(_ cause: HubError, restored: Workflow, checkpointID: String) -> HubError {
        var error = cause
        // Not the cause's code (a file it could not write was STORE_UNAVAILABLE, which says nothing changed).
        error.code = .restoreIncomplete
        error.message =
            "The state of \(restored.id) was restored (state_version \(restored.stateVersion)), but its files were not all put back: "
            + cause.message
        error.details =
            "Files already put back are whole; the others are as they were. Run the same restore again once the cause is fixed: it finishes the files."
        var context = cause.context ?? .emptyObject
        context["cause"] = .string(cause.code.name)
        context["state_restored"] = true
        context["state_version"] = .int(restored.stateVersion)
        context["checkpoint_id"] = .string(checkpointID)
        error.context = context
        return error
    }

    /// The automatic restore's refusal of a completed or cancelled workflow: the hub does not
    /// undo a finish or a cancel by itself; whoever means to can restore it by hand.
    static func terminal(_ workflow: Workflow) -> HubError {
        var error = HubError.invalidTransition(
            operation: "restore (automatically)", workflowID: workflow.id, current: workflow.status, archived: false,
            allowed: WorkflowLifecycle(status: workflow.status).allowedOperations)
        error.details =
            "The workflow is \(workflow.status.rawValue), a terminal status: no more work is done in it, and a recovery does not bring it back; nothing was changed."
        error.recoverySuggestions.append(
            "To bring it back on purpose, restore it by hand: coordination-hub \(workflow.id) restore '{\"checkpoint_id\": \"latest\"}'"
        )
        return error
    }

    /// Runs each dependency's `check_command` in the workspace; any failure is `DEPENDENCY_UNAVAILABLE`.
    static func verifyDependencies(_ workflow: Workflow, limit: Duration) async throws -> [String] {
        let entries = (workflow.dependencies.external + workflow.dependencies.internal).filter {
            $0.checkCommand != nil
        }
        var failed: [JSONValue] = []
        for entry in entries {
            guard let command = entry.checkCommand else { continue }
            let (outcome, timedOut) = await ChildProcess.check(
                command, directory: workflow.workspace, tailBytes: 1000, limit: limit)
            if outcome.status != 0 {
                failed.append(
                    [
                        "name": .string(entry.name), "exit_code": .int(Int64(outcome.status)),
                        "output_tail": .string(outcome.tail), "timed_out": .bool(timedOut),
                    ])
            }
        }
        guard failed.isEmpty else {
            let names = failed.compactMap { $0["name"]?.stringValue }
            throw HubError(
                .dependencyUnavailable,
                "Dependencies unavailable: \(names.joined(separator: ", ")) (their check_command failed); nothing was restored",
                details: "Make them available, or restore without verify_dependencies.",
                context: ["dependencies": .array(failed)],
                suggestions: ["Check \(names.joined(separator: ", ")) and run the restore again"])
        }
        return entries.map(\.name)
    }
}
