import Foundation
import HubCore
import HubStore

/// The durable record of a restore's files (§11): written and fsynced in the state directory's
/// `journal/` folder before the files are staged (under a temporary name), written again whole
/// as staged and renamed into place once they are and before the state commits, removed once
/// the files are in place and `files_restored` is published. It is never rewritten in place:
/// a kill at any point leaves a journal, whole, naming every staged file.
///
/// A restore killed in between leaves it behind with the staged files; the next operation of
/// any process on the state directory finishes it (``InterruptedRestores``), so the user never
/// runs the restore again. Whether the state committed is read from the log: the restore's
/// `state_restored` carries the journal's `restore_id`, and comes after `after_sequence`.
///
/// The journal is locked (`flock`) for as long as its restore runs: a journal whose lock is
/// held belongs to a live restore and is left alone; the lock ends with the process.
struct RestoreJournal {
    /// The folder under the state directory.
    static let folder = "journal"
    static let format = "coordination-hub-restore-journal"
    /// Largest journal read back: 64 MiB (a checkpoint holds at most 5,000 files; removals
    /// are what a scan found, at most 200,000 paths).
    static let maximumSize: Int64 = 64 << 20

    var workflowID: String
    var checkpointID: String
    /// Names this restore in its events (`state_restored`, `files_restored`).
    var restoreID: String
    /// The log's last sequence before the state commit.
    var afterSequence: Int64
    /// The workflow's workspace, as the restore opened it.
    var workspace: String
    var staged: WorkspaceRestore.Staged
    /// What the files come to: `{written, removed, unchanged}`.
    var counts: JSONValue

    /// `<workflow>.<restore id>.json`: workflow ids hold no dot, so the workflow is read from the name.
    var fileName: String { "\(workflowID).\(restoreID).json" }

    var json: JSONValue {
        [
            "format": .string(Self.format), "format_version": 1, "workflow_id": .string(workflowID),
            "checkpoint_id": .string(checkpointID), "restore_id": .string(restoreID),
            "after_sequence": .int(afterSequence), "workspace": .string(workspace),
            "renames": .array(
                staged.renames.map {
                    ["directory": .string($0.directory), "temporary": .string($0.temporary), "name": .string($0.name)]
                }),
            "removals": .strings(staged.removals), "created_directories": .strings(staged.createdDirectories),
            "counts": counts,
        ]
    }

    init(
        workflowID: String, checkpointID: String, restoreID: String, afterSequence: Int64, workspace: String,
        staged: WorkspaceRestore.Staged, counts: JSONValue
    ) {
        self.workflowID = workflowID
        self.checkpointID = checkpointID
        self.restoreID = restoreID
        self.afterSequence = afterSequence
        self.workspace = workspace
        self.staged = staged
        self.counts = counts
    }

    /// Reads what ``json`` writes; `nil` when anything is missing or names a path a restore
    /// would not (the hub wrote it, but what is read back is held to the rules).
    init?(json: JSONValue) {
        func relative(_ path: String) -> Bool { path.isEmpty || WorkspacePath.isSafeRelative(path) }
        func name(_ text: String) -> Bool { WorkspacePath.isSafeRelative(text) && !text.contains("/") }
        guard json["format"]?.stringValue == Self.format, let workflowID = json["workflow_id"]?.stringValue,
            Identifier.isValid(workflowID), let checkpointID = json["checkpoint_id"]?.stringValue,
            let restoreID = json["restore_id"]?.stringValue, Identifier.isValid(restoreID),
            let after = json["after_sequence"]?.intValue, let workspace = json["workspace"]?.stringValue,
            workspace.hasPrefix("/"), let renames = json["renames"]?.arrayValue,
            let removals = json["removals"]?.arrayValue?.compactMap(\.stringValue),
            let created = json["created_directories"]?.arrayValue?.compactMap(\.stringValue),
            removals.allSatisfy(WorkspacePath.isSafeRelative), created.allSatisfy(WorkspacePath.isSafeRelative)
        else { return nil }
        var staged = WorkspaceRestore.Staged()
        for rename in renames {
            guard let directory = rename["directory"]?.stringValue, relative(directory),
                let temporary = rename["temporary"]?.stringValue, name(temporary),
                WorkspaceRestore.isTemporary(temporary), let target = rename["name"]?.stringValue, name(target)
            else { return nil }
            staged.renames.append((directory, temporary, target))
        }
        staged.removals = removals
        staged.createdDirectories = created
        self.init(
            workflowID: workflowID, checkpointID: checkpointID, restoreID: restoreID, afterSequence: after,
            workspace: workspace, staged: staged, counts: json["counts"] ?? .emptyObject)
    }

    /// The restorer for the journal's workspace.
    func restorer(stateDirectory: String) -> WorkspaceRestore {
        WorkspaceRestore(files: WorkspaceFiles(workspace: workspace, stateDirectory: stateDirectory))
    }

