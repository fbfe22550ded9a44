import Foundation
import HubCore
import HubTesting
import Testing

@testable import HubEngine

/// A restore stages its files before the state transaction and installs them after it
/// commits; a refused restore discards them and leaves the workspace as it was.
@Suite struct WorkspaceRestoreTests {
    let directory: TemporaryDirectory
    let restorer: WorkspaceRestore
    let cleanup: DirectoryCleanup

    init() throws {
        directory = try TemporaryDirectory()
        cleanup = DirectoryCleanup(directory)
        restorer = WorkspaceRestore(
            files: WorkspaceFiles(workspace: directory.path, stateDirectory: directory.path + "/.state"))
    }

    func write(_ path: String, _ text: String) throws {
        let full = directory.path + "/" + path
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: full))
    }

    func read(_ path: String) -> String? {
        FileManager.default.contents(atPath: directory.path + "/" + path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Every name under the workspace, to see that nothing was left behind.
    func allNames() -> [String] {
        (FileManager.default.subpaths(atPath: directory.path) ?? []).sorted()
    }

    func entry(_ path: String, _ text: String) -> CheckpointFile {
        let bytes = Array(text.utf8)
        return CheckpointFile(path: path, sha256: Checksum.sha256(bytes), size: Int64(bytes.count), mode: 0o644)
    }

    /// A folder the checkpoint could not list is in its unread list: the files now found below
    /// it are not the checkpoint's to remove (the restore removed them), nor the whole workspace's
    /// when that could not be listed ("."); files beside it still are.
    @Test(arguments: ["docs/private", "."])
    func filesBelowAFolderTheCheckpointCouldNotListAreNotRemoved(_ unlisted: String) throws {
        defer { directory.remove() }
        try write("docs/private/notes.txt", "keep me")
        try write("docs/private/deeper/more.txt", "keep me too")
        try write("docs/privateer.txt", "not below it")
        let plan = try restorer.plan([], scope: ["docs/**"], unread: [unlisted])
        #expect(plan.removals == (unlisted == "." ? [] : ["docs/privateer.txt"]))
    }

    @Test func aDiscardedStagingChangesNothing() throws {
        defer { directory.remove() }
        try write("src/a.txt", "current")
        let manifest = [entry("src/a.txt", "checkpointed"), entry("new/deep/b.txt", "created")]
        let before = allNames()
        let plan = try restorer.plan(manifest, scope: [])
        let contents = Dictionary(
            uniqueKeysWithValues: [("checkpointed"), ("created")].map {
                (Checksum.sha256(Array($0.utf8)), Array($0.utf8))
            })
        let staged = try restorer.stage(plan, as: restorer.planned(plan), contents: contents)
        // Staged: the targets are untouched until install.
        #expect(read("src/a.txt") == "current")
        restorer.discard(staged)
        #expect(read("src/a.txt") == "current")
        #expect(allNames() == before)
    }

    @Test func anInstalledStagingPutsEveryFileInPlace() throws {
        defer { directory.remove() }
        try write("src/a.txt", "current")
        let manifest = [entry("src/a.txt", "checkpointed"), entry("new/deep/b.txt", "created")]
        let plan = try restorer.plan(manifest, scope: [])
        let contents = Dictionary(
            uniqueKeysWithValues: [("checkpointed"), ("created")].map {
                (Checksum.sha256(Array($0.utf8)), Array($0.utf8))
            })
        try restorer.install(try restorer.stage(plan, as: restorer.planned(plan), contents: contents))
        #expect(read("src/a.txt") == "checkpointed")
        #expect(read("new/deep/b.txt") == "created")
        #expect(!allNames().contains { $0.contains(WorkspaceRestore.temporaryPrefix) })
    }

    /// A file the checkpoint's globs matched but could not read was there: the checkpoint says
    /// nothing of it, so a restore leaves it where a file it did not match would be removed.
    @Test func filesTheCaptureCouldNotReadAreNotRemoved() throws {
        try write("src/kept.txt", "kept")
        try write("src/secret.key", "private")
        try write("src/new.txt", "new")
        let plan = try restorer.plan([entry("src/kept.txt", "kept")], scope: ["src/**"], unread: ["src/secret.key"])
        #expect(plan.removals == ["src/new.txt"])
    }

    /// A restore's temporary files (a killed restore leaves them) are never listed, and the
    /// files its globs match now may be more than a checkpoint captures.
    @Test func aRestoreLooksPastTheCaptureLimitAndItsOwnTemporaryFiles() throws {
        try write("src/a.txt", "a")
        try write("src/.hub-restore-1234abcd.tmp", "half written")
        for n in 0...WorkspaceFiles.maximumFiles { try write("src/gen/\(n)", "") }
        let plan = try restorer.plan([entry("src/a.txt", "a")], scope: ["src/**"])
        #expect(plan.removals.count == WorkspaceFiles.maximumFiles + 1)
        #expect(!plan.removals.contains("src/.hub-restore-1234abcd.tmp"))
    }
}
