import HubCore
import HubEngine
import HubTesting
import Testing

@Suite struct BudgetEngineTests {
    let t: TestHub
    init() throws { t = try TestHub() }

    func claim(_ agent: String) async -> JSONValue? {
        await t.run(nil, "claim-task", "{\"agent_id\": \"\(agent)\"}").result["tasks"]?.arrayValue?.first
    }

    @Test func spendingTheWorkflowBudgetPausesItAndStopsHandingOutTasks() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "a"}, {"task_id": "b"}]}], "budget": {"tokens": 1000, "cost": 2}}"#
        )
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        let first = try #require(await claim("ag"))
        let done = await t.run(
            nil, "complete-task",
            "{\"lease_id\": \"\(first["lease_id"]?.stringValue ?? "")\", \"usage\": {\"tokens\": 1200, \"cost\": 0.5}}")
        #expect(done.succeeded)
        // The next steps say what works: no claim while paused, and a resume raising the limit
        // spent (a plain resume is refused; the limit not spent stays as it is).
        let steps = { (r: OperationResponse) in r.json["next_steps"]?.arrayValue?.compactMap(\.stringValue) ?? [] }
        #expect(steps(done) == ["Workflow w1 is paused: claim-task hands out none of its tasks until it runs again"])
        let status = await t.run("w1", "get-status")
        #expect(
            steps(status).first?.hasSuffix(#"resume '{"budget": {"tokens":2400}}'"#) == true,
            "\(steps(status))")
        let state = status.result["workflow_state"]
        #expect(state?["status"] == "paused")
        #expect(state?["spend"]?["tokens"] == 1200)
        #expect(state?["spend"]?["exhausted"] == ["tokens"])
        #expect(state?["budget"]?["tokens"] == 1000)
        #expect(await claim("ag") == nil)
        let events = await t.run("w1", "get-events", #"{"event_types": ["budget_exhausted"]}"#).result["count"]
        #expect(events == 1)
        #expect(await t.run("w1", "resume").errorCode == "BUDGET_EXHAUSTED")
        #expect(await t.run("w1", "resume", #"{"budget": {"tokens": 5000}}"#).succeeded)
        #expect(await claim("ag")?["task_id"] == "b")
    }

    /// Pauses w1 (tokens 1000, cost 1.5) by spending its tokens.
    func spendTheTokens() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "a"}, {"task_id": "b"}]}], "budget": {"tokens": 1000, "cost": 1.5}}"#
        )
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        let lease = try #require(await claim("ag")?["lease_id"]?.stringValue)
        let done = await t.run(
            nil, "complete-task", "{\"lease_id\": \"\(lease)\", \"usage\": {\"tokens\": 1200, \"cost\": 0.5}}")
        #expect(done.succeeded)
        #expect(await t.run("w1", "get-status").result["workflow_state"]?["status"] == "paused")
    }

    /// `resume '{"budget": {"tokens": 200}}'` replaced the whole budget, silently dropping the
    /// workflow's cost limit: the limits given replace those, the others stay.
    @Test func resumingWithALargerLimitKeepsTheOthers() async throws {
        try await spendTheTokens()
        #expect(await t.run("w1", "resume", #"{"budget": {"tokens": 5000}}"#).succeeded)
        let budget = await t.run("w1", "get-status").result["workflow_state"]?["budget"]
        #expect(budget?["tokens"] == 5000)
        #expect(budget?["cost"]?.doubleValue == 1.5, "\(budget ?? .null)")
        // A later resume naming only the cost leaves the raised tokens alone.
        await t.run("w1", "pause")
        #expect(await t.run("w1", "resume", #"{"budget": {"cost": 3}}"#).succeeded)
        let after = await t.run("w1", "get-status").result["workflow_state"]?["budget"]
        #expect(after?["tokens"] == 5000)
        #expect(after?["cost"]?.doubleValue == 3)
    }

    /// A limit could be raised but never removed: `null` removes it, and a workflow paused on
    /// that limit runs on without it.
    @Test func resumingWithANullLimitRemovesIt() async throws {
        try await spendTheTokens()
        let resumed = await t.run("w1", "resume", #"{"budget": {"tokens": null}}"#)
        #expect(resumed.succeeded, "\(resumed.json)")
        let budget = await t.run("w1", "get-status").result["workflow_state"]?["budget"]
        #expect(budget?["tokens"] == .null, "\(budget ?? .null)")
        #expect(budget?["cost"]?.doubleValue == 1.5)
        #expect(await claim("ag")?["task_id"] == "b")
        // Removing the last limit leaves no budget at all.
        await t.run("w1", "pause")
        #expect(await t.run("w1", "resume", #"{"budget": {"cost": null}}"#).succeeded)
        #expect(await t.run("w1", "get-status").result["workflow_state"]?["budget"] == .null)
        // null is the only value other than a limit: anything else is still refused.
        await t.run("w1", "pause")
        let wrong = await t.run("w1", "resume", #"{"budget": {"tokens": "none"}}"#)
        #expect(wrong.errorCode == "INVALID_PARAMETERS")
        #expect(wrong.json["error"]?["message"]?.stringValue?.contains("an integer or null") == true, "\(wrong.json)")
    }

    /// A claim naming a workflow paused on its budget answered "Nothing is eligible now; claim
    /// again later": it says why and how to go on.
    @Test func aClaimNamingABudgetPausedWorkflowSaysItsBudgetIsSpent() async throws {
        try await spendTheTokens()
        let claimed = await t.run("w1", "claim-task", #"{"agent_id": "ag"}"#)
        #expect(claimed.result["count"] == 0)
        let steps = claimed.json["next_steps"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(
            steps == [
                #"Workflow w1 is paused because its budget is spent (tokens): resume it with a larger one (the limits given replace those; the others stay): coordination-hub w1 resume '{"budget": {"tokens":2400}}'"#
            ], "\(steps)")
        // Paused by hand, it says it is paused.
        #expect(await t.run("w1", "resume", #"{"budget": {"tokens": 5000}}"#).succeeded)
        await t.run("w1", "pause")
        let paused = await t.run("w1", "claim-task", #"{"agent_id": "ag"}"#)
        #expect(
            paused.json["next_steps"]?.arrayValue?.compactMap(\.stringValue) == [
                "Workflow w1 is paused: claim-task hands out none of its tasks until it runs again"
            ])
    }

    /// The suggested budget doubled the limit whatever was spent: one usage report far past the
    /// limit left the suggestion spent already, and the resume it offered was refused
    /// (BUDGET_EXHAUSTED). It is twice the spend when that is more than the limit.
    @Test func theSuggestedBudgetIsMoreThanWhatWasSpent() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "a"}, {"task_id": "b"}]}], "budget": {"tokens": 20}}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        let lease = try #require(await claim("ag")?["lease_id"]?.stringValue)
        let done = await t.run(nil, "complete-task", "{\"lease_id\": \"\(lease)\", \"usage\": {\"tokens\": 100}}")
        #expect(done.succeeded)
        let suggested = #"resume '{"budget": {"tokens":200}}'"#
        let steps = await t.run("w1", "get-status").json["next_steps"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(steps.first?.hasSuffix(suggested) == true, "\(steps)")
        let claimed = await t.run("w1", "claim-task", #"{"agent_id": "ag"}"#)
        let claimSteps = claimed.json["next_steps"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(claimSteps.first?.hasSuffix(suggested) == true, "\(claimSteps)")
        let refused = await t.run("w1", "resume")
        #expect(refused.errorCode == "BUDGET_EXHAUSTED")
        let suggestions = refused.json["recovery_suggestions"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(suggestions.first?.hasSuffix(suggested) == true, "\(suggestions)")
        // The suggestion works.
        #expect(await t.run("w1", "resume", #"{"budget": {"tokens": 200}}"#).succeeded)
        #expect(await claim("ag")?["task_id"] == "b")
    }

    /// A workflow paused by its budget while its last task ran: the task completed and the
    /// phase closed, but resume was refused (BUDGET_EXHAUSTED) although nothing was left to
    /// hand out, and it stayed paused at 100 % for good. Resuming it completes it.
    @Test func aWorkflowWhoseWorkFinishedAfterItsBudgetPausedItCompletesWhenResumed() async throws {
        await t.run(
            "w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "a"}]}], "budget": {"tokens": 100}}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        let lease = try #require(await claim("ag")?["lease_id"]?.stringValue)
        await t.run(nil, "heartbeat", #"{"agent_id": "ag", "usage": {"tokens": 500}}"#)
        #expect(await t.run("w1", "get-status").result["workflow_state"]?["status"] == "paused")
        // Who reported it (the event said only what and how much).
        let reported = await t.run("w1", "get-events", #"{"event_types": ["usage_reported"]}"#).result["events"]
        #expect(reported?.arrayValue?.first?["data"]?["agent_id"] == "ag", "\(reported ?? .null)")
        #expect(await t.run(nil, "complete-task", "{\"lease_id\": \"\(lease)\"}").succeeded)
        let resumed = await t.run("w1", "resume")
        #expect(resumed.succeeded, "\(resumed.json)")
        #expect(await t.run("w1", "get-status").result["workflow_state"]?["status"] == "completed")
    }

    /// The last task's completion whose usage spends the budget completes the workflow (nothing
    /// is left to hand out): it was paused at 100 %, every phase closed, until a resume.
    @Test(arguments: ["complete-task", "fail-task"])
    func theLastOutcomeCompletesTheWorkflowWhateverItSpent(_ operation: String) async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "a", "max_retries": 0}]}], "budget": {"tokens": 10}}"#)
        await t.run("w1", "start", #"{"failure_tolerance": "high"}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        let lease = try #require(await claim("ag")?["lease_id"]?.stringValue)
        let done = await t.run(nil, operation, "{\"lease_id\": \"\(lease)\", \"usage\": {\"tokens\": 10}}")
        #expect(done.result["workflow_status"] == "completed", "\(done.json)")
        let state = await t.run("w1", "get-status").result["workflow_state"]
        #expect(state?["status"] == "completed")
        #expect(state?["spend"]?["tokens"] == 10)
    }

    /// With work left, the same spend still pauses the workflow, after the outcome settled.
    @Test func anOutcomeThatSpendsTheBudgetWithWorkLeftPauses() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "a"}]}, {"name": "q", "tasks": [{"task_id": "b"}]}], "budget": {"tokens": 10}}"#
        )
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        let lease = try #require(await claim("ag")?["lease_id"]?.stringValue)
        let done = await t.run(nil, "complete-task", "{\"lease_id\": \"\(lease)\", \"usage\": {\"tokens\": 10}}")
        #expect(done.result["workflow_status"] == "paused", "\(done.json)")
        #expect(await claim("ag") == nil)
        let types = await t.run("w1", "get-events", #"{"event_types": ["budget_exhausted", "paused"]}"#).result[
            "events"]?.arrayValue?.compactMap { $0["event_type"]?.stringValue }
        #expect(types == ["budget_exhausted", "paused"], "\(types ?? [])")
    }

    /// An agent that spent its budget is given no more work by the pool operations either: a
    /// redistribution reserved tasks for it (nobody else could claim them, it was refused) and
    /// assign-agents bound it, keeping every other agent out.
    @Test func aSpentAgentIsNeitherReservedForNorBound() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "a"}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "x"}"#)
        #expect(await claim("x")?["task_id"] == "a")
        await t.run(
            nil, "register-agent", #"{"agent_id": "spent", "max_concurrent_tasks": 5, "budget": {"tokens": 1}}"#)
        await t.run(nil, "heartbeat", #"{"agent_id": "spent", "usage": {"tokens": 5}}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "z"}"#)
        let plan = await t.run("w1", "redistribute-tasks", #"{"failed_agent": "x"}"#)
        let targets = plan.result["new_assignments"]?.arrayValue?.compactMap { $0["target_agent"]?.stringValue }
        #expect(targets == ["z"], "\(plan.json)")
        #expect(await claim("z")?["task_id"] == "a")

        await t.run("w2", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "b"}]}]}"#)
        await t.run("w2", "start")
        let bound = await t.run("w2", "assign-agents", #"{"agent_count": 1}"#)
        #expect(bound.result["bound_agents"]?.arrayValue?.contains("spent") == false, "\(bound.json)")
    }

    /// A reservation made before its agent spent its budget is released, so another agent takes the task.
    @Test func aReservationOfAnAgentThatSpentItsBudgetIsReleased() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "a"}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "x"}"#)
        #expect(await claim("x")?["task_id"] == "a")
        await t.run(nil, "register-agent", #"{"agent_id": "r", "budget": {"tokens": 1}}"#)
        let plan = await t.run("w1", "redistribute-tasks", #"{"failed_agent": "x"}"#)
        #expect(plan.result["new_assignments"]?.arrayValue?.first?["target_agent"] == "r", "\(plan.json)")
        await t.run(nil, "heartbeat", #"{"agent_id": "r", "usage": {"tokens": 5}}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "z"}"#)
        #expect(await claim("z")?["task_id"] == "a")
        let released = await t.run("w1", "get-events", #"{"event_types": ["task_redistributed"]}"#).result["events"]?
            .arrayValue?.last
        #expect(released?["data"]?["reason"] == "reserved_agent_budget_exhausted", "\(released ?? .null)")
    }

    @Test func anAgentThatSpentItsBudgetGetsNoMoreTasks() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "a"}, {"task_id": "b"}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag", "budget": {"cost": 1.0}}"#)
        let first = try #require(await claim("ag"))
        await t.run(nil, "heartbeat", #"{"agent_id": "ag", "usage": {"cost": 1.5}}"#)
        await t.run(nil, "complete-task", "{\"lease_id\": \"\(first["lease_id"]?.stringValue ?? "")\"}")
        #expect(await t.run(nil, "claim-task", #"{"agent_id": "ag"}"#).errorCode == "BUDGET_EXHAUSTED")
        let workflowSpend = await t.run("w1", "get-status").result["workflow_state"]?["spend"]?["cost"]
        #expect(workflowSpend == 1.5)
    }

    /// An agent's wall time moved only when a task finished: with a budget of 3s and a task
    /// running for 4s, monitor-pool said 0s spent and the agent claimed more.
    @Test func anAgentsWallTimeCountsTheTasksItIsRunning() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "a"}, {"task_id": "b"}]}]}"#)
        await t.run("w1", "start")
        await t.run(
            nil, "register-agent", #"{"agent_id": "ag", "max_concurrent_tasks": 2, "budget": {"wall_time": "3s"}}"#)
        #expect(await claim("ag")?["task_id"] != nil)
        t.clock.advance(by: .seconds(4))
        let spend = await t.run(nil, "monitor-pool").result["agent_pool"]?["performance_metrics"]?["ag"]?["spend"]
        #expect(spend?["wall_time"] == "4s" && spend?["exhausted"] == ["wall_time"], "\(String(describing: spend))")
        let details = await t.run("w1", "get-status", #"{"agent_details": true}"#).result["workflow_state"]?[
            "agent_details"]?["ag"]?["spend"]
        #expect(details == spend)
        #expect(await t.run(nil, "claim-task", #"{"agent_id": "ag"}"#).errorCode == "BUDGET_EXHAUSTED")
    }

    /// An agent without a wall-time budget showed "0s" spent while it ran a task, where one with
    /// a budget showed the running time: the same figure for both.
    @Test func anAgentsWallTimeCountsItsRunningTasksWithoutABudgetToo() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "a"}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "free"}"#)
        #expect(await claim("free")?["task_id"] != nil)
        t.clock.advance(by: .seconds(4))
        let spend = await t.run(nil, "monitor-pool").result["agent_pool"]?["performance_metrics"]?["free"]?["spend"]
        #expect(spend?["wall_time"] == "4s", "\(String(describing: spend))")
    }

    /// A heartbeat giving back its only lease answered "busy" with no lease: the status before the task went back.
    @Test func aHeartbeatGivingBackLeasesAnswersTheStatusAfter() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "a"}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag", "max_concurrent_tasks": 1}"#)
        let lease = try #require(await claim("ag")?["lease_id"]?.stringValue)
        let beat = await t.run(nil, "heartbeat", "{\"agent_id\": \"ag\", \"released_leases\": [\"\(lease)\"]}")
        #expect(beat.result["status"] == "available", "\(beat.json)")
        #expect(beat.result["leases"] == [])
    }

    /// Usage past the per-report limit is refused and changes nothing: two reports of
    /// Int64.max tokens overflowed the agent's total and trapped, which took the server down,
    /// and again at every later report since the first one was stored.
    @Test func usageTooLargeIsRefusedAndTotalsNeverOverflow() async throws {
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        for usage in [#"{"tokens": 9223372036854775807}"#, #"{"cost": 1e308}"#, #"{"tokens": -1}"#] {
            let refused = await t.run(nil, "heartbeat", "{\"agent_id\": \"ag\", \"usage\": \(usage)}")
            #expect(refused.errorCode == "INVALID_PARAMETERS", "\(usage)")
        }
        let limit = Spend.maximumTokensPerReport
        for _ in 0..<2 {
            #expect(
                await t.run(nil, "heartbeat", "{\"agent_id\": \"ag\", \"usage\": {\"tokens\": \(limit)}}").succeeded)
        }
        let pool = await t.run(nil, "monitor-pool").result["agent_pool"]
        #expect(pool?["performance_metrics"]?["ag"]?["spend"]?["tokens"] == .int(2 * limit))
        // The totals saturate instead of wrapping or becoming infinite.
        var spend = Spend(tokens: .max - 1, cost: .greatestFiniteMagnitude)
        spend.add(Spend(tokens: 5, cost: .greatestFiniteMagnitude))
        #expect(spend.tokens == .max)
        #expect(spend.cost == .greatestFiniteMagnitude)
    }

    @Test func theWallTimeBudgetCountsRunningTimeOnly() async throws {
        await t.run("w1", "create", #"{"phases": ["p"], "budget": {"wall_time": "1h"}}"#)
        await t.run("w1", "start")
        t.clock.advance(by: .minutes(59))
        #expect(await t.run("w1", "get-status").result["workflow_state"]?["status"] == "running")
        t.clock.advance(by: .minutes(1))
        #expect(await t.run("w1", "get-status").result["workflow_state"]?["status"] == "paused")
    }

    func events(_ types: String) async -> [JSONValue] {
        await t.run("w1", "get-events", "{\"event_types\": [\(types)]}").result["events"]?.arrayValue ?? []
    }

    /// Running out of budget pauses the workflow as `pause` does, publishing `paused` caused by
    /// `budget_exhausted`: a subscriber to `workflow.*.paused` missed every pause for budget.
    @Test func aSpentBudgetPublishesPausedCausedByBudgetExhausted() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "a"}, {"task_id": "b"}]}], "budget": {"tokens": 100}}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        let first = try #require(await claim("ag"))
        await t.run(
            nil, "complete-task",
            "{\"lease_id\": \"\(first["lease_id"]?.stringValue ?? "")\", \"usage\": {\"tokens\": 150}}")
        let chain = await events(#""budget_exhausted", "paused""#)
        #expect(chain.map { $0["event_type"] } == ["budget_exhausted", "paused"])
        #expect(chain.last?["metadata"]?["causation_id"] == chain.first?["event_id"])
        let subscribed = await t.run("w1", "get-events", #"{"patterns": ["workflow.*.paused"]}"#).result["count"]
        #expect(subscribed == 1)
    }

    /// The wall-time budget pauses through the same path, with the same `paused`.
    @Test func aSpentWallTimeBudgetPublishesPausedToo() async throws {
        await t.run("w1", "create", #"{"phases": ["p"], "budget": {"wall_time": "1h"}}"#)
        await t.run("w1", "start")
        t.clock.advance(by: .hours(1))
        #expect(await t.run("w1", "get-status").result["workflow_state"]?["status"] == "paused")
        let chain = await events(#""budget_exhausted", "paused""#)
        #expect(chain.map { $0["event_type"] } == ["budget_exhausted", "paused"])
        #expect(chain.last?["metadata"]?["causation_id"] == chain.first?["event_id"])
    }

    /// A budget of nothing is spent before any work: it was accepted and the workflow paused at
    /// its first claim. Refused, naming the field, and nothing is created or changed.
    @Test func aBudgetOfNothingIsRefusedNamingItsField() async throws {
        let cases = [
            (#"{"tokens": 0}"#, "budget.tokens"), (#"{"cost": 0}"#, "budget.cost"),
            (#"{"wall_time": "0s"}"#, "budget.wall_time"), (#"{"wall_time": "0.1ms"}"#, "budget.wall_time"),
            (#"{"tokens": 10, "wall_time": "0m"}"#, "budget.wall_time"),
        ]
        for (budget, field) in cases {
            let refused = await t.run("w1", "create", "{\"phases\": [\"p\"], \"budget\": \(budget)}")
            #expect(refused.errorCode == "INVALID_PARAMETERS", "\(budget)")
            #expect(refused.error?.context?["field"] == .string(field), "\(budget)")
        }
        // Below nothing, the same rule is said (it said "at least 0", and 0 itself was refused).
        let negative = await t.run("w1", "create", #"{"phases": ["p"], "budget": {"cost": -1}}"#)
        #expect(negative.error?.message.contains("must be more than 0") == true, "\(negative.json)")
        #expect(await t.run("w1", "get-status").errorCode == "WORKFLOW_NOT_FOUND")
        await t.run("w1", "create", #"{"phases": ["p"], "budget": {"tokens": 10}}"#)
        await t.run("w1", "start")
        await t.run("w1", "pause")
        let resumed = await t.run("w1", "resume", #"{"budget": {"tokens": 0}}"#)
        #expect(resumed.errorCode == "INVALID_PARAMETERS")
        let state = await t.run("w1", "get-status").result["workflow_state"]
        #expect(state?["status"] == "paused")
        #expect(state?["budget"]?["tokens"] == 10)
        let agent = await t.run(nil, "register-agent", #"{"agent_id": "ag", "budget": {"cost": 0}}"#)
        #expect(agent.error?.context?["field"] == "budget.cost")
    }
}
