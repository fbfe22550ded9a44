import Foundation
import HubCore
import HubTesting
import Testing

/// A workflow's whole life through the executable: create → start → pause → resume →
/// complete-phase… → complete (finalization) → cleanup, with the files the seed's layout promises.
@Suite struct FullLifecycleTests {
    @Test func aWorkflowRunsToCompletionIsFinalizedArchivedAndThenReadOnly() throws {
        let hub = try CLISandbox("lifecycle")
        defer { hub.remove() }
        var versions: [Int64] = []
        @discardableResult func step(_ operation: String, _ parameters: String = "{}", expect status: String) throws
            -> JSONValue
        {
            let result = try hub.succeed("release_1", operation, parameters)
            #expect(result["status"]?.stringValue == status, "\(operation) left \(result["status"] ?? .null)")
            if let version = result["state_version"]?.intValue { versions.append(version) }
            return result
        }

        let created = try hub.succeed(
            "release_1", "create", #"{"name": "Release", "phases": ["setup", "build", "ship"], "timeout": "2h"}"#)
        versions.append(try #require(created["state_version"]?.intValue))
        // An export while it runs puts it in workflows/active; completion must move it.
        try step("start", expect: "running")
        try hub.succeed("release_1", "save-state")
        #expect(hub.exists(hub.state("workflows/active/release_1.json")))
        try step("pause", #"{"reason": "waiting for review"}"#, expect: "paused")
        try step("resume", expect: "running")

        for (n, phase) in ["setup", "build"].enumerated() {
            let closed = try step("complete-phase", #"{"phase": "\#(phase)"}"#, expect: "running")
            #expect(closed["completed_phase"]?.intValue == Int64(n + 1))
            #expect(try hub.workflowState("release_1")["current_phase"]?.intValue == Int64(n + 2))
        }
        // Closing the last phase completes the workflow by itself.
        try step("complete-phase", expect: "completed")
        let completedEvents = try hub.succeed("release_1", "get-events", #"{"event_types": ["completed"]}"#)
        #expect(completedEvents["count"]?.intValue == 1)

        let finalized = try step(
            "complete",
            #"""
            {"cleanup_resources": true, "archive_state": true, "generate_report": true,
             "notify_stakeholders": ["team", "pm"]}
            """#, expect: "completed")
        let report = try #require(finalized["artifacts"]?["report"])
        #expect(report["markdown"]?.stringValue == hub.state("reports/release_1/report.md"))
        #expect(report["json"]?.stringValue == hub.state("reports/release_1/report.json"))
        let markdown = try String(contentsOfFile: hub.state("reports/release_1/report.md"), encoding: .utf8)
        #expect(markdown.contains("release_1") || markdown.contains("Release"))
        let reportJSON = try JSONParser.parse(
            String(contentsOfFile: hub.state("reports/release_1/report.json"), encoding: .utf8))
        #expect(reportJSON.objectValue != nil, "report.json is a JSON object")
        #expect(hub.exists(hub.state("workflows/completed/release_1.json")))
        #expect(!hub.exists(hub.state("workflows/active/release_1.json")), "the active copy moves to completed/")
        #expect(hub.exists(hub.state("events/release_1_events.jsonl")))
        #expect(finalized["hub_to_orchestrate"]?["completion_status"]?.stringValue == "success")

        let notified = try hub.succeed("release_1", "get-events", #"{"event_types": ["stakeholder_notified"]}"#)
        let event = try #require(notified["events"]?.arrayValue?.first)
        #expect(notified["count"]?.intValue == 1)
        #expect(event["data"]?["stakeholders"]?.strings == ["team", "pm"])
        #expect(event["data"]?["completion_status"]?.stringValue == "success")

        // Finalizing again is allowed (idempotent) and changes nothing without new notifications.
        try hub.expectUnchanged { try hub.succeed("release_1", "complete") }

        let cleaned = try step("cleanup", #"{"archive_state": true}"#, expect: "completed")
        #expect(cleaned["archived"]?.boolValue == true)
        #expect(zip(versions, versions.dropFirst()).allSatisfy { $0 < $1 }, "versions must increase: \(versions)")

        let visible = try hub.succeed("list-workflows")
        #expect(!(visible["workflows"]?.arrayValue ?? []).contains { $0["id"]?.stringValue == "release_1" })
        let all = try hub.succeed("list-workflows", #"{"include_archived": true}"#)
        let listed = try #require(all["workflows"]?.arrayValue?.first { $0["id"]?.stringValue == "release_1" })
        #expect(listed["archived"]?.boolValue == true)
        #expect(listed["status"]?.stringValue == "completed")

        // Archived: reads work, every mutation is INVALID_TRANSITION; cleanup again writes its
        // files again and changes nothing.
        #expect(try hub.workflowState("release_1")["archived"]?.boolValue == true)
        try hub.succeed("release_1", "save-state")
        try hub.expectUnchanged {
            try hub.succeed("release_1", "cleanup")
            for (operation, parameters) in [
                ("pause", "{}"), ("resume", "{}"), ("complete", "{}"), ("cancel", "{}"),
                ("add-tasks", #"{"tasks": [{"task_id": "late"}]}"#), ("complete-phase", "{}"),
            ] {
                let error = try hub.fail(
                    ["release_1", operation, parameters], code: "INVALID_TRANSITION", exit: 1)
                #expect(error["context"]?["archived"]?.boolValue == true, "\(operation)")
                #expect(error["context"]?["allowed_operations"]?.strings == [], "\(operation)")
            }
        }
    }

    @Test func aCancelledWorkflowIsArchivedUnderFailed() throws {
        let hub = try CLISandbox("lifecycle-cancel")
        defer { hub.remove() }
        try hub.succeed("doomed", "create", #"{"phases": ["only"]}"#)
        try hub.succeed("doomed", "start")
        try hub.succeed("doomed", "cancel")
        let error = try hub.fail(["doomed", "resume"], code: "INVALID_TRANSITION", exit: 1)
        #expect(error["context"]?["current_status"]?.stringValue == "cancelled")
        let cleaned = try hub.succeed("doomed", "cleanup", #"{"archive_state": true, "generate_report": true}"#)
        #expect(cleaned["status"]?.stringValue == "cancelled")
        #expect(hub.exists(hub.state("workflows/failed/doomed.json")))
        #expect(hub.exists(hub.state("reports/doomed/report.md")))
    }
}
