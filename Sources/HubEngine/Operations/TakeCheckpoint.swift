import HubCore
import HubStore

/// `checkpoint`: capture the workflow's complete state, and optionally workspace files, by hand (§11).
enum TakeCheckpoint {
    struct Parameters: OperationParameters {
        var name: String?
        var includeFiles: IncludeFiles?
        var validateState: Bool?
        static let schema = Schema.object([
            .init(
                "name",
                .id(
                    "A name for it (letters, digits, _ and -; no path separators). Defaults to manual_<state_version>."
                )),
            .init(
                "include_files",
                .anyOf(
                    [
                        .boolean("true: the files the workflow's tasks declare."),
                        .array(
                            .string(maxLength: 4096),
                            "Globs under the workspace (*, ?, **, [set]); a plain path naming a directory stands for the files under it.",
                            maxItems: 256),
                    ], "Workspace files to capture with the state.")),
            .init(
                "validate_state",
                .boolean("Run verify-state's checks first; the checkpoint records state_valid and the violations.")),
        ])
    }

    /// `include_files`: `true`/`false`, or a list of globs.
    enum IncludeFiles: Decodable, Sendable {
        case declared(Bool)
        case globs([String])

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let flag = try? container.decode(Bool.self) {
                self = .declared(flag)
            } else {
                self = .globs(try container.decode([String].self))
            }
        }
    }

    static let descriptor = OperationDescriptor(
        "checkpoint", scope: .workflow, mutating: true, parameters: Parameters.self,
        summary: "Capture the workflow's complete state (and workspace files) as a checkpoint.",
        discussion: """
            The snapshot (phases, tasks, queue, leases, agent pool, dependency status, metrics and the file manifest) \
            is stored as canonical JSON with its SHA-256. File contents are stored once per distinct SHA-256; an \
            unchanged file is not stored again. Globs are relative to the workspace: absolute paths and .. are \
            PATH_NOT_ALLOWED; symbolic links are skipped, never followed; the state directory is never captured; \
            more than 5000 files or 512 MiB is INVALID_PARAMETERS. The newest checkpoint_retention (20) per workflow \
            are kept. Files are read between two restores of the workflow's files, never while one puts them in place \
            (it waits for the restore). Taking one does not change the workflow, so state_version stays; \
            checkpoint_created is published.
            """,
        example:
            "coordination-hub workflow_123 checkpoint '{\"name\": \"before_critical_phase\", \"include_files\": true, \"validate_state\": true}'",
        handler: run)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        let id = try context.requiredWorkflowID
        let hub = context.hub
        // `restore`, `load-state` and the export name checkpoints by id, by `latest` or by name:
        // a checkpoint called `latest` or `chkpt_…` could never be named by its own name.
        if let name = p.name, name == "latest" || name.hasPrefix("chkpt_") {
            throw HubError.parameter(
                "name", "must not be 'latest' (it names the newest checkpoint) nor start with 'chkpt_' (ids do)",
                suggestions: ["Choose another name, e.g. before_\(name)"])
        }
        // A capture of files takes the workflow's restore turn (RestoreTurn), waited for holding
        // nothing, and keeps it until the checkpoint is stored (its write may read a file again):
        // it sees the files before a restore or after it, never a mix of two checkpoints' files
        // while one is put in place. Everything it reads, the workspace too, is read within it.
        var turn: LockedFile?
        defer { withExtendedLifetime(turn) {} }
        if p.includeFiles?.capturesAnything == true {
            // An unknown or archived workflow is refused first: the turn's lock file was made for
            // every id named (and again after cleanup removed it).
            let known = try await context.store.read { tx in try tx.workflow(id) }
            guard let known else { throw HubError.workflowNotFound(id) }
            if known.archived {
                throw HubError.invalidTransition(
                    operation: "checkpoint", workflowID: id, current: known.status, archived: true, allowed: [])
            }
            turn = try await RestoreTurn.take(workflowID: id, stateDirectory: hub.stateDirectory)
        }
        // Read what the capture needs: the workflow, its declared files, the previous capture's stamps.
        let (workflow, declared, previous, facts) = try await context.store.read {
            tx -> (Workflow, [String], [PathKey: FileStamp], StateInvariants.Facts?) in
            guard let workflow = try tx.workflow(id) else { throw HubError.workflowNotFound(id) }
            let declared = p.includeFiles.map { if case .declared(true) = $0 { return true } else { return false } }
            let files = declared == true ? try tx.tasks(of: id).flatMap(\.files) : []
            var previous: [PathKey: FileStamp] = [:]
            if p.includeFiles != nil {
                for checkpointID in try tx.checkpointIDs(of: id).prefix(hub.configuration.checkpointRetention) {
                    previous = try tx.fileStamps(checkpointID: checkpointID)
                    if !previous.isEmpty { break }
                }
            }
            let facts = p.validateState == true ? try StateFacts.read(tx, workflow: workflow) : nil
            return (workflow, files, previous, facts)
        }
        if workflow.archived {
            throw HubError.invalidTransition(
                operation: "checkpoint", workflowID: id, current: workflow.status, archived: true, allowed: [])
        }
        var captured: CapturedFiles?
        if let include = p.includeFiles {
            let workspace = WorkspaceFiles(workspace: workflow.workspace, stateDirectory: hub.stateDirectory)
            var patterns: [GlobPattern] = []
            var outside: [WorkspaceFiles.Skip] = []
            switch include {
            case .declared(false): break
            case .declared(true): (patterns, outside) = workspace.declaredPatterns(declared)
            case .globs(let globs): patterns = try workspace.patterns(globs, field: "include_files")
            }
            if include.capturesAnything {
                let (found, skipped) = try workspace.scan(patterns)
                captured = try workspace.capture(
                    found, skipped: outside + skipped, scope: patterns.map(\.text), previous: previous)
            }
        }
        let validation = facts.map { facts in
            let violations = StateInvariants.check(facts)
            return CheckpointCapture.Validation(valid: violations.isEmpty, violations: violations.map(\.json))
        }
        let now = context.now
        let ids = hub.ids
        let keep = hub.configuration.checkpointRetention
        let expected = context.expectedVersion
        // When retention will remove checkpoints, the contents this capture reused unread are
        // checked first, on a read: the new checkpoint must be whole before older ones go.
        if let reused = captured, reused.reused > 0 {
            captured?.reusedNotWhole = try await context.store.read { tx -> [CheckpointFile]? in
                try tx.checkpointIDs(of: id).count >= keep ? try CheckpointCapture.checkReused(reused, in: tx) : nil
            }
        }
        let files = captured
        let taken = try await context.store.write { tx in
            guard let current = try tx.workflow(id) else { throw HubError.workflowNotFound(id) }
            try current.check(ifVersion: expected)
            let name = p.name ?? "manual_\(current.stateVersion)"
            let taken = try CheckpointCapture.take(
                tx: tx, workflow: current, trigger: .manual, name: name, now: now, ids: ids, keep: keep, files: files,
                validation: validation)
            _ = try tx.append(
                .workflow(
                    "checkpoint_created", current,
                    data: CheckpointCapture.eventData(taken.checkpoint, expired: taken.expired)),
                eventID: ids.make("evt"), timestamp: now)
            return taken
        }
        let checkpoint = taken.checkpoint
        var result = checkpoint.summary(valid: true)
        result["expired"] = .strings(taken.expired)
        if let files {
            result["files"] = [
                "captured": .count(files.manifest.count),
                "hash_reused": .count(files.reused),
                "bytes_read": .int(files.bytesRead),
                "new_contents": .count(taken.newContents),
                "bytes_stored": .int(taken.bytesStored),
                "skipped": .array(files.skipped),
            ]
        }
        if let validation {
            result["validation"] = [
                "state_valid": .bool(validation.valid), "violations": .array(validation.violations),
            ]
        }
        var steps = [
            "Restore it with 'coordination-hub \(id) restore' and {\"checkpoint_id\": \"\(checkpoint.checkpointID)\"}"
        ]
        if validation?.valid == false {
            steps.insert("Repair the state with 'coordination-hub \(id) verify-state' and {\"repair\": true}", at: 0)
        }
        return OperationOutcome(result: result, nextSteps: steps, stateVersion: checkpoint.stateVersion)
    }
}

extension TakeCheckpoint.IncludeFiles {
    var capturesAnything: Bool {
        if case .declared(false) = self { return false }
        return true
    }
}
