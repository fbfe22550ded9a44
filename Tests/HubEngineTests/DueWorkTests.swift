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

/// A heartbeat that lists the leases the agent holds releases the ones it never heard of.
@Suite struct HeldLeasesTests {
    @Test func aLeaseWhoseClaimAnswerWasLostGoesBackToTheQueue() async throws {
        let t = try TestHub()
        defer { t.remove() }
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "a"}, {"task_id": "b"}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag", "max_concurrent_tasks": 2}"#)
        let claimed = await t.run(nil, "claim-task", #"{"agent_id": "ag", "max_tasks": 2}"#).result["tasks"]
        let leases = claimed?.arrayValue?.compactMap { $0["lease_id"]?.stringValue } ?? []
        #expect(leases.count == 2)
        // Right after the claim nothing is released, even if the agent has not heard of it yet.
        let early = await t.run(nil, "heartbeat", "{\"agent_id\": \"ag\", \"held_leases\": [\"\(leases[0])\"]}")
        #expect(early.result["leases"]?.arrayValue?.count == 2)
        t.clock.advance(by: .minutes(1))
        let later = await t.run(nil, "heartbeat", "{\"agent_id\": \"ag\", \"held_leases\": [\"\(leases[0])\"]}")
        #expect(later.result["leases"]?.arrayValue?.compactMap { $0["lease_id"]?.stringValue } == [leases[0]])
        let statuses = try await t.hub.store.read { tx in
            try tx.tasks(of: "w1").map { ($0.taskID, $0.status, $0.attempts) }
        }
        let released = try #require(statuses.first { $0.1 == .ready })
        #expect(released.2 == 0)  // the attempt is not counted: it never ran
    }
}
