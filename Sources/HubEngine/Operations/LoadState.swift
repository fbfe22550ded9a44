import HubCore
import HubStore

/// `load-state`: bring a workflow back from a bundle (§6).
enum LoadState {
    struct Parameters: OperationParameters {
        var bundle: String?
        var checkpointId: String?
        var verifyIntegrity: Bool?
        var restoreAgents: Bool?
        var workspace: String?
        var autoRecovery: Bool?
        static let schema = Schema.object([
            .init(
                "bundle",
                .name("A bundle written by save-state; same confinement as backup_location.", maxLength: 4096)),
            .init("checkpoint_id", .string("A checkpoint of this workflow to load.", maxLength: 256)),
            .init("verify_integrity", .boolean("Check every checksum first. Defaults to true.")),
            .init("restore_agents", .boolean("Re-bind the agent pool recorded in the source.")),
            .init(
                "workspace",
                .string(
                    "With bundle: the directory the loaded workflow works in (its checkpoints capture and restore files there). Defaults to the hub's current directory, as for create (the server's through --hub): a bundle is portable, so the directory it was saved from is not used.",
                    maxLength: 4096)),
            .init(
                "auto_recovery",
                .boolean(
                    "With checkpoint_id latest or a name: skip corrupt checkpoints for the newest valid one taken no later, as restore does. Defaults to false: load-state loads the source named."
                )),
        ])
    }

