import HubCore
import HubEngine
import HubTesting
import Testing

@Suite struct DispatchEngineTests {
    let t: TestHub
    init() throws { t = try TestHub.heartbeatEvery(.seconds(10)) }

    func lease(_ task: JSONValue) -> String { task["lease_id"]?.stringValue ?? "" }

    func taskStatus(_ workflow: String, _ id: String) async -> String? {
        let phases = await t.run(workflow, "get-status").result["workflow_state"]?["phases"]?.arrayValue ?? []
        for p in phases {
            for task in p["tasks"]?.arrayValue ?? [] where task["task_id"]?.stringValue == id {
                return task["status"]?.stringValue
            }
        }
        return nil
    }

    func setUp(_ phases: String, tolerance: String = "low") async {
        await t.run(
            "w1", "create", "{\"phases\": \(phases), \"configuration\": {\"failure_tolerance\": \"\(tolerance)\"}}")
        await t.run("w1", "start")
    }

    @Test func aClaimedTaskIsRunningWithALeaseAndCompletionReadiesItsDependents() async throws {
        await setUp(
            #"[{"name": "p", "tasks": [{"task_id": "a", "role": "code"}, {"task_id": "b", "role": "code", "depends_on": ["a"]}]}]"#
        )
        await t.run(nil, "register-agent", #"{"agent_id": "ag", "specializations": ["code"]}"#)
        let tasks = await t.claim("ag", max: 5)
        #expect(tasks.map { $0["task_id"] } == ["a"])
        #expect(lease(tasks[0]).hasPrefix("lease_"))
        #expect(await taskStatus("w1", "a") == "running")
        let done = await t.run(nil, "complete-task", "{\"lease_id\": \"\(lease(tasks[0]))\"}")
        #expect(done.succeeded)
        #expect(await taskStatus("w1", "b") == "ready")
    }

    @Test func anOutcomeIsRecordedExactlyOnce() async throws {
        await setUp(#"[{"name": "p", "tasks": [{"task_id": "a"}]}]"#)
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        let l = lease(try #require(await t.claim("ag").first))
        #expect(await t.run(nil, "fail-task", "{\"lease_id\": \"\(l)\", \"retryable\": true}").succeeded)
        let second = await t.run(nil, "fail-task", "{\"lease_id\": \"\(l)\"}")
        #expect(second.errorCode == "LEASE_EXPIRED")
        let late = await t.run(nil, "complete-task", "{\"lease_id\": \"\(l)\"}")
        #expect(late.errorCode == "LEASE_EXPIRED")
        #expect(await taskStatus("w1", "a") == "ready")
    }

    @Test func aForeignLeaseIsRefused() async throws {
        await setUp(#"[{"name": "p", "tasks": [{"task_id": "a"}, {"task_id": "b"}]}]"#)
        await t.run(nil, "register-agent", #"{"agent_id": "ag", "max_concurrent_tasks": 2}"#)
        let tasks = await t.claim("ag", max: 2)
        let refused = await t.run(nil, "complete-task", "{\"lease_id\": \"\(lease(tasks[0]))\", \"task_id\": \"b\"}")
        #expect(refused.errorCode == "LEASE_EXPIRED")
        #expect(await taskStatus("w1", "a") == "running")
        #expect(await t.run(nil, "complete-task", #"{"lease_id": "lease_nope"}"#).errorCode == "LEASE_EXPIRED")
    }

    @Test func retriesStopAtMaxRetriesAndTheFailureFailsALowTolerancePhase() async throws {
        await setUp(
            #"[{"name": "p", "tasks": [{"task_id": "a", "max_retries": 1}, {"task_id": "b", "depends_on": ["a"]}]}]"#)
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        for attempt in 1...2 {
            let l = lease(try #require(await t.claim("ag").first, "attempt \(attempt)"))
            let failed = await t.run(nil, "fail-task", "{\"lease_id\": \"\(l)\", \"error\": \"boom\"}")
            #expect(failed.result["will_retry"] == .bool(attempt == 1))
        }
        #expect(await taskStatus("w1", "a") == "failed")
        #expect(await taskStatus("w1", "b") == "skipped")
        let state = await t.run("w1", "get-status").result["workflow_state"]
        #expect(state?["status"] == "failed")
    }

    @Test func highToleranceRecordsFailuresAndCompletesThePhase() async throws {
        await setUp(
            #"[{"name": "p", "tasks": [{"task_id": "a", "max_retries": 0}, {"task_id": "b"}]}]"#, tolerance: "high")
        await t.run(nil, "register-agent", #"{"agent_id": "ag", "max_concurrent_tasks": 2}"#)
        let tasks = await t.claim("ag", max: 2)
        for task in tasks {
            let op = task["task_id"] == "a" ? "fail-task" : "complete-task"
            #expect(await t.run(nil, op, "{\"lease_id\": \"\(lease(task))\"}").succeeded)
        }
        let final = await t.run("w1", "complete")
        #expect(final.result["hub_to_orchestrate"]?["completion_status"] == "partial")
    }

    @Test func aSilentAgentBecomesUnresponsiveAndItsTaskGoesBackToTheQueue() async throws {
        await setUp(#"[{"name": "p", "tasks": [{"task_id": "a"}]}]"#)
        await t.run(nil, "register-agent", #"{"agent_id": "dead"}"#)
        let l = lease(try #require(await t.claim("dead").first))
        t.clock.advance(by: .seconds(20))
        await t.run(nil, "register-agent", #"{"agent_id": "alive"}"#)
        #expect(await t.claim("alive").isEmpty)
        t.clock.advance(by: .seconds(10))
        let second = try #require(await t.claim("alive").first)
        #expect(second["task_id"] == "a")
        #expect(second["attempt"] == 2)
        #expect(await t.run(nil, "complete-task", "{\"lease_id\": \"\(l)\"}").errorCode == "LEASE_EXPIRED")
        let failedEvents =
            await t.run(nil, "get-events", #"{"event_types": ["failed"]}"#).result["events"]?.arrayValue ?? []
        #expect(failedEvents.contains { $0["subject"] == "agent.dead.failed" && $0["workflow_id"] == .null })
        let pool = await t.run(nil, "monitor-pool").result["agent_pool"]
        #expect(pool?["performance_metrics"]?["dead"]?["status"] == "unresponsive")
        // The lapsed run is a failed attempt on the silent agent's record.
        #expect(pool?["performance_metrics"]?["dead"]?["tasks_failed"] == 1)
        #expect(pool?["performance_metrics"]?["dead"]?["recent_performance"] == [0])
    }

    /// Another process on the same store whose agents heartbeat every second (a one-call
    /// `--set heartbeat_interval=1s`): runs a hub-scoped operation there.
    func quickerProcess() throws -> (String, String) async -> OperationResponse {
        var quick = Configuration()
        quick.heartbeatInterval = .seconds(1)
        let other = try t.otherProcess(configuration: quick)
        return { operation, parameters in
            await other.perform(
                OperationRequest(
                    workflowID: nil, operation: operation,
                    parameters: (try? JSONParser.parse(parameters)) ?? .emptyObject))
        }
    }

    /// Processes sharing a store may differ in heartbeat_interval (a one-call --set, a server
    /// configured otherwise): one with a shorter interval failed an agent whose lease, given by
    /// another, still ran, and took its work 86s before the expiry the agent was told.
    @Test func anAgentIsNotFailedBeforeTheLeaseItWasGivenRunsOut() async throws {
        await setUp(#"[{"name": "p", "tasks": [{"task_id": "a"}]}]"#)
        let otherRun = try quickerProcess()
        await t.run(nil, "register-agent", #"{"agent_id": "x"}"#)
        let l = lease(try #require(await t.claim("x").first))
        t.clock.advance(by: .seconds(5))
        #expect(await otherRun("register-agent", #"{"agent_id": "y"}"#).succeeded)
        #expect(await t.run(nil, "complete-task", "{\"lease_id\": \"\(l)\"}").succeeded)
        let failed = await t.run(nil, "get-events", #"{"event_types": ["failed"]}"#).result["count"]
        #expect(failed == 0)
    }

    /// An agent that holds no lease is judged by the interval it was told too: a process with a
    /// shorter one failed an idle agent keeping to its 10s heartbeats (and released its
    /// allocations); the agent still fails 3 of its own intervals after it was last heard from.
    @Test func anIdleAgentIsJudgedByTheIntervalItWasTold() async throws {
        await setUp(#"[{"name": "p", "tasks": [{"task_id": "a"}]}]"#)
        let otherRun = try quickerProcess()
        func failures() async -> JSONValue? {
            await t.run(nil, "get-events", #"{"event_types": ["failed"]}"#).result["count"]
        }
        await t.run(nil, "register-agent", #"{"agent_id": "x"}"#)
        t.clock.advance(by: .seconds(20))
        #expect(await otherRun("register-agent", #"{"agent_id": "y"}"#).succeeded)
        #expect(await failures() == 0)
        #expect(await t.claim("x").count == 1)
        // Told 1s by the other process at its heartbeat: silent 3s later, by that.
        #expect(await otherRun("heartbeat", #"{"agent_id": "y"}"#).succeeded)
        t.clock.advance(by: .seconds(3))
        await t.run(nil, "register-agent", #"{"agent_id": "z"}"#)
        let failed = await t.run(nil, "get-events", #"{"event_types": ["failed"]}"#).result["events"]?.arrayValue ?? []
        #expect(failed.map { $0["subject"] } == ["agent.y.failed"], "\(failed)")
    }

    /// redistribute-tasks sets the agent it names offline for the whole hub; its work in other
    /// workflows keeps its leases. When it then falls silent it has failed as a silent agent
    /// does: its leases there lapsed with no agent.<id>.failed and no agent_failure checkpoint.
    @Test func anOfflineAgentHoldingWorkThatFallsSilentHasFailed() async throws {
        await setUp(#"[{"name": "p", "tasks": [{"task_id": "a"}]}]"#)
        await t.run("w2", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "b"}]}]}"#)
        await t.run("w2", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "x", "max_concurrent_tasks": 2}"#)
        #expect(await t.claim("x", max: 2).count == 2)
        await t.run("w1", "redistribute-tasks", #"{"failed_agent": "x"}"#)
        t.clock.advance(by: .seconds(31))
        await t.run(nil, "register-agent", #"{"agent_id": "y"}"#)
        let failed = await t.run(nil, "get-events", #"{"event_types": ["failed"]}"#).result["events"]?.arrayValue ?? []
        #expect(failed.contains { $0["subject"] == "agent.x.failed" }, "\(failed)")
        let checkpoints = await t.run("w2", "list-checkpoints").result["checkpoints"]?.arrayValue ?? []
        #expect(checkpoints.contains { $0["name"] == "agent_failure_x" }, "\(checkpoints)")
        #expect(await taskStatus("w2", "b") == "ready")
        let pool = await t.run(nil, "monitor-pool").result["agent_pool"]
        #expect(pool?["performance_metrics"]?["x"]?["status"] == "unresponsive")
    }

    /// A claim is a sign of life: an agent registered 20s before its claim was failed 15s after
    /// it (its last heartbeat then 3 intervals old), and lost the lease it had just been given
    /// long before the lease's own lease_expires_at.
    @Test func anAgentIsNotFailedWhileTheLeaseItJustClaimedRuns() async throws {
        await setUp(#"[{"name": "p", "tasks": [{"task_id": "a"}]}]"#)
        await t.run(nil, "register-agent", #"{"agent_id": "late"}"#)
        t.clock.advance(by: .seconds(20))
        let l = lease(try #require(await t.claim("late").first))
        t.clock.advance(by: .seconds(15))
        await t.run(nil, "register-agent", #"{"agent_id": "other"}"#)
        #expect(await t.claim("other").isEmpty, "the lease still runs")
        #expect(await t.run(nil, "complete-task", "{\"lease_id\": \"\(l)\"}").succeeded)
    }

    /// A run the hub ended while its agent may still be running it (here: past its timeout)
    /// keeps holding its files until the agent's heartbeat lets go: its retry ran at once
    /// beside the old run, two runs on one declared file (§7).
    @Test func aTimedOutRunHoldsItsFilesUntilItsAgentLetsGo() async throws {
        await setUp(#"[{"name": "p", "tasks": [{"task_id": "a", "timeout": "5s", "files": ["shared.txt"]}]}]"#)
        await t.run(nil, "register-agent", #"{"agent_id": "old"}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "new"}"#)
        let first = lease(try #require(await t.claim("old").first))
        t.clock.advance(by: .seconds(6))
        await t.run(nil, "heartbeat", #"{"agent_id": "new"}"#)
        // Timed out and back in the queue, but the old run may still be writing shared.txt.
        #expect(await t.claim("new").isEmpty)
        #expect(await taskStatus("w1", "a") == "ready")
        // Still running it, the old agent says so: the files stay held, past the lease's own end
        // for as long as it keeps saying so (its command can take a while to stop).
        await t.run(nil, "heartbeat", "{\"agent_id\": \"old\", \"held_leases\": [\"\(first)\"]}")
        #expect(await t.claim("new").isEmpty)
        // Leases last 30 s here (three heartbeat intervals of 10 s): at 51 s both the lease and
        // the first renewal of its hold are over, the second renewal is not.
        t.clock.advance(by: .seconds(25))
        await t.run(nil, "heartbeat", "{\"agent_id\": \"old\", \"held_leases\": [\"\(first)\"]}")
        t.clock.advance(by: .seconds(20))
        await t.run(nil, "heartbeat", "{\"agent_id\": \"new\"}")
        #expect(await t.claim("new").isEmpty)
        // It has stopped the run: the retry goes out.
        await t.run(nil, "heartbeat", #"{"agent_id": "old", "held_leases": []}"#)
        let retry = try #require(await t.claim("new").first)
        #expect(retry["task_id"] == "a")
    }

    /// A redistributed run's files are held until its lease would have ended when its agent
    /// never comes back to let go.
    @Test func aRedistributedRunHoldsItsFilesUntilItsLeaseWouldHaveEnded() async throws {
        await setUp(#"[{"name": "p", "tasks": [{"task_id": "a", "files": ["shared.txt"]}]}]"#)
        await t.run(nil, "register-agent", #"{"agent_id": "old"}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "new"}"#)
        _ = try #require(await t.claim("old").first)
        #expect(await t.run("w1", "redistribute-tasks", #"{"failed_agent": "old"}"#).succeeded)
        #expect(await t.claim("new").isEmpty)
        // Leases last three heartbeat intervals (30 s here) from the claim.
        t.clock.advance(by: .seconds(91))
        await t.run(nil, "heartbeat", #"{"agent_id": "new"}"#)
        let retry = try #require(await t.claim("new").first)
        #expect(retry["task_id"] == "a")
    }

    /// A run past its task's timeout is a failure of the agent that ran it: an agent whose
    /// runs always hang was never marked degraded, its record showing no failure at all.
    @Test func aTimedOutRunCountsAgainstItsAgentsRecord() async throws {
        await setUp(#"[{"name": "p", "tasks": [{"task_id": "a", "timeout": "5s", "role": "code"}]}]"#)
        await t.run(nil, "register-agent", #"{"agent_id": "slow", "specializations": ["code"]}"#)
        _ = try #require(await t.claim("slow").first)
        t.clock.advance(by: .seconds(6))
        await t.run(nil, "heartbeat", #"{"agent_id": "slow"}"#)
        // The next claim's sweep times the run out; the retry goes to the same agent.
        let again = try #require(await t.claim("slow").first)
        #expect(again["attempt"] == 2)
        let slow = await t.run(nil, "monitor-pool").result["agent_pool"]?["performance_metrics"]?["slow"]
        #expect(slow?["tasks_failed"] == 1)
        #expect(slow?["recent_performance"] == [0])
        #expect(slow?["current_load"] == 1)
    }

    /// §16's chain: task failed → task retried → task ready → task assigned, each event caused
    /// by the one before (the second assignment had no cause), also for a retry after an agent
    /// expired. The task that is ready again says so (§10's `task_ready`), as one whose
    /// dependencies completed does: a client that wakes agents on it would miss every retry.
    @Test func aRetriedTasksAssignmentIsCausedByItsRetry() async throws {
        await setUp(#"[{"name": "p", "tasks": [{"task_id": "a"}]}]"#)
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        let first = lease(try #require(await t.claim("ag").first))
        await t.run(nil, "fail-task", "{\"lease_id\": \"\(first)\", \"error\": \"flaky\"}")
        _ = try #require(await t.claim("ag").first)
        let types = #"{"event_types": ["task_failed", "task_retried", "task_ready", "task_assigned"]}"#
        let events = await t.run("w1", "get-events", types).result["events"]?.arrayValue ?? []
        #expect(
            events.map { $0["event_type"] } == [
                "task_ready", "task_assigned", "task_failed", "task_retried", "task_ready", "task_assigned",
            ])
        for i in 3..<events.count {
            #expect(events[i]["metadata"]?["causation_id"] == events[i - 1]["event_id"], "event \(i)")
        }
        let chain = await t.run(
            nil, "get-events", "{\"event_id\": \"\(events[2]["event_id"]?.stringValue ?? "")\", \"chain\": true}")
        #expect("\(chain.json)".contains(events[5]["event_id"]?.stringValue ?? "-"), "\(chain.json)")
        // An agent that goes silent: its task's retry causes the next assignment too.
        await t.run(nil, "register-agent", #"{"agent_id": "other"}"#)
        t.clock.advance(by: .seconds(31))
        await t.run(nil, "heartbeat", #"{"agent_id": "other"}"#)
        _ = try #require(await t.claim("other").first)
        let later =
            await t.run("w1", "get-events", types).result["events"]?.arrayValue.map { Array($0.suffix(3)) } ?? []
        #expect(later.map { $0["event_type"] } == ["task_retried", "task_ready", "task_assigned"])
        #expect(later.last?["metadata"]?["causation_id"] == later.dropLast().last?["event_id"])
        #expect(later.dropLast().last?["metadata"]?["causation_id"] == later.first?["event_id"])
    }

    @Test func heartbeatsRenewLeases() async throws {
        await setUp(#"[{"name": "p", "tasks": [{"task_id": "a"}]}]"#)
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        let l = lease(try #require(await t.claim("ag").first))
        for _ in 0..<5 {
            t.clock.advance(by: .seconds(20))
            let beat = await t.run(nil, "heartbeat", #"{"agent_id": "ag"}"#)
            #expect(beat.result["leases"]?.arrayValue?.first?["lease_id"]?.stringValue == l)
        }
        #expect(await t.run(nil, "complete-task", "{\"lease_id\": \"\(l)\"}").succeeded)
    }

    @Test func deregisteringRequeuesWithoutCountingTheAttempt() async throws {
        await setUp(#"[{"name": "p", "tasks": [{"task_id": "a"}]}]"#)
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        _ = await t.claim("ag")
        let gone = await t.run(nil, "deregister-agent", #"{"agent_id": "ag"}"#)
        #expect(gone.result["tasks_requeued"] == ["a"])
        #expect(await taskStatus("w1", "a") == "ready")
        #expect(await t.run(nil, "monitor-pool").result["agent_pool"]?["total_agents"] == 0)
        await t.run(nil, "register-agent", #"{"agent_id": "next"}"#)
        #expect(await t.claim("next").first?["attempt"] == 1)
    }

    @Test func filesHeldByARunningTaskKeepOthersWaiting() async throws {
        await setUp(
            #"[{"name": "p", "tasks": [{"task_id": "a", "files": ["src/x.swift"]}, {"task_id": "b", "files": ["./src/x.swift"]}]}]"#
        )
        await t.run(nil, "register-agent", #"{"agent_id": "ag1"}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "ag2"}"#)
        let first = try #require(await t.claim("ag1").first)
        #expect(await t.claim("ag2").isEmpty)
        await t.run(nil, "complete-task", "{\"lease_id\": \"\(lease(first))\"}")
        #expect(await t.claim("ag2").first?["task_id"] == "b")
    }

    @Test func aPausedWorkflowHandsOutNothing() async throws {
        await setUp(#"[{"name": "p", "tasks": [{"task_id": "a"}]}]"#)
        await t.run("w1", "pause")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        #expect(await t.claim("ag").isEmpty)
        await t.run("w1", "resume")
        #expect(await t.claim("ag").count == 1)
    }

    @Test func completingTheLastTaskCompletesTheWorkflowByItself() async throws {
        await setUp(
            #"[{"name": "p1", "tasks": [{"task_id": "a"}]}, {"name": "p2", "tasks": [{"task_id": "b", "depends_on": ["a"]}]}]"#
        )
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        for expected in ["a", "b"] {
            let task = try #require(await t.claim("ag").first)
            #expect(task["task_id"]?.stringValue == expected)
            await t.run(nil, "complete-task", "{\"lease_id\": \"\(lease(task))\"}")
        }
        let state = await t.run("w1", "get-status").result["workflow_state"]
        #expect(state?["status"] == "completed")
        let pool = await t.run(nil, "monitor-pool").result["agent_pool"]?["performance_metrics"]?["ag"]
        #expect(pool?["tasks_completed"] == 2)
        #expect(pool?["success_rate"] == 100.0)
    }

    @Test func claimsAreNarrowedToTheGivenWorkflowAndCancelRevokesLeases() async throws {
        await setUp(#"[{"name": "p", "tasks": [{"task_id": "a"}]}]"#)
        await t.run("w2", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "z"}]}]}"#)
        await t.run("w2", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag", "max_concurrent_tasks": 5}"#)
        let narrowed = await t.claim("ag", max: 5, workflow: "w2")
        #expect(narrowed.map { $0["task_id"] } == ["z"])
        await t.run("w2", "cancel")
        #expect(
            await t.run(nil, "complete-task", "{\"lease_id\": \"\(lease(narrowed[0]))\"}").errorCode == "LEASE_EXPIRED")
        #expect(await t.run(nil, "monitor-pool").result["agent_pool"]?["active_assignments"] == 0)
    }

    @Test func badDispatchInputIsRefusedAndChangesNothing() async throws {
        await setUp(#"[{"name": "p", "tasks": [{"task_id": "a"}]}]"#)
        #expect(await t.run(nil, "claim-task", #"{"agent_id": "ghost"}"#).errorCode == "AGENT_NOT_FOUND")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        for bad in ["0", "-1", "1000000"] {
            #expect(
                await t.run(nil, "claim-task", "{\"agent_id\": \"ag\", \"max_tasks\": \(bad)}").errorCode
                    == "INVALID_PARAMETERS")
        }
        #expect(await t.run(nil, "register-agent", #"{"agent_id": "a.b"}"#).errorCode == "INVALID_PARAMETERS")
        #expect(await taskStatus("w1", "a") == "ready")
    }
}
