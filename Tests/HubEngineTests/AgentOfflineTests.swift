import HubCore
import HubEngine
import HubTesting
import Testing

/// `heartbeat` with `offline: true`, which a runner sends as it stops: the agent is offline,
/// its silence is not taken for a failure, and a heartbeat or registration brings it back.
@Suite struct AgentOfflineTests {
    let t: TestHub
    init() throws { t = try TestHub.heartbeatEvery(.seconds(10)) }

    func failures(_ agent: String) async -> [JSONValue] {
        let events = await t.run(nil, "get-events", #"{"event_types": ["failed"]}"#).result["events"]?.arrayValue ?? []
        return events.filter { $0["subject"]?.stringValue == "agent.\(agent).failed" }
    }

    func status(_ agent: String) async -> String? {
        await t.run(nil, "monitor-pool").result["agent_pool"]?["performance_metrics"]?[agent]?["status"]?.stringValue
    }

    /// A runner that stopped cleanly was reported `agent.<id>.failed` (severity error) and
    /// shown unresponsive 3 intervals later.
    @Test func anAgentThatWentOfflineIsNotReportedFailedWhenSilent() async throws {
        await t.run(nil, "register-agent", #"{"agent_id": "quiet"}"#)
        let answer = await t.run(nil, "heartbeat", #"{"agent_id": "quiet", "held_leases": [], "offline": true}"#)
        #expect(answer.error == nil, "\(answer.json)")
        #expect(answer.result["status"] == "offline")
        #expect(await status("quiet") == "offline")
        t.clock.advance(by: .seconds(40))
        // Any dispatcher operation runs the sweep first.
        await t.run(nil, "register-agent", #"{"agent_id": "other"}"#)
        #expect(await t.claim("quiet").isEmpty)
        #expect(await status("quiet") == "offline")
        #expect(await failures("quiet").isEmpty)
        // Back by a heartbeat, and judged by its silence again.
        let back = await t.run(nil, "heartbeat", #"{"agent_id": "quiet"}"#)
        #expect(back.result["status"] == "available")
        t.clock.advance(by: .seconds(40))
        await t.run(nil, "monitor-pool")
        #expect(await status("quiet") == "unresponsive")
        #expect(await failures("quiet").count == 1)
    }

    /// Registering brings an agent set offline back too.
    /// Found by session 18's probe: a runner stopped while its long-polling claim was being
    /// answered cut the claim short; its lease, younger than an interval, was kept by the last
    /// heartbeat and the task lay claimed until it lapsed (an attempt counted, a task without
    /// retries failed). Going offline, the agent holds only what it names.
    @Test func goingOfflineGivesBackALeaseWhoseClaimAnswerWasCutShort() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "a", "max_retries": 0}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "leaving"}"#)
        #expect(await t.claim("leaving").count == 1)

        let answer = await t.run(nil, "heartbeat", #"{"agent_id": "leaving", "held_leases": [], "offline": true}"#)

        #expect(answer.result["leases"] == [])
        let task = await t.run("w1", "get-status").result["workflow_state"]?["phases"]?.arrayValue?.first?["tasks"]?
            .arrayValue?.first
        #expect(task?["status"] == "ready", "\(String(describing: task))")
        #expect(task?["attempts"] == 0)
        // Not going offline, a claim that young is kept: its answer may still be on its way.
        await t.run(nil, "register-agent", #"{"agent_id": "staying"}"#)
        #expect(await t.claim("staying").count == 1)
        let kept = await t.run(nil, "heartbeat", #"{"agent_id": "staying", "held_leases": []}"#)
        #expect(kept.result["leases"]?.arrayValue?.count == 1)
    }

    @Test func anOfflineAgentRegisteringAgainIsAvailable() async throws {
        await t.run(nil, "register-agent", #"{"agent_id": "again"}"#)
        await t.run(nil, "heartbeat", #"{"agent_id": "again", "offline": true}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "again"}"#)
        #expect(await status("again") == "available")
    }
}