    static let descriptor = OperationDescriptor(
        "load-state", scope: .workflow, mutating: true, parameters: Parameters.self,
        summary: "Load a workflow's state from a bundle or one of its checkpoints (verifying checksums).",
        discussion: """
            The bundle's workflow replaces the stored one (or is created); a running workflow comes back paused. \
            It works in the directory load-state runs in (or workspace), not the one it was saved from. \
            The event log is append-only: a state_restored event records the load. A corrupt or truncated bundle \
            is refused with CHECKPOINT_CORRUPT and nothing changes. Checkpoints the bundle carries (save-state with \
            include_checkpoints) are stored with their files' contents, each checked against its checksum; one \
            already stored is kept when identical, and one that differs under the same id refuses the whole load \
            (INVALID_PARAMETERS). With checkpoint_id, the checkpoint's state \
            replaces the workflow's (files are left alone: restore puts them back); a corrupt checkpoint is refused \
            with CHECKPOINT_CORRUPT naming the newest valid one; for latest or a name, auto_recovery lets the hub \
            take the newest valid one before it instead, and says so (fallback_used, used_checkpoint, skipped_corrupt). \
            A running workflow loaded from a bundle keeps the running time it had when the bundle was saved: \
            the time the file sat on disk does not count against its timeout or budget.
            """,
        example:
            "coordination-hub workflow_123 load-state '{\"bundle\": \"backups/workflow_123.hubbundle.gz\", \"verify_integrity\": true}'",
        handler: run)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        let id = try context.requiredWorkflowID
        let hub = context.hub
        if let checkpoint = p.checkpointId {
            guard p.bundle == nil else {
                throw HubError.parameter("bundle", "cannot be given together with checkpoint_id; name one source")
            }
            guard p.workspace == nil else {
                throw HubError.parameter(
                    "workspace", "applies to a bundle only; a checkpoint of this workflow keeps its workspace")
            }
            return try await loadCheckpoint(
                context, checkpoint, restoreAgents: p.restoreAgents ?? false, autoRecovery: p.autoRecovery ?? false)
        }
        guard p.autoRecovery == nil else {
            throw HubError.parameter(
                "auto_recovery", "applies to checkpoint_id only: a bundle is one source, with nothing to fall back to")
        }
        guard let bundle = p.bundle else {
            throw HubError.parameter("bundle", "is required (or checkpoint_id)")
        }
        let path = try Paths.confine(
            bundle, field: "bundle", stateDirectory: hub.stateDirectory,
            allowedRoots: hub.configuration.allowedBackupRoots)
        let verify = p.verifyIntegrity ?? true
        let workspace = try Paths.workspace(p.workspace, hub: hub)
        let read = Result { () throws(HubError) in
            let (document, loaded) = try StateBundle.read(path: path, verify: verify)
            guard loaded.workflow.id == id else {
                throw HubError.parameter(
                    "bundle", "holds workflow \(loaded.workflow.id), not \(id); load it under its own id")
            }
            let checkpoints = try StateBundle.checkpoints(in: document, workflowID: id, verify: verify, path: path)
            try refuseInconsistent(loaded, workspace: workspace, path: path)
            return (document, loaded, checkpoints)
        }
        if case .failure(let error) = read, error.code == .checkpointCorrupt {
            throw try await namingNewestValidCheckpoint(error, context: context, workflowID: id)
        }
        let (document, loaded, bundled) = try read.get()
        let now = context.now
        let ids = hub.ids
        let expected = context.expectedVersion
        // When the bundle was saved: the end of the running time it carries.
        let savedAt = document["created_at"]?.stringValue.flatMap(Timestamp.parseMilliseconds)
        // The pool the bundle recorded (bundles written before it was recorded have none).
        let pool =
            (p.restoreAgents ?? false)
            ? (document["sections"]?["pool"]?.arrayValue ?? []).compactMap(\.stringValue) : []
        let (restored, rebound, imported) = try await context.store.write {
            tx -> (Workflow, [String], StateBundle.CheckpointImport) in
            let existing = try tx.workflow(id)
            // No workflow, so no version can match: the caller expected one that is not here.
            if existing == nil, let expected { throw versionConflictWithoutWorkflow(id, expected: expected) }
            try existing?.check(ifVersion: expected)
            if let existing, existing.archived {
                throw HubError.invalidTransition(
                    operation: "load-state", workflowID: id, current: existing.status, archived: true, allowed: [])
            }
            var workflow = loaded.workflow
            // Here, not where the bundle was saved: restoring a checkpoint wrote into that project.
            workflow.workspace = workspace
            // A running workflow comes back paused with the running time it had when the bundle was
            // saved: the time the file sat on disk is time outside the hub, and does not count
            // against its timeout or budget (its running_since carried into the pause counted it).
            if workflow.status == .running, let since = workflow.runningSince {
                let end = min(now, max(since, savedAt ?? workflow.updatedAt))
                workflow.activeMilliseconds = workflow.activeMilliseconds.saturatingAdd(end - since)
            }
            workflow.runningSince = nil
            if workflow.status == .running { workflow.enter(.paused, now: now) }
            workflow.stateVersion = max(existing?.stateVersion ?? 0, loaded.workflow.stateVersion)
            if existing != nil {
                try tx.removeContents(of: id)
                try tx.update(workflow)
            } else {
                try tx.insert(workflow)
            }
            // Tasks running when the bundle was saved hold no lease here: they go back to the queue.
            var tasks = loaded.tasks
            RestorePlan.requeue(
                Set(tasks.filter { $0.status == .running || $0.status == .assigned }.map(\.taskID)), in: &tasks,
                phaseStatus: Dictionary(loaded.phases.map { ($0.phaseID, $0.status) }, uniquingKeysWith: { a, _ in a }))
            try tx.insert(loaded.phases)
            try tx.insert(tasks)
            // In the same transaction: a checkpoint refused refuses the whole load.
            let imported = try StateBundle.store(bundled, in: tx, path: path)
            var mutation = Mutation(tx: tx, workflow: workflow, now: now, ids: ids)
            try mutation.emit(
                "state_restored",
                data: [
                    "source": "bundle", "path": .string(path),
                    "bundle_state_version": .int(loaded.workflow.stateVersion),
                    "verified": .bool(verify), "checkpoints_loaded": .strings(imported.loaded),
                    "workspace": .string(workspace), "bundle_workspace": .string(loaded.workflow.workspace),
                ])
            // Leases on the tasks replaced end; their agents' load drops.
            try mutation.revokeLeases(reason: "workflow loaded from a bundle")
            // restore_agents (§17): the recorded pool, less agents not registered here.
            var rebound: [String] = []
            if !pool.isEmpty {
                let present = try Set(tx.agents().map(\.agentID))
                rebound = pool.filter(present.contains)
                try tx.setPool(workflowID: id, agents: rebound)
            }
            try mutation.commit()
            return (mutation.workflow, rebound, imported)
        }
        await CommittedChange.current?.record(restored)
        let (version, status) = (restored.stateVersion, restored.status)
        return try await .after(
            hub, id,
            result: [
                "source": ["bundle": .string(path), "created_at": document["created_at"] ?? .null],
                "verified": .bool(verify),
                "bundle_state_version": .int(loaded.workflow.stateVersion),
                "loaded_status": .string(status.rawValue),
                "tasks": .count(loaded.tasks.count),
                "events_in_bundle": .count(document["sections"]?["events"]?.arrayValue?.count ?? 0),
                "agents_restored": .count(rebound.count),
                // The recorded pool's agents not registered here: left out, and said so.
                "agents_not_registered": .strings(pool.filter { !rebound.contains($0) }),
                "checkpoints": imported.json(skipped: bundled.skipped),
                "new_state_version": .int(version),
                "workspace": .string(workspace), "bundle_workspace": .string(loaded.workflow.workspace),
            ])
    }

    /// `VERSION_CONFLICT` for an `if_version` given to a load that would create the workflow:
    /// the caller expected a workflow at that version, and there is none (the load created it).
    static func versionConflictWithoutWorkflow(_ id: String, expected: Int64) -> HubError {
        HubError(
            .versionConflict, "Workflow \(id) does not exist, so it is at no state_version, not \(expected)",
            details: "The workflow you read is not here (removed, or another state directory); nothing was changed.",
            context: ["current_version": .null, "expected_version": .int(expected)],
            suggestions: ["Load the bundle without if_version to create the workflow from it"])
    }

    /// A bundle whose checksums hold but whose workflow could never have been: task files
    /// outside the workspace it is loaded into, a finished workflow with a phase still running,
    /// phases out of order. `create` and the lifecycle refuse these; a bundle is no way around them.
    static func refuseInconsistent(_ loaded: WorkflowSnapshot, workspace: String, path: String) throws(HubError) {
        let problem: String?
        do {
            // Capacities are each hub's configuration, not the saved workflow's: not checked here.
            try TaskGraph.validateFields(loaded.tasks, workspace: workspace, capacities: nil)
            let facts = StateInvariants.Facts(
                snapshot: loaded, leases: [], agents: [:], agentLeaseCounts: [:], counters: [:])
            // What verify-state could not repair (a task running without its lease comes back queued).
            problem = StateInvariants.check(facts).first { $0.repair == nil }?.message
        } catch {
            problem = error.message
        }
        guard let problem else { return }
        throw HubError(
            .checkpointCorrupt, "Bundle \(path) holds a workflow that cannot be loaded: \(problem)",
            details: "Its checksums hold, but its state is not one the hub could have saved; nothing was changed.",
            context: ["field": "bundle"],
            suggestions: ["Load another bundle, or restore one of the workflow's checkpoints"])
    }

    /// A corrupt bundle's refusal, naming the workflow's newest valid checkpoint in the store
    /// (§17) as the way back, or `null` when it has none.
    static func namingNewestValidCheckpoint(_ error: HubError, context: OperationContext, workflowID: String)
        async throws -> HubError
    {
        let newest = try await context.store.read { tx -> Checkpoint? in
            var validity = CheckpointValidity()
            for id in try tx.checkpointIDs(of: workflowID) {
                if let c = try tx.checkpoint(id: id), try validity.check(c, in: tx, parse: true).isValid { return c }
            }
            return nil
        }
        var error = error
        error.context?["newest_valid_checkpoint"] = .optional(newest?.checkpointID)
        if let newest {
            error.message += "; the newest valid checkpoint of \(workflowID) is \(newest.checkpointID) (\(newest.name))"
            error.recoverySuggestions.insert(
                "Restore that one: coordination-hub \(workflowID) restore '{\"checkpoint_id\": \"\(newest.checkpointID)\"}'",
                at: 0)
        }
        return error
    }

    /// `load-state` with `checkpoint_id`: the checkpoint's state (verified) replaces the workflow's.
    /// With `autoRecovery`, `latest` or a name skips corrupt checkpoints as `restore` does
    /// (an id is never replaced): the suggestion a corrupt one's refusal makes.
    static func loadCheckpoint(
        _ context: OperationContext, _ reference: String, restoreAgents: Bool, autoRecovery: Bool
    ) async throws -> OperationOutcome {
        let id = try context.requiredWorkflowID
        let resolver = CheckpointResolver(workflowID: id, autoRecovery: autoRecovery)
        let choice = try await context.store.read { tx in
            guard try tx.workflow(id) != nil else { throw HubError.workflowNotFound(id) }
            return try resolver.resolve(reference, in: tx)
        }
        let (plan, restored, pool, _) = try await Restore.commitState(
            context, choice: choice, strategy: .partialRestore, phases: nil, restorePool: restoreAgents,
            source: "load-state", files: .null)
        return try await .after(
            context.hub, id,
            result: [
                "source": ["checkpoint_id": .string(choice.checkpoint.checkpointID)],
                "verified": true, "requested": .string(reference),
                "used_checkpoint": .string(choice.checkpoint.checkpointID),
                "fallback_used": .bool(choice.fallbackUsed), "skipped_corrupt": .strings(choice.skippedCorrupt),
                "checkpoint_state_version": .int(choice.checkpoint.stateVersion),
                "loaded_status": .string(restored.status.rawValue),
                "tasks": .count(plan.snapshot.tasks.count),
                "agents_restored": .count(pool?.count ?? 0),
                "new_state_version": .int(restored.stateVersion),
            ])
    }
}
