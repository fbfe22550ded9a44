import HubCore
import HubStore

/// Takes a checkpoint inside a write transaction (§11): the complete workflow state as the
/// transaction sees it, canonical JSON and its SHA-256, the files captured beforehand,
/// then retention. The caller publishes `checkpoint_created`.
enum CheckpointCapture {
    /// A checkpoint just stored, what retention removed, and the contents it stored anew.
    struct Taken {
        var checkpoint: Checkpoint
        var expired: [String]
        var newContents = 0
        var bytesStored: Int64 = 0
    }

    /// What `validate_state` found, recorded in the checkpoint.
    struct Validation {
        var valid: Bool
        var violations: [JSONValue]
    }

    static func take(
        tx: any StoreWriter, workflow: Workflow, trigger: CheckpointTrigger, name: String, now: Int64,
        ids: any IDGenerator, keep: Int, files: CapturedFiles? = nil, validation: Validation? = nil
    ) throws -> Taken {
        let phases = try tx.phases(of: workflow.id)
        let tasks = try tx.tasks(of: workflow.id)
        let leases = try tx.activeLeases(workflowID: workflow.id)
        let pool = try tx.pools(of: [workflow.id])[workflow.id].map(Array.init) ?? []
        let snapshot = WorkflowSnapshot(workflow: workflow, phases: phases, tasks: tasks)
        let done = Set(tasks.filter { $0.status == .completed || $0.status == .skipped }.map(\.taskID))
        var extra: JSONValue = [
            "queue": .strings(tasks.filter { $0.status == .ready }.map(\.taskID)),
            "leases": .array(
                leases.map {
                    [
                        "lease_id": .string($0.leaseID), "task_id": .string($0.taskID),
                        "agent_id": .string($0.agentID), "expires_at": .int($0.expiresAt),
                    ]
                }),
            "dependency_status": .object(
                .init(
                    uniqueKeysWithValues: tasks.filter { !$0.dependsOn.isEmpty }.map { t in
                        (t.taskID, JSONValue.strings(t.dependsOn.filter { !done.contains($0) }))
                    })),
            "metrics": WorkflowStateView(snapshot: snapshot, now: now).metrics,
        ]
        if let validation {
            extra["validation"] = ["state_valid": .bool(validation.valid), "violations": .array(validation.violations)]
        }
        let document = CheckpointDocument.make(
            state: snapshot, pool: pool, files: files?.manifest ?? [], fileScope: files?.scope,
            unreadFiles: files?.unread ?? [], extra: extra)
        let bytes = document.serializedBytes(.canonical)
        var newContents = 0
        var bytesStored: Int64 = 0
        // Stamps an earlier checkpoint holds already (an unchanged workspace) have their contents stored.
        let fileSet = files.flatMap { $0.stamps.isEmpty ? nil : FileStamp.setID($0.stamps) }
        if let files, try !(fileSet.map(tx.holdsFileSet(id:)) ?? true) {
            // Stored already, or stored by this capture (two files with the same contents).
            var present = try tx.storedContents(files.manifest.map(\.sha256))
            // Contents read now that the store holds already are compared with what it holds:
            // a stored copy that went bad would make this checkpoint corrupt from the start.
            for (sha, bytes) in files.newContents where present.contains(sha) {
                guard try tx.contents(sha256: sha) != bytes else { continue }
                try tx.replaceContents(sha256: sha, bytes: bytes)
                bytesStored += Int64(bytes.count)
            }
            for entry in files.manifest where !present.contains(entry.sha256) {
                let content = try files.newContents[entry.sha256] ?? WorkspaceFiles.reread(entry, root: files.root)
                try tx.storeContents(sha256: entry.sha256, bytes: content)
                present.insert(entry.sha256)
                newContents += 1
                bytesStored += Int64(content.count)
            }
        }
        let checkpoint = Checkpoint(
            checkpointID: ids.make("chkpt"), workflowID: workflow.id, name: name, trigger: trigger, createdAt: now,
            stateVersion: workflow.stateVersion, eventSequence: try tx.lastEventSequence(),
            checksum: Checksum.sha256(bytes), document: bytes, fileCount: files?.manifest.count ?? 0,
            stateValid: validation?.valid)
        try tx.insert(checkpoint, files: files?.stamps ?? [:], fileSet: fileSet)
        // The checkpoint just stored is the newest, and valid once the contents it took from the
        // store unread are known whole: keeping the newest `keep` then keeps the newest valid one.
        let all = try tx.checkpointIDs(of: workflow.id)
        var expired = CheckpointRetention.expired(
            all.map { ($0, $0 == checkpoint.checkpointID) }, keep: keep)
        if !expired.isEmpty, let files, try !Self.mendReused(files, in: tx) { expired = [] }
        if !expired.isEmpty {
            try tx.removeCheckpoints(expired)
            _ = try tx.removeUnreferencedContents()
        }
        return Taken(checkpoint: checkpoint, expired: expired, newContents: newContents, bytesStored: bytesStored)
    }

