import HubCore
import HubEngine
import HubTesting
import Testing

/// What a long-lived process applies on its timer without any operation touching it.
@Suite struct DueWorkTests {
    @Test func silentAgentsExpireAndTimedOutWorkflowsFail() async throws {
        let t = try TestHub()
        defer { t.remove() }
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "a", "role": "code"}]}]}"#)
        await t.run("w2", "create", #"{"phases": ["q"], "timeout": "1h"}"#)
        await t.run("w1", "start")
        await t.run("w2", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag", "specializations": ["code"]}"#)
        #expect(await t.run(nil, "claim-task", #"{"agent_id": "ag"}"#).result["count"] == 1)
        t.clock.advance(by: .hours(2))
        try await t.hub.runDueWork()
        let (agent, task, w2) = try await t.hub.store.read { tx in
            (
                try tx.agent("ag")?.status, try tx.task(workflowID: "w1", taskID: "a")?.status,
                try tx.workflow("w2")?.status
            )
        }
        #expect(agent == .unresponsive)
        #expect(task == .ready)
        #expect(w2 == .failed)
    }
}
