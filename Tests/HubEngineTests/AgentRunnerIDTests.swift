import HubCore
import HubEngine
import HubTesting
import Testing

/// `runner_id` on `register-agent` and `heartbeat` (§7): one runner process at a time holds an
/// agent id; another is refused with `VERSION_CONFLICT` and changes nothing. Two runners under
/// one id released each other's leases at every heartbeat, and the runner's own check (reading
/// `monitor-pool` first) let two that started together both through.
@Suite struct AgentRunnerIDTests {
    let t: TestHub
    init() throws { t = try TestHub.heartbeatEvery(.seconds(10)) }

    func register(_ agent: String, runner: String?, max: Int = 1) async -> OperationResponse {
        var parameters: JSONValue = ["agent_id": .string(agent), "max_concurrent_tasks": .count(max)]
        if let runner { parameters["runner_id"] = .string(runner) }
        return await t.hub.perform(
            OperationRequest(workflowID: nil, operation: "register-agent", parameters: parameters))
    }

    func heartbeat(_ agent: String, runner: String?, _ more: JSONValue = .emptyObject) async -> OperationResponse {
        var parameters = more
        parameters["agent_id"] = .string(agent)
        if let runner { parameters["runner_id"] = .string(runner) }
        return await t.hub.perform(OperationRequest(workflowID: nil, operation: "heartbeat", parameters: parameters))
    }

    /// The agent as the store holds it.
    func stored(_ agent: String) async throws -> Agent? {
        try await t.hub.store.read { tx in try tx.agent(agent) }
    }

    /// How many events the store holds.
    func eventCount() async -> Int {
        await t.run(nil, "get-events", #"{"limit": 1000}"#).result["events"]?.arrayValue?.count ?? -1
    }

    @Test func aSecondRunnerIsRefusedWhileTheAgentIsLiveAndNothingChanges() async throws {
        #expect(await register("twin", runner: "run_a", max: 2).succeeded)
        t.clock.advance(by: .seconds(5))
        let before = try await stored("twin")
        let events = await eventCount()
        let refused = await register("twin", runner: "run_b", max: 5)
        #expect(refused.errorCode == "VERSION_CONFLICT", "\(refused.json)")
        let context = refused.error?.context
        #expect(context?["agent_id"] == "twin")
        #expect(context?["runner_id"] == "run_a")
        #expect(
            context?["last_heartbeat"]?.stringValue == before.map { Timestamp.format(milliseconds: $0.lastHeartbeat) })
        #expect(context?["silent_for"] == "5s")
        #expect(context?["retry_after"] == "25s")
        let message = refused.error?.message ?? ""
        #expect(message.contains("stop that runner"), "\(message)")
        #expect(message.contains("silent for 3 heartbeat intervals"), "\(message)")
        #expect(message.contains("another agent id"), "\(message)")
        let after = try await stored("twin")
        #expect(after == before, "\(String(describing: after)) \(String(describing: before))")
        #expect(before?.runnerID == "run_a")
        #expect(await eventCount() == events)
    }

    @Test func aSecondRunnerIsAcceptedOnceTheHolderHasBeenSilentForThreeIntervals() async throws {
        #expect(await register("lapse", runner: "run_a").succeeded)
        t.clock.advance(by: HubDuration(milliseconds: 29_999))
        #expect(await register("lapse", runner: "run_b").errorCode == "VERSION_CONFLICT")
        t.clock.advance(by: HubDuration(milliseconds: 1))
        let taken = await register("lapse", runner: "run_b")
        #expect(taken.error == nil, "\(taken.json)")
        #expect(taken.result["agent"]?["runner_id"] == "run_b")
        #expect(taken.result["agent"]?["status"] == "available")
        #expect(try await stored("lapse")?.runnerID == "run_b")
    }

    @Test func aRunnerMayRegisterAsSoonAsTheHolderHasGoneOffline() async throws {
        #expect(await register("handover", runner: "run_a").succeeded)
        let offline = await heartbeat("handover", runner: "run_a", ["offline": true])
        #expect(offline.error == nil, "\(offline.json)")
        #expect(try await stored("handover")?.runnerID == nil)
        let next = await register("handover", runner: "run_b")
        #expect(next.error == nil, "\(next.json)")
        #expect(try await stored("handover")?.runnerID == "run_b")
    }