    /// The contents a capture reused by stamp, without reading its files, that the store does
    /// not hold whole (each stored copy hashed), one entry per content. Run on a read, before
    /// the capture's write: hashing them there would hold the writer.
    static func checkReused(_ files: CapturedFiles, in tx: any CheckpointReader) throws -> [CheckpointFile] {
        var checked: Set<String> = []
        var notWhole: [CheckpointFile] = []
        for entry in files.manifest where files.newContents[entry.sha256] == nil {
            guard checked.insert(entry.sha256).inserted else { continue }
            if let stored = try tx.contents(sha256: entry.sha256), Checksum.sha256(stored) == entry.sha256 { continue }
            notWhole.append(entry)
        }
        return notWhole
    }

    /// Whether the new checkpoint's reused contents are whole, so that retention may remove
    /// older ones: those ``checkReused(_:in:)`` found not whole are stored again from their
    /// files (unchanged, as their stamps said). `false` when they were not checked, or one
    /// cannot be mended (its file changed since): the new checkpoint may then be corrupt, and
    /// retention must not remove an older valid one.
    static func mendReused(_ files: CapturedFiles, in tx: any CheckpointWriter) throws -> Bool {
        guard files.manifest.contains(where: { files.newContents[$0.sha256] == nil }) else { return true }
        guard let notWhole = files.reusedNotWhole else { return false }
        for entry in notWhole {
            guard let bytes = try? WorkspaceFiles.reread(entry, root: files.root) else { return false }
            try tx.replaceContents(sha256: entry.sha256, bytes: bytes)
        }
        return true
    }

    /// `checkpoint_created`'s data.
    static func eventData(_ c: Checkpoint, expired: [String]) -> JSONValue {
        [
            "checkpoint_id": .string(c.checkpointID), "name": .string(c.name), "trigger": .string(c.trigger.rawValue),
            "state_version": .int(c.stateVersion), "event_sequence": .int(c.eventSequence),
            "checksum": .string(c.checksum), "file_count": .count(c.fileCount), "expired": .strings(expired),
        ]
    }
}

extension Mutation {
    /// Takes a checkpoint of the workflow as it stands in this transaction now and publishes
    /// `checkpoint_created` (before a risky task starts).
    mutating func checkpointNow(_ trigger: CheckpointTrigger, name: String, files: CapturedFiles? = nil) throws {
        let taken = try CheckpointCapture.take(
            tx: tx, workflow: workflow, trigger: trigger, name: name, now: now, ids: ids, keep: checkpointRetention,
            files: files)
        try emit("checkpoint_created", data: CheckpointCapture.eventData(taken.checkpoint, expired: taken.expired))
    }

    /// Asks for a checkpoint of the state this change commits (after a phase completes, an
    /// agent fails, a task times out); ``commit()`` takes it once the new version is stored.
    /// One per reason, but one per phase: a sweep that failed twenty agents (or timed out twenty
    /// tasks) at once took twenty checkpoints of one state, and retention dropped every older
    /// one, manual ones included. The first name asked for is kept.
    mutating func checkpointAtCommit(_ trigger: CheckpointTrigger, name: String) {
        guard
            !pendingCheckpoints.contains(where: {
                $0.name == name || (trigger != .phaseCompleted && $0.trigger == trigger)
            })
        else { return }
        pendingCheckpoints.append((trigger, name))
    }
}

/// The files a risky task declares, captured for its `before_<task_id>` checkpoint.
enum RiskyCapture {
    /// `nil` when the task declares none or they cannot be captured (the checkpoint is then state-only).
    static func files(of task: WorkTask, workspace: String, stateDirectory: String) -> CapturedFiles? {
        guard !task.files.isEmpty else { return nil }
        let workspaceFiles = WorkspaceFiles(workspace: workspace, stateDirectory: stateDirectory)
        let (patterns, outside) = workspaceFiles.declaredPatterns(task.files)
        guard let (found, skipped) = try? workspaceFiles.scan(patterns) else { return nil }
        return try? workspaceFiles.capture(
            found, skipped: outside + skipped, scope: patterns.map(\.text), previous: [:])
    }
}
