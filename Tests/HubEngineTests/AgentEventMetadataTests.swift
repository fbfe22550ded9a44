import HubCore
import HubEngine
import HubTesting
import Testing

/// Events about agents carry the metadata every event of the hub carries (§4, §16): a
/// correlation shared by all of one agent's events, the causing event, and tags. They
/// carried `{}`, and `performance_degraded` did not name the outcome that caused it.
@Suite struct AgentEventMetadataTests {
    let t: TestHub
    init() throws { t = try TestHub.heartbeatEvery(.seconds(10)) }

    func agentEvents(_ agent: String) async -> [JSONValue] {
        await t.run(nil, "get-events", "{\"patterns\": [\"agent.\(agent).*\"]}").result["events"]?.arrayValue ?? []
    }

    @Test func everyAgentEventCarriesTheAgentsCorrelationAndItsCause() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "t1"}, {"task_id": "t2"}, {"task_id": "t3"}, {"task_id": "t4"}, {"task_id": "t5"}]}], "configuration": {"failure_tolerance": "high"}}"#
        )
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "flaky", "max_concurrent_tasks": 5}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "other"}"#)
        // Five failures in a row: the agent is degraded by the fifth.
        var lastFailure: JSONValue = .null
        for task in await t.claim("flaky", max: 5) {
            let lease = task["lease_id"]?.stringValue ?? ""
            #expect(
                await t.run(nil, "fail-task", "{\"lease_id\": \"\(lease)\", \"retryable\": false}").errorCode == nil)
            let failures = await t.run(
                "w1", "get-events", #"{"event_types": ["task_failed"], "order": "desc", "limit": 1}"#)
            lastFailure = failures.result["events"]?.arrayValue?.first ?? .null
        }
        // Silent for three intervals: failed at the next sweep, then back by registering.
        t.clock.advance(by: .seconds(31))
        await t.run(nil, "heartbeat", #"{"agent_id": "other"}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "flaky"}"#)
        await t.run(nil, "deregister-agent", #"{"agent_id": "flaky"}"#)

        let events = await agentEvents("flaky")
        let types = events.compactMap { $0["event_type"]?.stringValue }
        #expect(
            types == ["registered", "performance_degraded", "failed", "registered", "recovered", "deregistered"],
            "\(types)")
        let correlation = try #require(events.first?["metadata"]?["correlation_id"]?.stringValue)
        for event in events {
            let metadata = event["metadata"] ?? .null
            #expect(metadata["correlation_id"]?.stringValue == correlation, "\(event)")
            #expect(metadata["causation_id"] != nil, "\(event)")
            #expect(metadata["tags"] == [], "\(event)")
        }
        #expect(correlation.contains("flaky"))
        let others = await agentEvents("other")
        #expect(others.first?["metadata"]?["correlation_id"]?.stringValue.map { $0 != correlation } == true)
        // The outcome that tipped the record causes the degradation; a re-registration the recovery.
        let degraded = events[1]
        #expect(degraded["data"]?["reason"] == "success_rate", "\(degraded)")
        #expect(lastFailure["event_type"] == "task_failed")
        #expect(degraded["metadata"]?["causation_id"] == lastFailure["event_id"], "\(degraded) \(lastFailure)")
        #expect(events[4]["metadata"]?["causation_id"] == events[3]["event_id"])
        #expect(events[0]["metadata"]?["causation_id"] == .null)
    }
}
