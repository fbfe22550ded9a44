import Foundation
import HubCore
import HubEngine
import HubTesting
import Testing

@Suite struct PoolEngineTests {
    let t: TestHub
    init() throws { t = try TestHub() }

    func claim(_ agent: String, max: Int = 1) async -> [JSONValue] {
        await t.run(nil, "claim-task", "{\"agent_id\": \"\(agent)\", \"max_tasks\": \(max)}").result["tasks"]?
            .arrayValue ?? []
    }

    @Test(arguments: ["create", "claim-task", "serve", "help"])
    func anAgentIdCannotBeAnOperationsName(_ id: String) async throws {
        let refused = await t.run(nil, "register-agent", "{\"agent_id\": \"\(id)\"}")
        #expect(refused.errorCode == "INVALID_PARAMETERS")
        #expect(await t.run(nil, "monitor-pool").result["agent_pool"]?["total_agents"] == 0)
    }

    @Test func assignAgentsBindsMatchingAgentsAndOnlyTheyClaim() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "a", "role": "code"}]}], "agent_requirements": {"specialized_roles": ["code", "docs"]}}"#
        )
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "coder", "specializations": ["code"]}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "tester", "specializations": ["test"]}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "outsider", "specializations": ["code"]}"#)
        let bound = await t.run("w1", "assign-agents", #"{"agent_count": 1}"#)
        #expect(bound.result["bound_agents"]?.arrayValue?.map { $0["agent_id"] } == ["coder"])
        #expect(bound.result["uncovered_roles"] == ["docs"])
        #expect(await claim("outsider").isEmpty)
        // Told why, when the claim names the workflow: "claim again later" would never get it work.
        let outside = await t.run("w1", "claim-task", #"{"agent_id": "outsider"}"#)
        let steps = outside.json["next_steps"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(
            steps == [
                "Agent outsider is not in workflow w1's pool (coder): only its members claim its tasks; assign-agents binds agents to it"
            ], "\(steps)")
        #expect(await claim("coder").count == 1)
    }

    /// A binding that matches nobody is no pool at all, which lets every agent claim: narrowing
    /// the pool to a role nobody has opened the workflow to everyone. Refused, the pool kept.
    /// And the shortfall of a call without agent_count is counted against max_agents.
    @Test func aBindingOfNobodyIsRefusedAndTheShortfallCountsAgainstMaxAgents() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "a"}]}], "configuration": {"max_agents": 3}}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "member"}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "outsider", "specializations": ["code"]}"#)
        let bound = await t.run("w1", "assign-agents", #"{"specializations": []}"#)
        #expect(bound.result["bound_agents"]?.arrayValue?.count == 2, "\(bound.json)")
        #expect(bound.result["shortfall"] == 1)
        await t.run("w1", "assign-agents", #"{"agent_count": 1}"#)
        let version = await t.run("w1", "get-status").result["workflow_state"]?["state_version"]
        let refused = await t.run("w1", "assign-agents", #"{"specializations": ["nope"]}"#)
        #expect(refused.errorCode == "AGENT_NOT_FOUND", "\(refused.json)")
        #expect(refused.error?.message.contains("the pool was not changed") == true)
        #expect(await t.run("w1", "get-status").result["workflow_state"]?["state_version"] == version)
        let pool = await t.run("w1", "get-status").result["workflow_state"]?["agent_assignments"]?.objectValue?.keys
        #expect(
            pool.map(Array.init) == ["member"] || pool.map(Array.init) == ["outsider"], "\(String(describing: pool))")
        let outside = pool?.contains("member") == true ? "outsider" : "member"
        #expect(await claim(outside).isEmpty)
    }

    /// Deregistering a pool's last member emptied the pool, which is no pool at all: every
    /// agent could then claim the workflow's tasks. The pool keeps it, and the answer says so.
    @Test func deregisteringAPoolsLastMemberDoesNotOpenTheWorkflowToAll() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "a"}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "member", "specializations": ["code"]}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "outsider"}"#)
        await t.run("w1", "assign-agents", #"{"specializations": ["code"]}"#)
        let gone = await t.run(nil, "deregister-agent", #"{"agent_id": "member"}"#)
        #expect(gone.result["pools_left_without_a_registered_member"] == ["w1"], "\(gone.json)")
        #expect(await claim("outsider").isEmpty)
        await t.run(nil, "register-agent", #"{"agent_id": "member", "specializations": ["code"]}"#)
        #expect(await claim("member").count == 1)
    }

    /// `start`'s `agent_pool_size` and `accept-handoff`'s preferences bind as `assign-agents`
    /// does: an agent with none of the roles is never bound (it took the workflow's tasks and,
    /// as a pool member, kept the agents with the role from them).
    @Test func everyBindingLeavesOutAgentsWithoutTheRoles() async throws {
        for (id, roles) in [("c1", "code"), ("d1", "docs"), ("o1", "ops")] {
            await t.run(nil, "register-agent", "{\"agent_id\": \"\(id)\", \"specializations\": [\"\(roles)\"]}")
        }
        await t.run(
            "w1", "create", #"{"phases": ["p"], "agent_requirements": {"specialized_roles": ["code", "docs", "test"]}}"#
        )
        let started = await t.run("w1", "start", #"{"agent_pool_size": 3}"#)
        #expect(started.result["agent_pool"]?["bound"] == ["c1", "d1"])
        #expect(started.result["agent_pool"]?["uncovered_roles"] == ["test"])
        #expect(started.result["agent_pool"]?["shortfall"] == 1)
        let handoff = await t.run(
            nil, "accept-handoff",
            #"{"orchestrate_to_hub": {"workflow_definition": {"workflow_id": "wh", "phases": [{"name": "a", "tasks": [{"task_id": "d", "role": "docs"}]}]}, "agent_preferences": {"agent_pool_size": 2, "specializations": ["docs"]}}}"#
        )
        #expect(handoff.succeeded, "\(handoff.json)")
        let assigned = await t.run("wh", "get-events", #"{"event_types": ["agents_assigned"]}"#).result["events"]
        #expect(assigned?.arrayValue?.first?["data"]?["agents"] == ["d1"])
    }

    /// Two agents asked for, roles code and test, agents s1 and s2 (code) and s3 (test): s1 and
    /// s2 were bound, test was left uncovered, and the workflow's test task could never run
    /// (s3 outside the pool). Each role now gets its best agent before the rest are filled.
    @Test func bindingCoversEveryRoleItCanBeforeFillingThePool() async throws {
        for (id, role) in [("s1", "code"), ("s2", "code"), ("s3", "test")] {
            await t.run(nil, "register-agent", "{\"agent_id\": \"\(id)\", \"specializations\": [\"\(role)\"]}")
        }
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "tt", "role": "test"}]}]}"#)
        await t.run("w1", "start")
        let bound = await t.run("w1", "assign-agents", #"{"agent_count": 2, "specializations": ["code", "test"]}"#)
        #expect(bound.result["bound_agents"]?.arrayValue?.map { $0["agent_id"] } == ["s1", "s3"], "\(bound.json)")
        #expect(bound.result["uncovered_roles"] == [])
        #expect(await claim("s3").count == 1)
        await t.run(
            "w2", "create", #"{"phases": ["p"], "agent_requirements": {"specialized_roles": ["code", "test"]}}"#)
        let started = await t.run("w2", "start", #"{"agent_pool_size": 2}"#)
        #expect(started.result["agent_pool"]?["bound"] == ["s1", "s3"], "\(started.json)")
    }

    /// `max_agent_pool_size` (§14) bounds every binding: `start` and `accept-handoff` bound
    /// all the agents asked for while `assign-agents` stopped at the limit.
    @Test func everyBindingStopsAtTheHubsPoolLimit() async throws {
        var configuration = Configuration()
        configuration.maxAgentPoolSize = 2
        let t = try TestHub(configuration: configuration)
        for n in 1...5 { await t.run(nil, "register-agent", "{\"agent_id\": \"a\(n)\"}") }
        await t.run("w1", "create", #"{"phases": ["p"]}"#)
        let started = await t.run("w1", "start", #"{"agent_pool_size": 5}"#)
        #expect(started.result["agent_pool"]?["bound"] == ["a1", "a2"], "\(started.json)")
        #expect(started.result["agent_pool"]?["shortfall"] == 3)
        #expect(started.result["agent_pool"]?["max_agent_pool_size"] == 2)
        let handoff = await t.run(
            nil, "accept-handoff",
            #"{"orchestrate_to_hub": {"workflow_definition": {"workflow_id": "wh", "phases": ["a"]}, "agent_preferences": {"agent_pool_size": 5}}}"#
        )
        #expect(handoff.result["agent_pool"]?["bound"]?.arrayValue?.count == 2, "\(handoff.json)")
        let assigned = await t.run("w1", "assign-agents", #"{"agent_count": 5}"#)
        #expect(assigned.result["bound_agents"]?.arrayValue?.count == 2)
        // Its shortfall of 3 is the limit's doing, which it now names as start does.
        #expect(assigned.result["shortfall"] == 3 && assigned.result["max_agent_pool_size"] == 2)
    }

    /// A workflow's `max_agents` bounds what its bindings may ask for: `start`, `assign-agents`
    /// and `accept-handoff` bound more agents than it allows.
    @Test func noBindingAsksForMoreThanTheWorkflowsMaxAgents() async throws {
        for n in 1...3 { await t.run(nil, "register-agent", "{\"agent_id\": \"a\(n)\"}") }
        await t.run("w1", "create", #"{"phases": ["p"], "agent_requirements": {"max_agents": 2}}"#)
        let started = await t.run("w1", "start", #"{"agent_pool_size": 3}"#)
        #expect(started.errorCode == "INVALID_PARAMETERS")
        #expect(started.error?.context?["field"] == "agent_pool_size")
        #expect(started.error?.message.contains("max_agents (2)") == true, "\(started.json)")
        #expect(await t.run("w1", "get-status").result["workflow_state"]?["status"] == "created")
        #expect(await t.run("w1", "start", #"{"agent_pool_size": 2}"#).succeeded)
        let assigned = await t.run("w1", "assign-agents", #"{"agent_count": 3}"#)
        #expect(assigned.errorCode == "INVALID_PARAMETERS")
        #expect(assigned.error?.context?["field"] == "agent_count")
        let handoff = await t.run(
            nil, "accept-handoff",
            #"{"orchestrate_to_hub": {"workflow_definition": {"workflow_id": "wh", "phases": ["a"], "agent_requirements": {"max_agents": 1}}, "agent_preferences": {"agent_pool_size": 2}}}"#
        )
        #expect(handoff.errorCode == "INVALID_PARAMETERS", "\(handoff.json)")
        #expect(await t.run("wh", "get-status").errorCode == "WORKFLOW_NOT_FOUND")
    }

    /// `get-status` shows the workflow's agents (the seed's `agent_assignments`) and, asked,
    /// their records: both were always empty.
    @Test func getStatusShowsTheAgentsOfTheWorkflow() async throws {
        await t.run(nil, "register-agent", #"{"agent_id": "coder", "specializations": ["code"]}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "idle", "specializations": ["code"]}"#)
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "a", "role": "code"}, {"task_id": "b", "role": "code"}]}]}"#
        )
        await t.run("w1", "start")
        await t.run("w1", "assign-agents", #"{"agent_count": 2, "specializations": ["code"]}"#)
        let first = try #require(await claim("coder").first?["lease_id"]?.stringValue)
        await t.run(nil, "complete-task", "{\"lease_id\": \"\(first)\"}")
        #expect(await claim("coder").first?["task_id"] == "b")
        let state = await t.run("w1", "get-status", #"{"agent_details": true}"#).result["workflow_state"]
        let coder = state?["agent_assignments"]?["coder"]
        #expect(coder?["current_task"] == "b")
        #expect(coder?["role"] == "code")
        #expect(coder?["tasks_completed"] == 1)
        #expect(coder?["in_pool"] == true)
        #expect(state?["agent_assignments"]?["idle"]?["current_task"] == .null)
        #expect(state?["agent_details"]?["coder"]?["current_load"] == 1)
        #expect(state?["agent_details"]?["coder"]?["tasks_completed"] == 1)
        // save-state's pool files hold the same records.
        await t.run("w1", "save-state")
        let pools = try JSONParser.parse(
            String(contentsOfFile: t.directory.file("state/agent_pools/pool_assignments.json"), encoding: .utf8))
        #expect(pools["pools"]?["w1"] == ["coder", "idle"])
        #expect(pools["assignments"]?["coder"]?.arrayValue?.first?["task_id"] == "b")
        let performance = try JSONParser.parse(
            String(contentsOfFile: t.directory.file("state/agent_pools/agent_performance.json"), encoding: .utf8))
        #expect(performance["agents"]?["coder"]?["tasks_completed"] == 1)
    }

    @Test func redistributeRevokesAndReservesForTheChosenAgent() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "a", "role": "code"}, {"task_id": "b", "role": "code"}]}]}"#
        )
        await t.run("w1", "start")
        await t.run(
            nil, "register-agent", #"{"agent_id": "slow", "specializations": ["code"], "max_concurrent_tasks": 2}"#)
        let held = await claim("slow", max: 2)
        #expect(held.count == 2)
        await t.run(
            nil, "register-agent", #"{"agent_id": "fast", "specializations": ["code"], "max_concurrent_tasks": 2}"#)
        await t.run(
            nil, "register-agent", #"{"agent_id": "other", "specializations": ["code"], "max_concurrent_tasks": 2}"#)
        let moved = await t.run(
            "w1", "redistribute-tasks", #"{"failed_agent": "slow", "strategy": "round_robin", "preserve_order": true}"#)
        let assignments = moved.result["new_assignments"]?.arrayValue ?? []
        #expect(assignments.map { $0["task_id"] } == ["a", "b"])
        #expect(assignments.map { $0["target_agent"] } == ["fast", "other"])
        #expect(assignments.allSatisfy { $0["reason"] == "round_robin" })
        #expect(
            await t.run(nil, "complete-task", "{\"lease_id\": \"\(held[0]["lease_id"]?.stringValue ?? "")\"}").errorCode
                == "LEASE_EXPIRED")
        #expect(await claim("slow").isEmpty)
        #expect(await claim("fast", max: 2).map { $0["task_id"] } == ["a"])
        #expect(await claim("other", max: 2).map { $0["task_id"] } == ["b"])
        let events = await t.run("w1", "get-events", #"{"event_types": ["tasks_redistributed", "task_redistributed"]}"#)
            .result["count"]
        #expect(events == 3)
    }

    @Test func anOfflineAgentComesBackWithAHeartbeat() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "a"}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        await t.run("w1", "redistribute-tasks", #"{"failed_agent": "ag"}"#)
        #expect(await claim("ag").isEmpty)
        await t.run(nil, "heartbeat", #"{"agent_id": "ag"}"#)
        #expect(await claim("ag").count == 1)
    }

    @Test func redistributionPlansFollowTheirStrategy() {
        func agent(_ id: String, rate: Bool?, preferred: [String] = [], roles: [String] = ["code"]) -> Agent {
            var a = Agent(
                agentID: id, specializations: roles, maxConcurrentTasks: 5, preferredTaskTypes: preferred,
                registeredAt: 0)
            if let rate {
                a.record.add(.init(succeeded: rate, milliseconds: 1, estimateMilliseconds: nil, taskType: "code"))
            }
            return a
        }
        var task = WorkTask(workflowID: "w", taskID: "t", phaseID: 1, createdAt: 0)
        task.role = "code"
        let agents = [
            agent("a", rate: false), agent("b", rate: true),
            agent("c", rate: nil, preferred: ["code"], roles: ["code"]),
        ]
        #expect(
            Redistribution.plan(
                tasks: [task], agents: agents, pool: nil, strategy: .performanceBased, preserveOrder: true
            ).first?.targetAgent == "b")
        #expect(
            Redistribution.plan(
                tasks: [task], agents: agents, pool: nil, strategy: .specializationMatch, preserveOrder: true
            ).first?.targetAgent == "c")
        #expect(
            Redistribution.plan(
                tasks: [task], agents: agents, pool: ["a"], strategy: .performanceBased, preserveOrder: true
            ).first?.targetAgent == "a")
        #expect(
            Redistribution.plan(tasks: [task], agents: [], pool: nil, strategy: .roundRobin, preserveOrder: true).first?
                .reason == "no_eligible_agent")
    }

    /// What probes found the plan doing: a degraded agent chosen over a healthy newcomer (a
    /// missing record ranked below a success rate of 0), an agent of one free slot given two
    /// tasks, round robin never reaching an agent that could take only some of the tasks, and
    /// placements the imbalance rule moved at the next sweep.
    @Test func redistributionPlansRespectHealthRoomAndBalance() {
        func agent(_ id: String, roles: [String] = ["code"], capacity: Int = 3, outcomes: [Bool] = []) -> Agent {
            var a = Agent(agentID: id, specializations: roles, maxConcurrentTasks: capacity, registeredAt: 0)
            for ok in outcomes {
                a.record.add(.init(succeeded: ok, milliseconds: 1, estimateMilliseconds: nil, taskType: "code"))
            }
            return a
        }
        func tasks(_ roles: [String]) -> [WorkTask] {
            roles.enumerated().map { n, role in
                var t = WorkTask(workflowID: "w", taskID: "t\(n)", phaseID: 1, createdAt: Int64(n))
                t.role = role
                return t
            }
        }
        func targets(_ plan: [Reassignment]) -> [String?] { plan.map(\.targetAgent) }
        let degraded = agent("d", outcomes: Array(repeating: false, count: 5))
        #expect(degraded.record.isDegraded)
        // A degraded agent only when no healthy one has room.
        #expect(
            targets(
                Redistribution.plan(
                    tasks: tasks(["code"]), agents: [degraded, agent("n")], pool: nil, strategy: .performanceBased,
                    preserveOrder: true)) == ["n"])
        let full = {
            var a = agent("n", capacity: 1)
            a.currentLoad = 1
            return a
        }()
        #expect(
            targets(
                Redistribution.plan(
                    tasks: tasks(["code"]), agents: [degraded, full], pool: nil, strategy: .performanceBased,
                    preserveOrder: true)) == ["d"])
        // One free slot takes one task; the best record first, then whoever holds the fewest.
        let best = agent("b", capacity: 1, outcomes: [true])
        #expect(
            targets(
                Redistribution.plan(
                    tasks: tasks(["code", "code"]), agents: [best, agent("c")], pool: nil, strategy: .performanceBased,
                    preserveOrder: true)) == ["b", "c"])
        // Round robin reaches every agent that can take a task.
        let pool = [
            agent("b1", roles: ["code", "test"]), agent("b2", roles: ["code"]), agent("b3", roles: ["test"]),
        ]
        let rotated = targets(
            Redistribution.plan(
                tasks: tasks(["code", "test", "test", "code"]), agents: pool, pool: nil, strategy: .roundRobin,
                preserveOrder: true))
        #expect(Set(rotated.compactMap { $0 }) == ["b1", "b2", "b3"], "\(rotated)")
        // Every strategy's plan is one the imbalance rule leaves alone.
        for strategy in RedistributionStrategy.allCases {
            let planned = Redistribution.plan(
                tasks: tasks(Array(repeating: "code", count: 5)), agents: pool, pool: nil, strategy: strategy,
                preserveOrder: false)
            let reserved = tasks(Array(repeating: "code", count: 5)).enumerated().map { n, task -> WorkTask in
                var t = task
                t.reservedFor = planned[n].targetAgent
                return t
            }
            #expect(
                Redistribution.balance(reserved: reserved, agents: pool, pools: [:]).isEmpty,
                "\(strategy): \(targets(planned))")
        }
    }

    @Test func imbalancedReservationsMove() {
        let agents = ["x", "y"].map { id -> Agent in
            var agent = Agent(agentID: id, registeredAt: 0)
            agent.maxConcurrentTasks = 4
            return agent
        }
        let reserved = (0..<4).map { n -> WorkTask in
            var t = WorkTask(workflowID: "w", taskID: "t\(n)", phaseID: 1, createdAt: Int64(n))
            t.reservedFor = "x"
            return t
        }
        let moves = Redistribution.balance(reserved: reserved, agents: agents, pools: [:])
        #expect(moves.count == 2)
        #expect(moves.allSatisfy { $0.targetAgent == "y" && $0.reason == "load_imbalance" })
        #expect(Redistribution.balance(reserved: Array(reserved.prefix(1)), agents: agents, pools: [:]).isEmpty)
        // An agent without room is not eligible: the task waited, reserved, until it finished one.
        var full = agents
        full[1].maxConcurrentTasks = 2
        full[1].currentLoad = 2
        #expect(Redistribution.balance(reserved: reserved, agents: full, pools: [:]).isEmpty)
        full[1].currentLoad = 1
        #expect(Redistribution.balance(reserved: reserved, agents: full, pools: [:]).count == 1, "room for one")
    }
}
