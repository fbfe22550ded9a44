import Foundation
import HubCore
import HubEngine
import HubTesting
import Testing

/// What `complete-task` and `fail-task` record and answer, whichever way they are called.
@Suite struct TaskOutcomeTests {
    let t: TestHub
    init() throws { t = try TestHub() }

    func lease(_ agent: String = "ag") async throws -> String {
        try #require(await t.claim(agent).first?["lease_id"]?.stringValue)
    }

    func steps(_ response: OperationResponse) -> [String] {
        response.json["next_steps"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    func events(_ types: String) async -> [JSONValue] {
        await t.run("w1", "get-events", "{\"event_types\": [\(types)]}").result["events"]?.arrayValue ?? []
    }

    /// A report by lease_id alone names no workflow, and its workflow's timeout went unchecked:
    /// a workflow past it completed as a success, where the same report naming the workflow got
    /// LEASE_EXPIRED. The lease's workflow times out first either way.
    @Test(arguments: ["complete-task", "fail-task"])
    func anOutcomeByLeaseAloneMeetsItsWorkflowsTimeoutFirst(_ operation: String) async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "a", "tasks": [{"task_id": "t1"}]}], "timeout": "2s"}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        let lease = try await lease()
        t.clock.advance(by: .seconds(3))
        let report = await t.run(nil, operation, "{\"lease_id\": \"\(lease)\"}")
        #expect(report.errorCode == "LEASE_EXPIRED", "\(report.json)")
        let state = await t.run("w1", "get-status").result["workflow_state"]
        #expect(state?["status"] == "failed")
        #expect(state?["failure_reason"]?.stringValue?.contains("timed out") == true)
        #expect(await events(#""timed_out""#).count == 1)
    }

    /// Every task_retried says whether the attempt counted: fail-task's and resume's left it out
    /// (the sweep's, report-error's and redistribution's carried it). The report still counts a
    /// failed attempt once.
    @Test func everyRetrySaysWhetherTheAttemptCounted() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "a", "tasks": [{"task_id": "t1", "max_retries": 1}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        await t.run(nil, "fail-task", "{\"lease_id\": \"\(try await lease())\"}")
        await t.run(nil, "fail-task", "{\"lease_id\": \"\(try await lease())\"}")
        #expect(await t.run("w1", "get-status").result["workflow_state"]?["status"] == "failed")
        #expect(await t.run("w1", "resume").succeeded)
        await t.run(nil, "complete-task", "{\"lease_id\": \"\(try await lease())\"}")
        let retried = await events(#""task_retried""#)
        #expect(retried.map { $0["data"]?["reason"] } == ["failed", "workflow resumed"])
        #expect(retried.map { $0["data"]?["attempt_counted"] } == [true, false], "\(retried)")
        let done = await t.run("w1", "complete", #"{"generate_report": true}"#)
        let paths =
            done.result["hub_to_orchestrate"]?["artifact_locations"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let path = try #require(paths.first { $0.hasSuffix("report.json") })
        let report = try JSONParser.parse(bytes: Array(try #require(FileManager.default.contents(atPath: path))))
        #expect(
            report["agents"]?["ag"] == ["tasks_completed": 1, "tasks_failed": 2, "runs_handed_back": 0],
            "\(report["agents"] ?? .null)")
    }
}
