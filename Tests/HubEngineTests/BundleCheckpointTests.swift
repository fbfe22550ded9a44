import Foundation
import HubCore
import HubEngine
import HubTesting
import Testing

/// `save-state` with `include_checkpoints` carries the checkpoints and their files' contents;
/// `load-state` of that bundle brings them back, checked, all or nothing (§6, §11).
@Suite struct BundleCheckpointTests {
    /// Where the bundle is written.
    let source: TestHub
    /// A fresh state directory it is loaded into.
    let fresh: TestHub
    init() throws {
        source = try TestHub()
        fresh = try TestHub()
    }

    var workspace: String { source.directory.path }
    let fm = FileManager.default

    func write(_ path: String, _ text: String) throws { try source.writeFile(path, text) }

    func read(_ path: String) -> String? { source.readFile(path) }

    /// w1 with two tasks, a checkpoint of the files in `src/` and one of the state alone,
    /// saved with its checkpoints to `w1.json` (not compressed, so tests can edit it).
    /// Answers the two checkpoint ids and the bundle's path.
    func saveWithCheckpoints() async throws -> (files: String, state: String, bundle: String) {
        try write("src/a.txt", "alpha")
        try write("src/b/c.txt", "gamma")
        await source.run(
            "w1", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "t1"}, {"task_id": "t2", "depends_on": ["t1"]}]}]}"#)
        await source.run("w1", "start")
        let files = try #require(
            await source.run("w1", "checkpoint", #"{"name": "with_files", "include_files": ["src/**"]}"#)
                .result["checkpoint_id"]?.stringValue)
        let state = try #require(
            await source.run("w1", "checkpoint", #"{"name": "state_only"}"#).result["checkpoint_id"]?.stringValue)
        let saved = await source.run(
            "w1", "save-state", #"{"backup_location": "w1.json", "include_checkpoints": true, "compress": false}"#)
        let path = try #require(saved.result["bundle"]?["path"]?.stringValue, "\(saved.json)")
        return (files, state, path)
    }

    /// Copies the bundle into `hub`'s state directory, so it may be loaded there.
    func hand(_ bundle: String, to hub: TestHub) throws {
        let target = hub.directory.file("state/w1.json")
        try fm.createDirectory(atPath: hub.directory.file("state"), withIntermediateDirectories: true)
        try? fm.removeItem(atPath: target)
        try fm.copyItem(atPath: bundle, toPath: target)
    }

    /// Rewrites the bundle through `edit`, with its checksums made right again (what a forger does).
    func forge(_ bundle: String, _ edit: (inout JSONValue) -> Void) throws {
        var document = try JSONParser.parse(bytes: [UInt8](try #require(fm.contents(atPath: bundle))), extraDepth: 16)
        var sections = try #require(document["sections"])
        edit(&sections)
        document["sections"] = sections
        var checksums: JSONValue = .emptyObject
        for (name, value) in sections.objectValue ?? [:] {
            checksums[name] = .string(Checksum.sha256(canonical: value))
        }
        document["checksums"] = checksums
        try Data(document.serializedBytes(.compact)).write(to: URL(fileURLWithPath: bundle))
    }

    func checkpoints(_ hub: TestHub) async -> [JSONValue] {
        await hub.run("w1", "list-checkpoints").result["checkpoints"]?.arrayValue ?? []
    }

    @Test func checkpointsComeBackWithTheirFilesInAFreshStateDirectory() async throws {
        let (files, state, bundle) = try await saveWithCheckpoints()
        try hand(bundle, to: fresh)

        let loaded = await fresh.run("w1", "load-state", #"{"bundle": "w1.json"}"#)

        #expect(loaded.succeeded, "\(loaded.json)")
        #expect(loaded.result["checkpoints"]?["loaded"] == .strings([files, state]))
        #expect(loaded.result["checkpoints"]?["contents_stored"] == 2)
        let listed = await checkpoints(fresh)
        #expect(listed.map { $0["checkpoint_id"] } == [.string(state), .string(files)])
        #expect(listed.allSatisfy { $0["valid"] == true }, "\(listed)")
        #expect(listed.last?["file_count"] == 2)
        #expect(await fresh.run("w1", "verify-state").result["checkpoints"]?["corrupt"] == [])

        // The workflow works where it was loaded: its restore writes there, never into the
        // project the bundle was saved from (it did, once).
        #expect(loaded.result["workspace"] == .string(fresh.directory.path))
        #expect(loaded.result["bundle_workspace"] == .string(workspace))
        try write("src/a.txt", "the source's own, later")
        try fresh.writeFile("src/new.txt", "not at the checkpoint")
        let restored = await fresh.run("w1", "restore", "{\"checkpoint_id\": \"\(files)\", \"strategy\": \"rollback\"}")
        #expect(restored.succeeded, "\(restored.json)")
        #expect(fresh.readFile("src/a.txt") == "alpha")
        #expect(fresh.readFile("src/b/c.txt") == "gamma")
        #expect(fresh.readFile("src/new.txt") == nil)
        #expect(read("src/a.txt") == "the source's own, later")
        // The restore kept the workflow where it is: it put the checkpoint's workspace back,
        // and the next restore wrote into the source's project.
        let after = await fresh.run("w1", "get-status").result["workflow_state"]?["workspace"]
        #expect(after == .string(fresh.directory.path))
        let again = await fresh.run("w1", "restore", "{\"checkpoint_id\": \"\(files)\"}")
        #expect(again.succeeded, "\(again.json)")
        #expect(read("src/a.txt") == "the source's own, later")
    }

    @Test func aBundleLoadsIntoTheWorkspaceItIsGivenOrRefusesOneThatIsNotThere() async throws {
        let (_, _, bundle) = try await saveWithCheckpoints()
        try hand(bundle, to: fresh)
        try fresh.writeFile("elsewhere/keep.txt", "x")

        let missing = await fresh.run("w1", "load-state", #"{"bundle": "w1.json", "workspace": "nowhere"}"#)
        #expect(missing.errorCode == "INVALID_PARAMETERS", "\(missing.json)")
        #expect(missing.error?.context?["field"] == "workspace")
        #expect(await fresh.run("w1", "get-status").errorCode == "WORKFLOW_NOT_FOUND")

        let loaded = await fresh.run("w1", "load-state", #"{"bundle": "w1.json", "workspace": "elsewhere"}"#)
        #expect(loaded.result["workspace"] == .string(fresh.directory.path + "/elsewhere"), "\(loaded.json)")
        let state = await fresh.run("w1", "get-status").result["workflow_state"]
        #expect(state?["workspace"] == .string(fresh.directory.path + "/elsewhere"), "\(state ?? .null)")
    }

    @Test func aBundleLoadedAgainKeepsTheCheckpointsItAlreadyBrought() async throws {
        let (files, state, bundle) = try await saveWithCheckpoints()
        try hand(bundle, to: fresh)
        #expect(await fresh.run("w1", "load-state", #"{"bundle": "w1.json"}"#).succeeded)

        let again = await fresh.run("w1", "load-state", #"{"bundle": "w1.json"}"#)
        let home = await source.run("w1", "load-state", #"{"bundle": "w1.json"}"#)

        #expect(again.succeeded, "\(again.json)")
        #expect(again.result["checkpoints"]?["loaded"] == [])
        #expect(again.result["checkpoints"]?["already_present"] == .strings([files, state]))
        #expect(home.result["checkpoints"]?["already_present"] == .strings([files, state]), "\(home.json)")
        #expect(await checkpoints(fresh).count == 2)
    }

    /// Two different checkpoints under one id: neither replaces the other, and the load
    /// changes nothing at all (the workflow neither).
    @Test func aCheckpointThatDiffersUnderTheSameIdRefusesTheWholeLoad() async throws {
        let (files, _, _) = try await saveWithCheckpoints()
        try await source.damageCheckpoint(files)
        await source.run("w1", "add-tasks", #"{"tasks": [{"task_id": "t3"}]}"#)
        let before = await source.run("w1", "get-status").result["workflow_state"]
        let listedBefore = await checkpoints(source)

        let refused = await source.run("w1", "load-state", #"{"bundle": "w1.json"}"#)

        #expect(refused.errorCode == "INVALID_PARAMETERS", "\(refused.json)")
        #expect(refused.error?.context?["conflicting_checkpoints"] == .strings([files]))
        #expect(await source.run("w1", "get-status").result["workflow_state"] == before)
        #expect(await checkpoints(source) == listedBefore)
        #expect(await source.run("w1", "get-events", #"{"event_types": ["state_restored"]}"#).result["count"] == 0)
    }

    @Test func aTamperedCheckpointRefusesTheLoadUnlessChecksAreOff() async throws {
        let (files, _, bundle) = try await saveWithCheckpoints()
        try forge(bundle) { sections in
            var list = sections["checkpoints"]?.arrayValue ?? []
            for n in list.indices where list[n]["checkpoint_id"] == .string(files) {
                list[n]["snapshot"]?["queue"] = .strings(["tampered"])
            }
            sections["checkpoints"] = .array(list)
        }
        try hand(bundle, to: fresh)

        let refused = await fresh.run("w1", "load-state", #"{"bundle": "w1.json"}"#)

        #expect(refused.errorCode == "CHECKPOINT_CORRUPT", "\(refused.json)")
        #expect(refused.error?.message.contains(files) == true)
        #expect(await fresh.run("w1", "get-status").errorCode == "WORKFLOW_NOT_FOUND")

        let unchecked = await fresh.run("w1", "load-state", #"{"bundle": "w1.json", "verify_integrity": false}"#)
        #expect(unchecked.succeeded, "\(unchecked.json)")
        let listed = await checkpoints(fresh)
        #expect(listed.first { $0["checkpoint_id"] == .string(files) }?["valid"] == false)
    }

    @Test func tamperedFileContentsRefuseTheLoad() async throws {
        let (_, _, bundle) = try await saveWithCheckpoints()
        let alpha = Checksum.sha256(Array("alpha".utf8))
        try forge(bundle) { sections in
            sections["checkpoint_contents"]?[alpha] = .string(Data("omega".utf8).base64EncodedString())
        }
        try hand(bundle, to: fresh)

        let refused = await fresh.run("w1", "load-state", #"{"bundle": "w1.json"}"#)

        #expect(refused.errorCode == "CHECKPOINT_CORRUPT", "\(refused.json)")
        #expect(await fresh.run("w1", "get-status").errorCode == "WORKFLOW_NOT_FOUND")
    }

    /// A bundle written before the contents travelled: its checkpoints come back, those with
    /// files say so, and the state alone can still be restored from them.
    @Test func aBundleWithoutContentsBringsItsCheckpointsBackForTheStateAlone() async throws {
        let (files, state, bundle) = try await saveWithCheckpoints()
        try forge(bundle) { sections in sections["checkpoint_contents"] = nil }
        try hand(bundle, to: fresh)

        let loaded = await fresh.run("w1", "load-state", #"{"bundle": "w1.json"}"#)

        #expect(loaded.result["checkpoints"]?["loaded"] == .strings([files, state]), "\(loaded.json)")
        #expect(loaded.result["checkpoints"]?["without_contents"] == .strings([files]))
        let listed = await checkpoints(fresh)
        #expect(listed.first { $0["checkpoint_id"] == .string(files) }?["valid"] == false)
        let partial = await fresh.run(
            "w1", "restore", "{\"checkpoint_id\": \"\(files)\", \"strategy\": \"partial_restore\"}")
        #expect(partial.succeeded, "\(partial.json)")
    }

    /// Names become file names in the export: one that would leave its folder is refused.
    @Test func aCheckpointNameThatLeavesItsFolderIsRefused() async throws {
        let (_, state, bundle) = try await saveWithCheckpoints()
        try forge(bundle) { sections in
            var list = sections["checkpoints"]?.arrayValue ?? []
            for n in list.indices where list[n]["checkpoint_id"] == .string(state) { list[n]["name"] = "../../pwn" }
            sections["checkpoints"] = .array(list)
        }
        try hand(bundle, to: fresh)

        #expect(await fresh.run("w1", "load-state", #"{"bundle": "w1.json"}"#).errorCode == "CHECKPOINT_CORRUPT")
        #expect(await fresh.run("w1", "get-status").errorCode == "WORKFLOW_NOT_FOUND")
    }

    /// A checkpoint already corrupt where the bundle was written travels without its snapshot:
    /// the others load and the result names it.
    @Test func aCheckpointCorruptAtTheSourceIsSkippedAndNamed() async throws {
        try write("src/a.txt", "alpha")
        await source.run("w1", "create", #"{"phases": ["p"]}"#)
        let good = try #require(await source.run("w1", "checkpoint").result["checkpoint_id"]?.stringValue)
        let bad = try #require(
            await source.run("w1", "checkpoint", #"{"name": "bad"}"#).result["checkpoint_id"]?.stringValue)
        try await source.damageCheckpoint(bad)
        let saved = await source.run(
            "w1", "save-state", #"{"backup_location": "w1.json", "include_checkpoints": true}"#)
        try hand(try #require(saved.result["bundle"]?["path"]?.stringValue), to: fresh)

        let loaded = await fresh.run("w1", "load-state", #"{"bundle": "w1.json"}"#)

        #expect(loaded.result["checkpoints"]?["loaded"] == .strings([good]), "\(loaded.json)")
        #expect(loaded.result["checkpoints"]?["skipped"]?.arrayValue?.map { $0["checkpoint_id"] } == [.string(bad)])
    }
}
