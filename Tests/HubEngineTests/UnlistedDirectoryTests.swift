import Foundation
import HubCore
import HubEngine
import HubTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A directory a checkpoint could not list (its permissions, or a path past PATH_MAX) is said
/// in `skipped`, and a restore leaves what it holds alone. Passed over in silence, its files
/// were "not held by the checkpoint", and a restore that could list it removed them (found by
/// session 25's probe with a chmod 000 folder). The tests run as root, which lists any folder,
/// so this one uses a path longer than PATH_MAX, which `opendir` refuses as well;
/// `WorkspaceRestoreTests` holds the restore's plan to leaving such a folder's files alone.
@Suite struct UnlistedDirectoryTests {
    let t: TestHub
    init() throws { t = try TestHub() }

    static let name = String(repeating: "d", count: 200)
    static let depth = 21

    /// Makes `deep/<name>/…` `depth` folders deep (through open directories, as a path that
    /// long cannot be named) with `keep.txt` at the bottom; returns the folder that cannot be listed
    /// (relative to the workspace).
    func makeDeepFolders() throws -> String {
        try FileManager.default.createDirectory(
            atPath: t.directory.path + "/deep", withIntermediateDirectories: true)
        var fd = open(t.directory.path + "/deep", O_RDONLY | O_DIRECTORY)
        try #require(fd >= 0)
        for _ in 0..<Self.depth {
            #expect(mkdirat(fd, Self.name, 0o755) == 0)
            let next = openat(fd, Self.name, O_RDONLY | O_DIRECTORY)
            close(fd)
            fd = next
            try #require(fd >= 0)
        }
        let file = openat(fd, "keep.txt", O_CREAT | O_WRONLY, 0o644)
        try #require(file >= 0)
        _ = write(file, "keep", 4)
        close(file)
        close(fd)
        // The first folder whose absolute path is past PATH_MAX.
        var relative = "deep"
        while (t.directory.path + "/" + relative).utf8.count < Int(PATH_MAX) { relative += "/" + Self.name }
        return relative
    }

    /// Whether `keep.txt` is still at the bottom.
    func keepIsThere() -> Bool {
        var fd = open(t.directory.path + "/deep", O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { return false }
        for _ in 0..<Self.depth {
            let next = openat(fd, Self.name, O_RDONLY | O_DIRECTORY)
            close(fd)
            fd = next
            guard fd >= 0 else { return false }
        }
        defer { close(fd) }
        return faccessat(fd, "keep.txt", F_OK, 0) == 0
    }

    @Test func aRestoreLeavesTheFilesOfAFolderTheCheckpointCouldNotListAlone() async throws {
        defer {
            // FileManager cannot remove what a path cannot name; rm walks down through open folders.
            let rm = try? SpawnedProcess.spawn(
                "/bin/rm", arguments: ["-rf", t.directory.path + "/deep"],
                environment: ProcessInfo.processInfo.environment)
            rm?.waitUntilExit()
            t.remove()
        }
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "t1"}]}]}"#)
        let unlisted = try makeDeepFolders()
        try t.writeFile("deep/top.txt", "one")
        let taken = await t.run("w1", "checkpoint", #"{"name": "c1", "include_files": ["deep/**"]}"#)
        #expect(taken.succeeded, "\(taken.json)")
        let restored = await t.run("w1", "restore", #"{"name": "c1"}"#)
        #expect(restored.succeeded, "\(restored.json)")
        #expect(keepIsThere(), "the restore removed a file below a folder the checkpoint could not list")
        #expect(t.readFile("deep/top.txt") == "one")
        let removed = restored.result["files"]?["removed"]?.arrayValue ?? []
        #expect(removed.isEmpty, "\(restored.json)")
        // The checkpoint said which folder it passed over, and why.
        let answer = taken.json.serialized(.compact)
        #expect(answer.contains(unlisted), "\(answer.prefix(2000))")
        #expect(answer.contains("could not be read"), "\(answer.prefix(2000))")
        // Named by a literal path, the file below it is not said not to exist (a restore that
        // could look removed it as not held by the checkpoint): it is kept among the unread.
        // (A name at depth 20, its path short of the parameters' 4,096 characters and its absolute
        // path past PATH_MAX.)
        let literal =
            "deep/" + Array(repeating: Self.name, count: Self.depth - 1).joined(separator: "/") + "/"
            + String(repeating: "k", count: 4_090 - 4_026)
        #expect(literal.utf8.count <= 4_096 && (t.directory.path + "/" + literal).utf8.count > Int(PATH_MAX))
        let named = await t.run("w1", "checkpoint", "{\"name\": \"c2\", \"include_files\": [\"\(literal)\"]}")
        let skipped = named.result["files"]?["skipped"]?.arrayValue?.first
        #expect(skipped?["reason"]?.stringValue?.hasPrefix("could not be looked at") == true, "\(named.json)")
    }

    /// A FIFO matched by a literal pattern and by a glob was listed twice in `skipped`.
    @Test func aPathMatchedTwiceIsSkippedOnce() async throws {
        defer { t.remove() }
        await t.run("w1", "create", #"{"phases": ["p"]}"#)
        try t.writeFile("src/a.txt", "a")
        #expect(mkfifo(t.directory.path + "/src/pipe", 0o644) == 0)
        let taken = await t.run("w1", "checkpoint", #"{"include_files": ["src/pipe", "src/*"]}"#)
        let skipped = taken.result["files"]?["skipped"]?.arrayValue ?? []
        #expect(skipped.compactMap { $0["path"]?.stringValue } == ["src/pipe"], "\(taken.json)")
        #expect(taken.result["files"]?["captured"] == 1, "\(taken.json)")
    }
}
