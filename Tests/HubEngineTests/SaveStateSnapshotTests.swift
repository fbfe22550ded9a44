import Foundation
import HubCore
import HubEngine
import HubStore
import HubStoreSQLite
import HubTesting
import Synchronization
import Testing

/// `save-state` exports one moment of the store (§6 a faithful export, §9 no event without
/// its change), and its checkpoint files mirror the checkpoints stored.
@Suite struct SaveStateSnapshotTests {
    /// A store that lets another process commit a change before each read it serves, while
    /// armed: what a busy hub does between two read transactions, made certain.
    final class InterleavingStore: Store {
        let base: SQLiteStore
        let between = Mutex<(@Sendable () async -> Void)?>(nil)

        init(_ base: SQLiteStore) { self.base = base }

        func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T {
            if let change = between.withLock({ $0 }) { await change() }
            return try await base.read(body)
        }

        func write<T: Sendable>(_ body: @escaping @Sendable (any StoreWriter) throws -> T) async throws -> T {
            try await base.write(body)
        }

        func close() async throws { try await base.close() }

        func observeCommits(_ observer: (any CommitObserver)?) { base.observeCommits(observer) }
    }

    /// The workflow, pool, checkpoints and events were each read in their own transaction:
    /// with claims and completions going on, 13 of 25 bundles had a workflow older than their
    /// events. A change committed before every read shows whether any section was read apart.
    @Test func everySectionOfASaveComesFromOneRead() async throws {
        let t = try TestHub()
        let store = InterleavingStore(try SQLiteStore(path: t.directory.file("state/hub.sqlite")))
        let hub = Hub(
            store: store, stateDirectory: t.directory.file("state"), clock: t.clock,
            workingDirectory: t.directory.path)
        let other = try t.otherProcess()
        await t.run("w1", "create", #"{"phases": [{"name": "a", "tasks": [{"task_id": "t0"}]}]}"#)
        await t.run("w1", "checkpoint")
        let added = Mutex(0)
        store.between.withLock {
            $0 = {
                let n = added.withLock { count in
                    count += 1
                    return count
                }
                let tasks = "{\"tasks\": [{\"task_id\": \"x\(n)\"}]}"
                let parameters = (try? JSONParser.parse(tasks)) ?? .emptyObject
                _ = await other.perform(
                    OperationRequest(workflowID: "w1", operation: "add-tasks", parameters: parameters))
            }
        }
        let saved = await hub.perform(
            OperationRequest(
                workflowID: "w1", operation: "save-state",
                parameters: ["backup_location": "w1.json", "compress": false, "include_checkpoints": true]))
        store.between.withLock { $0 = nil }
        #expect(saved.errorCode == nil, "\(saved.json)")
        let path = try #require(saved.result["bundle"]?["path"]?.stringValue)
        let document = try JSONParser.parse(bytes: [UInt8](try #require(FileManager.default.contents(atPath: path))))
        let version = try #require(document["sections"]?["workflow"]?["workflow"]?["state_version"]?.intValue)
        let events = document["sections"]?["events"]?.arrayValue ?? []
        let newest = events.compactMap { $0["data"]?["state_version"]?.intValue }.max()
        #expect(newest == version, "workflow at \(version), events up to \(String(describing: newest))")
        let tasks = document["sections"]?["workflow"]?["tasks"]?.arrayValue?.count ?? 0
        let addedEvents = events.filter { $0["event_type"] == "tasks_added" }.count
        #expect(tasks == 1 + addedEvents, "\(tasks) tasks, \(addedEvents) tasks_added")
        // The files the same call wrote show that moment too.
        let file = try JSONParser.parse(
            bytes: [UInt8](
                try #require(FileManager.default.contents(atPath: t.directory.file("state/workflows/active/w1.json")))))
        #expect(file["workflow_state"]?["state_version"]?.intValue == version)
        let lines = try String(contentsOfFile: t.directory.file("state/events/w1_events.jsonl"), encoding: .utf8)
        #expect(lines.split(separator: "\n").count == events.count)
    }

    /// Files of checkpoints retention removed stayed, saying `valid: true` of checkpoints no
    /// restore could find; a file someone else put in the folder stays.
    @Test func theCheckpointFilesMirrorTheCheckpointsStored() async throws {
        var configuration = Configuration()
        configuration.checkpointRetention = 2
        let t = try TestHub(configuration: configuration)
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        await t.run("w1", "checkpoint", #"{"name": "c1"}"#)
        await t.run("w1", "checkpoint", #"{"name": "c1"}"#)
        #expect(await t.run("w1", "save-state").succeeded)
        let folder = t.directory.file("state/checkpoints/w1")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).count == 3)
        try Data("mine".utf8).write(to: URL(fileURLWithPath: "\(folder)/notes.json"))
        try Data("{}".utf8).write(to: URL(fileURLWithPath: "\(folder)/c0.json"))
        await t.run("w1", "checkpoint", #"{"name": "c2"}"#)
        await t.run("w1", "checkpoint", #"{"name": "c3"}"#)
        let listed = await t.run("w1", "list-checkpoints").result["checkpoints"]?.arrayValue ?? []
        #expect(listed.map { $0["name"] } == ["c3", "c2"], "\(listed)")
        let saved = await t.run("w1", "save-state")
        #expect(saved.succeeded)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(files == ["c0.json", "c2.json", "c3.json", "latest.json", "notes.json"], "\(files)")
    }
}
