import HubCore
import HubEngine
import HubTesting
import Testing

/// What `restore` answers agrees with itself and with the state it left (§3, §11): the tasks
/// put back in the queue are listed once, in the fields and the steps alike; next steps do
/// not repeat each other.
@Suite struct RestoreAnswerTests {
    let t: TestHub
    init() throws { t = try TestHub() }

    func status(_ task: String) async -> JSONValue? {
        let phases = await t.run("w1", "get-status").result["workflow_state"]?["phases"]?.arrayValue ?? []
        return phases.flatMap { $0["tasks"]?.arrayValue ?? [] }.first { $0["task_id"]?.stringValue == task }?[
            "status"]
    }

    func step(_ answer: OperationResponse, _ action: String) -> JSONValue? {
        answer.result["restoration_steps"]?.arrayValue?.first { $0["action"]?.stringValue == action }
    }

    /// `edit` is running at the checkpoint and completed since: put back once, undone once.
    func rolledBack() async throws -> OperationResponse {
        await t.run("w1", "create", #"{"phases": [{"name": "a", "tasks": [{"task_id": "edit"}, {"task_id": "b"}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        let lease = try #require(await t.claim("ag").first?["lease_id"]?.stringValue)
        await t.run("w1", "checkpoint", #"{"name": "mid"}"#)
        #expect(await t.run(nil, "complete-task", "{\"lease_id\": \"\(lease)\"}").succeeded)
        let restored = await t.run("w1", "restore", #"{"name": "mid", "strategy": "rollback"}"#)
        #expect(restored.succeeded, "\(restored.json)")
        return restored
    }

    @Test func theTasksPutBackAreListedOnceInTheFieldsAndTheSteps() async throws {
        let restored = try await rolledBack()
        #expect(await status("edit") == "ready")
        #expect(restored.result["requeued_tasks"] == ["edit"])
        #expect(restored.result["undone_tasks"] == ["edit"])
        #expect(step(restored, "requeue_tasks")?["parameters"]?["tasks"] == ["edit"])
    }

    @Test func aTaskCompletedSinceTheCheckpointIsRequeuedNotOnlyUndone() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "a", "tasks": [{"task_id": "edit"}, {"task_id": "b"}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        await t.run("w1", "checkpoint", #"{"name": "before"}"#)
        let lease = try #require(await t.claim("ag").first?["lease_id"]?.stringValue)
        #expect(await t.run(nil, "complete-task", "{\"lease_id\": \"\(lease)\"}").succeeded)
        let restored = await t.run("w1", "restore", #"{"name": "before", "strategy": "rollback"}"#)
        #expect(await status("edit") == "ready")
        #expect(restored.result["undone_tasks"] == ["edit"])
        #expect(restored.result["requeued_tasks"] == ["edit"], "\(restored.json)")
        #expect(step(restored, "requeue_tasks")?["parameters"]?["tasks"] == ["edit"])
    }

    @Test func nextStepsSayResumeOnce() async throws {
        let restored = try await rolledBack()
        let steps = restored.json["next_steps"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(steps.filter { $0.contains("resume") }.count == 1, "\(steps)")
        #expect(Set(steps).count == steps.count)
    }
}
