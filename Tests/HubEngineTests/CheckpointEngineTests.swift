import Foundation
import HubCore
import HubEngine
import HubStore
import HubTesting
import Testing

@Suite struct CheckpointEngineTests {
    let t: TestHub
    init() throws { t = try TestHub.heartbeatEvery(.seconds(10)) }

    var workspace: String { t.directory.path }

    func write(_ path: String, _ bytes: [UInt8], mode: Int = 0o644) throws {
        let full = workspace + "/" + path
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: full))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: full)
    }

    func read(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: workspace + "/" + path).map { [UInt8]($0) }
    }

    func mode(_ path: String) throws -> Int {
        try (FileManager.default.attributesOfItem(atPath: workspace + "/" + path)[.posixPermissions] as? Int) ?? -1
    }

    func task(_ id: String, in workflow: String = "w1") async -> JSONValue? {
        let phases = await t.run(workflow, "get-status").result["workflow_state"]?["phases"]?.arrayValue ?? []
        return phases.flatMap { $0["tasks"]?.arrayValue ?? [] }.first { $0["task_id"]?.stringValue == id }
    }

    func claimAndComplete(_ agent: String) async throws -> String {
        let claimed = await t.run(nil, "claim-task", "{\"agent_id\": \"\(agent)\"}").result["tasks"]?.arrayValue ?? []
        let first = try #require(claimed.first)
        let lease = try #require(first["lease_id"]?.stringValue)
        #expect(await t.run(nil, "complete-task", "{\"lease_id\": \"\(lease)\"}").succeeded)
        return first["task_id"]?.stringValue ?? ""
    }

    func checkpoints(_ workflow: String = "w1") async -> [JSONValue] {
        await t.run(workflow, "list-checkpoints").result["checkpoints"]?.arrayValue ?? []
    }

    @Test func aCheckpointRecordsTheStateWithoutChangingIt() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "a", "tasks": [{"task_id": "t1"}]}]}"#)
        await t.run("w1", "start")
        let before = await t.run("w1", "get-status").result["workflow_state"]?["state_version"]
        let taken = await t.run("w1", "checkpoint", #"{"name": "first"}"#)
        #expect(taken.succeeded)
        #expect(taken.result["checkpoint_id"]?.stringValue?.hasPrefix("chkpt_") == true)
        #expect(taken.result["state_version"] == before)
        #expect(taken.result["trigger"] == "manual")
        #expect(await t.run("w1", "get-status").result["workflow_state"]?["state_version"] == before)
        let list = await checkpoints()
        #expect(list.count == 1)
        #expect(list.first?["name"] == "first")
        #expect(list.first?["valid"] == true)
        #expect(list.first?["file_count"] == 0)
        let events = await t.run("w1", "get-events", #"{"event_types": ["checkpoint_created"]}"#)
        #expect(events.result["count"] == 1)
    }

    @Test(arguments: ["latest", "chkpt_mine"])
    func namesThatReferToOtherCheckpointsAreRefused(_ name: String) async throws {
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        let refused = await t.run("w1", "checkpoint", "{\"name\": \"\(name)\"}")
        #expect(refused.errorCode == "INVALID_PARAMETERS")
        #expect(await t.run("w1", "list-checkpoints").result["checkpoints"]?.arrayValue?.isEmpty == true)
    }

    @Test func latestFalseAloneNamesNoCheckpoint() async throws {
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        await t.run("w1", "checkpoint")
        let version = await t.run("w1", "get-status").result["workflow_state"]?["state_version"]
        #expect(await t.run("w1", "restore", #"{"latest": false}"#).errorCode == "INVALID_PARAMETERS")
        #expect(await t.run("w1", "get-status").result["workflow_state"]?["state_version"] == version)
    }

    @Test func aWorkflowRestoredToBeforeItsStartBeginsItsFirstPhaseWhenResumed() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "a", "tasks": [{"task_id": "t"}]}]}"#)
        await t.run("w1", "checkpoint")
        #expect(await t.run("w1", "restore", #"{"latest": true}"#).succeeded)
        #expect(await t.run("w1", "resume").succeeded)
        let state = await t.run("w1", "get-status").result["workflow_state"]
        #expect(state?["current_phase"] == 1)
        #expect(state?["phases"]?.arrayValue?.first?["tasks"]?.arrayValue?.first?["status"] == "ready")
    }

    @Test func rollbackRestoresDamagedFilesByteForByteAndRequeuesTheWork() async throws {
        let binary = (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try write("src/a.bin", binary)
        try write("src/run.sh", Array("#!/bin/sh\necho hi\n".utf8), mode: 0o755)
        try write("src/gone.txt", Array("keep me".utf8))
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "build", "tasks": [{"task_id": "edit", "files": ["src/a.bin"]}, {"task_id": "later", "depends_on": ["edit"]}]}]}"#
        )
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        let cp = await t.run("w1", "checkpoint", #"{"name": "before_edit", "include_files": ["src/**"]}"#)
        #expect(cp.result["files"]?["captured"] == 3)
        let id = try #require(cp.result["checkpoint_id"]?.stringValue)

        #expect(try await claimAndComplete("ag") == "edit")
        try write("src/a.bin", Array("garbage".utf8))
        try FileManager.default.removeItem(atPath: workspace + "/src/gone.txt")
        try write("src/new.txt", Array("added later".utf8))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: workspace + "/src/run.sh")

        let restored = await t.run("w1", "restore", "{\"checkpoint_id\": \"\(id)\", \"strategy\": \"rollback\"}")
        #expect(restored.succeeded, "\(restored.json)")
        #expect(read("src/a.bin") == binary)
        #expect(read("src/gone.txt") == Array("keep me".utf8))
        #expect(read("src/new.txt") == nil)
        #expect(try mode("src/run.sh") == 0o755)
        #expect(restored.result["files"]?["changed"] == ["src/a.bin", "src/run.sh"])
        #expect(restored.result["files"]?["created"] == ["src/gone.txt"])
        #expect(restored.result["files"]?["removed"] == ["src/new.txt"])
        #expect(restored.result["undone_tasks"] == ["edit"])
        #expect(restored.result["status"] == "paused")
        #expect((restored.result["restoration_steps"]?.arrayValue?.count ?? 0) >= 2)
        let edit = await task("edit")
        #expect(edit?["status"] == "ready")
        #expect(edit?["attempts"] == 1)
        #expect(await task("later")?["status"] == "pending")
        let rolled = await t.run("w1", "get-events", #"{"event_types": ["state_rolled_back"]}"#)
        #expect(rolled.result["events"]?.arrayValue?.first?["data"]?["undone_tasks"] == ["edit"])
        // Nothing is erased from the log: the completion is still there.
        #expect(await t.run("w1", "get-events", #"{"event_types": ["task_completed"]}"#).result["count"] == 1)
        #expect(await t.run("w1", "resume").succeeded)
        #expect(try await claimAndComplete("ag") == "edit")
    }

    /// A file rewritten while a checkpoint read it was stored as a mix of its old and new bytes
    /// (a version that never existed, restored byte for byte with a matching checksum). A file
    /// is taken only when it is the same after the read as before; one that keeps changing is
    /// passed over and listed. Whichever happens here, what is stored is one whole version.
    @Test func aFileWrittenWhileItIsCapturedIsNeverStoredAsAMix() async throws {
        let size = 32 << 20
        try write("big.bin", [UInt8](repeating: 0x41, count: size))
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        final class Flag: @unchecked Sendable {
            let lock = NSLock()
            var on = true
            var isOn: Bool { lock.withLock { on } }
        }
        let writing = Flag()
        let stopped = DispatchSemaphore(value: 0)
        let path = workspace + "/big.bin"
        let versions = [Data(repeating: 0x42, count: size), Data(repeating: 0x41, count: size)]
        Thread {
            defer { stopped.signal() }
            guard let handle = FileHandle(forWritingAtPath: path) else { return }
            var n = 0
            while writing.isOn {
                try? handle.seek(toOffset: 0)
                try? handle.write(contentsOf: versions[n % 2])
                n += 1
            }
            try? handle.close()
        }.start()
        var ids: [String] = []
        for n in 0..<3 {
            let cp = await t.run("w1", "checkpoint", "{\"name\": \"c\(n)\", \"include_files\": [\"big.bin\"]}")
            if let id = cp.result["checkpoint_id"]?.stringValue { ids.append(id) }
        }
        writing.lock.withLock { writing.on = false }
        stopped.wait()
        #expect(ids.count == 3)
        for id in ids {
            let stored = try await t.hub.store.read { tx -> [UInt8]? in
                guard let sha = try tx.fileStamps(checkpointID: id)["big.bin"]?.sha256 else { return nil }
                return try tx.contents(sha256: sha)
            }
            // Passed over (it kept changing), or one whole version.
            if let stored { #expect(stored.count == size && Set(stored).count == 1, "checkpoint \(id) stored a mix") }
        }
    }

    /// A directory named as a pattern ("sub", "sub/") captured nothing without a word: it
    /// stands for the files under it, as a task's declared directory does.
    @Test func aDirectoryNamedAsAPatternCapturesTheFilesUnderIt() async throws {
        try write("sub/a.txt", Array("a".utf8))
        try write("sub/deep/b.txt", Array("b".utf8))
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        for (n, pattern) in ["sub", "sub/"].enumerated() {
            let cp = await t.run("w1", "checkpoint", "{\"name\": \"d\(n)\", \"include_files\": [\"\(pattern)\"]}")
            #expect(cp.result["files"]?["captured"] == 2, "\(pattern): \(cp.json)")
        }
    }

    /// create accepts `c/../d.txt` as inside the workspace (it is d.txt); checkpoints skipped
    /// it as "outside the workspace", so a risky task's file was never captured.
    @Test func aDeclaredPathIsNormalizedAsCreateCheckedIt() async throws {
        try write("d.txt", Array("d".utf8))
        try write("b.txt", Array("b".utf8))
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "t", "files": ["c/../d.txt", "./b.txt"]}]}]}"#)
        let cp = await t.run("w1", "checkpoint", #"{"name": "c", "include_files": true}"#)
        #expect(cp.result["files"]?["captured"] == 2, "\(cp.json)")
        #expect(cp.result["files"]?["skipped"] == [], "\(cp.json)")
    }

    /// A checkpoint keeps a file's permission bits only: a setuid, setgid or sticky bit is
    /// neither recorded nor written back (a bundle edited by hand, its checksums recomputed,
    /// made a world-writable setuid file in the workspace).
    @Test func onlyPermissionBitsAreCapturedAndRestored() async throws {
        try write("tool.sh", Array("#!/bin/sh\n".utf8), mode: 0o6755)
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        let cp = await t.run("w1", "checkpoint", #"{"name": "c", "include_files": ["tool.sh"]}"#)
        #expect(cp.result["files"]?["captured"] == 1, "\(cp.json)")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: workspace + "/tool.sh")
        #expect(await t.run("w1", "restore", #"{"name": "c"}"#).succeeded)
        #expect(try mode("tool.sh") == 0o755)
    }

    /// A restore rewrites only what changed since its checkpoint (and removes tasks added
    /// since); the phases' counters stay true, so the workflow still finishes by itself.
    @Test func aRestoreRewritesWhatChangedAndTheWorkflowStillFinishes() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "one", "tasks": [{"task_id": "a"}, {"task_id": "b", "depends_on": ["a"]}]}, {"name": "two", "tasks": [{"task_id": "c"}]}]}"#
        )
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        let cp = await t.run("w1", "checkpoint", #"{"name": "early"}"#)
        let id = try #require(cp.result["checkpoint_id"]?.stringValue)
        #expect(try await claimAndComplete("ag") == "a")
        #expect(await t.run("w1", "add-tasks", #"{"tasks": [{"task_id": "extra", "phase": "one"}]}"#).succeeded)

        let restored = await t.run("w1", "restore", "{\"checkpoint_id\": \"\(id)\", \"strategy\": \"rollback\"}")
        #expect(restored.succeeded, "\(restored.json)")
        #expect(restored.result["removed_tasks"] == ["extra"])
        #expect(await task("extra") == nil)
        #expect(await task("a")?["status"] == "ready")
        let verified = await t.run("w1", "verify-state")
        #expect(verified.result["valid"] == true, "\(verified.json)")
        #expect(verified.result["violations"] == [])
        #expect(await t.run("w1", "resume").succeeded)
        for expected in ["a", "b", "c"] { #expect(try await claimAndComplete("ag") == expected) }
        #expect(await t.run("w1", "get-status").result["workflow_state"]?["status"] == "completed")
    }

    /// A restore ends the leases of the tasks it replaces and announces it, as every other
    /// operation that ends a lease does, and the task back in the queue is `task_ready` again.
    @Test func aRestoreAnnouncesTheLeasesItEndsAndTheTasksItReadies() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "one", "tasks": [{"task_id": "a"}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        let id = try #require(await t.run("w1", "checkpoint", #"{"name": "c0"}"#).result["checkpoint_id"]?.stringValue)
        let claimed = await t.run(nil, "claim-task", #"{"agent_id": "ag"}"#).result["tasks"]?.arrayValue?.first
        let lease = try #require(claimed?["lease_id"]?.stringValue)
        let restored = await t.run("w1", "restore", "{\"checkpoint_id\": \"\(id)\", \"strategy\": \"rollback\"}")
        #expect(restored.succeeded, "\(restored.json)")
        let types = #"{"event_types": ["state_restored", "task_lease_revoked", "task_ready"], "limit": 100}"#
        let events = await t.run("w1", "get-events", types).result["events"]?.arrayValue ?? []
        let after = Array(events.drop { $0["event_type"] != "state_restored" })
        #expect(after.map { $0["event_type"] } == ["state_restored", "task_lease_revoked", "task_ready"])
        #expect(after.dropFirst().allSatisfy { $0["metadata"]?["causation_id"] == after.first?["event_id"] })
        #expect(after.dropFirst().allSatisfy { $0["data"]?["task_id"] == "a" })
        let late = await t.run(nil, "complete-task", "{\"lease_id\": \"\(lease)\"}")
        #expect(late.errorCode == "LEASE_EXPIRED")
    }

    /// A full_restore dropped the tasks added since its checkpoint without a word (rollback said so).
    @Test func aFullRestoreNamesTheTasksItRemoves() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "one", "tasks": [{"task_id": "a"}]}]}"#)
        await t.run("w1", "start")
        let id = try #require(await t.run("w1", "checkpoint", #"{"name": "c0"}"#).result["checkpoint_id"]?.stringValue)
        #expect(await t.run("w1", "add-tasks", #"{"tasks": [{"task_id": "late"}]}"#).succeeded)
        let restored = await t.run("w1", "restore", "{\"checkpoint_id\": \"\(id)\"}")
        #expect(restored.result["removed_tasks"] == ["late"], "\(restored.json)")
        let steps = restored.result["restoration_steps"]?.arrayValue?.compactMap { $0["action"]?.stringValue } ?? []
        #expect(steps.contains("remove_tasks_added_since"))
        let event = await t.run("w1", "get-events", #"{"event_types": ["state_restored"]}"#).result["events"]
        #expect(event?.arrayValue?.last?["data"]?["removed_tasks"] == ["late"])
    }

    @Test func partialRestoreOfOnePhaseLeavesTheFilesAlone() async throws {
        try write("notes.txt", Array("v1".utf8))
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "one", "tasks": [{"task_id": "a"}]}, {"name": "two", "tasks": [{"task_id": "b"}]}]}"#
        )
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        let cp = await t.run("w1", "checkpoint", #"{"include_files": ["*.txt"]}"#)
        let id = try #require(cp.result["checkpoint_id"]?.stringValue)
        #expect(try await claimAndComplete("ag") == "a")
        try write("notes.txt", Array("v2".utf8))
        let restored = await t.run(
            "w1", "restore",
            "{\"checkpoint_id\": \"\(id)\", \"strategy\": \"partial_restore\", \"phases\": [\"one\", \"two\"]}")
        #expect(restored.succeeded, "\(restored.json)")
        #expect(read("notes.txt") == Array("v2".utf8))
        #expect(restored.result["files"] == .null)
        #expect(await task("a")?["status"] == "ready")
        #expect(restored.result["restored_phases"] == [1, 2])
    }

    @Test func aFlippedByteIsDetectedAndTheFallbackUsedOnlyWhenTheHubChooses() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "a", "tasks": [{"task_id": "t1"}]}]}"#)
        await t.run("w1", "start")
        let old = try #require(
            await t.run("w1", "checkpoint", #"{"name": "old"}"#).result["checkpoint_id"]?.stringValue)
        let new = try #require(
            await t.run("w1", "checkpoint", #"{"name": "new"}"#).result["checkpoint_id"]?.stringValue)
        try await t.damageCheckpoint(new)
        let listed = await checkpoints()
        #expect(listed.map { $0["valid"] } == [false, true])

        let explicit = await t.run("w1", "restore", "{\"checkpoint_id\": \"\(new)\"}")
        #expect(explicit.errorCode == "CHECKPOINT_CORRUPT")
        #expect(explicit.error?.context?["newest_valid_checkpoint"] == .string(old))
        #expect(explicit.error?.message.contains(old) == true)

        let refused = await t.run("w1", "restore", #"{"checkpoint_id": "latest", "auto_recovery": false}"#)
        #expect(refused.errorCode == "CHECKPOINT_CORRUPT")

        let chosen = await t.run("w1", "restore", #"{"checkpoint_id": "latest"}"#)
        #expect(chosen.succeeded)
        #expect(chosen.result["fallback_used"] == true)
        #expect(chosen.result["used_checkpoint"] == .string(old))
        #expect(chosen.result["skipped_corrupt"] == .strings([new]))

        let loaded = await t.run("w1", "load-state", "{\"checkpoint_id\": \"\(new)\"}")
        #expect(loaded.errorCode == "CHECKPOINT_CORRUPT")
    }

    @Test func aSecondCaptureOfUnchangedFilesStoresNoNewContents() async throws {
        for n in 0..<1000 { try write("data/f\(n).txt", Array("file \(n) ".utf8) + [UInt8](repeating: 65, count: 100)) }
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        let first = await t.run("w1", "checkpoint", #"{"include_files": ["data/*.txt"]}"#)
        #expect(first.result["files"]?["captured"] == 1000)
        #expect(first.result["files"]?["new_contents"] == 1000)
        let second = await t.run("w1", "checkpoint", #"{"include_files": ["data/*.txt"]}"#)
        #expect(second.result["files"]?["captured"] == 1000)
        #expect(second.result["files"]?["new_contents"] == 0)
        #expect(second.result["files"]?["bytes_stored"] == 0)
    }

    @Test func checkpointsOfUnknownNamesAndBadInputAreClearErrors() async throws {
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        #expect(await t.run("w1", "restore", #"{"checkpoint_id": "chkpt_nope"}"#).errorCode == "CHECKPOINT_NOT_FOUND")
        #expect(await t.run("w1", "restore", #"{"name": "nope"}"#).errorCode == "CHECKPOINT_NOT_FOUND")
        #expect(
            await t.run("w1", "load-state", #"{"checkpoint_id": "chkpt_nope"}"#).errorCode == "CHECKPOINT_NOT_FOUND")
        #expect(
            await t.run("w1", "checkpoint", #"{"include_files": ["../outside/*"]}"#).errorCode == "PATH_NOT_ALLOWED")
        #expect(await t.run("w1", "checkpoint", #"{"include_files": ["/etc/passwd"]}"#).errorCode == "PATH_NOT_ALLOWED")
        // Other tools' syntax matched nothing and was reported as a file that does not exist.
        for pattern in ["!src/a.txt", "src/{a,b}.txt"] {
            let refused = await t.run("w1", "checkpoint", "{\"include_files\": [\"\(pattern)\"]}")
            #expect(refused.errorCode == "INVALID_PARAMETERS", "\(refused.json)")
            #expect(refused.error?.message.contains("which patterns do not have") == true)
        }

        #expect(await t.run("w1", "checkpoint", #"{"name": "a/b"}"#).errorCode == "INVALID_PARAMETERS")
        #expect(await t.run("w1", "checkpoint", #"{"name": "../x"}"#).errorCode == "INVALID_PARAMETERS")
        #expect(
            await t.run("w1", "restore", #"{"strategy": "rollback", "phases": [1]}"#).errorCode == "INVALID_PARAMETERS")
        #expect(
            await t.run("w1", "restore", #"{"strategy": "partial_restore", "phases": []}"#).errorCode
                == "INVALID_PARAMETERS")
        #expect(
            await t.run("w1", "restore", #"{"checkpoint_id": "latest", "name": "x"}"#).errorCode == "INVALID_PARAMETERS"
        )
        #expect(await checkpoints().isEmpty)
    }

    /// A FIFO the globs matched was left out without a word; symlinks and folders were listed.
    @Test func aFIFOIsSkippedAndListed() async throws {
        try write("in/real.txt", Array("real".utf8))
        #expect(mkfifo(workspace + "/in/pipe", 0o600) == 0)
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        let cp = await t.run("w1", "checkpoint", #"{"include_files": ["in/*"]}"#)
        #expect(cp.result["files"]?["captured"] == 1, "\(cp.json)")
        let skipped = cp.result["files"]?["skipped"]?.arrayValue ?? []
        #expect(skipped.map { $0["path"] } == ["in/pipe"])
        #expect(skipped.first?["reason"]?.stringValue?.contains("not a regular file") == true)
    }

    @Test func symlinksAreSkippedNeverFollowedAndLoopsDoNotTrapTheWalk() async throws {
        let outside = try TemporaryDirectory("outside")
        defer { outside.remove() }
        try Data("secret".utf8).write(to: URL(fileURLWithPath: outside.file("secret.txt")))
        try write("in/real.txt", Array("real".utf8))
        let fm = FileManager.default
        try fm.createSymbolicLink(atPath: workspace + "/in/link.txt", withDestinationPath: outside.file("secret.txt"))
        try fm.createSymbolicLink(atPath: workspace + "/in/dir", withDestinationPath: outside.path)
        try fm.createSymbolicLink(atPath: workspace + "/in/loop", withDestinationPath: workspace + "/in")
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        let cp = await t.run("w1", "checkpoint", #"{"include_files": ["in/**"]}"#)
        #expect(cp.succeeded)
        #expect(cp.result["files"]?["captured"] == 1)
        let skipped = cp.result["files"]?["skipped"]?.arrayValue?.compactMap { $0["path"]?.stringValue } ?? []
        #expect(Set(skipped) == ["in/link.txt", "in/dir", "in/loop"])
        // A restore never writes through a symlinked directory either.
        let id = try #require(cp.result["checkpoint_id"]?.stringValue)
        try fm.removeItem(atPath: workspace + "/in/real.txt")
        #expect(await t.run("w1", "restore", "{\"checkpoint_id\": \"\(id)\"}").succeeded)
        #expect(read("in/real.txt") == Array("real".utf8))
        #expect(fm.contents(atPath: outside.file("secret.txt")) == Data("secret".utf8))
        #expect(!fm.fileExists(atPath: outside.file("real.txt")))
    }

    @Test func tooManyMatchingFilesIsRefusedAndNothingIsStored() async throws {
        for n in 0..<5001 { try write("many/f\(n)", [UInt8(n & 0xFF)]) }
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        let refused = await t.run("w1", "checkpoint", #"{"include_files": ["many/*"]}"#)
        #expect(refused.errorCode == "INVALID_PARAMETERS")
        #expect(refused.error?.message.contains("5000") == true)
        #expect(await checkpoints().isEmpty)
    }

    @Test func theStateDirectoryIsNeverCaptured() async throws {
        try write("a.txt", Array("a".utf8))
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        let cp = await t.run("w1", "checkpoint", #"{"include_files": ["**"]}"#)
        #expect(cp.result["files"]?["captured"] == 1)
    }

    @Test func retentionKeepsTheNewestConfiguredNumber() async throws {
        var config = Configuration()
        config.checkpointRetention = 3
        let hub = try TestHub(configuration: config)
        defer { hub.remove() }
        await hub.run("w1", "create", #"{"phases": ["a"]}"#)
        for n in 1...5 { await hub.run("w1", "checkpoint", "{\"name\": \"c\(n)\"}") }
        let names = await hub.run("w1", "list-checkpoints").result["checkpoints"]?.arrayValue?.map { $0["name"] }
        #expect(names == ["c5", "c4", "c3"])
    }

    @Test func loadStateAcceptsACheckpointID() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "a", "tasks": [{"task_id": "t1"}]}]}"#)
        let id = try #require(await t.run("w1", "checkpoint").result["checkpoint_id"]?.stringValue)
        await t.run("w1", "add-tasks", #"{"tasks": [{"task_id": "t2"}]}"#)
        let loaded = await t.run("w1", "load-state", "{\"checkpoint_id\": \"\(id)\"}")
        #expect(loaded.succeeded, "\(loaded.json)")
        #expect(await task("t2") == nil)
        #expect(await task("t1") != nil)
    }

    @Test func verifyDependenciesRefusesARestoreWhoseDependencyIsDown() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "a", "tasks": [{"task_id": "t1"}]}], "dependencies": [{"name": "db", "check_command": "exit 3"}]}"#
        )
        let id = try #require(await t.run("w1", "checkpoint").result["checkpoint_id"]?.stringValue)
        let version = await t.run("w1", "get-status").result["workflow_state"]?["state_version"]
        let refused = await t.run("w1", "restore", "{\"checkpoint_id\": \"\(id)\", \"verify_dependencies\": true}")
        #expect(refused.errorCode == "DEPENDENCY_UNAVAILABLE")
        #expect(refused.error?.message.contains("db") == true)
        #expect(await t.run("w1", "get-status").result["workflow_state"]?["state_version"] == version)
    }

    /// A name with braces and no list in them is a name (Gatsby's `{mdx.slug}.js`), not a brace list.
    @Test func aPatternWithBracesButNoListNamesItsFile() async throws {
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        try t.writeFile("pages/{mdx.slug}.js", "page")
        let named = await t.run("w1", "checkpoint", #"{"include_files": ["pages/{mdx.slug}.js"]}"#)
        #expect(named.result["file_count"] == 1, "\(named.json)")
    }

    @Test func saveStateWritesTheSeedsCheckpointLayoutAndBundlesThem() async throws {
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        let older = try #require(
            await t.run("w1", "checkpoint", #"{"name": "first"}"#).result["checkpoint_id"]?.stringValue)
        await t.run("w1", "checkpoint", #"{"name": "first"}"#)
        await t.run("w1", "checkpoint", #"{"name": "second"}"#)
        let saved = await t.run(
            "w1", "save-state", #"{"include_checkpoints": true, "compress": false, "backup_location": "w1.bundle"}"#)
        #expect(saved.succeeded)
        let files = saved.result["files"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(files.contains { $0.hasSuffix("checkpoints/w1/first.json") })
        // The older checkpoint of a name taken twice is exported too (it was left out).
        let olderPath = t.directory.file("state/checkpoints/w1/first.\(older).json")
        #expect(files.contains(olderPath), "\(files)")
        let olderJSON = try JSONParser.parse(
            bytes: [UInt8](try #require(FileManager.default.contents(atPath: olderPath))))
        #expect(olderJSON["checkpoint_id"]?.stringValue == older)
        #expect(files.contains { $0.hasSuffix("checkpoints/w1/latest.json") })
        let latest = try #require(
            FileManager.default.contents(atPath: t.directory.file("state/checkpoints/w1/latest.json")))
        let json = try JSONParser.parse(bytes: [UInt8](latest))
        #expect(json["name"] == "second")
        #expect(json["snapshot"]?["format"] == "coordination-hub-checkpoint")
        let path = try #require(saved.result["bundle"]?["path"]?.stringValue)
        let bundle = try JSONParser.parse(bytes: [UInt8](try #require(FileManager.default.contents(atPath: path))))
        #expect(bundle["sections"]?["checkpoints"]?.arrayValue?.count == 3)
        let steps = saved.json["next_steps"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(steps.contains { $0.hasPrefix("Load it back") }, "\(steps)")
        // Without a bundle there is nothing load-state could read: it was suggested all the same.
        let plain = await t.run("w1", "save-state").json["next_steps"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(!plain.contains { $0.hasPrefix("Load it back") } && plain.contains { $0.contains("backup_location") })
    }

    @Test func retentionRemovesContentsNoCheckpointReferences() async throws {
        var config = Configuration()
        config.checkpointRetention = 1
        let hub = try TestHub(configuration: config)
        defer { hub.remove() }
        try Data("one".utf8).write(to: URL(fileURLWithPath: hub.directory.file("f.txt")))
        await hub.run("w1", "create", #"{"phases": ["a"]}"#)
        await hub.run("w1", "checkpoint", #"{"include_files": ["f.txt"]}"#)
        try Data("two".utf8).write(to: URL(fileURLWithPath: hub.directory.file("f.txt")))
        let second = await hub.run("w1", "checkpoint", #"{"include_files": ["f.txt"]}"#)
        #expect(second.result["expired"]?.arrayValue?.count == 1)
        let one = Checksum.sha256(Array("one".utf8))
        let two = Checksum.sha256(Array("two".utf8))
        let stored = try await hub.hub.store.read { tx in try tx.storedContents([one, two]) }
        #expect(stored == [two])
    }

    @Test func aRestoreRefusesToWriteThroughASymlinkedDirectory() async throws {
        let outside = try TemporaryDirectory("outside-dir")
        defer { outside.remove() }
        try write("sub/a.txt", Array("inside".utf8))
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        let id = try #require(
            await t.run("w1", "checkpoint", #"{"include_files": ["sub/*"]}"#).result["checkpoint_id"]?.stringValue)
        try FileManager.default.removeItem(atPath: workspace + "/sub")
        try FileManager.default.createSymbolicLink(atPath: workspace + "/sub", withDestinationPath: outside.path)
        let refused = await t.run("w1", "restore", "{\"checkpoint_id\": \"\(id)\"}")
        #expect(refused.errorCode == "PATH_NOT_ALLOWED", "\(refused.json)")
        #expect(!FileManager.default.fileExists(atPath: outside.file("a.txt")))
    }

    @Test func archivedWorkflowsListCheckpointsButRefuseNewOnesAndRestores() async throws {
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        await t.run("w1", "start")
        let id = try #require(await t.run("w1", "checkpoint").result["checkpoint_id"]?.stringValue)
        await t.run("w1", "cancel")
        await t.run("w1", "cleanup")
        #expect(await t.run("w1", "checkpoint").errorCode == "INVALID_TRANSITION")
        #expect(await t.run("w1", "restore", "{\"checkpoint_id\": \"\(id)\"}").errorCode == "INVALID_TRANSITION")
        #expect(await checkpoints().count == 1)
    }

    @Test func aCancelledWorkflowCanBeRestoredAndIsLeftPaused() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "a", "tasks": [{"task_id": "t1"}]}]}"#)
        await t.run("w1", "start")
        await t.run("w1", "checkpoint", #"{"name": "running"}"#)
        await t.run("w1", "cancel")
        let restored = await t.run("w1", "restore", #"{"name": "running"}"#)
        #expect(restored.result["status"] == "paused")
        #expect(await task("t1")?["status"] == "ready")
        #expect(await t.run("w1", "resume").succeeded)
    }

    /// Such files are refused now (`files` must lie in the workspace), but a store written
    /// before that may hold them: a capture skips and lists them.
    @Test func declaredFilesOutsideTheWorkspaceAreSkippedAndListed() async throws {
        try write("src/in.txt", Array("in".utf8))
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "a", "tasks": [{"task_id": "t1", "files": ["src/in.txt", "src/missing.txt"]}]}]}"#
        )
        try await t.hub.store.write { tx in
            guard var task = try tx.task(workflowID: "w1", taskID: "t1") else { return }
            task.files = ["src/in.txt", "/etc/hostname", "src/missing.txt"]
            try tx.update(task)
        }
        let cp = await t.run("w1", "checkpoint", #"{"include_files": true}"#)
        #expect(cp.result["files"]?["captured"] == 1)
        let skipped = cp.result["files"]?["skipped"]?.arrayValue ?? []
        #expect(skipped.map { $0["path"] } == ["/etc/hostname", "src/missing.txt"])
        #expect(skipped.map { $0["reason"] } == ["outside the workspace", "does not exist"])
        let none = await t.run("w1", "checkpoint", #"{"include_files": false}"#)
        #expect(none.result["file_count"] == 0)
        #expect(none.result["files"] == nil)
    }

    /// A restored pool leaves out agents deregistered since: bound, they kept every registered
    /// agent from the workflow's tasks, and nothing said why.
    @Test func aRestoredPoolLeavesOutDeregisteredAgents() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "a"}]}]}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "ag1"}"#)
        await t.run("w1", "assign-agents", #"{"agent_count": 1}"#)
        await t.run("w1", "start")
        let id = try #require(await t.run("w1", "checkpoint").result["checkpoint_id"]?.stringValue)
        await t.run(nil, "deregister-agent", #"{"agent_id": "ag1"}"#)
        #expect(await t.run("w1", "restore", "{\"checkpoint_id\": \"\(id)\"}").succeeded)
        await t.run(nil, "register-agent", #"{"agent_id": "ag2"}"#)
        await t.run("w1", "resume")
        #expect(try await claimAndComplete("ag2") == "a")
    }

    /// Restoring an earlier phase alone while a later one has started would hand out the later
    /// one's tasks before the work they depend on (`b` was claimed with `a` undone): refused,
    /// naming the phases to add; with them, the later phase is pending again.
    @Test func aPhaseIsNotReopenedUnderALaterOneThatHasStarted() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "p1", "tasks": [{"task_id": "a"}]}, {"name": "p2", "tasks": [{"task_id": "b", "depends_on": ["a"]}]}]}"#
        )
        await t.run(nil, "register-agent", #"{"agent_id": "ag", "max_concurrent_tasks": 3}"#)
        await t.run("w1", "start")
        let id = try #require(await t.run("w1", "checkpoint", #"{"name": "c0"}"#).result["checkpoint_id"]?.stringValue)
        #expect(try await claimAndComplete("ag") == "a")
        let before = await t.run("w1", "get-status").result["workflow_state"]?["state_version"]
        let refused = await t.run(
            "w1", "restore", "{\"checkpoint_id\": \"\(id)\", \"strategy\": \"partial_restore\", \"phases\": [1]}")
        #expect(refused.errorCode == "INVALID_PARAMETERS")
        #expect(refused.json["recovery_suggestions"]?.arrayValue?.first?.stringValue?.contains("[1, 2]") == true)
        #expect(await t.run("w1", "get-status").result["workflow_state"]?["state_version"] == before)
        let both = await t.run(
            "w1", "restore", "{\"checkpoint_id\": \"\(id)\", \"strategy\": \"partial_restore\", \"phases\": [1, 2]}")
        #expect(both.succeeded, "\(both.json)")
        #expect(await t.run("w1", "verify-state").result["valid"] == true)
        await t.run("w1", "resume")
        let claimed = await t.run(nil, "claim-task", #"{"agent_id": "ag", "max_tasks": 2}"#).result["tasks"]?.arrayValue
        #expect(claimed?.map { $0["task_id"] } == ["a"])
    }

    /// Phase 2 brought back running (from a later checkpoint) while phase 1 was open again:
    /// one claim handed out both phases' tasks, and the workflow completed with phase 2's running.
    @Test func aLaterPhaseIsNotBroughtBackStartedWhileAnEarlierOneIsOpen() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "p1", "tasks": [{"task_id": "a"}]}, {"name": "p2", "tasks": [{"task_id": "b"}]}]}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "ag", "max_concurrent_tasks": 2}"#)
        await t.run("w1", "start")
        let early = try #require(
            await t.run("w1", "checkpoint", #"{"name": "early"}"#).result["checkpoint_id"]?.stringValue)
        #expect(try await claimAndComplete("ag") == "a")
        let late = try #require(
            await t.run("w1", "checkpoint", #"{"name": "late"}"#).result["checkpoint_id"]?.stringValue)
        #expect(await t.run("w1", "restore", "{\"checkpoint_id\": \"\(early)\"}").succeeded)
        let before = await t.run("w1", "get-status").result["workflow_state"]?["state_version"]

        let refused = await t.run(
            "w1", "restore", "{\"checkpoint_id\": \"\(late)\", \"strategy\": \"partial_restore\", \"phases\": [2]}")

        #expect(refused.errorCode == "INVALID_PARAMETERS", "\(refused.json)")
        #expect(refused.json["recovery_suggestions"]?.arrayValue?.first?.stringValue?.contains("[1, 2]") == true)
        #expect(await t.run("w1", "get-status").result["workflow_state"]?["state_version"] == before)
    }
}
