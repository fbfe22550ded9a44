import Foundation
import HubCore

/// The turn of one workflow's restores with files (§11), taken by every process on the state
/// directory: an `flock` on `<state-dir>/locks/restore-<workflow>.lock`, held by a restore from
/// before it plans its files until they are in place and its journal is gone. Two restores of
/// one workflow that overlapped committed their states in one order and put their files in
/// place in the other, or planned against files the other was replacing: the workspace was
/// left out of step with the restored state, or mixed from two checkpoints, and both answered
/// success. A checkpoint that captures files takes it too, from its read of the workflow until
/// it is stored: read while a restore renamed files into place, it held a mix of two
/// checkpoints' files. A risky task's automatic checkpoint, taken in the claim's transaction,
/// only tries it.
///
/// Lock order: a restore waits for its turn holding nothing (no transaction, no journal) and
/// takes its journals' locks and the store's transactions within it. A pass over interrupted
/// restores (``InterruptedRestores``) only tries it, never waits: one that finished a journal of
/// a workflow while a new restore of it ran put the older checkpoint's files over the newer's.
enum RestoreTurn {
    /// The folder under the state directory.
    static let folder = "locks"

    static func path(workflowID: String, stateDirectory: String) -> String {
        "\(stateDirectory)/\(folder)/restore-\(workflowID).lock"
    }

    /// Waits for the workflow's turn (on a thread of its own); refuses with `STORE_UNAVAILABLE`
    /// when the lock file cannot be made, before anything changed.
    static func take(workflowID: String, stateDirectory: String) async throws(HubError) -> LockedFile {
        try? FileManager.default.createDirectory(
            atPath: stateDirectory + "/" + folder, withIntermediateDirectories: true)
        let turn = await FileSystem.lockWaiting(path(workflowID: workflowID, stateDirectory: stateDirectory)) {
            waiting?()
        }
        switch turn {
        case .success(let file): return file
        case .failure(let code):
            throw HubError(
                .storeUnavailable,
                "Cannot lock the restores of \(workflowID) in \(stateDirectory)/\(folder): \(code.description); nothing was restored",
                details: "Restores of a workflow's files take turns, across processes, through a lock file.",
                suggestions: ["Check the permissions of \(stateDirectory) and the free space"])
        }
    }

    /// The workflow's turn if no one has it now (a pass over interrupted restores).
    static func takeIfFree(workflowID: String, stateDirectory: String) -> LockAttempt {
        try? FileManager.default.createDirectory(
            atPath: stateDirectory + "/" + folder, withIntermediateDirectories: true)
        return FileSystem.lockIfFree(path(workflowID: workflowID, stateDirectory: stateDirectory))
    }

    /// Tests only (`nil` otherwise): runs when a restore starts to wait for its turn, so a test
    /// awaits that instead of a time.
    @TaskLocal static var waiting: (@Sendable () -> Void)?
}
