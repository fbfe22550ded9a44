import Foundation
import HubCore
import HubEngine
import HubTesting
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A restore with files brings every captured file back exactly or refuses and changes
/// nothing: it never deletes or writes through what stands in the way.
@Suite struct RestoreSafetyTests {
    let t: TestHub
    init() throws { t = try TestHub() }

    var workspace: String { t.directory.path }
    let fm = FileManager.default

    func write(_ path: String, _ text: String) throws { try t.writeFile(path, text) }

    func read(_ path: String) -> String? { t.readFile(path) }

    func version() async -> JSONValue? {
        await t.run("w1", "get-status").result["workflow_state"]?["state_version"]
    }

    func checkpoint(_ globs: String = #"["**"]"#) async throws -> String {
        let taken = await t.run("w1", "checkpoint", "{\"include_files\": \(globs)}")
        return try #require(taken.result["checkpoint_id"]?.stringValue, "\(taken.json)")
    }

    @Test func aDirectoryOrSymlinkInTheWayRefusesTheRestoreAndDeletesNothing() async throws {
        let outside = try TemporaryDirectory("outside")
        defer { outside.remove() }
        try write("a.txt", "a")
        try write("d/c.txt", "c")
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        let id = try await checkpoint()
        try fm.removeItem(atPath: workspace + "/a.txt")
        try write("a.txt/inner", "keep")
        try fm.removeItem(atPath: workspace + "/d")
        try fm.createSymbolicLink(atPath: workspace + "/d", withDestinationPath: outside.path)
        let before = await version()

        let refused = await t.run("w1", "restore", "{\"checkpoint_id\": \"\(id)\"}")

        #expect(refused.errorCode == "PATH_NOT_ALLOWED", "\(refused.json)")
        let message = refused.error?.message ?? ""
        #expect(message.contains("a.txt is a directory"))
        #expect(message.contains("d (for d/c.txt) is a symbolic link"))
        #expect(read("a.txt/inner") == "keep")
        #expect((try? fm.destinationOfSymbolicLink(atPath: workspace + "/d")) == outside.path)
        #expect(!fm.fileExists(atPath: outside.file("c.txt")))
        #expect(await version() == before)
    }

