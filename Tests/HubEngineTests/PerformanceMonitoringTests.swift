import HubCore
import HubEngine
import HubTesting
import Testing

/// `performance_monitoring` (§14) was accepted and never read. With it off the hub keeps
/// each agent's track record but judges no one (§7's degradation): no `performance_degraded`,
/// no agent held back in task selection or redistribution, `degraded` shown as `null`.
@Suite struct PerformanceMonitoringTests {
    /// What one agent failing five tasks in a row led to.
    struct Outcome {
        var flakyEvents: [String] = []
        var flakyRecord: JSONValue = .null
        var pool: JSONValue = .null
        /// Tasks the flaky agent got by claiming while a healthy agent had room.
        var claimedAfter = 0
        /// Who redistribution (round robin: `flaky` before `healthy`) gave another agent's task to.
        var redistributedTo: String?
    }

    func run(monitoring: Bool) async throws -> Outcome {
        var configuration = Configuration()
        configuration.performanceMonitoring = monitoring
        let t = try TestHub(configuration: configuration)
        let tasks = (1...7).map { "{\"task_id\": \"t\($0)\"}" }.joined(separator: ", ")
        await t.run(
            "w1", "create",
            "{\"phases\": [{\"name\": \"p\", \"tasks\": [\(tasks)]}], \"configuration\": {\"failure_tolerance\": \"high\"}}"
        )
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "flaky", "max_concurrent_tasks": 5}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "healthy", "max_concurrent_tasks": 2}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "xleaving"}"#)
        for task in await t.claim("flaky", max: 5) {
            let lease = task["lease_id"]?.stringValue ?? ""
            #expect(
                await t.run(nil, "fail-task", "{\"lease_id\": \"\(lease)\", \"retryable\": false}").errorCode == nil)
        }
        var out = Outcome()
        let events = await t.run(nil, "get-events", #"{"patterns": ["agent.flaky.*"]}"#).result["events"]
        out.flakyEvents = events?.arrayValue?.compactMap { $0["event_type"]?.stringValue } ?? []
        out.pool = await t.run(nil, "monitor-pool").result["agent_pool"] ?? .null
        out.flakyRecord = out.pool["performance_metrics"]?["flaky"] ?? .null
        out.claimedAfter = await t.claim("flaky").count
        #expect(await t.claim("xleaving").count == 1)
        let moved = await t.run(
            "w1", "redistribute-tasks", #"{"failed_agent": "xleaving", "strategy": "round_robin"}"#)
        out.redistributedTo = moved.result["new_assignments"]?.arrayValue?.first?["target_agent"]?.stringValue
        return out
    }

    @Test func aDegradedAgentIsAnnouncedAndHeldBackWhileMonitoring() async throws {
        let on = try await run(monitoring: true)
        #expect(on.flakyEvents.contains("performance_degraded"), "\(on.flakyEvents)")
        #expect(on.flakyRecord["degraded"] == true)
        #expect(on.pool["degraded_agents"] == ["flaky"])
        #expect(on.claimedAfter == 0)
        #expect(on.redistributedTo == "healthy")
    }

    @Test func withMonitoringOffNoAgentIsJudgedButItsRecordIsKept() async throws {
        let off = try await run(monitoring: false)
        #expect(!off.flakyEvents.contains("performance_degraded"), "\(off.flakyEvents)")
        #expect(off.flakyRecord["degraded"] == .null)
        #expect(off.flakyRecord["tasks_failed"] == 5)
        #expect(off.flakyRecord["success_rate"]?.doubleValue == 0)
        #expect(off.pool["degraded_agents"] == .null)
        #expect(off.pool["performance_monitoring"] == false)
        #expect(off.claimedAfter == 1)
        #expect(off.redistributedTo == "flaky")
    }
}