    @Test func aHeartbeatFromAnotherRunnerIsRefusedAndChangesNothing() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "a"}]}]}"#)
        await t.run("w1", "start")
        #expect(await register("held", runner: "run_a").succeeded)
        let lease = try #require(await t.claim("held").first?["lease_id"]?.stringValue)
        t.clock.advance(by: .seconds(5))
        let before = try await stored("held")
        let refused = await heartbeat(
            "held", runner: "run_b", ["released_leases": [.string(lease)], "held_leases": [], "offline": true])
        #expect(refused.errorCode == "VERSION_CONFLICT", "\(refused.json)")
        #expect(refused.error?.context?["runner_id"] == "run_a")
        #expect(refused.error?.message.contains("must stop") == true, "\(refused.error?.message ?? "")")
        #expect(try await stored("held") == before)
        // The lease was neither released nor renewed: the holder still has it.
        let renewed = await heartbeat("held", runner: "run_a", ["held_leases": [.string(lease)]])
        #expect(renewed.result["leases"]?.arrayValue?.compactMap { $0["lease_id"]?.stringValue } == [lease])
    }

    /// A runner whose id was taken over gets no task even before its next heartbeat tells it:
    /// the task would run beside the new holder's (it did, once, before this was checked).
    @Test func aClaimFromAnotherRunnerIsRefusedAndTakesNothing() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "a"}]}]}"#)
        await t.run("w1", "start")
        #expect(await register("claimer", runner: "run_a").succeeded)
        t.clock.advance(by: .seconds(30))
        #expect(await register("claimer", runner: "run_b").succeeded)
        let before = try await stored("claimer")
        let events = await eventCount()
        let refused = await t.run(nil, "claim-task", #"{"agent_id": "claimer", "runner_id": "run_a"}"#)
        #expect(refused.errorCode == "VERSION_CONFLICT", "\(refused.json)")
        #expect(refused.error?.context?["runner_id"] == "run_b")
        #expect(try await stored("claimer") == before)
        #expect(await eventCount() == events)
        #expect(try await t.hub.store.read { tx in try tx.task(workflowID: "w1", taskID: "a")?.status } == .ready)
        // The holder, and a caller naming no runner, claim as before.
        let held = await t.run(nil, "claim-task", #"{"agent_id": "claimer", "runner_id": "run_b"}"#)
        #expect(held.result["tasks"]?.arrayValue?.count == 1, "\(held.json)")
        #expect(await t.run(nil, "claim-task", #"{"agent_id": "claimer"}"#).succeeded)
    }

    /// The loser of a takeover stops: its heartbeat is refused even once the new holder is
    /// silent, since that holder registered after it.
    @Test func aRunnerWhoseIDWasTakenOverIsRefusedAtItsNextHeartbeat() async throws {
        #expect(await register("over", runner: "run_a").succeeded)
        t.clock.advance(by: .seconds(30))
        #expect(await register("over", runner: "run_b").succeeded)
        #expect(await heartbeat("over", runner: "run_a").errorCode == "VERSION_CONFLICT")
        t.clock.advance(by: .seconds(60))
        #expect(await heartbeat("over", runner: "run_a").errorCode == "VERSION_CONFLICT")
        #expect(try await stored("over")?.runnerID == "run_b")
    }

    @Test func theHolderRegisteringAgainUpdatesTheAgent() async throws {
        #expect(await register("same", runner: "run_a").succeeded)
        let again = await register("same", runner: "run_a", max: 3)
        #expect(again.error == nil, "\(again.json)")
        #expect(try await stored("same")?.maxConcurrentTasks == 3)
        #expect(await heartbeat("same", runner: "run_a").succeeded)
    }

    /// Plain API users (no runner_id) are never refused. A registration of theirs leaves a live
    /// runner's hold; it clears a lapsed one, which would otherwise keep the next runner out for
    /// 3 more intervals on the strength of a registration that was not a runner's.
    @Test func aRegistrationWithoutRunnerIDLeavesALiveHoldAndClearsALapsedOne() async throws {
        #expect(await register("plain", runner: "run_a").succeeded)
        let live = await register("plain", runner: nil, max: 4)
        #expect(live.error == nil, "\(live.json)")
        #expect(try await stored("plain")?.runnerID == "run_a")
        #expect(try await stored("plain")?.maxConcurrentTasks == 4)
        #expect(await register("plain", runner: "run_b").errorCode == "VERSION_CONFLICT")
        t.clock.advance(by: .seconds(30))
        #expect(await register("plain", runner: nil).succeeded)
        #expect(try await stored("plain")?.runnerID == nil)
        #expect(await register("plain", runner: "run_b").succeeded)
        #expect(try await stored("plain")?.runnerID == "run_b")
    }

    @Test func aHeartbeatWithoutRunnerIDKeepsTheHold() async throws {
        #expect(await register("keep", runner: "run_a").succeeded)
        #expect(await heartbeat("keep", runner: nil).succeeded)
        #expect(try await stored("keep")?.runnerID == "run_a")
    }

    @Test func aRunnerHeartbeatingAnAgentNoRunnerHoldsTakesIt() async throws {
        #expect(await register("free", runner: nil).succeeded)
        #expect(await heartbeat("free", runner: "run_a").succeeded)
        #expect(try await stored("free")?.runnerID == "run_a")
        #expect(await register("free", runner: "run_b").errorCode == "VERSION_CONFLICT")
    }

    @Test(arguments: [
        #"42"#, #"true"#, #"["run_a"]"#, #"{"id": "run_a"}"#, #""""#, #""run/../x""#, #""run a""#, #""_run""#,
        "\"" + String(repeating: "r", count: 129) + "\"",
    ])
    func aMalformedRunnerIDIsRefusedNamingTheField(_ value: String) async throws {
        for operation in ["register-agent", "heartbeat", "claim-task"] {
            if operation != "register-agent" { await t.run(nil, "register-agent", #"{"agent_id": "bad"}"#) }
            let answer = await t.run(nil, operation, #"{"agent_id": "bad", "runner_id": "# + value + "}")
            #expect(answer.errorCode == "INVALID_PARAMETERS", "\(operation) \(value): \(answer.json)")
            #expect(answer.error?.context?["field"] == "runner_id", "\(operation) \(value): \(answer.json)")
        }
        #expect(try await stored("bad")?.runnerID == nil)
    }
}
