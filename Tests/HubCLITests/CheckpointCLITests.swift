import Foundation
import HubCore
import HubTesting
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Checkpoints as a user runs them: the built executable in a temporary workspace.
@Suite struct CheckpointCLITests {
    func write(_ hub: DispatchSandbox, _ path: String, _ bytes: [UInt8]) throws {
        let full = hub.file(path)
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: full))
    }

    func bytes(_ hub: DispatchSandbox, _ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: hub.file(path)).map { [UInt8]($0) }
    }

    @Test func aBadChangeIsRolledBackByteForByteAndTheWorkRequeued() throws {
        let hub = try DispatchSandbox("checkpoint-walkthrough")
        defer { hub.remove() }
        let good = Array("let answer = 42\n".utf8)
        try write(hub, "src/app.swift", good)
        try hub.succeed(
            "w", "create",
            #"{"phases": [{"name": "build", "tasks": [{"task_id": "edit", "files": ["src/app.swift"]}, {"task_id": "ship", "depends_on": ["edit"]}]}]}"#
        )
        try hub.succeed("w", "start")
        try hub.succeed("register-agent", #"{"agent_id": "ag"}"#)
        let checkpoint = try hub.succeed("w", "checkpoint", #"{"name": "before_edit", "include_files": true}"#)
        #expect(checkpoint["file_count"]?.intValue == 1)

        let claimed = try hub.succeed("claim-task", #"{"agent_id": "ag"}"#)["tasks"]?.arrayValue?.first
        let lease = try #require(claimed?["lease_id"]?.stringValue)
        try write(hub, "src/app.swift", Array("let answer = \"broken\"\n".utf8))
        try hub.succeed("complete-task", "{\"lease_id\": \"\(lease)\"}")

        let restored = try hub.succeed("w", "restore", #"{"name": "before_edit", "strategy": "rollback"}"#)
        #expect(bytes(hub, "src/app.swift") == good)
        #expect(restored["files"]?["changed"] == ["src/app.swift"])
        #expect(restored["undone_tasks"] == ["edit"])
        #expect(restored["status"]?.stringValue == "paused")
        #expect(try hub.tasks("w")["edit"]?["status"]?.stringValue == "ready")
        try hub.succeed("w", "resume")
        let again = try hub.succeed("claim-task", #"{"agent_id": "ag"}"#)["tasks"]?.arrayValue?.first
        #expect(again?["task_id"]?.stringValue == "edit")
        let listed = try hub.succeed("w", "list-checkpoints")
        #expect(listed["checkpoints"]?.arrayValue?.first?["name"] == "before_edit")
        #expect(listed["checkpoints"]?.arrayValue?.first?["valid"] == true)
    }

    @Test func badInputIsAClearErrorAndNothingOutsideTheWorkspaceIsTouched() throws {
        let hub = try DispatchSandbox("checkpoint-bad-input")
        defer { hub.remove() }
        let outside = try TemporaryDirectory("checkpoint-outside")
        defer { outside.remove() }
        try Data("do not touch".utf8).write(to: URL(fileURLWithPath: outside.file("secret")))
        try FileManager.default.createSymbolicLink(atPath: hub.file("escape"), withDestinationPath: outside.path)
        try hub.succeed("w", "create", #"{"phases": ["a"]}"#)
        try hub.fail(["w", "restore", #"{"checkpoint_id": "chkpt_missing"}"#], code: "CHECKPOINT_NOT_FOUND")
        try hub.fail(["w", "checkpoint", #"{"include_files": ["../*"]}"#], code: "PATH_NOT_ALLOWED")
        try hub.fail(["w", "checkpoint", "{\"include_files\": [\"\(outside.path)/*\"]}"], code: "PATH_NOT_ALLOWED")
        try hub.fail(["w", "checkpoint", #"{"name": "a/b"}"#], code: "INVALID_PARAMETERS")
        let skipped = try hub.succeed("w", "checkpoint", #"{"include_files": ["escape/*", "escape"]}"#)
        #expect(skipped["file_count"]?.intValue == 0)
        #expect(skipped["files"]?["skipped"]?.arrayValue?.first?["path"] == "escape")
        #expect(FileManager.default.contents(atPath: outside.file("secret")) == Data("do not touch".utf8))
        let help = try hub.run(["help", "checkpoint"])
        #expect(help.stdout.contains("include_files"))
    }

    /// A bundle saved with its checkpoints, loaded by a hub in another directory, brings them
    /// back with their files: that hub restores its own workspace from them, and leaves the
    /// project the bundle came from alone.
    @Test func aBundleCarriesCheckpointsAndTheirFilesToAnotherStateDirectory() throws {
        let hub = try DispatchSandbox("checkpoint-bundle-from")
        defer { hub.remove() }
        let other = try DispatchSandbox("checkpoint-bundle-to")
        defer { other.remove() }
        let good = Array("let answer = 42\n".utf8)
        try write(hub, "src/app.swift", good)
        try hub.succeed("w", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "t"}]}]}"#)
        let id = try #require(
            try hub.succeed("w", "checkpoint", #"{"name": "good", "include_files": ["src/*"]}"#)["checkpoint_id"]?
                .stringValue)
        let saved = try hub.succeed(
            "w", "save-state", #"{"include_checkpoints": true, "backup_location": "backups/w.hubbundle.gz"}"#)
        let bundle = try #require(saved["bundle"]?["path"]?.stringValue)
        try FileManager.default.createDirectory(
            atPath: other.file(".claude/coordination"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: bundle, toPath: other.file(".claude/coordination/w.hubbundle.gz"))
        try write(hub, "src/app.swift", Array("broken\n".utf8))

        let loaded = try other.succeed("w", "load-state", #"{"bundle": "w.hubbundle.gz"}"#)

        #expect(loaded["checkpoints"]?["loaded"] == .strings([id]), "\(loaded)")
        let listed = try other.succeed("w", "list-checkpoints")["checkpoints"]?.arrayValue ?? []
        #expect(listed.map { $0["checkpoint_id"] } == [.string(id)])
        #expect(listed.first?["valid"] == true)
        try other.succeed("w", "restore", #"{"name": "good"}"#)
        #expect(bytes(other, "src/app.swift") == good)
        #expect(bytes(hub, "src/app.swift") == Array("broken\n".utf8))
    }

    /// A restore killed with SIGKILL while it puts files in place (after its state commit):
    /// each file is wholly old or wholly new, and the next command, whatever it is, first
    /// finishes the files from the restore's journal, so nobody has to run it again.
    @Test func aRestoreKilledMidwayLeavesEveryFileWholeAndTheStateConsistent() async throws {
        let hub = try DispatchSandbox("checkpoint-kill")
        defer { hub.remove() }
        // Enough to be killed midway, few enough that its fsyncs do not starve the suite's
        // timing-sensitive agent tests running beside it.
        let count = 150
        let size = 64 * 1024
        let base = [UInt8]((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        let old = (0..<count).map { n in base.map { $0 &+ UInt8(truncatingIfNeeded: n) } }
        let new = old.map { file in file.map { $0 ^ 0xFF } }
        func content(_ n: Int, _ generation: UInt8) -> [UInt8] { generation == 0 ? old[n] : new[n] }
        func name(_ n: Int) -> String { "data/f" + String(1000 + n).dropFirst() }
        for n in 0..<count { try write(hub, name(n), content(n, 0)) }
        try hub.succeed("w", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "t"}]}]}"#)
        try hub.succeed("w", "start")
        let id = try #require(
            try hub.succeed("w", "checkpoint", #"{"include_files": ["data/*"]}"#)["checkpoint_id"]?.stringValue)
        for n in 0..<count { try write(hub, name(n), content(n, 0xFF)) }

        let restore = try hub.launch(["w", "restore", "{\"checkpoint_id\": \"\(id)\"}"], log: "restore")
        // Kill it as soon as the first file is back, while the rest are being written.
        let first = content(0, 0)
        while restore.isRunning && bytes(hub, name(0)) != first {}
        // Only while it runs: once it has exited its pid is free, and the suite spawns enough
        // processes for the pid to be handed to another test's process.
        if restore.isRunning { kill(restore.processIdentifier, SIGKILL) }
        restore.waitUntilExit()

        var restoredCount = 0
        for n in 0..<count {
            let now = bytes(hub, name(n))
            #expect(now == content(n, 0) || now == content(n, 0xFF), "\(name(n)) is neither wholly old nor new")
            if now == content(n, 0) { restoredCount += 1 }
        }
        #expect(restoredCount >= 1)
        let state = try hub.succeed("w", "verify-state")
        #expect(state["valid"] == true, "\(state)")
        #expect(state["checkpoints"]?["corrupt"] == [])
        for n in 0..<count { #expect(bytes(hub, name(n)) == content(n, 0), "\(name(n)) was not finished") }
        func leftovers() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: hub.file("data"))) ?? []).filter {
                $0.hasPrefix(".hub-restore-")
            }
        }
        #expect(leftovers().isEmpty, "temporary files left: \(leftovers())")
        let journals =
            (try? FileManager.default.contentsOfDirectory(atPath: hub.file(".claude/coordination/journal"))) ?? []
        #expect(journals.isEmpty, "\(journals)")
        let finished = try hub.succeed("w", "get-events", #"{"event_types": ["files_restored"]}"#)
        #expect(finished["count"] == 1, "\(finished)")
        // Running it again anyway changes nothing and is fine.
        try hub.succeed("w", "restore", "{\"checkpoint_id\": \"\(id)\"}")
        for n in 0..<count { #expect(bytes(hub, name(n)) == content(n, 0)) }
        #expect(leftovers().isEmpty, "temporary files left: \(leftovers())")
    }
}
