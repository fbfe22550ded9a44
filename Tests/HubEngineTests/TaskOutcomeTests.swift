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

    /// A task failing for good within its phase's tolerance leaves the workflow running: the next
    /// step said to retry the phase with resume, which a running workflow refuses. The answer says
    /// the workflow's status, as complete-task's does.
    /// An empty, blank or path-like lease_id names no lease the hub could have given: it was
    /// answered LEASE_EXPIRED ("Lease  is unknown") with heartbeat advice.
    @Test(arguments: ["complete-task", "fail-task"])
    func aLeaseIDThatCannotBeOneIsAParameterError(_ operation: String) async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "a", "tasks": [{"task_id": "t1"}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        _ = try await lease()
        for bad in ["", "   ", "../lease_x"] {
            let report = await t.run(nil, operation, "{\"lease_id\": \"\(bad)\"}")
            #expect(report.errorCode == "INVALID_PARAMETERS", "\(report.json)")
            #expect(report.json["error"]?["context"]?["field"] == "lease_id", "\(report.json)")
        }
        let task = await t.run("w1", "get-status").result["workflow_state"]?["phases"]?.arrayValue?.first?["tasks"]?
            .arrayValue?.first
        #expect(task?["status"] == "running")
    }

    @Test func failTaskSaysWhatToDoAsTheWorkflowNowIs() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "a", "tasks": [{"task_id": "t1"}, {"task_id": "t2"}]}], "configuration": {"failure_tolerance": "high"}}"#
        )
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag", "max_concurrent_tasks": 2}"#)
        let first = try await lease()
        let tolerated = await t.run(nil, "fail-task", "{\"lease_id\": \"\(first)\", \"retryable\": false}")
        #expect(tolerated.result["workflow_status"] == "running", "\(tolerated.json)")
        #expect(!steps(tolerated).contains { $0.contains("resume") }, "\(steps(tolerated))")
        #expect(steps(tolerated).contains { $0.contains("claim-task") }, "\(steps(tolerated))")
        #expect(await t.run("w1", "resume").errorCode == "INVALID_TRANSITION")
        // Past the tolerance the workflow fails, and resume is the way on.
        await t.run("w2", "create", #"{"phases": [{"name": "a", "tasks": [{"task_id": "t1"}]}]}"#)
        await t.run("w2", "start")
        let second = try #require(await t.claim("ag", workflow: "w2").first?["lease_id"]?.stringValue)
        let fatal = await t.run(nil, "fail-task", "{\"lease_id\": \"\(second)\", \"retryable\": false}")
        #expect(fatal.result["workflow_status"] == "failed")
        #expect(steps(fatal).first?.contains(#"coordination-hub w2 resume '{"resume_from_phase": 1}'"#) == true)
        #expect(await t.run("w2", "resume", #"{"resume_from_phase": 1}"#).succeeded)
        // Retried: ready again, and the workflow's status said.
        let third = try #require(await t.claim("ag", workflow: "w2").first?["lease_id"]?.stringValue)
        let retried = await t.run(nil, "fail-task", "{\"lease_id\": \"\(third)\"}")
        #expect(retried.result["will_retry"] == true)
        #expect(retried.result["workflow_status"] == "running")
        #expect(steps(retried) == ["The task is ready again; any agent of its role may claim it"])
    }

    /// A skipped task was named as failed: a → b → d across phases, a failing for good, and d
    /// was "skipped: dependency b failed" though b never ran.
    @Test func aTaskSkippedAfterASkippedDependencyNamesItAsSkipped() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "one", "tasks": [{"task_id": "a", "max_retries": 0}, {"task_id": "c"}]}, {"name": "two", "tasks": [{"task_id": "b", "depends_on": ["a"]}]}, {"name": "three", "tasks": [{"task_id": "d", "depends_on": ["b"]}]}], "configuration": {"failure_tolerance": "high"}}"#
        )
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        let claimed = try #require(await t.claim("ag").first)
        #expect(claimed["task_id"] == "a")
        let lease = try #require(claimed["lease_id"]?.stringValue)
        #expect(await t.run(nil, "fail-task", "{\"lease_id\": \"\(lease)\"}").result["will_retry"] == false)
        // A task added later behind the skipped one is told the same (the progression's rules).
        await t.run("w1", "add-tasks", #"{"tasks": [{"task_id": "e", "phase": 3, "depends_on": ["d"]}]}"#)
        let skipped = await events(#""task_skipped""#)
        var reasons: [String: String] = [:]
        for e in skipped {
            if let id = e["data"]?["task_id"]?.stringValue { reasons[id] = e["data"]?["reason"]?.stringValue }
        }
        #expect(
            reasons == [
                "b": "dependency a failed", "d": "dependency b was skipped (a failed)",
                "e": "dependency d was skipped (a failed)",
            ], "\(reasons)")
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
