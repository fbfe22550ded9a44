import Foundation
import HubCore
import HubEngine
import HubTesting
import Testing

@Suite struct StateBundleTests {
    let t: TestHub
    init() throws { t = try TestHub() }

    @Test func aBundleRoundTripsTheWholeWorkflow() async throws {
        await t.run(
            "w1", "create", #"{"phases": [{"name": "a", "tasks": [{"task_id": "t1", "payload": {"k": 1}}]}, "b"]}"#)
        await t.run("w1", "start")
        let saved = await t.run("w1", "save-state", #"{"backup_location": "b/w1.bundle", "compress": true}"#)
        let path = try #require(saved.result["bundle"]?["path"]?.stringValue)
        let bytes = try #require(FileManager.default.contents(atPath: path))
        #expect(saved.result["bundle"]?["sha256"]?.stringValue == Checksum.sha256([UInt8](bytes)))
        #expect(bytes.starts(with: [0x1F, 0x8B]))
        await t.run("w1", "add-tasks", #"{"tasks": [{"task_id": "t2"}]}"#)
        let loaded = await t.run("w1", "load-state", #"{"bundle": "b/w1.bundle"}"#)
        #expect(loaded.succeeded)
        let state = await t.run("w1", "get-status").result["workflow_state"]
        let tasks = state?["phases"]?.arrayValue?.first?["tasks"]?.arrayValue ?? []
        #expect(tasks.map { $0["task_id"] } == ["t1"])
        #expect(tasks.first?["payload"] == ["k": 1])
        #expect(state?["status"] == "paused")
        #expect(await t.run("w1", "get-events", #"{"event_types": ["state_restored"]}"#).result["count"] == 1)
    }

    /// A task running when the bundle was saved comes back to the queue, and the lease
    /// running now ends: it came back `running` with no lease, never to be claimed again.
    @Test func aBundleSavedMidTaskLoadsWithTheTaskQueuedAndTheLeaseEnded() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "t1"}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        let claim = await t.run(nil, "claim-task", #"{"agent_id": "ag"}"#).result["tasks"]?.arrayValue?.first
        let lease = try #require(claim?["lease_id"]?.stringValue)
        #expect(await t.run("w1", "save-state", #"{"backup_location": "b/mid.bundle"}"#).succeeded)
        #expect(await t.run("w1", "load-state", #"{"bundle": "b/mid.bundle"}"#).succeeded)
        let task = await t.run("w1", "get-status").result["workflow_state"]?["phases"]?.arrayValue?.first?["tasks"]?
            .arrayValue?.first
        #expect(task?["status"] == "ready")
        #expect(task?["assigned_agent"] == .null)
        #expect(await t.run(nil, "complete-task", "{\"lease_id\": \"\(lease)\"}").errorCode == "LEASE_EXPIRED")
        #expect(await t.run("w1", "verify-state").result["valid"] == true)
        #expect(await t.run("w1", "resume").succeeded)
        let again = await t.run(nil, "claim-task", #"{"agent_id": "ag"}"#).result["tasks"]?.arrayValue?.first
        #expect(again?["task_id"] == "t1")
    }

    @Test func aTamperedBundleIsCorruptAndChangesNothing() async throws {
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        let saved = await t.run("w1", "save-state", #"{"backup_location": "w1.json", "compress": false}"#)
        let path = try #require(saved.result["bundle"]?["path"]?.stringValue)
        var text = try String(contentsOfFile: path, encoding: .utf8)
        text = text.replacingOccurrences(of: "\"name\":\"a\"", with: "\"name\":\"z\"")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let before = await t.run("w1", "get-status").result["workflow_state"]?["state_version"]
        let refused = await t.run("w1", "load-state", #"{"bundle": "w1.json"}"#)
        #expect(refused.errorCode == "CHECKPOINT_CORRUPT")
        #expect(refused.error?.context?["newest_valid_checkpoint"] == .null)
        #expect(await t.run("w1", "get-status").result["workflow_state"]?["state_version"] == before)
    }

    @Test func aTamperedBundleNamesTheWorkflowsNewestValidCheckpoint() async throws {
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        let good = try #require(
            await t.run("w1", "checkpoint", #"{"name": "good"}"#).result["checkpoint_id"]?.stringValue)
        let bad = try #require(
            await t.run("w1", "checkpoint", #"{"name": "bad"}"#).result["checkpoint_id"]?.stringValue)
        try await t.damageCheckpoint(bad)
        let saved = await t.run("w1", "save-state", #"{"backup_location": "w1.json", "compress": false}"#)
        let path = try #require(saved.result["bundle"]?["path"]?.stringValue)
        var text = try String(contentsOfFile: path, encoding: .utf8)
        text = text.replacingOccurrences(of: "\"name\":\"a\"", with: "\"name\":\"z\"")
        try text.write(toFile: path, atomically: true, encoding: .utf8)

        let refused = await t.run("w1", "load-state", #"{"bundle": "w1.json"}"#)

        #expect(refused.errorCode == "CHECKPOINT_CORRUPT")
        #expect(refused.error?.context?["newest_valid_checkpoint"] == .string(good))
        #expect(refused.error?.message.contains(good) == true)
    }

    /// A bundle's checksums can be recomputed by whoever writes it, so what it holds is
    /// checked too: each of these edits, with its checksum made right, is refused.
    @Test(arguments: [
        "a task id that leaves the state directory", "a start before 1970", "a timeout past any clock",
        "a dependency cycle", "a task in no phase", "a current phase past the last",
        // Loaded before: a task file outside the workspace, a completed workflow with a phase running.
        "a task file outside the workspace", "a completed workflow with a running phase",
    ])
    func aForgedBundleWithValidChecksumsIsRefused(_ forgery: String) async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "a", "tasks": [{"task_id": "t1"}, {"task_id": "t2", "depends_on": ["t1"]}]}]}"#)
        await t.run("w1", "start")
        let saved = await t.run("w1", "save-state", #"{"backup_location": "w1.json", "compress": false}"#)
        let path = try #require(saved.result["bundle"]?["path"]?.stringValue)
        var document = try JSONParser.parse(try String(contentsOfFile: path, encoding: .utf8))
        var state = try #require(document["sections"]?["workflow"])
        var tasks = state["tasks"]?.arrayValue ?? []
        switch forgery {
        case "a task id that leaves the state directory": tasks[0]["task_id"] = "../../../outside/pwn"
        case "a start before 1970": state["workflow"]?["started_at"] = .int(Int64.min)
        case "a timeout past any clock": state["workflow"]?["timeout_ms"] = .int(Int64.max)
        case "a dependency cycle": tasks[0]["depends_on"] = .strings(["t2"])
        case "a task in no phase": tasks[1]["phase_id"] = 9
        case "a task file outside the workspace": tasks[0]["files"] = .strings(["../../../etc/passwd"])
        case "a completed workflow with a running phase": state["workflow"]?["status"] = "completed"
        default: state["workflow"]?["current_phase"] = 99
        }
        state["tasks"] = .array(tasks)
        document["sections"]?["workflow"] = state
        document["checksums"]?["workflow"] = .string(Checksum.sha256(canonical: state))
        try document.serialized().write(toFile: path, atomically: true, encoding: .utf8)
        let before = await t.run("w1", "get-status").result["workflow_state"]?["state_version"]
        let refused = await t.run("w1", "load-state", #"{"bundle": "w1.json"}"#)
        #expect(refused.errorCode == "CHECKPOINT_CORRUPT")
        #expect(await t.run("w1", "get-status").result["workflow_state"]?["state_version"] == before)
    }

    @Test(arguments: [
        ("hub.sqlite", "PATH_NOT_ALLOWED"), ("hub.sqlite-wal/", "PATH_NOT_ALLOWED"),
        ("workflows/active/w1.json", "PATH_NOT_ALLOWED"), ("config.json", "PATH_NOT_ALLOWED"),
        ("notes.txt/w1.json", "INVALID_PARAMETERS"), ("journal.lock", "PATH_NOT_ALLOWED"),
    ])
    func aBackupCannotReplaceTheHubsOwnFiles(_ location: String, _ code: String) async throws {
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        let store = t.directory.file("state/hub.sqlite")
        let before = try #require(FileManager.default.contents(atPath: store))
        #expect(FileManager.default.createFile(atPath: t.directory.file("state/notes.txt"), contents: Data("x".utf8)))
        let refused = await t.run("w1", "save-state", "{\"backup_location\": \"\(location)\"}")
        #expect(refused.errorCode == code)
        #expect(FileManager.default.contents(atPath: store) == before)
        #expect(!FileManager.default.fileExists(atPath: t.directory.file("state/config.json")))
        #expect(await t.run("w1", "get-status").succeeded)
    }

    /// The store the configuration names was not among the hub's files: a bundle written over
    /// it destroyed every workflow.
    @Test(arguments: ["data.db", "data.db-wal"])
    func aBackupCannotReplaceTheConfiguredStore(_ location: String) async throws {
        var configuration = Configuration()
        configuration.store = "data.db"
        let hub = try TestHub(configuration: configuration)
        defer { hub.remove() }
        let database = hub.directory.file("state/\(location)")
        try FileManager.default.createDirectory(
            atPath: hub.directory.file("state"), withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: database, contents: Data("db".utf8)))
        await hub.run("w1", "create", #"{"phases": ["a"]}"#)
        let refused = await hub.run("w1", "save-state", "{\"backup_location\": \"\(location)\"}")
        #expect(refused.errorCode == "PATH_NOT_ALLOWED", "\(refused.json)")
        #expect(FileManager.default.contents(atPath: database) == Data("db".utf8))
    }

    /// A payload as deep as a request may carry sits a few levels deeper in a bundle with
    /// checkpoints; the hub must read back what it wrote.
    @Test func aBundleWithTheDeepestPayloadLoadsBack() async throws {
        var payload: JSONValue = 1
        for _ in 0..<120 { payload = .array([payload]) }
        let task: JSONValue = ["task_id": "deep", "payload": payload]
        let create: JSONValue = ["phases": [["name": "a", "tasks": [task]]]]
        #expect(await t.run("w1", "create", create.serialized()).succeeded)
        await t.run("w1", "checkpoint")
        let saved = await t.run(
            "w1", "save-state", #"{"backup_location": "deep.json", "include_checkpoints": true, "compress": false}"#)
        #expect(saved.succeeded)
        let loaded = await t.run("w1", "load-state", #"{"bundle": "deep.json"}"#)
        #expect(loaded.errorCode == nil, "\(loaded.json)")
    }

    /// Whatever the hub writes at the top of its state directory is protected from backups:
    /// a folder added to the exports without joining `Paths.ownedFolders` fails here.
    @Test func everythingTheHubWritesInItsStateDirectoryIsProtected() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "a", "tasks": [{"task_id": "t"}]}]}"#)
        await t.run("w1", "start")
        await t.run("w1", "checkpoint")
        await t.run("w1", "save-state", #"{"include_checkpoints": true, "backup_location": "mine/"}"#)
        await t.run("w1", "complete", #"{"force": true, "generate_report": true, "archive_state": true}"#)
        let state = t.directory.file("state")
        let entries = try FileManager.default.contentsOfDirectory(atPath: state).filter { $0 != "mine" }
        #expect(Set(["hub.sqlite", "workflows", "checkpoints", "reports"]).isSubset(of: entries), "\(entries)")
        await t.run("w2", "create", #"{"phases": ["a"]}"#)
        for entry in entries {
            let refused = await t.run("w2", "save-state", "{\"backup_location\": \"\(entry)/x.json\"}")
            #expect(refused.errorCode == "PATH_NOT_ALLOWED", "\(entry)")
        }
        // The configuration, in whichever of its names: a bundle written over config.yml made
        // every later command fail reading it.
        for name in ["config.json", "config.yaml", "config.yml"] {
            let refused = await t.run("w2", "save-state", "{\"backup_location\": \"\(name)\"}")
            #expect(refused.errorCode == "PATH_NOT_ALLOWED", "\(name)")
            #expect(!FileManager.default.fileExists(atPath: "\(state)/\(name)"))
        }
    }

    @Test func aTruncatedBundleIsCorrupt() async throws {
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        let saved = await t.run("w1", "save-state", #"{"backup_location": "w1.gz", "compress": true}"#)
        let path = try #require(saved.result["bundle"]?["path"]?.stringValue)
        let bytes = try #require(FileManager.default.contents(atPath: path))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: path))
        #expect(await t.run("w1", "load-state", #"{"bundle": "w1.gz"}"#).errorCode == "CHECKPOINT_CORRUPT")
    }

    @Test func backupLocationsOutsideTheAllowedRootsAreRefused() async throws {
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        #expect(
            await t.run("w1", "save-state", #"{"backup_location": "/backup/workflows/"}"#).errorCode
                == "PATH_NOT_ALLOWED")
        #expect(
            await t.run("w1", "save-state", #"{"backup_location": "../escape.bundle"}"#).errorCode == "PATH_NOT_ALLOWED"
        )
        // Empty is refused by the schema, which MCP clients read (it let "" through to the engine).
        #expect(await t.run("w1", "save-state", #"{"backup_location": ""}"#).errorCode == "INVALID_PARAMETERS")
        #expect(await t.run("w1", "load-state", #"{"bundle": ""}"#).errorCode == "INVALID_PARAMETERS")
        // A '..' that stays inside is refused too, saying why: it was said to resolve outside.
        let inside = await t.run("w1", "save-state", #"{"backup_location": "sub/../x.gz"}"#)
        #expect(inside.errorCode == "PATH_NOT_ALLOWED")
        #expect(inside.error?.message.contains("has a '..' component") == true, "\(inside.json)")
        let outside = try TemporaryDirectory("outside")
        defer { outside.remove() }
        try FileManager.default.createDirectory(atPath: t.directory.file("state"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: t.directory.file("state/link"), withDestinationPath: outside.path)
        #expect(
            await t.run("w1", "save-state", #"{"backup_location": "link/x.bundle"}"#).errorCode == "PATH_NOT_ALLOWED")
        #expect(!FileManager.default.fileExists(atPath: outside.file("x.bundle")))
    }

    @Test func anAllowedRootAcceptsBundles() async throws {
        let root = try TemporaryDirectory("root")
        defer { root.remove() }
        var config = Configuration()
        config.allowedBackupRoots = [root.path]
        let hub = try TestHub(configuration: config)
        await hub.run("w1", "create", #"{"phases": ["a"]}"#)
        let saved = await hub.run("w1", "save-state", "{\"backup_location\": \"\(root.path)/\"}")
        #expect(saved.succeeded)
        #expect(saved.result["bundle"]?["path"]?.stringValue?.hasPrefix(root.path) == true)
    }

    /// `restore_agents` re-binds the pool the bundle recorded (§17), less agents not registered
    /// where it is loaded; it answered `agents_restored: 0` and bound nobody.
    @Test func restoreAgentsRebindsThePoolTheBundleRecorded() async throws {
        await t.run(nil, "register-agent", #"{"agent_id": "ag1"}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "ag2"}"#)
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "t1"}]}]}"#)
        await t.run("w1", "assign-agents", #"{"agent_count": 2}"#)
        #expect(await t.run("w1", "save-state", #"{"backup_location": "pool.bundle"}"#).succeeded)
        await t.run("w1", "assign-agents", #"{"agent_count": 2, "specializations": ["nobody_has_it"]}"#)
        await t.run(nil, "deregister-agent", #"{"agent_id": "ag2"}"#)
        let loaded = await t.run("w1", "load-state", #"{"bundle": "pool.bundle", "restore_agents": true}"#)
        #expect(loaded.result["agents_restored"] == 1, "\(loaded.json)")
        // The one left out is named, not dropped without a word.
        #expect(loaded.result["agents_not_registered"] == ["ag2"], "\(loaded.json)")
        let assignments = await t.run("w1", "get-status").result["workflow_state"]?["agent_assignments"]
        #expect(assignments?.objectValue?.keys.sorted() == ["ag1"], "\(String(describing: assignments))")
    }

    /// A section taken out of a bundle with its checksum left behind is a damaged bundle.
    @Test func aBundleMissingASectionIsCorrupt() async throws {
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        let saved = await t.run("w1", "save-state", #"{"backup_location": "cut.json", "compress": false}"#)
        let path = try #require(saved.result["bundle"]?["path"]?.stringValue)
        var document = try JSONParser.parse(bytes: [UInt8](try #require(FileManager.default.contents(atPath: path))))
        document["sections"]?["events"] = nil
        try Data(document.serializedBytes(.compact)).write(to: URL(fileURLWithPath: path))
        #expect(await t.run("w1", "load-state", #"{"bundle": "cut.json"}"#).errorCode == "CHECKPOINT_CORRUPT")
    }
}
