import Foundation
import HubCore
import HubEngine
import HubTesting
import Testing

/// Numbers a bundle carries that later arithmetic adds to: a forged one at the edge of
/// `Int64` trapped the process (the server with it) at the load or at the next change.
@Suite struct BundleNumberLimitsTests {
    let t: TestHub
    init() throws { t = try TestHub() }

    /// Saves w1 uncompressed, lets `edit` change its workflow section (or the whole document)
    /// and seals the checksums again, as whoever forges a bundle can.
    func forged(
        _ name: String, checkpoints: Bool = false, edit: (inout JSONValue) -> Void
    ) async throws -> String {
        let saved = await t.run(
            "w1", "save-state",
            "{\"backup_location\": \"\(name)\", \"compress\": false, \"include_checkpoints\": \(checkpoints)}")
        let path = try #require(saved.result["bundle"]?["path"]?.stringValue, "\(saved.json)")
        var document = try JSONParser.parse(bytes: [UInt8](try #require(FileManager.default.contents(atPath: path))))
        edit(&document)
        for (section, value) in document["sections"]?.objectValue ?? [:] {
            document["checksums"]?[section] = .string(Checksum.sha256(canonical: value))
        }
        try Data(document.serializedBytes(.compact)).write(to: URL(fileURLWithPath: path))
        return name
    }

    func createW1() async {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "a", "tasks": [{"task_id": "t1", "resources": {"db": 1}}, {"task_id": "t2"}]}], "budget": {"tokens": 100}}"#
        )
    }

    /// A number forged into the workflow section (`task`: the first task's) and the field
    /// the refusal must name.
    struct Edge: Sendable, CustomTestStringConvertible {
        var scope: String
        var key: String
        var value: JSONValue
        var field: String
        var testDescription: String { "\(field) = \(value.serialized())" }
    }

    @Test(arguments: [
        Edge(scope: "workflow", key: "state_version", value: .int(.max), field: "workflow.state_version"),
        Edge(scope: "workflow", key: "state_version", value: .int(.max - 1), field: "workflow.state_version"),
        Edge(scope: "task", key: "attempts", value: .int(.max), field: "tasks[0].attempts"),
        Edge(scope: "task", key: "max_retries", value: .int(.max), field: "tasks[0].max_retries"),
        Edge(scope: "task", key: "critical_path_ms", value: .int(.max), field: "tasks[0].critical_path_ms"),
        Edge(scope: "task", key: "resources", value: ["db": .int(.max)], field: "tasks[0].resources"),
        Edge(scope: "workflow", key: "budget", value: ["tokens": -1], field: "workflow.budget.tokens"),
        Edge(scope: "workflow", key: "spend", value: ["tokens": -5, "cost": 0], field: "workflow.spend.tokens"),
        // The store refuses these; they were reported as the store failing (STORE_UNAVAILABLE).
        Edge(scope: "workflow", key: "timeout_ms", value: 0, field: "workflow.timeout_ms"),
        Edge(scope: "workflow", key: "timeout_ms", value: -1, field: "workflow.timeout_ms"),
        Edge(scope: "workflow", key: "checkpoint_interval_ms", value: 0, field: "workflow.checkpoint_interval_ms"),
    ])
    func aNumberAtTheEdgeIsRefusedNamingItsField(_ edge: Edge) async throws {
        let (scope, key, value, field) = (edge.scope, edge.key, edge.value, edge.field)
        await createW1()
        let name = try await forged("edge.json") { document in
            if scope == "workflow" {
                document["sections"]?["workflow"]?["workflow"]?[key] = value
            } else {
                var tasks = document["sections"]?["workflow"]?["tasks"]?.arrayValue ?? []
                tasks[0][key] = value
                document["sections"]?["workflow"]?["tasks"] = .array(tasks)
            }
        }
        let before = await t.run("w1", "get-status").result["workflow_state"]
        let refused = await t.run("w1", "load-state", "{\"bundle\": \"\(name)\"}")
        #expect(refused.errorCode == "CHECKPOINT_CORRUPT", "\(refused.json)")
        #expect(refused.error?.message.contains(field) == true, "\(refused.json)")
        #expect(await t.run("w1", "get-status").result["workflow_state"] == before)
        // Into a state directory without the workflow: refused the same, nothing created.
        let fresh = try TestHub()
        try FileManager.default.createDirectory(
            atPath: fresh.directory.file("state"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: t.directory.file("state/\(name)"), toPath: fresh.directory.file("state/\(name)"))
        #expect(await fresh.run("w1", "load-state", "{\"bundle\": \"\(name)\"}").errorCode == "CHECKPOINT_CORRUPT")
        #expect(await fresh.run("w1", "get-status").errorCode == "WORKFLOW_NOT_FOUND")
    }

    @Test(arguments: [("state_version", "state_version"), ("event_sequence", "event_sequence")])
    func aBundledCheckpointsCounterAtTheEdgeIsRefused(_ key: String, _ field: String) async throws {
        await createW1()
        await t.run("w1", "checkpoint", #"{"name": "c1"}"#)
        let name = try await forged("edge.json", checkpoints: true) { document in
            var entries = document["sections"]?["checkpoints"]?.arrayValue ?? []
            entries[0][key] = .int(.max)
            document["sections"]?["checkpoints"] = .array(entries)
        }
        let refused = await t.run("w1", "load-state", "{\"bundle\": \"\(name)\"}")
        #expect(refused.errorCode == "CHECKPOINT_CORRUPT", "\(refused.json)")
        #expect(refused.error?.message.contains(field) == true, "\(refused.json)")
    }

    /// A version already at the edge (stored before bundles were held to the limit) refuses the
    /// next change instead of trapping.
    @Test func aChangeToAWorkflowAtTheLargestVersionIsRefused() async throws {
        await createW1()
        await t.run("w1", "start")
        try await t.hub.store.write { tx in
            guard var w = try tx.workflow("w1") else { return }
            w.stateVersion = .max
            try tx.update(w)
        }
        let refused = await t.run("w1", "pause")
        #expect(refused.errorCode == "INVALID_TRANSITION", "\(refused.json)")
        #expect(await t.run("w1", "get-status").result["workflow_state"]?["status"] == "running")
    }

    /// Durations in range each, too many to add up: the average task time over a thousand
    /// tasks that each ran as long as a duration may be overflowed (a trap at `get-status`).
    /// Resumed past such a timeout, the suggested timeout is one resume accepts.
    @Test func longDurationsAddUpWithoutTrapping() async throws {
        let tasks: [JSONValue] = (0...1100).map { n in ["task_id": .string("t\(n)")] }
        let create: JSONValue = ["phases": [["name": "a", "tasks": .array(tasks)]]]
        #expect(await t.run("w1", "create", create.serialized()).succeeded)
        await t.run("w1", "start")
        let longest = JSONValue.int(WorkflowSnapshot.longestDuration)
        let name = try await forged("long.json") { document in
            document["sections"]?["workflow"]?["workflow"]?["active_ms"] = longest
            document["sections"]?["workflow"]?["workflow"]?["timeout_ms"] = longest
            var tasks = document["sections"]?["workflow"]?["tasks"]?.arrayValue ?? []
            for i in 0..<1100 {
                tasks[i]["status"] = "completed"
                tasks[i]["execution_ms"] = longest
                tasks[i]["started_at"] = tasks[i]["created_at"]
                tasks[i]["completed_at"] = tasks[i]["created_at"]
            }
            document["sections"]?["workflow"]?["tasks"] = .array(tasks)
        }
        let loaded = await t.run("w1", "load-state", "{\"bundle\": \"\(name)\"}")
        #expect(loaded.succeeded, "\(loaded.json)")
        let status = await t.run("w1", "get-status", #"{"include_metrics": true}"#)
        #expect(status.succeeded, "\(status.json)")
        let refused = await t.run("w1", "resume")
        #expect(refused.errorCode == "INVALID_TRANSITION", "\(refused.json)")
        let longestText = HubDuration(milliseconds: WorkflowSnapshot.longestDuration).description
        #expect(refused.error?.recoverySuggestions.first?.contains("\"\(longestText)\"") == true, "\(refused.json)")
    }

    /// A chain of tasks each estimated as long as a duration may be: its critical path was
    /// their sum, which overflowed at `create`.
    @Test func aLongChainOfLongEstimatesIsCreated() async throws {
        let tasks: [JSONValue] = (0..<1100).map { n in
            var task: JSONValue = ["task_id": .string("t\(n)"), "estimate": "2400000000h"]
            if n > 0 { task["depends_on"] = .strings(["t\(n - 1)"]) }
            return task
        }
        let create: JSONValue = ["phases": [["name": "a", "tasks": .array(tasks)]]]
        let created = await t.run("w1", "create", create.serialized())
        #expect(created.succeeded, "\(created.json)")
        #expect(await t.run("w1", "save-state", #"{"backup_location": "chain.json"}"#).succeeded)
        #expect(await t.run("w1", "load-state", #"{"bundle": "chain.json"}"#).succeeded)
    }
}
