import HubCore
import HubEngine
import HubTesting
import Testing

/// Usage of a run that ends without an outcome (given back, or its outcome refused because its
/// lease had ended) is charged to that run's workflow: heartbeat charged only the workflows
/// whose leases it renewed, so such usage went to another workflow or to none (§16 budgets).
@Suite struct UsageOfEndedRunsTests {
    let t: TestHub
    init() throws { t = try TestHub() }

    func spend(_ workflowID: String) async -> JSONValue? {
        await t.run(workflowID, "get-status").result["workflow_state"]?["spend"]?["tokens"]
    }

    func agentSpend(_ agentID: String) async -> JSONValue? {
        await t.run(nil, "monitor-pool").result["agent_pool"]?["performance_metrics"]?[agentID]?["spend"]?["tokens"]
    }

    func create(_ ids: [String], task: String = #"{"task_id": "x"}"#) async {
        for id in ids {
            await t.run(
                id, "create", #"{"budget": {"tokens": 100}, "phases": [{"name": "p", "tasks": ["# + task + "]}]}")
            await t.run(id, "start")
        }
    }

    @Test func usageReportedWithAReleasedLeaseIsChargedToItsWorkflowAlone() async throws {
        await create(["wa", "wb"])
        await t.run(nil, "register-agent", #"{"agent_id": "a1", "max_concurrent_tasks": 2}"#)
        let a = try #require(await t.claim("a1", workflow: "wa").first?["lease_id"]?.stringValue)
        #expect(await t.claim("a1", workflow: "wb").count == 1)
        let beat = await t.run(
            nil, "heartbeat", "{\"agent_id\": \"a1\", \"released_leases\": [\"\(a)\"], \"usage\": {\"tokens\": 80}}")
        #expect(beat.succeeded, "\(beat.json)")
        #expect(await spend("wa") == 80)
        #expect(await spend("wb") == 0)
        #expect(await agentSpend("a1") == 80)
    }

    @Test func usageReportedWithTheOnlyLeaseReleasedIsChargedToItsWorkflow() async throws {
        await create(["wa"])
        await t.run(nil, "register-agent", #"{"agent_id": "a1"}"#)
        let a = try #require(await t.claim("a1").first?["lease_id"]?.stringValue)
        await t.run(
            nil, "heartbeat", "{\"agent_id\": \"a1\", \"released_leases\": [\"\(a)\"], \"usage\": {\"tokens\": 30}}")
        #expect(await spend("wa") == 30)
        let reported = await t.run("wa", "get-events", #"{"event_types": ["usage_reported"]}"#).result["events"]
        #expect(reported?.arrayValue?.first?["data"]?["usage"]?["tokens"] == 30, "\(reported ?? .null)")
        #expect(await agentSpend("a1") == 30)
    }

    /// A run whose task timed out: its complete-task is refused with LEASE_EXPIRED and records
    /// nothing, its usage included; the agent then names the ended lease with the usage.
    @Test func usageOfARunWhoseOutcomeWasRefusedIsChargedThroughItsEndedLease() async throws {
        await create(["wa", "wb"], task: #"{"task_id": "x", "timeout": "1s"}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "a1", "max_concurrent_tasks": 2}"#)
        let a = try #require(await t.claim("a1", workflow: "wa").first?["lease_id"]?.stringValue)
        t.clock.advance(by: .seconds(2))
        #expect(await t.run("wa", "get-status").succeeded)
        let refused = await t.run(nil, "complete-task", "{\"lease_id\": \"\(a)\", \"usage\": {\"tokens\": 300}}")
        #expect(refused.errorCode == "LEASE_EXPIRED")
        #expect(await spend("wa") == 0)
        #expect(await agentSpend("a1") == 0)
        // It holds a lease in wb now: the usage is still wa's.
        #expect(await t.claim("a1", workflow: "wb").count == 1)
        let beat = await t.run(
            nil, "heartbeat", "{\"agent_id\": \"a1\", \"released_leases\": [\"\(a)\"], \"usage\": {\"tokens\": 300}}")
        #expect(beat.succeeded, "\(beat.json)")
        #expect(await spend("wa") == 300)
        #expect(await spend("wb") == 0)
        #expect(await agentSpend("a1") == 300)
        #expect(await t.run("wa", "get-status").result["workflow_state"]?["status"] == "paused")
    }

    /// Another agent's lease charges nothing to its workflow: the usage goes where the
    /// sender's own renewed leases are, as without a released lease.
    @Test func anotherAgentsLeaseIsNotChargedThrough() async throws {
        await create(["wa", "wb"])
        await t.run(nil, "register-agent", #"{"agent_id": "a1"}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "a2"}"#)
        let a = try #require(await t.claim("a1", workflow: "wa").first?["lease_id"]?.stringValue)
        #expect(await t.claim("a2", workflow: "wb").count == 1)
        await t.run(
            nil, "heartbeat", "{\"agent_id\": \"a2\", \"released_leases\": [\"\(a)\"], \"usage\": {\"tokens\": 40}}")
        #expect(await spend("wa") == 0)
        #expect(await spend("wb") == 40)
        let phase = await t.run("wa", "get-status").result["workflow_state"]?["phases"]?.arrayValue?.first
        #expect(phase?["tasks"]?.arrayValue?.first?["status"] == "running", "not given back: \(phase ?? .null)")
    }
}
