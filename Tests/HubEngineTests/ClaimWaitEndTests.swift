import HubCore
import HubEngine
import HubTesting
import Testing

/// A claim waiting for one workflow's tasks when that workflow ends.
@Suite(.timeLimit(.minutes(1))) struct ClaimWaitEndTests {
    /// A claim narrowed to a workflow waited out its whole `wait` after the workflow had
    /// ended (the agent runners of scripts/demo.sh exited 5 s after their workflow finished):
    /// it answers as the workflow completes or is cancelled. The wait is longer than the
    /// suite's time limit, so only that can end it in time.
    @Test(arguments: ["complete-task", "cancel"])
    func aWaitingClaimEndsWhenItsWorkflowEnds(_ ending: String) async throws {
        let t = try TestHub()
        defer { t.remove() }
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "a", "role": "code"}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "busy", "specializations": ["code"]}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "idle", "specializations": ["code"]}"#)
        let claimed = await t.run("w1", "claim-task", #"{"agent_id": "busy"}"#)
        let lease = try #require(claimed.result["tasks"]?.arrayValue?.first?["lease_id"]?.stringValue)
        let waiting = Task { await t.run("w1", "claim-task", #"{"agent_id": "idle", "wait": "60s"}"#) }
        if ending == "cancel" {
            #expect(await t.run("w1", "cancel").error == nil)
        } else {
            #expect(await t.run(nil, "complete-task", #"{"lease_id": "\#(lease)"}"#).error == nil)
        }
        let answer = await waiting.value
        #expect(answer.error == nil, "\(answer.json)")
        #expect(answer.result["count"] == 0)
        let said = answer.json["next_steps"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(said.contains { $0.contains("Workflow w1 is") && $0.contains("no more tasks") }, "\(said)")
    }

    /// A claim whose caller went away before it ran (an MCP request cancelled while it was
    /// queued, a disconnected HTTP client) takes nothing: its answer is never read, and a task
    /// it took stayed with the agent until the lease lapsed.
    @Test(arguments: [nil, "60s"])
    func aClaimCancelledBeforeItRunsTakesNothing(_ wait: String?) async throws {
        let t = try TestHub()
        defer { t.remove() }
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "a"}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        let parameters = wait.map { #"{"agent_id": "ag", "wait": "\#($0)"}"# } ?? #"{"agent_id": "ag"}"#
        let claim = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await t.run(nil, "claim-task", parameters)
        }
        let answer = await claim.value
        #expect(answer.result["count"] == 0, "\(answer.json)")
        let task = await t.run("w1", "get-status").result["workflow_state"]?["phases"]?.arrayValue?.first?["tasks"]?
            .arrayValue?.first
        #expect(task?["status"] == "ready", "\(task ?? .null)")
        #expect(await t.run(nil, "claim-task", #"{"agent_id": "ag"}"#).result["count"] == 1)
    }
}