    /// Writes the journal durably under a temporary name, before any file is staged, and keeps
    /// it locked; its renames name the temporary files the staging will write. A restore killed
    /// while staging leaves it so: the next operation removes what it names
    /// (``InterruptedRestores``), as it does for a journal never renamed into place. Nothing is
    /// committed yet, so a failure here changes nothing.
    func prepare(stateDirectory: String) throws(HubError) -> Held {
        func failure(_ what: String, _ code: Errno) -> HubError { Self.failure(what, code, stateDirectory) }
        try? FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        let state: DirectoryHandle
        switch FileSystem.openDirectory(stateDirectory) {
        case .success(let handle): state = handle
        case .failure(let code): throw failure("open", code)
        }
        if let code = FileSystem.makeDirectory(Self.folder, in: state) { throw failure("create", code) }
        let directory: DirectoryHandle
        switch FileSystem.openDirectory(Self.folder, in: state) {
        case .success(let handle): directory = handle
        case .failure(let code): throw failure("open", code)
        }
        let temporary = ".\(restoreID).tmp"
        switch FileSystem.createLocked(temporary, in: directory, bytes) {
        case .success(let locked):
            return Held(file: locked, directory: directory, name: temporary, stateDirectory: stateDirectory)
        case .failure(let code): throw failure("write", code)
        }
    }

    var bytes: [UInt8] {
        var bytes = json.serializedBytes(.compact)
        bytes.append(0x0A)
        return bytes
    }

    static func failure(_ what: String, _ code: Errno, _ stateDirectory: String) -> HubError {
        HubError(
            .storeUnavailable,
            "Cannot \(what) the restore's journal in \(stateDirectory)/\(Self.folder): \(code.description); nothing was restored",
            details: "A restore with files records them durably before it commits the state.",
            suggestions: ["Check the permissions of \(stateDirectory) and the free space"])
    }

    /// A journal written and locked by this process.
    final class Held {
        private(set) var file: LockedFile
        let directory: DirectoryHandle
        private(set) var name: String
        let stateDirectory: String

        init(file: LockedFile, directory: DirectoryHandle, name: String, stateDirectory: String) {
            self.file = file
            self.directory = directory
            self.name = name
            self.stateDirectory = stateDirectory
        }

        /// Writes the journal as staged to a new file (locked, fsynced) and renames it into
        /// place, then removes the prepared one: from here a restore killed after its state
        /// commit is finished by the next operation. Rewritten in place (truncated, then
        /// written), a journal killed in between was left empty, and the staged files it alone
        /// named stayed in the workspace for good; now a kill leaves the prepared journal
        /// whole beside the new one, and each names the staged files.
        func seal(_ journal: RestoreJournal) throws(HubError) {
            let sealing = ".\(journal.restoreID).sealed.tmp"
            var bytes = journal.bytes
            if RestoreJournal.killedWhileSealing { bytes = Array(bytes.prefix(bytes.count / 2)) }
            let written: LockedFile
            switch FileSystem.createLocked(sealing, in: directory, bytes) {
            case .success(let locked): written = locked
            case .failure(let code): throw RestoreJournal.failure("write", code, stateDirectory)
            }
            if RestoreJournal.killedWhileSealing { throw Restore.interrupted }
            if let code = FileSystem.rename(sealing, over: journal.fileName, in: directory) {
                _ = FileSystem.remove(sealing, in: directory)
                throw RestoreJournal.failure("write", code, stateDirectory)
            }
            // The prepared journal goes once the new one is in place; should it stay (a kill),
            // the next operation removes it with the staged files it names, as the new one does.
            _ = FileSystem.remove(name, in: directory)
            file = written
            name = journal.fileName
        }

        /// Removes the journal (durably) while still holding its lock: its restore is done,
        /// or never committed and its staged files are gone.
        func remove() -> Errno? { FileSystem.remove(name, in: directory) }
    }

    /// Tests only: ``Held/seal(_:)`` stops as if its process were killed while writing the new
    /// journal (half of it written, nothing renamed).
    @TaskLocal static var killedWhileSealing = false

    /// `files_restored`'s data.
    func eventData(interrupted: Bool) -> JSONValue {
        var data: JSONValue = [
            "restore_id": .string(restoreID), "checkpoint_id": .string(checkpointID), "interrupted": .bool(interrupted),
        ]
        for (key, value) in counts.objectValue ?? [:] { data[key] = value }
        return data
    }

    /// Publishes `files_restored` on the workflow, caused by the restore's `state_restored`.
    /// Like `checkpoint_created`, it records a fact about files and changes no state: the
    /// version stays.
    func publishFilesRestored(hub: Hub, interrupted: Bool, cause: String?) async throws {
        let data = eventData(interrupted: interrupted)
        let id = workflowID
        let now = hub.clock.nowMilliseconds()
        let eventID = hub.ids.make("evt")
        try await hub.store.write { tx in
            guard let workflow = try tx.workflow(id) else { return }
            _ = try tx.append(
                .workflow("files_restored", workflow, data: data, causedBy: cause), eventID: eventID, timestamp: now)
        }
    }

    /// Where the restore got to, read from the log.
    enum Progress: Equatable {
        /// The state never committed: the staged files are to be discarded.
        case notCommitted
        /// The state committed (with this `state_restored`); the files are to be put in place.
        case committed(eventID: String)
        /// `files_restored` is published: only the journal is left.
        case finished
    }

    func progress(in tx: any StoreReader) throws -> Progress {
        var after = afterSequence
        var committed: String?
        while true {
            let page = try tx.events(
                EventQuery(
                    afterSequence: after, eventTypes: ["state_restored", "files_restored"], workflowID: workflowID,
                    limit: 500))
            for event in page where event.data["restore_id"]?.stringValue == restoreID {
                if event.eventType == "files_restored" { return .finished }
                committed = event.eventID
            }
            guard let last = page.last, page.count == 500 else { break }
            after = last.sequence
        }
        return committed.map { .committed(eventID: $0) } ?? .notCommitted
    }
}
