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
}
