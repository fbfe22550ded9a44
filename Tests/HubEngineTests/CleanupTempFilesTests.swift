import Foundation
import HubCore
import HubEngine
import HubTesting
import Testing

/// `cleanup` with `remove_temp_files`: what it removes, and that it says so.
@Suite struct CleanupTempFilesTests {
    let t: TestHub
    init() throws { t = try TestHub() }

    /// The restore lock of a workflow whose files were checkpointed and restored is removed with
    /// its temporary files (one lock file per workflow stayed in locks/ for good), and the file
    /// contents no checkpoint references any more are counted.
    @Test func theWorkflowsRestoreLockGoesWithItsTemporaryFiles() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "t1"}]}]}"#)
        try t.writeFile("src/a.txt", "one")
        #expect(await t.run("w1", "checkpoint", #"{"name": "c1", "include_files": ["src/*"]}"#).succeeded)
        try t.writeFile("src/a.txt", "two")
        #expect(await t.run("w1", "restore", #"{"name": "c1"}"#).succeeded)
        #expect(t.readFile("src/a.txt") == "one")
        let lock = t.hub.stateDirectory + "/locks/restore-w1.lock"
        #expect(FileManager.default.fileExists(atPath: lock))
        #expect(await t.run("w1", "cancel").succeeded)
        let kept = await t.run("w1", "cleanup")
        #expect(kept.succeeded, "\(kept.json)")
        #expect(FileManager.default.fileExists(atPath: lock), "removed without remove_temp_files")
        await t.run("w2", "create", #"{"phases": ["p"]}"#)
        await t.run("w2", "cancel")
        let cleaned = await t.run("w2", "cleanup", #"{"remove_temp_files": true}"#)
        #expect(cleaned.result["temp_files_removed"] == [], "\(cleaned.json)")
        #expect(FileManager.default.fileExists(atPath: lock), "another workflow's cleanup removed w1's lock")
        #expect(cleaned.result["unreferenced_contents_removed"]?["count"] == 0)
    }

    @Test func removingTemporaryFilesRemovesTheRestoreLock() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "t1"}]}]}"#)
        try t.writeFile("src/a.txt", "one")
        #expect(await t.run("w1", "checkpoint", #"{"name": "c1", "include_files": ["src/*"]}"#).succeeded)
        #expect(await t.run("w1", "restore", #"{"name": "c1"}"#).succeeded)
        #expect(await t.run("w1", "cancel").succeeded)
        let lock = t.hub.stateDirectory + "/locks/restore-w1.lock"
        let cleaned = await t.run("w1", "cleanup", #"{"remove_temp_files": true}"#)
        #expect(cleaned.result["temp_files_removed"] == [.string(lock)], "\(cleaned.json)")
        #expect(!FileManager.default.fileExists(atPath: lock))
        // Archived, it takes no restore (which would make the lock again).
        #expect(await t.run("w1", "restore", #"{"name": "c1"}"#).errorCode == "INVALID_TRANSITION")
        #expect(!FileManager.default.fileExists(atPath: lock))
        // Nor does a workflow that does not exist: a lock file was made for every id named.
        #expect(await t.run("nobody", "restore", #"{"name": "c1"}"#).errorCode == "WORKFLOW_NOT_FOUND")
        #expect(!FileManager.default.fileExists(atPath: t.hub.stateDirectory + "/locks/restore-nobody.lock"))
        // Nor a checkpoint of files, of either.
        let checkpoint = #"{"include_files": ["src/*"]}"#
        #expect(await t.run("w1", "checkpoint", checkpoint).errorCode == "INVALID_TRANSITION")
        #expect(await t.run("nobody", "checkpoint", checkpoint).errorCode == "WORKFLOW_NOT_FOUND")
        #expect((try? FileManager.default.contentsOfDirectory(atPath: t.hub.stateDirectory + "/locks")) == [])
    }
}