    /// Found by session 25's probe: a workspace that is the state directory, or inside it, let a
    /// checkpoint capture the store (hub.sqlite) and a restore write it back over the live
    /// database. `create` refuses such a workspace, and a workflow stored with one before (its
    /// workspace changed behind the hub's back here) is refused by checkpoint and restore alike.
    @Test func aWorkspaceInsideTheStateDirectoryIsRefused() async throws {
        let state = t.hub.stateDirectory
        try FileManager.default.createDirectory(atPath: state + "/inner", withIntermediateDirectories: true)
        for inside in [state, state + "/inner"] {
            let created = await t.run("bad", "create", "{\"phases\": [\"a\"], \"workspace\": \"\(inside)\"}")
            #expect(created.errorCode == "INVALID_PARAMETERS", "\(created.json)")
            #expect(created.json["error"]?["context"]?["field"] == "workspace")
        }
        #expect(await t.run("bad", "get-status").errorCode == "WORKFLOW_NOT_FOUND")
        await t.run("w3", "create", #"{"phases": ["a"]}"#)
        try t.writeFile("a.txt", "one")
        #expect(await t.run("w3", "checkpoint", #"{"name": "c1", "include_files": ["a.txt"]}"#).succeeded)
        try await t.hub.store.write { tx in
            guard var w = try tx.workflow("w3") else { return }
            w.workspace = state
            try tx.update(w)
        }
        let capture = await t.run("w3", "checkpoint", #"{"name": "c2", "include_files": ["hub.sqlite"]}"#)
        #expect(capture.errorCode == "PATH_NOT_ALLOWED", "\(capture.json)")
        let restore = await t.run("w3", "restore", #"{"name": "c1"}"#)
        #expect(restore.errorCode == "PATH_NOT_ALLOWED", "\(restore.json)")
        #expect(!FileManager.default.fileExists(atPath: state + "/a.txt"))
        #expect(await t.run("w3", "get-status").result["workflow_state"]?["status"] == "created")
    }

    /// Found by session 18's probe: the workspace itself replaced by a symlink had the restore
    /// write into the link's target and remove the files it found there.
    @Test func aWorkspaceReplacedByASymlinkRefusesTheRestoreAndTouchesNothingBehindIt() async throws {
        let outside = try TemporaryDirectory("outside")
        defer { outside.remove() }
        try write("ws/one.txt", "one")
        let ws = workspace + "/ws"
        await t.run("w2", "create", "{\"phases\": [\"a\"], \"workspace\": \"\(ws)\"}")
        let taken = await t.run("w2", "checkpoint", #"{"include_files": ["*.txt"]}"#)
        let id = try #require(taken.result["checkpoint_id"]?.stringValue, "\(taken.json)")
        try fm.moveItem(atPath: ws, toPath: workspace + "/ws.real")
        try Data("victim".utf8).write(to: URL(fileURLWithPath: outside.file("v.txt")))
        try fm.createSymbolicLink(atPath: ws, withDestinationPath: outside.path)
        let before = await t.run("w2", "get-status").result["workflow_state"]?["state_version"]

        let refused = await t.run("w2", "restore", "{\"checkpoint_id\": \"\(id)\"}")

        #expect(refused.errorCode == "PATH_NOT_ALLOWED", "\(refused.json)")
        #expect(refused.error?.message.contains("is a symlink") == true)
        #expect(fm.contents(atPath: outside.file("v.txt")) == Data("victim".utf8))
        #expect(!fm.fileExists(atPath: outside.file("one.txt")))
        #expect(await t.run("w2", "get-status").result["workflow_state"]?["state_version"] == before)
    }

    @Test func aSymlinkStandingInForAMovedDirectoryRefusesTheRestoreAndKeepsTheMovedFiles() async throws {
        try write("src/sub/b.txt", "b")
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        let id = try await checkpoint()
        try fm.moveItem(atPath: workspace + "/src/sub", toPath: workspace + "/src/sub.orig")
        try fm.createSymbolicLink(atPath: workspace + "/src/sub", withDestinationPath: "sub.orig")

        let refused = await t.run("w1", "restore", "{\"checkpoint_id\": \"\(id)\"}")

        #expect(refused.errorCode == "PATH_NOT_ALLOWED", "\(refused.json)")
        #expect(refused.error?.context?["in_the_way"]?.arrayValue?.first?["in_the_way"] == "src/sub")
        #expect(read("src/sub.orig/b.txt") == "b")
    }

    @Test func aSymlinkInPlaceOfACapturedFileIsKeptAndTheRestoreRefused() async throws {
        try write("a.txt", "a")
        try write("target.txt", "target")
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        let id = try await checkpoint(#"["a.txt"]"#)
        try fm.removeItem(atPath: workspace + "/a.txt")
        try fm.createSymbolicLink(atPath: workspace + "/a.txt", withDestinationPath: "target.txt")

        let refused = await t.run("w1", "restore", "{\"checkpoint_id\": \"\(id)\"}")

        #expect(refused.errorCode == "PATH_NOT_ALLOWED", "\(refused.json)")
        #expect((try? fm.destinationOfSymbolicLink(atPath: workspace + "/a.txt")) == "target.txt")
        #expect(read("target.txt") == "target")
    }

    @Test func aFileWhosePathNearlyFillsPathMaxIsRestored() async throws {
        // Directories of 200 bytes down to a file whose absolute path is 4090 bytes: any
        // temporary name longer than the file's own overflows PATH_MAX when named by full path.
        var relative = ""
        while workspace.utf8.count + 1 + relative.utf8.count + 201 + 6 <= 4090 {
            relative += String(repeating: "d", count: 200) + "/"
        }
        let padding = 4090 - (workspace.utf8.count + 1 + relative.utf8.count + 6)
        relative += String(repeating: "e", count: max(1, padding)) + "/f.txt"
        #expect(workspace.utf8.count + 1 + relative.utf8.count == 4090)
        try write(relative, "checkpointed")
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        let id = try await checkpoint()
        try write(relative, "changed")

        let restored = await t.run("w1", "restore", "{\"checkpoint_id\": \"\(id)\"}")

        #expect(restored.succeeded, "\(restored.json)")
        #expect(read(relative) == "checkpointed")
    }

    @Test func aNameThatIsNotUTF8IsListedAsSkippedAndNeverRemoved() async throws {
        try write("src/ok.txt", "ok")
        let raw = Array((workspace + "/src/bad").utf8) + [0xFF, 0xFE] + Array("name.txt".utf8) + [0]
        let fd = raw.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { name in
                name.baseAddress.map { open($0, O_CREAT | O_WRONLY | O_CLOEXEC, 0o644) } ?? -1
            }
        }
        try #require(fd >= 0)
        close(fd)
        await t.run("w1", "create", #"{"phases": ["a"]}"#)

        let taken = await t.run("w1", "checkpoint", #"{"include_files": ["src/**"]}"#)

        #expect(taken.result["files"]?["captured"] == 1)
        let skipped = taken.result["files"]?["skipped"]?.arrayValue ?? []
        #expect(skipped.map { $0["path"] } == [.string("src/bad\\xFF\\xFEname.txt")])
        #expect(skipped.first?["reason"]?.stringValue?.contains("not valid UTF-8") == true)
        let id = try #require(taken.result["checkpoint_id"]?.stringValue)
        #expect(await t.run("w1", "restore", "{\"checkpoint_id\": \"\(id)\"}").succeeded)
        #expect(try fm.contentsOfDirectory(atPath: workspace + "/src").count == 2)
    }

    /// A task's declared file is that path, not a glob: `app/[id]/page.tsx` (a Next.js route)
    /// was read as a character class, so the file was not captured and a restore removed
    /// `app/d/page.tsx`, which nobody declared.
    @Test func declaredFilesAreLiteralPathsNotPatterns() async throws {
        try write("app/[id]/page.tsx", "PAGE")
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "t1", "files": ["app/[id]/page.tsx"]}]}]}"#)
        let taken = await t.run("w1", "checkpoint", #"{"include_files": true}"#)
        #expect(taken.result["files"]?["captured"] == 1, "\(taken.json)")
        let id = try #require(taken.result["checkpoint_id"]?.stringValue)
        try write("app/d/page.tsx", "never declared")
        try write("app/[id]/page.tsx", "BROKEN")
        let restored = await t.run("w1", "restore", "{\"checkpoint_id\": \"\(id)\"}")
        #expect(restored.succeeded, "\(restored.json)")
        #expect(read("app/[id]/page.tsx") == "PAGE")
        #expect(read("app/d/page.tsx") == "never declared")
    }
}
