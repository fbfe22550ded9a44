/// Why a checkpoint was taken (§4, §11).
public enum CheckpointTrigger: String, Sendable, CaseIterable {
    case manual
    case phaseCompleted = "phase_completed"
    case interval
    case beforeRiskyOperation = "before_risky_operation"
    case agentFailure = "agent_failure"
    case taskTimeout = "task_timeout"
}

/// One captured workspace file: where it lives (relative to the workspace), what it holds and its mode.
public struct CheckpointFile: Sendable, Equatable {
    /// Relative to the workspace, `/`-separated, never `..` nor absolute.
    public var path: String
    /// SHA-256 of the contents; the contents are stored once per distinct value.
    public var sha256: String
    /// Bytes.
    public var size: Int64
    /// Permission bits (`0o644`…).
    public var mode: Int

    public init(path: String, sha256: String, size: Int64, mode: Int) {
        self.path = path
        self.sha256 = sha256
        self.size = size
        self.mode = mode
    }

    public var json: JSONValue {
        ["path": .string(path), "sha256": .string(sha256), "size": .int(size), "mode": .count(mode)]
    }

    /// Reads the form ``json`` writes; `nil` when a field is missing or the path is unsafe.
    public init?(json: JSONValue) {
        guard let path = json["path"]?.stringValue, WorkspacePath.isSafeRelative(path),
            let sha = json["sha256"]?.stringValue, sha.utf8.count == 64, let size = json["size"]?.intValue,
            let mode = json["mode"]?.intValue
        else { return nil }
        self.init(path: path, sha256: sha, size: size, mode: Int(mode))
    }
}

/// A stored checkpoint (§4): a canonical snapshot of the complete workflow state and its
/// SHA-256, the `state_version` and `event_sequence` it was taken at, and, when files were
/// included, a manifest (inside the snapshot, so the checksum covers it).
///
/// `document` holds the exact bytes that were checksummed; ``isValid`` hashes them again,
/// so one flipped byte anywhere in the stored snapshot is detected.
public struct Checkpoint: Sendable, Equatable {
    /// Longest name a checkpoint may have. A name given to `checkpoint` is an id (128), but the
    /// hub's own prefix one (`before_<task_id>`, `timeout_<task_id>`, `agent_failure_<agent_id>`,
    /// up to 142), and a bundle may carry names up to this: every one can be restored by name.
    public static let maximumNameLength = 255

    public var checkpointID: String
    public var workflowID: String
    public var name: String
    public var trigger: CheckpointTrigger
    /// Milliseconds since 1970.
    public var createdAt: Int64
    public var stateVersion: Int64
    /// The sequence of the last event in the log when it was taken.
    public var eventSequence: Int64
    /// SHA-256 of `document`, as recorded when it was taken.
    public var checksum: String
    /// The canonical JSON of the snapshot (see ``CheckpointDocument``).
    public var document: [UInt8]
    /// Files in the manifest.
    public var fileCount: Int
    /// `validate_state`'s verdict when it was asked for, else `nil`.
    public var stateValid: Bool?

    public init(
        checkpointID: String, workflowID: String, name: String, trigger: CheckpointTrigger, createdAt: Int64,
        stateVersion: Int64, eventSequence: Int64, checksum: String, document: [UInt8], fileCount: Int,
        stateValid: Bool? = nil
    ) {
        self.checkpointID = checkpointID
        self.workflowID = workflowID
        self.name = name
        self.trigger = trigger
        self.createdAt = createdAt
        self.stateVersion = stateVersion
        self.eventSequence = eventSequence
        self.checksum = checksum
        self.document = document
        self.fileCount = fileCount
        self.stateValid = stateValid
    }

    /// Whether the stored snapshot still hashes to its recorded checksum.
    public var isValid: Bool { Checksum.sha256(document) == checksum }

