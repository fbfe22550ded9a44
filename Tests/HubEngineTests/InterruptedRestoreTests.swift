import Foundation
import HubCore
import HubTesting
import Testing

@testable import HubEngine

/// A restore with files that stops (its process killed) between its state commit and its last
/// file is finished by the next operation, of this process or another, without the user
/// running it again; one that stops before its commit leaves nothing behind (§11).
@Suite struct InterruptedRestoreTests {
    let t: TestHub
    init() throws { t = try TestHub() }

    var workspace: String { t.directory.path }
    let fm = FileManager.default

    func write(_ path: String, _ text: String) throws { try t.writeFile(path, text) }

    func read(_ path: String) -> String? { t.readFile(path) }

    var journals: [String] {
        (try? fm.contentsOfDirectory(atPath: t.directory.file("state/journal"))) ?? []
    }

    /// Temporary files of restores anywhere in the workspace.
    var leftovers: [String] {
        (fm.enumerator(atPath: workspace)?.allObjects as? [String] ?? []).filter {
            ($0 as NSString).lastPathComponent.hasPrefix(".hub-restore-")
        }
    }

    func events(_ hub: Hub, _ type: String) async -> [JSONValue] {
        let response = await hub.perform(
            OperationRequest(workflowID: "w1", operation: "get-events", parameters: ["event_types": [.string(type)]]))
        return response.result["events"]?.arrayValue ?? []
    }

