import HubCore
import HubEngine
import HubTesting
import Testing

/// `resume` with `resume_from_phase` moves the workflow to another phase (§5): what the move
/// takes off its run must stop being handed out, and lose its lease.
@Suite struct ResumeFromPhaseTests {
    let t: TestHub
    init() throws { t = try TestHub() }

    func tasks(_ id: String) async -> [String: JSONValue] {
        let phases = await t.run(id, "get-status").result["workflow_state"]?["phases"]?.arrayValue ?? []
        var out: [String: JSONValue] = [:]
        for task in phases.flatMap({ $0["tasks"]?.arrayValue ?? [] }) {
            out[task["task_id"]?.stringValue ?? ""] = task["status"]
        }
        return out
    }

    /// A checkpoint taken after a cancel, restored (paused) and resumed: the cancelled work runs
    /// again, as a failed workflow's does. It completed at once, its tasks never run.
    @Test func resumingARestoredCancelledStateRunsItsCancelledWork() async throws {
        await t.run(nil, "register-agent", #"{"agent_id": "one"}"#)
        await t.run(
            "w", "create",
            #"{"phases": [{"name": "p1", "tasks": [{"task_id": "a"}, {"task_id": "b"}]}, {"name": "p2", "tasks": [{"task_id": "c"}]}]}"#
        )
        await t.run("w", "start")
        let lease = try #require(await t.claim("one").first?["lease_id"]?.stringValue)
        #expect(await t.run(nil, "complete-task", "{\"lease_id\": \"\(lease)\"}").succeeded)
        #expect(await t.run("w", "cancel").succeeded)
        #expect(await t.run("w", "checkpoint", #"{"name": "after"}"#).succeeded)
        #expect(await t.run("w", "restore", #"{"name": "after"}"#).result["status"] == "paused")
        let resumed = await t.run("w", "resume")
        #expect(resumed.result["status"] == "running", "\(resumed.json)")
        #expect(await tasks("w") == ["a": "completed", "b": "ready", "c": "pending"])
        for expected in ["b", "c"] {
            let claimed = try #require(await t.claim("one").first)
            #expect(claimed["task_id"]?.stringValue == expected)
            let id = claimed["lease_id"]?.stringValue ?? ""
            #expect(await t.run(nil, "complete-task", "{\"lease_id\": \"\(id)\"}").succeeded)
        }
        #expect(await t.run("w", "get-status").result["workflow_state"]?["status"] == "completed")
    }

    /// A task left cancelled before the phase a resume started from made every later resume
    /// treat the workflow as just restored: a failed task that the failure tolerance let be ran
    /// again at a plain pause and resume (found by session 25's regression probe).
    @Test func aCancelledTaskLeftBehindDoesNotRerunLaterFailures() async throws {
        await t.run(nil, "register-agent", #"{"agent_id": "one", "max_concurrent_tasks": 3}"#)
        await t.run(
            "x", "create",
            #"{"phases": [{"name": "p1", "tasks": [{"task_id": "a"}]}, {"name": "p2", "tasks": [{"task_id": "b"}, {"task_id": "f", "max_retries": 0}]}, {"name": "p3", "tasks": [{"task_id": "c"}]}], "configuration": {"failure_tolerance": "high"}}"#
        )
        await t.run("x", "start")
        await t.run("x", "cancel")
        await t.run("x", "checkpoint", #"{"name": "ac"}"#)
        #expect(await t.run("x", "restore", #"{"name": "ac"}"#).succeeded)
        #expect(await t.run("x", "resume", #"{"resume_from_phase": 2}"#).succeeded)
        let claimed = await t.claim("one", max: 2)
        let lease = try #require(claimed.first { $0["task_id"] == "f" }?["lease_id"]?.stringValue)
        #expect(await t.run(nil, "fail-task", "{\"lease_id\": \"\(lease)\"}").succeeded)
        #expect(await tasks("x")["f"] == "failed")
        await t.run("x", "pause")
        let resumed = await t.run("x", "resume")
        #expect(resumed.result["tasks_reset"] == [], "\(resumed.json)")
        #expect(await tasks("x")["f"] == "failed")
    }

    /// Found by session 18's probe: skipping ahead skipped a running task but left its lease
    /// active; the agent could neither report it (LEASE_EXPIRED) nor be free of it, and its
    /// heartbeats renewed the lease for good.
    @Test func skippingAheadRevokesTheLeasesOfTheTasksItSkips() async throws {
        await t.run(nil, "register-agent", #"{"agent_id": "one"}"#)
        await t.run(
            "w", "create",
            #"{"phases": [{"name": "p1", "tasks": [{"task_id": "a"}]}, {"name": "p2", "tasks": [{"task_id": "c"}]}]}"#)
        await t.run("w", "start")
        let lease = try #require(await t.claim("one").first?["lease_id"]?.stringValue)
        await t.run("w", "pause")

        #expect(await t.run("w", "resume", #"{"resume_from_phase": 2}"#).succeeded)

        #expect(await t.claim("one").map { $0["task_id"] } == ["c"], "the agent is free again")
        #expect(await t.run(nil, "complete-task", "{\"lease_id\": \"\(lease)\"}").errorCode == "LEASE_EXPIRED")
        #expect(await tasks("w")["a"] == "skipped")
        #expect(await t.run("w", "verify-state").result["valid"] == true)
    }

    /// Found by session 18's probe: going back left a later phase's ready tasks ready in their
    /// pending phase, and claim-task handed them out before their phase ran.
    @Test func goingBackPutsLaterPhasesTasksBackToWaiting() async throws {
        await t.run(nil, "register-agent", #"{"agent_id": "ag", "max_concurrent_tasks": 5}"#)
        await t.run(
            "w", "create",
            #"{"phases": [{"name": "p1", "tasks": [{"task_id": "a"}]}, {"name": "p2", "tasks": [{"task_id": "b"}]}, {"name": "p3", "tasks": [{"task_id": "c"}, {"task_id": "d"}]}]}"#
        )
        await t.run("w", "start")
        await t.run("w", "pause")
        await t.run("w", "resume", #"{"resume_from_phase": 3}"#)
        let running = try #require(await t.claim("ag").first?["lease_id"]?.stringValue)
        await t.run("w", "pause")

        #expect(await t.run("w", "resume", #"{"resume_from_phase": 2}"#).succeeded)

        #expect(await t.claim("ag", max: 5).map { $0["task_id"] } == ["b"])
        let status = await tasks("w")
        #expect(status["c"] == "pending" && status["d"] == "pending", "\(status)")
        #expect(await t.run(nil, "complete-task", "{\"lease_id\": \"\(running)\"}").errorCode == "LEASE_EXPIRED")
        #expect(await t.run("w", "verify-state").result["valid"] == true)
    }

    /// Found by session 18's probe: a workflow failed by its failure tolerance keeps the failed
    /// phase's ready tasks for a resume, which verify-state called invalid.
    @Test func aFailedWorkflowsReadyTasksAreValid() async throws {
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        await t.run(
            "w", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "a", "max_retries": 0}, {"task_id": "b"}]}]}"#)
        await t.run("w", "start")
        let lease = try #require(await t.claim("ag").first?["lease_id"]?.stringValue)
        await t.run(nil, "fail-task", "{\"lease_id\": \"\(lease)\", \"error\": \"boom\"}")
        #expect(await t.run("w", "get-status").result["workflow_state"]?["status"] == "failed")

        let verified = await t.run("w", "verify-state")

        #expect(verified.result["valid"] == true, "\(verified.json)")
    }
}