    /// The snapshot, parsed; `CHECKPOINT_CORRUPT` when it fails its checksum or cannot be read.
    public func verifiedDocument() throws(HubError) -> CheckpointDocument {
        guard isValid else {
            throw HubError(
                .checkpointCorrupt, "Checkpoint \(checkpointID) is corrupt: its snapshot does not match its checksum")
        }
        return try parsedDocument()
    }

    /// The snapshot parsed without hashing it again (for a caller that just checked ``isValid``).
    public func parsedDocument() throws(HubError) -> CheckpointDocument {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes: document, extraDepth: 16)
        } catch {
            throw HubError(.checkpointCorrupt, "Checkpoint \(checkpointID) is corrupt: \(error.description)")
        }
        return try CheckpointDocument(json: value, checkpointID: checkpointID)
    }

    /// The `list-checkpoints` entry (§17).
    public func summary(valid: Bool) -> JSONValue {
        [
            "checkpoint_id": .string(checkpointID), "name": .string(name), "trigger": .string(trigger.rawValue),
            "created_at": .string(Timestamp.format(milliseconds: createdAt)), "state_version": .int(stateVersion),
            "event_sequence": .int(eventSequence), "valid": .bool(valid), "file_count": .count(fileCount),
            "checksum": .string(checksum), "state_valid": stateValid.map(JSONValue.bool) ?? .null,
        ]
    }
}

/// What a checkpoint's snapshot holds: the workflow state (as ``WorkflowSnapshot`` writes it),
/// the agent pool, the live leases, the task queue, dependency status and metrics at that
/// moment, the file manifest and the scope the files were chosen by.
public struct CheckpointDocument: Sendable {
    public var state: WorkflowSnapshot
    /// Agents bound to the workflow's pool.
    public var pool: [String]
    public var files: [CheckpointFile]
    /// The globs that chose the files (`nil`: no files captured). A restore removes files
    /// these match that the manifest lacks.
    public var fileScope: [String]?
    /// Files the scope matched that were there but could not be read: the checkpoint says
    /// nothing of their contents, so a restore leaves them as they are rather than remove them.
    public var unreadFiles: [String]
    /// The raw document, for the parts a restore only reports.
    public var json: JSONValue

    /// Builds the document; `extra` carries the informative parts (queue, leases, metrics, validation).
    public static func make(
        state: WorkflowSnapshot, pool: [String], files: [CheckpointFile], fileScope: [String]?,
        unreadFiles: [String] = [], extra: JSONValue
    ) -> JSONValue {
        var doc: JSONValue = [
            "format": "coordination-hub-checkpoint", "format_version": 1, "state": state.json,
            "pool": .strings(pool.sorted()), "files": .array(files.map(\.json)),
            "file_scope": fileScope.map(JSONValue.strings) ?? .null, "files_unread": .strings(unreadFiles),
        ]
        for (key, value) in extra.objectValue ?? [:] { doc[key] = value }
        return doc
    }

    public init(json: JSONValue, checkpointID: String) throws(HubError) {
        func corrupt(_ why: String) -> HubError {
            HubError(.checkpointCorrupt, "Checkpoint \(checkpointID) is corrupt: \(why)")
        }
        guard json["format"]?.stringValue == "coordination-hub-checkpoint", let stateJSON = json["state"] else {
            throw corrupt("not a checkpoint snapshot")
        }
        do {
            state = try WorkflowSnapshot(json: stateJSON)
        } catch {
            throw corrupt(error.message)
        }
        pool = json["pool"]?.arrayValue?.compactMap(\.stringValue) ?? []
        var files: [CheckpointFile] = []
        for (n, item) in (json["files"]?.arrayValue ?? []).enumerated() {
            guard let file = CheckpointFile(json: item) else { throw corrupt("files[\(n)] is unreadable or unsafe") }
            files.append(file)
        }
        self.files = files
        fileScope = json["file_scope"]?.arrayValue?.compactMap(\.stringValue)
        unreadFiles = json["files_unread"]?.arrayValue?.compactMap(\.stringValue) ?? []
        self.json = json
    }
}
