import Foundation
import HubCore
import HubTesting
import Testing

/// The seed's "Operations Implementation" examples, run through the real executable.
@Suite struct SeedExamplesTests {
    static let seedCreate = """
        {
          "name": "Feature Implementation",
          "phases": ["setup", "implementation", "testing", "deployment"],
          "agent_requirements": {"min": 3, "max": 8},
          "timeout": "2h"
        }
        """

    @Test func seedCreateExampleMakesACreatedWorkflowWithItsRequirementsAndTimeout() throws {
        let hub = try CLISandbox("seed-create")
        defer { hub.remove() }
        let created = try hub.succeed("workflow_123", "create", Self.seedCreate)
        #expect(created["status"]?.stringValue == "created")
        #expect(created["state_version"]?.intValue == 1)
        #expect(created["total_phases"]?.intValue == 4)
        #expect(created["timeout"]?.stringValue == "2h")

        let state = try hub.workflowState("workflow_123")
        #expect(state["status"]?.stringValue == "created")
        #expect(state["name"]?.stringValue == "Feature Implementation")
        #expect(state["current_phase"]?.intValue == 0)
        #expect(
            state["phases"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
                == ["setup", "implementation", "testing", "deployment"])
        #expect(state["phases"]?.arrayValue?.allSatisfy { $0["status"]?.stringValue == "pending" } == true)
        #expect(state["agent_requirements"]?["min_agents"]?.intValue == 3)
        #expect(state["agent_requirements"]?["max_agents"]?.intValue == 8)
        #expect(state["configuration"]?["timeout"]?.stringValue == "2h")
        #expect(state["state_version"]?.intValue == 1)
        #expect(hub.exists(hub.state("hub.sqlite")))
    }

