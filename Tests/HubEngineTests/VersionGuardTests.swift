import Foundation
import HubCore
import HubEngine
import HubTesting
import Testing

/// §9: the workflow operations that change a workflow accept `if_version` and refuse a stale
/// one with `VERSION_CONFLICT`, changing nothing; the others say why they take none.
@Suite struct VersionGuardTests {
    let t: TestHub
    init() throws { t = try TestHub() }

    /// Parameters that each operation taking `if_version` would otherwise accept (`CP` stands
    /// for a checkpoint id). A new such operation must be added here.
    static let guarded: [String: String] = [
        "start": "{}", "pause": "{}", "resume": "{}", "complete": #"{"force": true}"#,
        "fail": #"{"reason": "x"}"#, "cancel": "{}", "cleanup": "{}", "load-state": #"{"checkpoint_id": "CP"}"#,
        "add-tasks": #"{"tasks": [{"task_id": "t2"}]}"#, "complete-phase": #"{"force": true}"#,
        "assign-agents": #"{"agent_count": 1}"#, "redistribute-tasks": #"{"failed_agent": "ag"}"#,
        "checkpoint": #"{"name": "x"}"#, "restore": #"{"checkpoint_id": "CP"}"#, "verify-state": #"{"repair": true}"#,
        "report-error": #"{"error_type": "task_failure", "error_message": "x", "task_id": "t1"}"#,
    ]

    @Test func theGuardedListIsEveryOperationThatTakesIfVersion() {
        let taking = OperationTable.standard.operations.filter(\.mutating).map(\.name)
        #expect(Set(taking) == Set(Self.guarded.keys))
    }

    func version() async -> JSONValue? {
        await t.run("w1", "get-status").result["workflow_state"]?["state_version"]
    }

    @Test(arguments: guarded.keys.sorted())
    func aStaleIfVersionIsRefusedAndChangesNothing(_ name: String) async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "a", "tasks": [{"task_id": "t1"}]}, "b"]}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        let cp = try #require(await t.run("w1", "checkpoint").result["checkpoint_id"]?.stringValue)
        await t.run("w1", "start")
        #expect(await t.claim("ag").count == 1)
        let before = try #require(await version()?.intValue)
        let events = await t.run(nil, "get-events", #"{"order": "desc", "limit": 1}"#).result["events"]
        var parameters = try JSONParser.parse(try #require(Self.guarded[name]).replacingOccurrences(of: "CP", with: cp))
        parameters["if_version"] = .int(before + 7)
        let refused = await t.hub.perform(OperationRequest(workflowID: "w1", operation: name, parameters: parameters))
        #expect(refused.errorCode == "VERSION_CONFLICT", "\(refused.json)")
        #expect(refused.error?.context?["current_version"] == .int(before))
        // One refusal for every operation: checkpoint's own lacked these.
        #expect(refused.error?.context?["expected_version"] == .int(before + 7), "\(refused.json)")
        #expect(refused.error?.details?.isEmpty == false, "\(refused.json)")
        #expect(await version() == .int(before))
        #expect(await t.run(nil, "get-events", #"{"order": "desc", "limit": 1}"#).result["events"] == events)
    }

    @Test(arguments: OperationTable.standard.operations.filter { !$0.mutating }.map(\.name))
    func operationsThatTakeNoIfVersionSayWhy(_ name: String) async throws {
        let workflow = OperationTable.standard[name]?.scope == .workflow ? "w1" : nil
        let refused = await t.run(workflow, name, #"{"if_version": 1}"#)
        #expect(refused.errorCode == "INVALID_PARAMETERS")
        #expect(refused.error?.context?["field"] == "if_version")
        #expect(refused.error?.message.contains("is not taken by \(name): ") == true, "\(refused.json)")
    }

    @Test func createSaysThereIsNoVersionYet() async throws {
        let refused = await t.run("w1", "create", #"{"phases": ["a"], "if_version": 1}"#)
        #expect(refused.error?.message.contains("WORKFLOW_EXISTS") == true, "\(refused.json)")
        #expect(await t.run("w1", "get-status").errorCode == "WORKFLOW_NOT_FOUND")
    }

    @Test func theReadmeListsExactlyTheOperationsThatTakeIfVersion() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let paragraph = try #require(
            readme.components(separatedBy: "\n\n").first { $0.contains("accept `if_version`") })
        // The list runs from "accept `if_version` (…):" to what checkpoint records.
        let start = try #require(paragraph.range(of: "changes):"))
        let end = try #require(paragraph.range(of: ", which records"))
        let listed = paragraph[start.upperBound..<end.lowerBound].split(separator: "`").enumerated()
            .filter { $0.offset % 2 == 1 }.map { String($0.element) }
        #expect(Set(listed) == Set(Self.guarded.keys), "\(listed)")
    }
}
