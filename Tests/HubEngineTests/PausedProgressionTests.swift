import HubCore
import HubEngine
import HubTesting
import Testing

/// A paused workflow goes no further than the end of its current phase, whatever closes it
/// (§5; docs/state_machine.md): the next phase starts, or the workflow completes, at `resume`.
/// `complete-phase` and `add-tasks` carried it on: the next phase started while paused, and
/// a paused workflow completed other than through `complete`.
@Suite struct PausedProgressionTests {
    let t: TestHub
    init() throws { t = try TestHub() }

    func phases() async -> [JSONValue?] {
        await t.run("w1", "get-status").result["workflow_state"]?["phases"]?.arrayValue?.map { $0["status"] } ?? []
    }

    func workflowStatus() async -> JSONValue? {
        await t.run("w1", "get-status").result["workflow_state"]?["status"]
    }

    func started() async -> [Int64] {
        let events = await t.run("w1", "get-events", #"{"event_types": ["phase_started"]}"#).result["events"]
        return events?.arrayValue?.compactMap { $0["data"]?["phase"]?.intValue } ?? []
    }

    @Test func completePhaseOnAPausedWorkflowClosesThePhaseAndNothingMore() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "a", "tasks": [{"task_id": "t1"}]}, {"name": "b", "tasks": [{"task_id": "t2"}]}]}"#)
        await t.run("w1", "start")
        #expect(await t.run("w1", "pause").succeeded)
        let closed = await t.run("w1", "complete-phase", #"{"force": true}"#)
        #expect(closed.result["completed_phase"] == 1, "\(closed.json)")
        #expect(closed.result["status"] == "paused")
        #expect(await phases() == ["completed", "pending"])
        #expect(await started() == [1])
        // Resume carries it on: the next phase starts and its task is handed out.
        #expect(await t.run("w1", "resume").succeeded)
        #expect(await phases() == ["completed", "running"])
        #expect(await started() == [1, 2])
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        #expect(await t.claim("ag").first?["task_id"] == "t2")
    }

    @Test func closingTheLastPhaseOfAPausedWorkflowCompletesItOnlyAtResume() async throws {
        await t.run("w1", "create", #"{"phases": ["a", "b"]}"#)
        await t.run("w1", "start")
        await t.run("w1", "pause")
        #expect(await t.run("w1", "complete-phase").result["completed_phase"] == 1)
        // Closing the awaiting phase by hand starts it only to close it; the workflow stays paused.
        let last = await t.run("w1", "complete-phase")
        #expect(last.result["completed_phase"] == 2, "\(last.json)")
        #expect(await workflowStatus() == "paused")
        #expect(await phases() == ["completed", "completed"])
        let completions = await t.run("w1", "get-events", #"{"event_types": ["completed"]}"#).result["count"]
        #expect(completions == 0)
        // Every phase closed: a third complete-phase is refused rather than closing it again.
        let again = await t.run("w1", "complete-phase")
        #expect(again.errorCode == "INVALID_TRANSITION", "\(again.json)")
        #expect(again.json["error"]?["context"]?["current_status"] == "paused")
        #expect(await t.run("w1", "resume").succeeded)
        #expect(await workflowStatus() == "completed")
    }

    /// Force-closing the phase that awaits a paused workflow skips its tasks without first
    /// announcing them ready: task_ready went out for work no agent could claim.
    @Test func forceClosingTheAwaitingPhaseOfAPausedWorkflowReadiesNothing() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "a", "tasks": [{"task_id": "t1"}]}, {"name": "b", "tasks": [{"task_id": "t2"}]}, "c"]}"#
        )
        await t.run("w1", "start")
        await t.run("w1", "pause")
        #expect(await t.run("w1", "complete-phase", #"{"force": true}"#).result["completed_phase"] == 1)
        let before = await t.run("w1", "get-events", #"{"event_types": ["task_ready"]}"#).result["count"]
        let closed = await t.run("w1", "complete-phase", #"{"phase": "b", "force": true}"#)
        #expect(closed.result["completed_phase"] == 2, "\(closed.json)")
        let ready = await t.run("w1", "get-events", #"{"event_types": ["task_ready"]}"#).result["count"]
        #expect(ready == before, "task_ready published for a task of the closed phase")
        let skipped = await t.run("w1", "get-events", #"{"event_types": ["task_skipped"]}"#).result["events"]
        #expect(skipped?.arrayValue?.compactMap { $0["data"]?["task_id"]?.stringValue } == ["t1", "t2"])
        #expect(await phases() == ["completed", "completed", "pending"])
        #expect(await workflowStatus() == "paused")
    }

    @Test func tasksAddedToAPausedWorkflowBetweenPhasesWaitForResume() async throws {
        await t.run("w1", "create", #"{"phases": ["a", "b"]}"#)
        await t.run("w1", "start")
        await t.run("w1", "pause")
        #expect(await t.run("w1", "complete-phase").succeeded)
        let added = await t.run("w1", "add-tasks", #"{"tasks": [{"task_id": "late"}]}"#)
        #expect(added.succeeded, "\(added.json)")
        #expect(added.result["status"] == "paused")
        #expect(await phases() == ["completed", "pending"])
        #expect(await started() == [1])
        #expect(await t.run("w1", "resume").succeeded)
        #expect(await phases() == ["completed", "running"])
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        #expect(await t.claim("ag").first?["task_id"] == "late")
    }
}