    /// w1 with a checkpoint of `src/` (a.txt, d/c.txt), then the files changed since:
    /// a.txt edited, d/c.txt deleted, extra.txt added. Answers the checkpoint id.
    func checkpointThenChange() async throws -> String {
        try write("src/a.txt", "alpha")
        try write("src/d/c.txt", "gamma")
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "t1"}]}]}"#)
        await t.run("w1", "start")
        let id = try #require(
            await t.run("w1", "checkpoint", #"{"include_files": ["src/**"]}"#).result["checkpoint_id"]?.stringValue)
        try write("src/a.txt", "edited")
        try fm.removeItem(atPath: workspace + "/src/d")
        try write("src/extra.txt", "added since")
        return id
    }

    func restore(_ id: String, stoppingAt point: Restore.Interruption?) async -> OperationResponse {
        await Restore.$interruption.withValue(point) {
            await t.run("w1", "restore", "{\"checkpoint_id\": \"\(id)\"}")
        }
    }

    @Test func aRestoreStoppedAfterItsStateCommitIsFinishedByAnotherProcesssNextOperation() async throws {
        let id = try await checkpointThenChange()
        let stopped = await restore(id, stoppingAt: .afterStateCommit)
        #expect(stopped.errorCode == "INTERNAL", "\(stopped.json)")
        // As a killed process leaves it: the files not yet in place, the journal there.
        #expect(read("src/a.txt") == "edited")
        #expect(journals.count == 1)
        let other = try t.otherProcess()

        let status = await other.perform(OperationRequest(workflowID: "w1", operation: "get-status"))

        #expect(status.result["workflow_state"]?["status"] == "paused", "the state was restored")
        #expect(read("src/a.txt") == "alpha")
        #expect(read("src/d/c.txt") == "gamma")
        #expect(read("src/extra.txt") == nil)
        #expect(journals.isEmpty, "\(journals)")
        #expect(leftovers.isEmpty, "\(leftovers)")
        let finished = await events(other, "files_restored")
        #expect(finished.count == 1)
        #expect(finished.first?["data"]?["interrupted"] == true)
        #expect(finished.first?["data"]?["checkpoint_id"] == .string(id))
        let cause = await events(other, "state_restored").first?["event_id"]
        #expect(cause != nil)
        #expect(finished.first?["metadata"]?["causation_id"] == cause)
    }

    /// A file that cannot be put in place after the state committed (here a directory in its
    /// way) was answered STORE_UNAVAILABLE, the code that says nothing changed, though the
    /// state had been restored. RESTORE_INCOMPLETE says it, and a rerun finishes the files.
    @Test func aRestoreWhoseFilesCannotAllBePutBackSaysTheStateWasRestored() async throws {
        let id = try await checkpointThenChange()
        let blocked = workspace + "/src/a.txt"
        let answer = await Restore.$beforeInstall.withValue({
            try? FileManager.default.removeItem(atPath: blocked)
            try? FileManager.default.createDirectory(atPath: blocked + "/in-the-way", withIntermediateDirectories: true)
        }) {
            await t.run("w1", "restore", "{\"checkpoint_id\": \"\(id)\"}")
        }
        #expect(answer.errorCode == "RESTORE_INCOMPLETE", "\(answer.json)")
        #expect(answer.error?.context?["state_restored"] == true)
        #expect(answer.error?.context?["cause"]?.stringValue != nil)
        #expect(await t.run("w1", "get-status").result["workflow_state"]?["status"] == "paused")
        try fm.removeItem(atPath: blocked)
        #expect(await t.run("w1", "restore", "{\"checkpoint_id\": \"\(id)\"}").succeeded)
        #expect(read("src/a.txt") == "alpha")
        #expect(read("src/d/c.txt") == "gamma")
    }

    /// A server's retention timer can come before any operation after a restart. With
    /// acknowledged_only and no subscription it removed state_restored, the event that tells a
    /// committed restore from one that never was: the next operation then threw the files away.
    @Test func retentionFinishesAnInterruptedRestoreBeforeItRemovesAnything() async throws {
        await t.run(nil, "configure-persistence", #"{"replay_capabilities": "acknowledged_only"}"#)
        let id = try await checkpointThenChange()
        _ = await restore(id, stoppingAt: .afterStateCommit)
        #expect(journals.count == 1)
        let other = try t.otherProcess()

        _ = try await other.enforceRetention(force: true)
        _ = await other.perform(OperationRequest(workflowID: "w1", operation: "get-status"))

        #expect(read("src/a.txt") == "alpha")
        #expect(read("src/d/c.txt") == "gamma")
        #expect(read("src/extra.txt") == nil)
        #expect(journals.isEmpty, "\(journals)")
    }

    @Test func theFilesAreFinishedBeforeTheNextOperationReadsAnything() async throws {
        let id = try await checkpointThenChange()
        _ = await restore(id, stoppingAt: .afterStateCommit)
        // Still as the dead process left it, seen from outside the hub.
        #expect(journals.count == 1)
        #expect(!leftovers.isEmpty)
        let other = try t.otherProcess()

        let listed = await other.perform(OperationRequest(workflowID: nil, operation: "list-workflows"))

        #expect(listed.succeeded)
        #expect(read("src/a.txt") == "alpha")
        #expect(read("src/d/c.txt") == "gamma")
        #expect(read("src/extra.txt") == nil)
        #expect(journals.isEmpty)
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    /// `whileStaging`: killed with its files written and its journal not yet renamed into place.
    /// Those files stayed in the workspace for good: nothing but the journal named them.
    @Test(arguments: [Restore.Interruption.whileStaging, .beforeStateCommit])
    func aRestoreStoppedBeforeItsStateCommitLeavesNothingBehind(_ point: Restore.Interruption) async throws {
        let id = try await checkpointThenChange()
        let version = await t.run("w1", "get-status").result["workflow_state"]?["state_version"]
        _ = await restore(id, stoppingAt: point)
        #expect(journals.count == 1)
        #expect(!leftovers.isEmpty)

        let status = await t.run("w1", "get-status")

        #expect(status.result["workflow_state"]?["state_version"] == version)
        #expect(read("src/a.txt") == "edited")
        #expect(read("src/d/c.txt") == nil)
        #expect(read("src/extra.txt") == "added since")
        #expect(!fm.fileExists(atPath: workspace + "/src/d"), "the directory staging created is gone too")
        #expect(journals.isEmpty)
        #expect(leftovers.isEmpty, "\(leftovers)")
        #expect(await events(t.hub, "state_restored").isEmpty)
    }

    /// A journal whose lock is held belongs to a restore still running: nobody else touches it.
    @Test func aJournalHeldByALiveRestoreIsLeftToIt() async throws {
        let id = try await checkpointThenChange()
        _ = await restore(id, stoppingAt: .afterStateCommit)
        let name = try #require(journals.first)
        do {
            guard case .success(let folder) = FileSystem.openDirectory(t.directory.file("state/journal")),
                case .locked(let lock) = FileSystem.lockExisting(name, in: folder)
            else {
                Issue.record("cannot lock the journal")
                return
            }

            #expect(await t.run("w1", "get-status").succeeded)
            #expect(read("src/a.txt") == "edited")
            #expect(journals == [name])
            withExtendedLifetime(lock) {}
        }

        // The lock went with its holder, as it goes with a process that dies.
        #expect(await t.run("w1", "get-status").succeeded)
        #expect(read("src/a.txt") == "alpha")
        #expect(journals.isEmpty)
    }

    /// A restore removed every file named like a restore's temporary file in the directories it
    /// wrote to: another process's restore writing there lost its files (its renames failed after
    /// its state had committed), and a user's file so named went without a word.
    @Test func aRestoreTouchesNoTemporaryFileButItsOwn() async throws {
        let id = try await checkpointThenChange()
        try write("src/.hub-restore-0000live.tmp", "another restore's, being written")

        let restored = await restore(id, stoppingAt: nil)

        #expect(restored.succeeded, "\(restored.json)")
        #expect(read("src/a.txt") == "alpha")
        #expect(read("src/.hub-restore-0000live.tmp") == "another restore's, being written")
    }

    /// A child spawned while a journal's lock was held shares its open file (a `dup` here, as a
    /// fork makes one) until the child's exec: the lock outlived its holder that long, and an
    /// operation in between took a dead restore's journal for a live one's and left it.
    @Test func aLockEndsWithItsHolderWhateverCopiesOfItsDescriptorRemain() throws {
        try write("state/journal/j.json", "{}")
        let folder = try #require(try? FileSystem.openDirectory(t.directory.file("state/journal")).get())
        var copy: Int32 = -1
        defer { close(copy) }
        do {
            guard case .locked(let held) = FileSystem.lockExisting("j.json", in: folder) else {
                Issue.record("cannot lock the journal")
                return
            }
            copy = dup(held.fd)
            guard case .busy = FileSystem.lockExisting("j.json", in: folder) else {
                Issue.record("a held lock was not busy")
                return
            }
            withExtendedLifetime(held) {}
        }

        guard case .locked = FileSystem.lockExisting("j.json", in: folder) else {
            Issue.record("the lock outlived its holder")
            return
        }
    }

    /// The locks another process's pass over the journals holds: `journal.lock`, then the journal's.
    func otherPass(holding name: String) async throws -> [LockedFile] {
        let folder = try #require(try? FileSystem.openDirectory(t.directory.file("state/journal")).get())
        let turn = try #require(
            try? await FileSystem.lockWaiting(t.directory.file("state/journal.lock"), onWait: {}).get())
        guard case .locked(let journal) = FileSystem.lockExisting(name, in: folder) else {
            throw HubError(.internal, "cannot lock the journal")
        }
        return [turn, journal]
    }

    /// Another process's pass over the journals (it holds `journal.lock` and the journal's own
    /// lock) is waited for: the operation went on before the files were in place, taking the
    /// journal for a live restore's.
    @Test func anOperationWaitsForAnotherProcesssPassOverTheJournals() async throws {
        let id = try await checkpointThenChange()
        _ = await restore(id, stoppingAt: .afterStateCommit)
        var held = try await otherPass(holding: try #require(journals.first))
        enum First { case waited, answered }
        let (firsts, outcome) = AsyncStream<First>.makeStream()
        let other = try t.otherProcess()
        let operation = Task {
            let answer = await InterruptedRestores.$waitingForTurn.withValue({ outcome.yield(.waited) }) {
                await other.perform(OperationRequest(workflowID: "w1", operation: "get-status"))
            }
            outcome.yield(.answered)
            return answer
        }
        var seen = firsts.makeAsyncIterator()
        let first = await seen.next()
        #expect(first == .waited, "the operation answered without waiting for the other pass")
        #expect(read("src/a.txt") == "edited")

        held.removeAll()  // the other process's pass ends (or the process dies) without finishing it
        #expect(await operation.value.succeeded)
        #expect(read("src/a.txt") == "alpha")
        #expect(journals.isEmpty)
    }

    /// Stopped once `files_restored` is out but before the journal went: the next operation
    /// removes the journal and publishes nothing twice.
    @Test func aJournalLeftAfterTheFilesWereRecordedOnlyGoes() async throws {
        let id = try await checkpointThenChange()
        let restored = await restore(id, stoppingAt: .afterFilesRestored)
        #expect(restored.succeeded, "\(restored.json)")
        #expect(journals.count == 1)

        #expect(await t.run("w1", "get-status").succeeded)

        #expect(journals.isEmpty)
        let finished = await events(t.hub, "files_restored")
        #expect(finished.count == 1)
        #expect(finished.first?["data"]?["interrupted"] == false)
    }

    /// What cannot be finished yet (a file now stands where a directory of the restore was) does
    /// not fail other operations; it is finished once the way is clear.
    @Test func aJournalThatCannotBeFinishedYetWaitsAndDoesNotFailOperations() async throws {
        let id = try await checkpointThenChange()
        _ = await restore(id, stoppingAt: .afterStateCommit)
        try fm.moveItem(atPath: workspace + "/src/d", toPath: workspace + "/src/d.aside")
        try write("src/d", "in the way")

        #expect(await t.run("w1", "get-status").succeeded)
        #expect(journals.count == 1)
        #expect(read("src/extra.txt") == "added since")

        try fm.removeItem(atPath: workspace + "/src/d")
        try fm.moveItem(atPath: workspace + "/src/d.aside", toPath: workspace + "/src/d")
        #expect(await t.run("w1", "get-status").succeeded)
        #expect(read("src/d/c.txt") == "gamma")
        #expect(journals.isEmpty)
        #expect(await events(t.hub, "files_restored").count == 1)
    }

    /// A restore run normally publishes files_restored once its files are in place, and leaves
    /// no journal.
    @Test func aRestoreThatCompletesRecordsItsFilesAndLeavesNoJournal() async throws {
        let id = try await checkpointThenChange()
        let restored = await restore(id, stoppingAt: nil)
        #expect(restored.succeeded, "\(restored.json)")
        #expect(read("src/a.txt") == "alpha")
        #expect(journals.isEmpty)
        let finished = await events(t.hub, "files_restored")
        #expect(finished.count == 1)
        #expect(finished.first?["data"]?["interrupted"] == false)
        #expect(finished.first?["data"]?["written"] == 2)
        #expect(finished.first?["data"]?["removed"] == 1)
        let state = await events(t.hub, "state_restored").first
        #expect(state?["data"]?["restore_id"] == finished.first?["data"]?["restore_id"])
    }
}
