import HubCore
import HubEngine
import HubTesting
import Testing

/// Work ends with what stops it: a workflow failed by the claim's own sweep, one past its
/// timeout or wall-time budget, an agent that leaves or is redistributed. Found by a probe of
/// §7, §8 and §16 against the store.
@Suite struct DispatchStopTests {
    let t: TestHub
    init() throws { t = try TestHub.heartbeatEvery(.seconds(10)) }

    func state(_ workflow: String) async -> JSONValue? {
        await t.run(workflow, "get-status").result["workflow_state"]
    }

    func events(_ workflow: String, _ type: String) async -> [JSONValue] {
        await t.run(workflow, "get-events", "{\"event_types\": [\"\(type)\"]}").result["events"]?.arrayValue ?? []
    }

    /// The claim's sweep times out t1 (no retries left), which fails the workflow; the same
    /// claim handed out t2 of the failed workflow, with a live lease.
    @Test func aClaimTakesNothingFromAWorkflowItsOwnSweepFailed() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "t1", "timeout": "1s", "max_retries": 0, "priority": "high"}, {"task_id": "t2"}]}]}"#
        )
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag1"}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "ag2"}"#)
        #expect(await t.claim("ag1").first?["task_id"] == "t1")
        t.clock.advance(by: .seconds(2))
        #expect(await t.claim("ag2").isEmpty)
        #expect(await state("w1")?["status"] == "failed")
        #expect(await events("w1", "task_assigned").count == 1)
    }

    /// A task past its own timeout times out when its workflow is next touched, as the workflow's
    /// own timeout does: it stayed running through get-status and pause, with no
    /// task_timed_out, until some agent claimed.
    @Test func aTaskPastItsTimeoutTimesOutWhenItsWorkflowIsRead() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "t1", "timeout": "1s", "max_retries": 1}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        #expect(await t.claim("ag").first?["task_id"] == "t1")
        let version = await state("w1")?["state_version"]
        #expect(await state("w1")?["state_version"] == version)
        t.clock.advance(by: .seconds(2))
        let task = await state("w1")?["phases"]?.arrayValue?.first?["tasks"]?.arrayValue?.first
        #expect(task?["status"] == "ready")
        let timedOut = await events("w1", "task_timed_out")
        #expect(timedOut.count == 1)
        let retried = await events("w1", "task_retried")
        #expect(retried.first?["metadata"]?["causation_id"] == timedOut.first?["event_id"])
        #expect(await t.claim("ag").first?["task_id"] == "t1")
    }

    /// Out of retries, the timed-out task fails, and its workflow with it, before the pause
    /// that named the workflow is applied.
    @Test func aTaskPastItsTimeoutWithoutRetriesFailsItsWorkflowBeforeAPause() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "t1", "timeout": "1s", "max_retries": 0}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        #expect(await t.claim("ag").first?["task_id"] == "t1")
        t.clock.advance(by: .seconds(2))
        #expect(await t.run("w1", "pause").errorCode == "INVALID_TRANSITION")
        #expect(await state("w1")?["status"] == "failed")
        #expect(await events("w1", "task_timed_out").count == 1)
        #expect(await events("w1", "task_failed").count == 1)
    }

    /// A claim that names no workflow took tasks of workflows past their timeout or wall-time
    /// budget: only a call naming them enforced it, by then too late.
    @Test func aClaimAcrossWorkflowsPassesOverOnesPastTheirDeadline() async throws {
        await t.run("w1", "create", #"{"timeout": "2s", "phases": [{"name": "p", "tasks": [{"task_id": "a"}]}]}"#)
        await t.run(
            "w2", "create", #"{"budget": {"wall_time": "2s"}, "phases": [{"name": "p", "tasks": [{"task_id": "b"}]}]}"#)
        await t.run("w3", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "c"}]}]}"#)
        for id in ["w1", "w2", "w3"] { await t.run(id, "start") }
        await t.run(nil, "register-agent", #"{"agent_id": "ag", "max_concurrent_tasks": 5}"#)
        t.clock.advance(by: .seconds(3))
        #expect(await t.claim("ag", max: 5).map { $0["workflow_id"] } == ["w3"])
        let workflows = await t.run(nil, "list-workflows").result["workflows"]?.arrayValue ?? []
        let status = Dictionary(
            workflows.map { ($0["id"]?.stringValue ?? "", $0["status"]?.stringValue ?? "") },
            uniquingKeysWith: { a, _ in a })
        #expect(status["w1"] == "failed")
        #expect(status["w2"] == "paused")
    }

    /// A workflow failed by its timeout kept its running task's lease, its agent busy and its
    /// allocation granted, so other work that needed them waited for ever.
    @Test func aWorkflowFailedByItsTimeoutLetsGoOfLeasesAndAllocations() async throws {
        await t.run(
            "w1", "create",
            #"{"timeout": "2s", "phases": [{"name": "p", "tasks": [{"task_id": "a", "files": ["shared.txt"]}, {"task_id": "b"}]}]}"#
        )
        await t.run(
            "w2", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "a2", "files": ["shared.txt"]}]}]}"#)
        await t.run("w1", "start")
        await t.run("w2", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag1"}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "ag2"}"#)
        let lease = try #require(await t.claim("ag1", workflow: "w1").first?["lease_id"]?.stringValue)
        #expect(await t.run("w1", "allocate-resources", #"{"resources": {"lock": 1}}"#).result["state"] == "granted")
        t.clock.advance(by: .seconds(3))
        #expect(await state("w1")?["status"] == "failed")
        #expect(await t.run(nil, "complete-task", "{\"lease_id\": \"\(lease)\"}").errorCode == "LEASE_EXPIRED")
        #expect(await t.run(nil, "allocate-resources", #"{"resources": {"lock": 1}}"#).result["state"] == "granted")
        // shared.txt stays held until ag1 shows it has let go of the ended run.
        #expect(await t.claim("ag2", workflow: "w2").isEmpty)
        await t.run(nil, "heartbeat", #"{"agent_id": "ag1", "held_leases": []}"#)
        #expect(await t.claim("ag2", workflow: "w2").first?["task_id"] == "a2")
    }

    /// An agent's allocation outlived its deregistration, holding the resource for ever.
    @Test func anAgentThatLeavesOrIsRedistributedLetsGoOfItsAllocations() async throws {
        await t.run(nil, "register-agent", #"{"agent_id": "ag1"}"#)
        await t.run(nil, "allocate-resources", #"{"resources": {"db": 1}, "agent_id": "ag1"}"#)
        await t.run(nil, "deregister-agent", #"{"agent_id": "ag1"}"#)
        #expect(await t.run(nil, "allocate-resources", #"{"resources": {"db": 1}}"#).result["state"] == "granted")

        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "t1"}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag2"}"#)
        await t.run(nil, "allocate-resources", #"{"resources": {"disk": 1}, "agent_id": "ag2"}"#)
        await t.run("w1", "redistribute-tasks", #"{"failed_agent": "ag2"}"#)
        #expect(await t.run(nil, "allocate-resources", #"{"resources": {"disk": 1}}"#).result["state"] == "granted")
    }

    /// Redistributing one agent's work moved another's too: the sweep of the same transaction
    /// had put that agent's task back in the queue, and every task_retried counted as revoked.
    /// The redistribution's own events were caused by the sweep's.
    @Test func redistributionMovesOnlyTheAgentsOwnTasks() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "t1"}, {"task_id": "t2"}]}]}"#)
        await t.run("w1", "start")
        for id in ["ag1", "ag2", "ag3"] { await t.run(nil, "register-agent", "{\"agent_id\": \"\(id)\"}") }
        #expect(await t.claim("ag1").first?["task_id"] == "t1")
        #expect(await t.claim("ag2").first?["task_id"] == "t2")
        t.clock.advance(by: .seconds(21))
        await t.run(nil, "heartbeat", #"{"agent_id": "ag1"}"#)
        await t.run(nil, "heartbeat", #"{"agent_id": "ag3"}"#)
        t.clock.advance(by: .seconds(10))
        let moved = await t.run("w1", "redistribute-tasks", #"{"failed_agent": "ag1", "strategy": "round_robin"}"#)
        #expect(moved.result["new_assignments"]?.arrayValue?.map { $0["task_id"] } == ["t1"], "\(moved.json)")
        // get-status shows the reservation: the task is ready, and only its agent claims it.
        let target = moved.result["new_assignments"]?.arrayValue?.first?["target_agent"]
        let t1 = await state("w1")?["phases"]?.arrayValue?.first?["tasks"]?.arrayValue?.first { $0["task_id"] == "t1" }
        #expect(
            t1?["status"] == "ready" && t1?["reserved_for"] == target && target != .null, "\(String(describing: t1))")
        let redistributed = try #require(await events("w1", "tasks_redistributed").first)
        #expect(redistributed["metadata"]?["causation_id"] == .null)
    }

    /// One claim's assignments are independent: the second was recorded as caused by the first.
    @Test func eachTaskAClaimHandsOutStartsItsOwnChain() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "a"}, {"task_id": "b"}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag", "max_concurrent_tasks": 2}"#)
        #expect(await t.claim("ag", max: 2).count == 2)
        #expect(await events("w1", "task_assigned").map { $0["metadata"]?["causation_id"] } == [.null, .null])
    }

    /// Usage a heartbeat splits across workflows keeps every token: 5 over two workflows was
    /// charged 2 + 2, and a budget of 2 each was passed without budget_exhausted.
    @Test func usageSplitAcrossWorkflowsAddsUpToTheWhole() async throws {
        for id in ["w1", "w2"] {
            await t.run(
                id, "create", #"{"budget": {"tokens": 2}, "phases": [{"name": "p", "tasks": [{"task_id": "x"}]}]}"#)
            await t.run(id, "start")
        }
        await t.run(nil, "register-agent", #"{"agent_id": "ag", "max_concurrent_tasks": 2}"#)
        #expect(await t.claim("ag", max: 2).count == 2)
        await t.run(nil, "heartbeat", #"{"agent_id": "ag", "usage": {"tokens": 5}}"#)
        let spent = [await state("w1"), await state("w2")].map { $0?["spend"]?["tokens"]?.intValue ?? 0 }
        #expect(spent.reduce(0, +) == 5, "\(spent)")
        #expect(await events("w1", "budget_exhausted").count + (await events("w2", "budget_exhausted").count) == 2)
    }

    /// A task reserved for an agent that then left the workflow's pool could be claimed by
    /// nobody: the agent is not a member, the members are not the one it is reserved for.
    @Test func aReservationForAnAgentOutsideThePoolIsReleased() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "t1"}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag1"}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "ag2"}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "ag3", "specializations": ["x"]}"#)
        #expect(await t.claim("ag1").first?["task_id"] == "t1")
        await t.run("w1", "redistribute-tasks", #"{"failed_agent": "ag1"}"#)
        await t.run("w1", "assign-agents", #"{"specializations": ["x"]}"#)
        #expect(await t.claim("ag3").first?["task_id"] == "t1")
        let released = await events("w1", "task_redistributed").last
        #expect(released?["data"]?["reason"] == "reserved_agent_not_in_pool")
    }

    /// A queued request holds back later ones for the same resources (§8), a task's claim
    /// too: a later low-priority task took `x` from under a queued high-priority request.
    @Test func aTaskDoesNotTakeWhatAQueuedRequestWaitsFor() async throws {
        await t.run(
            "w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "A", "resources": {"db": 1}}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag1"}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "ag2"}"#)
        let holding = try #require(await t.claim("ag1").first?["lease_id"]?.stringValue)
        let queued = await t.run(nil, "allocate-resources", #"{"resources": {"db": 1, "x": 1}, "priority": "high"}"#)
        #expect(queued.result["state"] == "queued")
        await t.run("w1", "add-tasks", #"{"tasks": [{"task_id": "C", "resources": {"x": 1}, "priority": "low"}]}"#)
        #expect(await t.claim("ag2").isEmpty)
        #expect(await t.run(nil, "complete-task", "{\"lease_id\": \"\(holding)\"}").succeeded)
        let request = try #require(queued.result["request_id"]?.stringValue)
        let granted = await t.run(nil, "allocate-resources", "{\"request_id\": \"\(request)\"}")
        #expect(granted.result["state"] == "granted", "\(granted.json)")
    }

    /// Polling an expired request answered RESOURCE_TIMEOUT from inside the transaction that
    /// found it expired, so the expiry was rolled back: the request stayed queued and
    /// resource_request_expired was never published.
    @Test func pollingARequestThatExpiredRecordsTheExpiry() async throws {
        await t.run(nil, "allocate-resources", #"{"resources": {"db": 1}}"#)
        let queued = await t.run(
            nil, "allocate-resources", #"{"resources": {"db": 1}, "constraints": {"max_wait_time": "1s"}}"#)
        let request = try #require(queued.result["request_id"]?.stringValue)
        t.clock.advance(by: .seconds(2))
        #expect(
            await t.run(nil, "allocate-resources", "{\"request_id\": \"\(request)\"}").errorCode == "RESOURCE_TIMEOUT")
        let expired = await t.run(nil, "get-events", #"{"event_types": ["resource_request_expired"]}"#).result["events"]
        #expect(expired?.arrayValue?.count == 1)
    }

    /// Redistributing an agent's work in one workflow leaves its allocation for another
    /// workflow, where it still holds its lease: released, the exclusive resource was granted
    /// to a second agent while the first still used it.
    @Test func redistributionReleasesOnlyThatWorkflowsAllocations() async throws {
        for id in ["wa", "wb"] {
            await t.run(id, "create", "{\"phases\": [{\"name\": \"p\", \"tasks\": [{\"task_id\": \"t_\(id)\"}]}]}")
            await t.run(id, "start")
        }
        await t.run(nil, "register-agent", #"{"agent_id": "a1", "max_concurrent_tasks": 2}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "a2"}"#)
        #expect(await t.claim("a1", max: 2).count == 2)
        #expect(
            await t.run("wb", "allocate-resources", #"{"resources": {"db": 1}, "agent_id": "a1"}"#).result["state"]
                == "granted")
        await t.run("wa", "redistribute-tasks", #"{"failed_agent": "a1"}"#)
        #expect(
            await t.run(nil, "allocate-resources", #"{"resources": {"db": 1}, "agent_id": "a2"}"#).result["state"]
                == "queued")
    }

    /// A change the sweep alone made (an agent's expiry) is committed with its version caused
    /// by the sweep's first event, as before operations began chains of their own: it was null.
    @Test func aVersionTheSweepMadeIsCausedByTheSweep() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "t1"}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "a1"}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "a2"}"#)
        #expect(await t.claim("a1").count == 1)
        t.clock.advance(by: .seconds(31))
        await t.run(nil, "register-agent", #"{"agent_id": "a2"}"#)
        let updated = await events("w1", "workflow_state_updated").last
        #expect(updated?["metadata"]?["causation_id"] != .null, "\(String(describing: updated))")
    }

    /// A lease given back with a heartbeat's released_leases puts its task back in the queue
    /// at once, with no attempt counted and nothing against the agent's record.
    @Test func aLeaseGivenBackCountsNoAttempt() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "t1", "max_retries": 0}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "a1"}"#)
        let lease = try #require(await t.claim("a1").first?["lease_id"]?.stringValue)
        let given = await t.run(
            nil, "heartbeat", "{\"agent_id\": \"a1\", \"held_leases\": [], \"released_leases\": [\"\(lease)\"]}")
        #expect(given.succeeded, "\(given.json)")
        #expect(await t.run(nil, "complete-task", "{\"lease_id\": \"\(lease)\"}").errorCode == "LEASE_EXPIRED")
        let again = try #require(await t.claim("a1").first)
        #expect(again["task_id"] == "t1")
        #expect(again["attempt"] == 1)
        let record = await t.run(nil, "monitor-pool").result["agent_pool"]?["performance_metrics"]?["a1"]
        #expect(record?["tasks_failed"] == 0)
    }

    /// A workflow failed by its timeout could be "resumed", only to fail again at the next call
    /// (its running time was past the limit): the only way on was cancel. Resuming it asks for
    /// a longer timeout, and runs with one.
    @Test func aWorkflowThatTimedOutResumesWithALongerTimeout() async throws {
        await t.run("w1", "create", #"{"timeout": "2s", "phases": [{"name": "p", "tasks": [{"task_id": "a"}]}]}"#)
        await t.run("w1", "start")
        t.clock.advance(by: .seconds(3))
        #expect(await state("w1")?["status"] == "failed")
        let refused = await t.run("w1", "resume")
        #expect(refused.errorCode == "INVALID_TRANSITION", "\(refused.json)")
        #expect(await state("w1")?["status"] == "failed")
        #expect(await t.run("w1", "resume", #"{"timeout": "1m"}"#).succeeded)
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        #expect(await t.claim("ag").first?["task_id"] == "a")
        #expect(await state("w1")?["status"] == "running")
    }
}