    @Test func seedLifecycleCreateExampleKeepsRolesDependenciesAndPriority() throws {
        let hub = try CLISandbox("seed-create-long")
        defer { hub.remove() }
        try hub.succeed(
            "workflow_456", "create",
            #"""
            {"name": "Workflow Name", "description": "Workflow description", "phases": ["phase1", "phase2", "phase3"],
             "agent_requirements": {"min_agents": 2, "max_agents": 10, "specialized_roles": ["code", "test", "docs"]},
             "dependencies": ["external_service", "database"], "timeout": "2h", "priority": "high"}
            """#)
        let state = try hub.workflowState("workflow_456")
        #expect(state["description"]?.stringValue == "Workflow description")
        #expect(state["priority"]?.stringValue == "high")
        #expect(state["agent_requirements"]?["specialized_roles"]?.strings == ["code", "test", "docs"])
        #expect(state["agent_requirements"]?["min_agents"]?.intValue == 2)
        let external = state["dependencies"]?["external"]?.arrayValue ?? []
        let names = external.map { $0.stringValue ?? $0["name"]?.stringValue ?? "" }
        #expect(names == ["external_service", "database"])
    }

    @Test func seedSaveStateExampleWithABackupOutsideTheStateDirectoryIsPathNotAllowed() throws {
        let hub = try CLISandbox("seed-save-outside")
        defer { hub.remove() }
        try hub.succeed("workflow_123", "create", Self.seedCreate)
        let outsideExisted = hub.exists("/backup/workflows")
        try hub.expectUnchanged {
            let error = try hub.fail(
                [
                    "workflow_123", "save-state",
                    #"{"include_checkpoints": true, "compress": true, "backup_location": "/backup/workflows/"}"#,
                ], code: "PATH_NOT_ALLOWED", exit: 1)
            #expect(error["context"]?["field"]?.stringValue == "backup_location")
            #expect(error["message"]?.stringValue?.contains("/backup/workflows") == true)
        }
        #expect(hub.exists("/backup/workflows") == outsideExisted, "a refused location must not be created")
        #expect(!hub.exists(hub.state("workflows/active/workflow_123.json")), "a refused save writes nothing")
    }

    @Test func seedSaveStateExampleWritesTheSeedLayoutAndAChecksummedBundle() throws {
        let hub = try CLISandbox("seed-save")
        defer { hub.remove() }
        try hub.succeed("workflow_123", "create", Self.seedCreate)
        try hub.succeed("workflow_123", "start")
        let version = try hub.workflowState("workflow_123")["state_version"]?.intValue

        let saved = try hub.succeed(
            "workflow_123", "save-state",
            #"{"include_checkpoints": true, "compress": true, "backup_location": "backups/"}"#)
        for file in [
            "workflows/active/workflow_123.json", "events/workflow_123_events.jsonl",
            "agent_pools/pool_assignments.json", "agent_pools/agent_performance.json",
        ] {
            #expect(hub.exists(hub.state(file)), "\(file) is missing")
        }
        let exported = try JSONParser.parse(
            String(contentsOfFile: hub.state("workflows/active/workflow_123.json"), encoding: .utf8))
        #expect(exported["workflow_state"]?["id"]?.stringValue == "workflow_123")
        #expect(exported["workflow_state"]?["status"]?.stringValue == "running")

        // One JSON line per event of the workflow.
        let lines = try String(contentsOfFile: hub.state("events/workflow_123_events.jsonl"), encoding: .utf8)
            .split(separator: "\n")
        let events = try hub.succeed("workflow_123", "get-events", #"{"limit": 1000}"#)
        #expect(lines.count == events["count"]?.intValue.map(Int.init))
        #expect(lines.allSatisfy { (try? JSONParser.parse(String($0)))?["workflow_id"]?.stringValue == "workflow_123" })

        let bundle = try #require(saved["bundle"])
        let path = try #require(bundle["path"]?.stringValue)
        #expect(path.hasPrefix(hub.state("backups/")))
        let bytes = try #require(FileManager.default.contents(atPath: path))
        #expect(bundle["size"]?.intValue == Int64(bytes.count))
        #expect(bundle["sha256"]?.stringValue == Checksum.sha256([UInt8](bytes)))
        #expect(bundle["compressed"]?.boolValue == true)
        #expect(Array(bytes.prefix(2)) == [0x1F, 0x8B], "a compressed bundle is gzip")
        #expect(bundle["state_version"]?.intValue == version)
        // Saving is a read: the workflow's version does not move.
        #expect(try hub.workflowState("workflow_123")["state_version"]?.intValue == version)
    }

    @Test func seedLoadStateFromTheBundleBringsBackTheSavedTasksPausedWithAHigherVersion() throws {
        let hub = try CLISandbox("seed-load")
        defer { hub.remove() }
        try hub.succeed("workflow_123", "create", Self.seedCreate)
        try hub.succeed("workflow_123", "start")
        try hub.succeed("workflow_123", "add-tasks", #"{"tasks": [{"task_id": "saved_a"}, {"task_id": "saved_b"}]}"#)
        let saved = try hub.succeed("workflow_123", "save-state", #"{"compress": true, "backup_location": "backups/"}"#)
        let path = try #require(saved["bundle"]?["path"]?.stringValue)
        try hub.succeed("workflow_123", "add-tasks", #"{"tasks": [{"task_id": "after_save"}]}"#)
        let before = try #require(try hub.workflowState("workflow_123")["state_version"]?.intValue)

        let loaded = try hub.succeed(
            "workflow_123", "load-state", #"{"bundle": "\#(path)", "verify_integrity": true, "restore_agents": true}"#)
        #expect(loaded["verified"]?.boolValue == true)
        #expect(loaded["tasks"]?.intValue == 2)
        #expect(loaded["loaded_status"]?.stringValue == "paused", "a running workflow comes back paused")
        let after = try #require(loaded["state_version"]?.intValue)
        #expect(after > before, "loading is a change: \(after) after \(before)")

        let state = try hub.workflowState("workflow_123")
        #expect(state["status"]?.stringValue == "paused")
        #expect(state["state_version"]?.intValue == after)
        let ids = (state["phases"]?.arrayValue ?? []).flatMap { $0["tasks"]?.arrayValue ?? [] }
            .compactMap { $0["task_id"]?.stringValue }
        #expect(ids.sorted() == ["saved_a", "saved_b"], "the bundle's tasks, not the later one")
        let restored = try hub.succeed("workflow_123", "get-events", #"{"event_types": ["state_restored"]}"#)
        #expect(restored["count"]?.intValue == 1)
        // A relative bundle path is resolved against the state directory.
        let relative = String(path.dropFirst(hub.stateDirectory.count + 1))
        try hub.succeed("workflow_123", "load-state", #"{"bundle": "\#(relative)"}"#)
    }

    @Test func seedLoadStateExampleNamesACheckpointThatDoesNotExist() throws {
        let hub = try CLISandbox("seed-load-checkpoint")
        defer { hub.remove() }
        try hub.succeed("workflow_123", "create", Self.seedCreate)
        try hub.expectUnchanged {
            let error = try hub.fail(
                [
                    "workflow_123", "load-state",
                    #"{"checkpoint_id": "chkpt_456", "verify_integrity": true, "restore_agents": true}"#,
                ], code: "CHECKPOINT_NOT_FOUND", exit: 1)
            #expect(error["message"]?.stringValue?.contains("chkpt_456") == true)
        }
    }

    @Test func seedGetStatusExampleReturnsMetricsAgentDetailsAndTheTenNewestEvents() throws {
        let hub = try CLISandbox("seed-status")
        defer { hub.remove() }
        try hub.succeed("workflow_123", "create", Self.seedCreate)
        try hub.succeed("workflow_123", "start")
        try hub.succeed("workflow_123", "add-tasks", #"{"tasks": [{"task_id": "a", "estimate": "5m"}]}"#)
        try hub.succeed("workflow_123", "pause")
        try hub.succeed("workflow_123", "resume")
        let all = try hub.succeed("workflow_123", "get-events", #"{"limit": 1000}"#)["events"]?.arrayValue ?? []
        #expect(all.count > 10, "the example needs more than 10 events to show the limit")

        let status = try hub.succeed(
            "workflow_123", "get-status", #"{"include_metrics": true, "agent_details": true, "recent_events": 10}"#)
        let state = try #require(status["workflow_state"])
        #expect(state["metrics"]?["tasks_total"]?.intValue == 1)
        #expect(state["metrics"]?["tasks_completed"]?.intValue == 0)
        #expect(state["agent_details"] != nil)
        let recent = status["recent_events"]?.arrayValue ?? []
        #expect(recent.count == 10)
        let sequences = recent.compactMap { $0["sequence"]?.intValue }
        #expect(sequences == all.suffix(10).compactMap { $0["sequence"]?.intValue }, "the newest ten, oldest first")

        let plain = try hub.succeed("workflow_123", "get-status")
        #expect(plain["recent_events"] == nil)
        #expect(plain["workflow_state"]?["metrics"] == nil)
    }
}
