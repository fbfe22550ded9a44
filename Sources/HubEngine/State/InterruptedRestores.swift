import HubCore
import HubStore

/// Finishes restores whose process died between their state commit and their last file
/// (§11): every operation runs this first, so the next command after a killed restore puts
/// the files in place before it does anything else, and the user never notices.
///
/// A journal nobody holds is acted on by what the log says (``RestoreJournal/progress(in:)``):
/// committed, its staged files are renamed into place (a rename already done is skipped, so
/// finishing twice is harmless) and `files_restored` is published with `interrupted: true`;
/// not committed, its staged files are removed; either way the journal goes. A journal that
/// cannot be finished (something now stands in a file's way) is logged and left for the next
/// operation; a new restore of that workflow replaces it (``supersede(workflowID:)``). A journal
/// is finished only in its workflow's turn (``RestoreTurn``), and left while a restore has it.
///
/// Cost when there is nothing to finish: opening the journal folder (absent until the first
/// restore with files) and listing it, once per operation.
struct InterruptedRestores {
    let hub: Hub

    /// Finishes every journal no live restore holds; answers whether none is left (one a
    /// live restore holds, or one that cannot be finished yet, is).
    ///
    /// Operations take turns here, this hub's among themselves (``Hub/restoreTurns``) and every
    /// process's on the state directory's `journal.lock`: of two that start together after a
    /// restart, the second found the journal locked by the first, took it for a live restore's
    /// and went on before the files were in place.
    @discardableResult
    func finish() async -> Bool {
        guard let directory = openFolder(), let names = FileSystem.names(in: directory), !names.isEmpty else {
            return true
        }
        return await hub.restoreTurns.run {
            let turn = await FileSystem.lockWaiting(hub.stateDirectory + "/" + RestoreJournal.folder + ".lock") {
                Self.waitingForTurn?()
                hub.logger.info("waiting for another process to finish interrupted restores")
            }
            if case .failure(let error) = turn {
                // Without the lock this pass still runs, as it did before there was one.
                hub.logger.warning(
                    "cannot take the restore journals' lock; finishing without it",
                    metadata: ["error": "\(error)"])
            }
            defer { withExtendedLifetime(turn) {} }
            return await finishAll(in: directory)
        }
    }

    /// Called when an operation starts to wait for another process's pass over the journals
    /// (for tests, which await it instead of a time).
    @TaskLocal static var waitingForTurn: (@Sendable () -> Void)?

    private func finishAll(in directory: DirectoryHandle) async -> Bool {
        // Listed again in turn: the pass before may have finished them all.
        for name in (FileSystem.names(in: directory) ?? []).sorted() {
            if name.hasSuffix(".tmp") {
                // Never renamed into place: its restore stopped before it could commit. Its staged
                // files go with it when it was written whole (else the next restore staging into
                // their directories sweeps them).
                guard case .locked(let file) = FileSystem.lockExisting(name, in: directory) else { continue }
                if let journal = read(file) {
                    journal.restorer(stateDirectory: hub.stateDirectory).discard(journal.staged)
                }
                _ = FileSystem.remove(name, in: directory)
            } else if name.hasSuffix(".json") {
                await finish(name, in: directory)
            }
        }
        return (FileSystem.names(in: directory) ?? []).isEmpty
    }

    /// Drops the unfinished journals of `workflowID` before a new restore of it: the new one
    /// puts every file back itself, and an old journal finished after it would undo its work.
    /// The caller has the workflow's turn (``RestoreTurn``), so no pass holds one of them.
    func supersede(workflowID: String) {
        guard let directory = openFolder(), let names = FileSystem.names(in: directory) else { return }
        for name in names where name.hasPrefix(workflowID + ".") && name.hasSuffix(".json") {
            guard case .locked(let file) = FileSystem.lockExisting(name, in: directory) else { continue }
            if let journal = read(file) {
                journal.restorer(stateDirectory: hub.stateDirectory).discard(journal.staged)
            }
            _ = FileSystem.remove(name, in: directory)
        }
    }

    private func openFolder() -> DirectoryHandle? {
        guard case .success(let directory) = FileSystem.openDirectory(hub.stateDirectory + "/" + RestoreJournal.folder)
        else { return nil }
        return directory
    }

    private func read(_ file: LockedFile) -> RestoreJournal? {
        guard let bytes = file.contents(maximum: RestoreJournal.maximumSize),
            let json = try? JSONParser.parse(bytes: bytes, extraDepth: 4)
        else { return nil }
        return RestoreJournal(json: json)
    }

    private func finish(_ name: String, in directory: DirectoryHandle) async {
        // The workflow's turn first (RestoreTurn), never waited for: a restore of the workflow
        // that has it replaces this journal itself (supersede), and one finished beside it
        // would put this journal's files over the new restore's.
        let workflowID = String(name.prefix { $0 != "." })
        let turn = RestoreTurn.takeIfFree(workflowID: workflowID, stateDirectory: hub.stateDirectory)
        switch turn {
        case .busy, .gone: return
        case .failed(let code):
            // Without the lock this pass still runs, as it did before there was one.
            hub.logger.warning(
                "cannot take a workflow's restore lock; finishing its journal without it",
                metadata: ["workflow": "\(workflowID)", "error": "\(code.description)"])
        case .locked: break
        }
        defer { withExtendedLifetime(turn) {} }
        // Busy: a live restore holds it and finishes it itself. Gone: someone just did.
        guard case .locked(let file) = FileSystem.lockExisting(name, in: directory) else { return }
        guard let journal = read(file) else {
            hub.logger.error(
                "removing an unreadable restore journal", metadata: ["journal": "\(RestoreJournal.folder)/\(name)"])
            _ = FileSystem.remove(name, in: directory)
            return
        }
        let restorer = journal.restorer(stateDirectory: hub.stateDirectory)
        do {
            let progress = try await hub.store.read { tx in try journal.progress(in: tx) }
            switch progress {
            case .notCommitted:
                restorer.discard(journal.staged)
            case .committed(let cause):
                try restorer.install(journal.staged, resuming: true)
                try await journal.publishFilesRestored(hub: hub, interrupted: true, cause: cause)
                await hub.eventSignal.notify()
                hub.logger.notice(
                    "finished the files of an interrupted restore",
                    metadata: ["workflow": "\(journal.workflowID)", "checkpoint": "\(journal.checkpointID)"])
            case .finished:
                break
            }
            _ = FileSystem.remove(name, in: directory)
        } catch {
            hub.logger.warning(
                "cannot finish an interrupted restore yet; the next operation tries again",
                metadata: [
                    "workflow": "\(journal.workflowID)", "checkpoint": "\(journal.checkpointID)",
                    "error": "\((error as? HubError)?.message ?? "\(error)")",
                ])
        }
        withExtendedLifetime(file) {}
    }
}
