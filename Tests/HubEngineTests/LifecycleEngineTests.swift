import Foundation
import HubCore
import HubEngine
import HubTesting
import Testing

@Suite struct LifecycleEngineTests {
    let t: TestHub
    init() throws { t = try TestHub() }

    func status(_ id: String) async -> JSONValue {
        await t.run(id, "get-status", #"{"include_metrics": true}"#).result["workflow_state"] ?? .null
    }

    @Test func timeoutFailsARunningWorkflowWhenItIsNextTouched() async throws {
        await t.run("w1", "create", #"{"phases": ["a"], "timeout": "10m"}"#)
        await t.run("w1", "start")
        t.clock.advance(by: .minutes(9))
        #expect(await status("w1")["status"] == "running")
        t.clock.advance(by: .minutes(1))
        let state = await status("w1")
        #expect(state["status"] == "failed")
        #expect(state["failure_reason"]?.stringValue?.contains("timed out") == true)
        let events =
            await t.run("w1", "get-events", #"{"event_types": ["timed_out", "failed"]}"#).result["events"]?.arrayValue
            ?? []
        #expect(events.map { $0["event_type"] } == ["timed_out", "failed"])
        #expect(events[1]["metadata"]?["causation_id"] == events[0]["event_id"])
    }

    @Test func pausedTimeIsExcludedFromTheTimeout() async throws {
        await t.run("w1", "create", #"{"phases": ["a"], "timeout": "10m"}"#)
        await t.run("w1", "start")
        t.clock.advance(by: .minutes(6))
        await t.run("w1", "pause")
        t.clock.advance(by: .hours(5))
        await t.run("w1", "resume")
        t.clock.advance(by: .minutes(3))
        #expect(await status("w1")["status"] == "running")
        t.clock.advance(by: .minutes(1))
        #expect(await status("w1")["status"] == "failed")
    }

    @Test func ifVersionRefusesAStaleWriterAndChangesNothing() async throws {
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        let started = await t.run("w1", "start", #"{"if_version": 1}"#)
        #expect(started.succeeded)
        let stale = await t.run("w1", "pause", #"{"if_version": 1}"#)
        #expect(stale.errorCode == "VERSION_CONFLICT")
        let state = await status("w1")
        #expect(state["status"] == "running")
        #expect(state["state_version"] == .int(2))
    }

    @Test func everyChangeBumpsTheVersionAndPublishesStateUpdatedInTheSameCommit() async throws {
        await t.run("w1", "create", #"{"phases": ["a", "b"]}"#)
        await t.run("w1", "start")
        await t.run("w1", "pause")
        let events =
            await t.run("w1", "get-events", #"{"event_types": ["workflow_state_updated"]}"#).result["events"]?
            .arrayValue ?? []
        #expect(events.compactMap { $0["data"]?["state_version"]?.intValue } == [1, 2, 3])
        let all = await t.run("w1", "get-events").result["events"]?.arrayValue ?? []
        let sequences = all.compactMap { $0["sequence"]?.intValue }
        #expect(zip(sequences, sequences.dropFirst()).allSatisfy { $0 < $1 })
    }

    @Test func eventsCarryTheSeedsRoutingKeyMessageAndSubject() async throws {
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        await t.run("w1", "start")
        let events =
            await t.run("w1", "get-events", #"{"event_types": ["phase_started"]}"#).result["events"]?.arrayValue ?? []
        let event = try #require(events.first)
        #expect(event["subject"] == "workflow.w1.phase_started")
        #expect(event["routing_key"] == "phase_started.w1.1")
        #expect(event["message"] == #"PHASE_STARTED:w1:1:{"phase":1,"name":"a"}"#)
        #expect(event["event_id"]?.stringValue?.hasPrefix("evt_") == true)
        #expect(event["metadata"]?["correlation_id"]?.stringValue?.hasPrefix("corr_") == true)
    }

    @Test func closingTheLastPhaseCompletesTheWorkflowByItself() async throws {
        await t.run("w1", "create", #"{"phases": ["a", "b"]}"#)
        await t.run("w1", "start")
        #expect(await t.run("w1", "complete-phase").succeeded)
        #expect(await t.run("w1", "complete-phase", #"{"phase": "b"}"#).succeeded)
        let state = await status("w1")
        #expect(state["status"] == "completed")
        #expect(state["progress_percentage"] == 100.0)
        let final = await t.run("w1", "complete", #"{"notify_stakeholders": ["team"]}"#)
        #expect(final.result["hub_to_orchestrate"]?["completion_status"] == "success")
        let notified = await t.run("w1", "get-events", #"{"event_types": ["stakeholder_notified"]}"#).result["events"]?
            .arrayValue
        #expect(notified?.first?["data"]?["stakeholders"] == ["team"])
    }

    @Test func completePhaseClosesOnlyTheCurrentPhase() async throws {
        await t.run("w1", "create", #"{"phases": ["a", "b"]}"#)
        await t.run("w1", "start")
        let other = await t.run("w1", "complete-phase", #"{"phase": 2}"#)
        #expect(other.errorCode == "INVALID_PARAMETERS")
        #expect(await status("w1")["current_phase"] == 1)
    }

    /// A phase closed with force over a running task ends that task's lease: its agent was
    /// left busy (its heartbeat renewing a lease on a skipped task) and never claimed again.
    @Test func closingAPhaseWithForceEndsTheLeasesOfItsRunningTasks() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "one", "tasks": [{"task_id": "a"}, {"task_id": "a2"}]}, {"name": "two", "tasks": [{"task_id": "z"}]}]}"#
        )
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "x"}"#)
        let claimed = await t.run(nil, "claim-task", #"{"agent_id": "x"}"#).result["tasks"]?.arrayValue?.first
        let lease = try #require(claimed?["lease_id"]?.stringValue)
        #expect(await t.run("w1", "complete-phase", #"{"force": true}"#).succeeded)
        let state = await status("w1")
        #expect(state["current_phase"] == 2)
        let pool = await t.run(nil, "monitor-pool").result["agent_pool"]
        #expect(pool?["performance_metrics"]?["x"]?["current_load"] == 0, "\(pool ?? .null)")
        #expect(pool?["active_assignments"] == 0)
        let next = await t.run(nil, "claim-task", #"{"agent_id": "x"}"#).result["tasks"]?.arrayValue?.first
        #expect(next?["task_id"] == "z")
        let late = await t.run(nil, "complete-task", "{\"lease_id\": \"\(lease)\"}")
        #expect(late.errorCode == "LEASE_EXPIRED")
        let revoked = await t.run("w1", "get-events", #"{"event_types": ["task_lease_revoked"]}"#).result
        #expect(revoked["events"]?.arrayValue?.first?["data"]?["task_id"] == claimed?["task_id"])
        #expect(await t.run("w1", "verify-state").result["valid"] == true)
    }

    /// `tasks_cancelled` names every task the cancel ended, the running ones too.
    @Test func cancelNamesTheRunningTasksItCancelled() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "one", "tasks": [{"task_id": "t"}, {"task_id": "u", "depends_on": ["t"]}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "x"}"#)
        #expect(await t.run(nil, "claim-task", #"{"agent_id": "x"}"#).result["count"] == 1)
        let cancelled = await t.run("w1", "cancel")
        #expect(cancelled.result["tasks_cancelled"] == ["t", "u"])
        let tasks = await status("w1")["phases"]?.arrayValue?.first?["tasks"]?.arrayValue ?? []
        #expect(tasks.map { $0["status"] } == ["cancelled", "cancelled"])
    }

    @Test func completeWithOpenWorkNeedsForceAndThenSkipsIt() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "a", "tasks": [{"task_id": "t1"}, {"task_id": "t2", "depends_on": ["t1"]}]}]}"#)
        await t.run("w1", "start")
        let refused = await t.run("w1", "complete")
        #expect(refused.errorCode == "WORKFLOW_INCOMPLETE")
        #expect(refused.error?.context?["remaining_tasks"] == ["t1", "t2"])
        let forced = await t.run("w1", "complete", #"{"force": true}"#)
        #expect(forced.result["skipped_tasks"] == ["t1", "t2"])
        #expect(forced.result["hub_to_orchestrate"]?["completion_status"] == "partial")
    }

    /// What a forced completion closes is announced as complete-phase with force announces it
    /// (§9: no change without its event): the running phase's `phase_completed` (and its
    /// checkpoint), each skipped task's `task_skipped`; a later phase that never ran is skipped.
    @Test func aForcedCompletionAnnouncesThePhaseAndTasksItCloses() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "a", "tasks": [{"task_id": "t1"}, {"task_id": "t2"}]}, {"name": "b", "tasks": [{"task_id": "t3"}]}]}"#
        )
        await t.run("w1", "start")
        #expect(await t.run("w1", "complete", #"{"force": true}"#).succeeded)
        let types = #"{"event_types": ["completed", "phase_completed", "task_skipped"]}"#
        let events = await t.run("w1", "get-events", types).result["events"]?.arrayValue ?? []
        #expect(
            events.map { $0["event_type"] } == [
                "completed", "task_skipped", "task_skipped", "task_skipped", "phase_completed",
            ])
        #expect(events.dropFirst(1).prefix(3).map { $0["data"]?["task_id"] } == ["t1", "t2", "t3"])
        #expect(events.last?["data"]?["phase"] == 1)
        #expect(events.dropFirst().allSatisfy { $0["metadata"]?["causation_id"] == events[0]["event_id"] })
        let checkpoints = await t.run("w1", "list-checkpoints").result["checkpoints"]?.arrayValue ?? []
        #expect(checkpoints.compactMap { $0["name"]?.stringValue } == ["phase_1_complete"])
        let phases = await status("w1")["phases"]?.arrayValue ?? []
        #expect(phases.map { $0["status"] } == ["completed", "skipped"])
    }

    @Test func resumeFromAFailedPhaseReadiesItsFailedTasksAgain() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "a", "tasks": [{"task_id": "t1"}]}]}"#)
        await t.run("w1", "start")
        await t.run("w1", "fail", #"{"reason": "broken build"}"#)
        #expect(await status("w1")["failure_reason"] == "broken build")
        let resumed = await t.run("w1", "resume", #"{"resume_from_phase": "a"}"#)
        #expect(resumed.succeeded)
        let state = await status("w1")
        #expect(state["status"] == "running")
        #expect(state["phases"]?.arrayValue?.first?["tasks"]?.arrayValue?.first?["status"] == "ready")
    }

    /// Resuming a failed workflow retries its failed tasks and brings back the tasks skipped
    /// because they failed (in later phases too): those stayed skipped and never ran.
    @Test func resumeBringsBackTheTasksSkippedBecauseATaskFailed() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "a", "tasks": [{"task_id": "t1", "max_retries": 0}, {"task_id": "t2", "depends_on": ["t1"]}]}, {"name": "b", "tasks": [{"task_id": "t3", "depends_on": ["t2"]}]}]}"#
        )
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        let lease = await t.run(nil, "claim-task", #"{"agent_id": "ag"}"#).result["tasks"]?.arrayValue?.first?[
            "lease_id"]
        await t.run(nil, "fail-task", "{\"lease_id\": \"\(lease?.stringValue ?? "")\"}")
        #expect(await status("w1")["status"] == "failed")
        let resumed = await t.run("w1", "resume")
        #expect(resumed.result["tasks_reset"] == ["t1"])
        #expect(resumed.result["tasks_revived"] == ["t2", "t3"])
        let tasks = (await status("w1")["phases"]?.arrayValue ?? []).flatMap { $0["tasks"]?.arrayValue ?? [] }
        #expect(tasks.map { $0["status"] } == ["ready", "pending", "pending"])
    }

    func tasks(_ id: String) async -> [JSONValue] {
        (await status(id)["phases"]?.arrayValue ?? []).flatMap { $0["tasks"]?.arrayValue ?? [] }
    }

    func finish(_ agent: String, _ outcome: String = "complete-task") async -> JSONValue? {
        let claimed = await t.claim(agent).first
        await t.run(nil, outcome, "{\"lease_id\": \"\(claimed?["lease_id"]?.stringValue ?? "")\"}")
        return claimed?["task_id"]
    }

    /// Resuming from an earlier phase runs the later phases again, their failed tasks too: the
    /// failed task of phase 2 stayed failed, and the resume, reported a success, failed the
    /// workflow again at once.
    @Test func resumeFromAnEarlierPhaseRunsTheFailedTasksOfTheLaterPhasesAgain() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "p1", "tasks": [{"task_id": "a"}]}, {"name": "p2", "tasks": [{"task_id": "b", "max_retries": 0}]}, {"name": "p3", "tasks": [{"task_id": "z"}]}]}"#
        )
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "g"}"#)
        #expect(await finish("g") == "a")
        #expect(await finish("g", "fail-task") == "b")
        #expect(await status("w1")["status"] == "failed")
        let resumed = await t.run("w1", "resume", #"{"resume_from_phase": 1}"#)
        #expect(resumed.succeeded)
        #expect(resumed.result["status"] == "running")
        #expect(resumed.result["tasks_reset"] == ["b"])
        let state = await status("w1")
        #expect(state["status"] == "running")
        #expect(state["current_phase"] == 2)
        #expect(await tasks("w1").map { $0["status"] } == ["completed", "ready", "pending"])
        #expect(await finish("g") == "b")
        #expect(await finish("g") == "z")
        #expect(await status("w1")["status"] == "completed")
    }

    /// Tasks a phase closed with force skipped run again when the workflow resumes from that
    /// phase; a later phase whose tasks all completed stays completed.
    @Test func resumeFromAnEarlierPhaseRunsItsSkippedTasksAndKeepsCompletedPhases() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "p1", "tasks": [{"task_id": "a"}]}, {"name": "p2", "tasks": [{"task_id": "b"}]}, {"name": "p3", "tasks": [{"task_id": "z", "max_retries": 0}]}]}"#
        )
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "g"}"#)
        #expect(await t.run("w1", "complete-phase", #"{"force": true}"#).succeeded)
        #expect(await finish("g") == "b")
        #expect(await finish("g", "fail-task") == "z")
        #expect(await status("w1")["status"] == "failed")
        let resumed = await t.run("w1", "resume", #"{"resume_from_phase": "p1"}"#)
        #expect(resumed.result["status"] == "running")
        #expect(resumed.result["tasks_reset"] == ["z"])
        #expect(resumed.result["tasks_revived"] == ["a"])
        #expect(await tasks("w1").map { $0["status"] } == ["ready", "completed", "pending"])
        #expect(await finish("g") == "a")
        let state = await status("w1")
        #expect(state["phases"]?.arrayValue?.map { $0["status"] } == ["completed", "completed", "running"])
        #expect(await finish("g") == "z")
        #expect(await status("w1")["status"] == "completed")
    }

    func chain(_ id: String, _ types: [String]) async -> [JSONValue] {
        let filter = types.map { "\"\($0)\"" }.joined(separator: ", ")
        return await t.run(id, "get-events", "{\"event_types\": [\(filter)]}").result["events"]?.arrayValue ?? []
    }

    /// `complete` with force over a running task: `completed` is the root and the lease it
    /// revokes its effect, as with `cancel` (the revocation was the root and caused `completed`).
    @Test func completingWithForceRevokesRunningLeasesAsItsEffect() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "one", "tasks": [{"task_id": "a"}, {"task_id": "b"}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "x"}"#)
        #expect(await t.claim("x").first?["task_id"] == "a")
        let forced = await t.run("w1", "complete", #"{"force": true}"#)
        #expect(forced.result["skipped_tasks"] == ["a", "b"])
        let events = await chain("w1", ["completed", "task_lease_revoked"])
        #expect(events.map { $0["event_type"] } == ["completed", "task_lease_revoked"])
        #expect(events.first?["metadata"]?["causation_id"] == .null)
        #expect(events.last?["metadata"]?["causation_id"] == events.first?["event_id"])
        #expect(events.first?["data"]?["skipped_tasks"] == ["a", "b"])
        #expect(await tasks("w1").map { $0["status"] } == ["skipped", "skipped"])
    }

    /// `complete-phase` with force over a running task: `phase_completed` is the root, and the
    /// revoked lease and the skipped tasks its effects.
    @Test func closingAPhaseWithForceRevokesRunningLeasesAsItsEffect() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "one", "tasks": [{"task_id": "a"}, {"task_id": "a2"}]}, {"name": "two", "tasks": [{"task_id": "z"}]}]}"#
        )
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "x"}"#)
        #expect(await t.claim("x").first?["task_id"] == "a")
        #expect(await t.run("w1", "complete-phase", #"{"force": true}"#).succeeded)
        let events = await chain("w1", ["phase_completed", "task_lease_revoked", "task_skipped"])
        #expect(
            events.map { $0["event_type"] } == [
                "phase_completed", "task_lease_revoked", "task_skipped", "task_skipped",
            ])
        let root = events.first
        #expect(root?["metadata"]?["causation_id"] == .null)
        for effect in events.dropFirst() {
            #expect(effect["metadata"]?["causation_id"] == root?["event_id"], "\(effect)")
        }
        let phase = await status("w1")["phases"]?.arrayValue?.first
        #expect(phase?["tasks"]?.arrayValue?.map { $0["status"] } == ["skipped", "skipped"])
        #expect(phase?["tasks"]?.arrayValue?.first?["assigned_agent"] == .null)
    }

    @Test func startFromALaterPhaseSkipsTheEarlierOnes() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "a", "tasks": [{"task_id": "t1"}]}, "b"]}"#)
        await t.run("w1", "start", #"{"resume_from_phase": 2}"#)
        let phases = await status("w1")["phases"]?.arrayValue ?? []
        #expect(phases.map { $0["status"] } == ["skipped", "running"])
        #expect(phases[0]["tasks"]?.arrayValue?.first?["status"] == "skipped")
        // The skipped task's event carries its own phase (it carried the phase being started).
        let skipped = await t.run("w1", "get-events", #"{"event_types": ["task_skipped"]}"#).result["events"]
        #expect(skipped?.arrayValue?.map { $0["phase"] } == [1], "\(skipped ?? .null)")
    }

    @Test func addTasksToTheCurrentPhaseReadiesThemAndRefusesCyclesWhole() async throws {
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        await t.run("w1", "start")
        let added = await t.run(
            "w1", "add-tasks", #"{"tasks": [{"task_id": "x"}, {"task_id": "y", "depends_on": ["x"]}]}"#)
        #expect(added.result["added"] == ["x", "y"])
        let before = await status("w1")["state_version"]
        let cycle = await t.run(
            "w1", "add-tasks",
            #"{"tasks": [{"task_id": "p", "depends_on": ["q"]}, {"task_id": "q", "depends_on": ["p"]}]}"#)
        #expect(cycle.errorCode == "INVALID_PARAMETERS")
        let after = await status("w1")
        #expect(after["state_version"] == before)
        #expect(after["phases"]?.arrayValue?.first?["tasks"]?.arrayValue?.count == 2)
    }

    /// A cleanup killed after its commit, before its files, left the workflow archived with no
    /// report and nothing that could write it (found by session 25's probe): cleanup again on an
    /// archived workflow writes the files asked for, and changes nothing else.
    @Test func cleanupAgainWritesItsFilesAndChangesNothing() async throws {
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        await t.run("w1", "cancel")
        #expect(await t.run("w1", "cleanup").succeeded)
        let before = await t.run("w1", "get-status").result["workflow_state"]?["state_version"]
        let events = await t.run("w1", "get-events").result["count"]
        let again = await t.run("w1", "cleanup", #"{"archive_state": true, "generate_report": true}"#)
        #expect(again.succeeded, "\(again.json)")
        let report = t.hub.stateDirectory + "/reports/w1"
        #expect(FileManager.default.fileExists(atPath: report), "\(again.json)")
        #expect(FileManager.default.fileExists(atPath: t.hub.stateDirectory + "/workflows/failed/w1.json"))
        #expect(await t.run("w1", "get-status").result["workflow_state"]?["state_version"] == before)
        #expect(await t.run("w1", "get-events").result["count"] == events)
        #expect(again.result["resources_released"] == 0)
    }

    @Test func archivedWorkflowsAnswerReadsAndRefuseMutations() async throws {
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        await t.run("w1", "cancel")
        #expect(await t.run("w1", "cleanup").succeeded)
        #expect(await t.run("w1", "get-status").succeeded)
        let refused = await t.run("w1", "add-tasks", #"{"tasks": [{"task_id": "x"}]}"#)
        #expect(refused.errorCode == "INVALID_TRANSITION")
        #expect(refused.error?.context?["allowed_operations"] == [])
        // Publishing about it is a write too, alone or in a batch; nothing is stored.
        let events = await t.run("w1", "get-events").result["events"]?.arrayValue?.count
        #expect(await t.run("w1", "publish-event", #"{"event_type": "late_report"}"#).errorCode == "INVALID_TRANSITION")
        let batch = await t.run("w1", "publish-event", #"{"events": [{"event_type": "late_report"}]}"#)
        #expect(batch.errorCode == "INVALID_TRANSITION")
        #expect(await t.run("w1", "get-events").result["events"]?.arrayValue?.count == events)
        let listed = await t.run(nil, "list-workflows").result["total"]
        #expect(listed == 0)
        #expect(await t.run(nil, "list-workflows", #"{"include_archived": true}"#).result["total"] == 1)
    }

    /// Paging by offset repeated a row of the page before whenever a workflow was created
    /// between pages (newest first: every row moved down one). Paging by `after` does not.
    @Test func pagingAfterAWorkflowRepeatsNothingWhileWorkflowsAreCreated() async throws {
        for n in 0..<5 {
            await t.run("w\(n)", "create", #"{"phases": ["a"]}"#)
            t.clock.advance(by: .seconds(1))
        }
        let first = await t.run(nil, "list-workflows", #"{"limit": 2}"#)
        let firstIDs = first.result["workflows"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
        #expect(firstIDs == ["w4", "w3"])
        let after = try #require(first.result["next_after"]?.stringValue)
        #expect(first.json["next_steps"]?.arrayValue?.first == "More workflows: pass \"after\": \"w3\"")
        await t.run("w9", "create", #"{"phases": ["a"]}"#)
        var seen = firstIDs
        var cursor: String? = after
        while let from = cursor {
            let page = await t.run(nil, "list-workflows", "{\"limit\": 2, \"after\": \"\(from)\"}")
            seen += page.result["workflows"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
            cursor = page.result["next_after"]?.stringValue
        }
        #expect(seen == ["w4", "w3", "w2", "w1", "w0"])
        let unknown = await t.run(nil, "list-workflows", #"{"after": "nope"}"#)
        #expect(unknown.errorCode == "INVALID_PARAMETERS" && unknown.error?.context?["field"] == "after")
    }

    @Test func hubOperationsWithAnUnknownWorkflowIDAreNotFound() async throws {
        #expect(await t.run("ghost", "get-events").errorCode == "WORKFLOW_NOT_FOUND")
        #expect(await t.run("ghost", "list-workflows").errorCode == "WORKFLOW_NOT_FOUND")
    }
}

@Suite struct WorkflowIDParameterTests {
    @Test func aWorkflowIDAmongTheParametersActsAsTheCallForm() async throws {
        let t = try TestHub()
        defer { t.remove() }
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        await t.run("w2", "create", #"{"phases": ["a"]}"#)
        let narrowed = await t.run(nil, "get-events", #"{"workflow_id": "w2"}"#)
        #expect(narrowed.json["workflow_id"] == "w2")
        let ids = Set((narrowed.result["events"]?.arrayValue ?? []).compactMap { $0["workflow_id"]?.stringValue })
        #expect(ids == ["w2"])
        #expect(await t.run("w1", "get-events", #"{"workflow_id": "w2"}"#).errorCode == "INVALID_PARAMETERS")
        #expect(await t.run(nil, "pause", #"{"workflow_id": "w1"}"#).errorCode == "INVALID_TRANSITION")
    }
}

@Suite struct AgentRequirementsTests {
    /// `min`/`max` are the seed's names for `min_agents`/`max_agents`; given both ways with
    /// different values, one was silently dropped.
    @Test func theSeedsShortNamesAndTheLongOnesMustAgree() async throws {
        let t = try TestHub()
        defer { t.remove() }
        let conflict = await t.run(
            "w1", "create", #"{"phases": ["a"], "agent_requirements": {"min": 2, "min_agents": 3}}"#)
        #expect(conflict.errorCode == "INVALID_PARAMETERS")
        #expect(conflict.json["error"]?["context"]?["field"] == "agent_requirements.min")
        #expect(await t.run("w1", "get-status").errorCode == "WORKFLOW_NOT_FOUND")
        let agreeing = await t.run(
            "w1", "create", #"{"phases": ["a"], "agent_requirements": {"max": 4, "max_agents": 4}}"#)
        #expect(agreeing.errorCode == nil)
        let status = await t.run("w1", "get-status")
        #expect(status.result["workflow_state"]?["agent_requirements"]?["max_agents"] == 4)
    }
}

/// Settings that could never work, or that say one thing twice two ways, are refused
/// with the field to fix; nothing is created or changed.
@Suite struct WorkflowSettingsTests {
    @Test func theTopLevelTimeoutAndPriorityMustAgreeWithTheConfigurations() async throws {
        let t = try TestHub()
        defer { t.remove() }
        let timeout = await t.run(
            "w1", "create", #"{"phases": ["a"], "timeout": "2h", "configuration": {"timeout": "1h"}}"#)
        #expect(timeout.errorCode == "INVALID_PARAMETERS")
        #expect(timeout.json["error"]?["context"]?["field"] == "configuration.timeout")
        let priority = await t.run(
            "w1", "create", #"{"phases": ["a"], "priority": "low", "configuration": {"priority": "high"}}"#)
        #expect(priority.json["error"]?["context"]?["field"] == "configuration.priority")
        // max_agents in both places was stored twice, disagreeing (session 18's probe).
        let agents = await t.run(
            "w1", "create", #"{"phases": ["a"], "agent_requirements": {"max": 2}, "configuration": {"max_agents": 8}}"#)
        #expect(agents.json["error"]?["context"]?["field"] == "configuration.max_agents")
        // The seed's names disagreeing are quoted as given, not as int(1).
        let names = await t.run(
            "w1", "create", #"{"phases": ["a"], "agent_requirements": {"min": 1, "min_agents": 3}}"#)
        #expect(names.error?.message.contains("is 1 but min_agents is 3") == true, "\(names.json)")
        #expect(await t.run("w1", "get-status").errorCode == "WORKFLOW_NOT_FOUND")
        // The same duration written another way agrees.
        let agreeing = await t.run(
            "w1", "create", #"{"phases": ["a"], "timeout": "2h", "configuration": {"timeout": "120m"}}"#)
        #expect(agreeing.errorCode == nil)
    }

    /// A task finishing while its workflow was paused started the next phase (and completed the
    /// workflow after the last one): a pause hands out nothing new, and resume carries it on.
    @Test func aPausedWorkflowGoesNoFurtherThanTheEndOfItsPhase() async throws {
        let t = try TestHub()
        defer { t.remove() }
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "a", "tasks": [{"task_id": "t1"}]}, {"name": "b", "tasks": [{"task_id": "t2"}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        func finishOne() async throws {
            let lease = try #require(
                await t.run(nil, "claim-task", #"{"agent_id": "ag"}"#).result["tasks"]?.arrayValue?.first?["lease_id"]?
                    .stringValue)
            #expect(await t.run("w1", "pause").succeeded)
            #expect(await t.run(nil, "complete-task", "{\"lease_id\": \"\(lease)\"}").succeeded)
        }
        try await finishOne()
        var state = await t.run("w1", "get-status").result["workflow_state"]
        #expect(state?["status"] == "paused")
        #expect(state?["phases"]?.arrayValue?.map { $0["status"] } == ["completed", "pending"])
        #expect(await t.run("w1", "resume").succeeded)
        state = await t.run("w1", "get-status").result["workflow_state"]
        #expect(state?["phases"]?.arrayValue?.map { $0["status"] } == ["completed", "running"])
        try await finishOne()
        #expect(await t.run("w1", "get-status").result["workflow_state"]?["status"] == "paused")
        #expect(await t.run("w1", "resume").succeeded)
        #expect(await t.run("w1", "get-status").result["workflow_state"]?["status"] == "completed")
    }

    @Test func aCheckpointIntervalUnderASecondIsRefusedAtCreateAndStart() async throws {
        let t = try TestHub()
        defer { t.remove() }
        let create = await t.run(
            "w1", "create", #"{"phases": ["a"], "configuration": {"checkpoint_interval": "0s"}}"#)
        #expect(create.errorCode == "INVALID_PARAMETERS")
        #expect(create.json["error"]?["context"]?["field"] == "configuration.checkpoint_interval")
        #expect(await t.run("w1", "create", #"{"phases": ["a"]}"#).errorCode == nil)
        let start = await t.run("w1", "start", #"{"checkpoint_interval": "0s"}"#)
        #expect(start.errorCode == "INVALID_PARAMETERS")
        #expect(start.json["error"]?["context"]?["field"] == "checkpoint_interval")
        #expect(await t.run("w1", "get-status").result["workflow_state"]?["status"] == "created")
    }

    /// An empty name was taken, leaving a workflow that lists with no name at all.
    @Test func anEmptyNameIsRefused() async throws {
        let t = try TestHub()
        defer { t.remove() }
        let create = await t.run("w1", "create", #"{"name": "", "phases": ["a"]}"#)
        #expect(create.errorCode == "INVALID_PARAMETERS")
        #expect(create.json["error"]?["context"]?["field"] == "name")
        #expect(await t.run("w1", "get-status").errorCode == "WORKFLOW_NOT_FOUND")
    }

    @Test func aTaskTimeoutOfZeroIsRefusedInCreateAndAddTasks() async throws {
        let t = try TestHub()
        defer { t.remove() }
        let create = await t.run(
            "w1", "create", #"{"phases": [{"name": "a", "tasks": [{"task_id": "t1", "timeout": "0s"}]}]}"#)
        #expect(create.errorCode == "INVALID_PARAMETERS")
        #expect(create.json["error"]?["context"]?["task_id"] == "t1")
        #expect(await t.run("w1", "create", #"{"phases": ["a"]}"#).errorCode == nil)
        let add = await t.run("w1", "add-tasks", #"{"tasks": [{"task_id": "t2", "phase": 1, "timeout": "0s"}]}"#)
        #expect(add.errorCode == "INVALID_PARAMETERS")
        #expect(await t.run("w1", "get-status").result["workflow_state"]?["phases"]?.arrayValue?.first?["tasks"] == [])
        #expect(await t.run("w1", "get-status").result["workflow_state"]?["state_version"] == 1)
    }
}

/// `complete` and `cleanup` write their archive and report after the commit: a state
/// directory that cannot take them is found before it, so the refusal changes nothing and
/// the operation can be run again once the directory is fixed.
@Suite struct FinalizationTests {
    static func steps(_ response: OperationResponse) -> [String] {
        response.json["next_steps"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    /// Found by session 18's probe: the report counted each task under its last agent only, so
    /// an agent whose attempt failed before another's succeeded was left out, and report.md had
    /// no agents at all.
    /// And from fail-task events alone it missed every run an agent lost (to its silence, a
    /// timeout, report-error) and every agent whose run was taken from it (redistribution).
    @Test func theReportCountsEveryAgentsCompletionsAndFailedAttempts() async throws {
        let t = try TestHub()
        defer { t.remove() }
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "a", "max_retries": 5}]}]}"#)
        await t.run("w1", "start")
        for agent in ["f1", "f2", "silent", "moved"] {
            await t.run(nil, "register-agent", "{\"agent_id\": \"\(agent)\"}")
        }
        _ = try #require(await t.claim("silent").first?["lease_id"]?.stringValue)
        // Only silent falls silent: the others heartbeat just before its 3 intervals run out.
        t.clock.advance(by: .seconds(80))
        for agent in ["f1", "f2", "moved"] { await t.run(nil, "heartbeat", "{\"agent_id\": \"\(agent)\"}") }
        t.clock.advance(by: .seconds(20))
        _ = try #require(await t.claim("moved").first?["lease_id"]?.stringValue)
        await t.run("w1", "redistribute-tasks", #"{"failed_agent": "moved", "strategy": "round_robin"}"#)
        await t.run(nil, "heartbeat", #"{"agent_id": "moved"}"#)
        let phases = await t.run("w1", "get-status").result["workflow_state"]?["phases"]?.arrayValue
        let reservedTo = phases?.first?["tasks"]?.arrayValue?.first?["reserved_for"]?.stringValue
        let first = try #require(await t.claim(reservedTo ?? "f1").first?["lease_id"]?.stringValue)
        await t.run(nil, "fail-task", "{\"lease_id\": \"\(first)\", \"error\": \"flaky\"}")
        // Its retry names whose run ended, as every other retry does.
        let retried = await t.run("w1", "get-events", #"{"event_types": ["task_retried"]}"#).result["events"]
        #expect(retried?.arrayValue?.last?["data"]?["lease_id"]?.stringValue == first)
        let second = try #require(await t.claim("f2").first?["lease_id"]?.stringValue)
        await t.run(nil, "complete-task", "{\"lease_id\": \"\(second)\"}")

        let done = await t.run("w1", "complete", #"{"generate_report": true}"#)

        let paths =
            done.result["hub_to_orchestrate"]?["artifact_locations"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let jsonPath = try #require(paths.first { $0.hasSuffix("report.json") })
        let report = try JSONParser.parse(bytes: Array(try #require(FileManager.default.contents(atPath: jsonPath))))
        let agents = report["agents"] ?? .null
        let failer = reservedTo ?? "f1"
        #expect(agents[failer] == ["tasks_completed": 0, "tasks_failed": 1, "runs_handed_back": 0], "\(agents)")
        #expect(agents["f2"]?["tasks_completed"] == 1, "\(agents)")
        #expect(agents["silent"] == ["tasks_completed": 0, "tasks_failed": 1, "runs_handed_back": 0], "\(agents)")
        #expect(agents["moved"] == ["tasks_completed": 0, "tasks_failed": 0, "runs_handed_back": 1], "\(agents)")
        let markdown = try String(
            contentsOfFile: try #require(paths.first { $0.hasSuffix("report.md") }), encoding: .utf8)
        #expect(markdown.contains("| silent | 0 | 1 | 0 |"), "\(markdown)")
        #expect(markdown.contains("| moved | 0 | 0 | 1 |"), "\(markdown)")
    }

    /// §3: next steps come from the state. Once `complete` has finalized a workflow they asked
    /// for the finalization again, after it and in every later status read.
    @Test func aFinalizedWorkflowIsNotAskedToBeFinalizedAgain() async throws {
        let t = try TestHub()
        defer { t.remove() }
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        await t.run("w1", "start")
        // Completed by itself: the finalization is still to do.
        let closed = await t.run("w1", "complete-phase")
        #expect(closed.result["status"] == "completed")
        #expect(Self.steps(closed).contains { $0.hasPrefix("Finalize it") }, "\(Self.steps(closed))")
        let finalized = await t.run("w1", "complete", #"{"generate_report": true}"#)
        #expect(finalized.errorCode == nil)
        #expect(!Self.steps(finalized).contains { $0.contains("complete") }, "\(Self.steps(finalized))")
        #expect(Self.steps(finalized).contains { $0.contains("cleanup") })
        let status = await t.run("w1", "get-status")
        #expect(!Self.steps(status).contains { $0.contains("complete") }, "\(Self.steps(status))")
        #expect(status.result["workflow_state"]?["finalized_at"]?.stringValue != nil)
        let events = await t.run("w1", "get-events", #"{"event_types": ["finalized"]}"#).result["events"]
        #expect(events?.arrayValue?.count == 1)
        // Again: idempotent, nothing changes.
        let version = status.result["workflow_state"]?["state_version"]
        let again = await t.run("w1", "complete")
        #expect(again.result["state_version"] == version)
        #expect(!Self.steps(again).contains { $0.contains("complete") })
        // Stakeholders notified after the finalization: the notice goes out, the version stays (it moved on).
        let notified = await t.run("w1", "complete", #"{"notify_stakeholders": ["team"]}"#)
        #expect(notified.succeeded, "\(notified.json)")
        #expect(await t.run("w1", "get-status").result["workflow_state"]?["state_version"] == version)
        #expect(notified.result["stakeholders_notified"] == ["team"])
        // Once each: a repeat tells only who was not told (it published the notice every time).
        let repeated = await t.run("w1", "complete", #"{"notify_stakeholders": ["team", "pm"]}"#)
        #expect(repeated.result["stakeholders_notified"] == ["pm"], "\(repeated.json)")
        #expect(
            await t.run("w1", "complete", #"{"notify_stakeholders": ["pm"]}"#).result["stakeholders_notified"] == [])
        let notices = await t.run("w1", "get-events", #"{"event_types": ["stakeholder_notified"]}"#).result["events"]
        #expect(notices?.arrayValue?.map { $0["data"]?["stakeholders"] } == [["team"], ["pm"]])
        // get-status of the finished workflow names the artifacts the finalization wrote (§12):
        // it said none.
        let report = await t.run("w1", "get-status").result["hub_to_orchestrate"]?["artifact_locations"]
        let written = finalized.result["hub_to_orchestrate"]?["artifact_locations"]?.arrayValue ?? []
        #expect(!written.isEmpty)
        #expect(Set(report?.arrayValue ?? []) == Set(written), "\(String(describing: report)) vs \(written)")
        // Completed by `complete` itself: finalized in the same change.
        await t.run("w2", "create", #"{"phases": ["a"]}"#)
        await t.run("w2", "start")
        let forced = await t.run("w2", "complete", #"{"force": true}"#)
        #expect(forced.result["status"] == "completed")
        #expect(!Self.steps(forced).contains { $0.contains("complete") }, "\(Self.steps(forced))")
        let archived = await t.run("w2", "cleanup")
        #expect(Self.steps(archived).allSatisfy { !$0.contains("complete") && !$0.contains("cleanup") })
    }

    /// The first finalization published the notice to stakeholders first, and `finalized` and
    /// the new version named the notice as their cause: backwards. The finalization comes first
    /// and causes the notice.
    @Test func aFinalizationCausesItsNoticeToStakeholders() async throws {
        let t = try TestHub()
        defer { t.remove() }
        func events(_ id: String) async -> [JSONValue] {
            await t.run(
                id, "get-events",
                #"{"event_types": ["completed", "finalized", "stakeholder_notified", "workflow_state_updated"]}"#
            ).result["events"]?.arrayValue ?? []
        }
        // Completed by itself, then finalized.
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        await t.run("w1", "start")
        #expect(await t.run("w1", "complete-phase").result["status"] == "completed")
        #expect(await t.run("w1", "complete", #"{"notify_stakeholders": ["pm"]}"#).succeeded)
        let tail = Array(await events("w1").suffix(3))
        #expect(tail.map { $0["event_type"] } == ["finalized", "stakeholder_notified", "workflow_state_updated"])
        #expect(tail[0]["metadata"]?["causation_id"] == .null)
        #expect(tail[1]["metadata"]?["causation_id"] == tail[0]["event_id"])
        #expect(tail[2]["metadata"]?["causation_id"] == tail[0]["event_id"])
        // Completed and finalized in one change: `completed` is the root, the notice the finalization's.
        await t.run("w2", "create", #"{"phases": ["a"]}"#)
        await t.run("w2", "start")
        #expect(await t.run("w2", "complete", #"{"force": true, "notify_stakeholders": ["pm"]}"#).succeeded)
        let forced = Array(await events("w2").suffix(4))
        #expect(
            forced.map { $0["event_type"] } == [
                "completed", "finalized", "stakeholder_notified", "workflow_state_updated",
            ])
        #expect(forced[1]["metadata"]?["causation_id"] == forced[0]["event_id"])
        #expect(forced[2]["metadata"]?["causation_id"] == forced[1]["event_id"])
    }

    @Test func anArchiveThatCannotBeWrittenRefusesCompleteAndCleanupWithNothingChanged() async throws {
        let t = try TestHub()
        defer { t.remove() }
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        await t.run("w1", "start")
        // A file where the archive's folder belongs.
        let blocked = t.hub.stateDirectory + "/workflows/completed"
        try FileManager.default.createDirectory(
            atPath: t.hub.stateDirectory + "/workflows", withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: blocked, contents: Data("x".utf8)))
        let before = await t.run(nil, "get-events", "{}").result["last_sequence"]
        let complete = await t.run("w1", "complete", #"{"force": true, "archive_state": true}"#)
        #expect(complete.errorCode == "STORE_UNAVAILABLE")
        #expect(await t.run("w1", "get-status").result["workflow_state"]?["status"] == "running")
        #expect(await t.run(nil, "get-events", "{}").result["last_sequence"] == before)
        // Fixed, the same request goes through and writes the archive.
        try FileManager.default.removeItem(atPath: blocked)
        let again = await t.run("w1", "complete", #"{"force": true, "archive_state": true}"#)
        #expect(again.errorCode == nil)
        #expect(again.result["artifacts"]?["archived_files"]?.arrayValue?.count == 2)
        #expect(again.result["artifacts"]?["errors"] == nil)
        // cleanup's report folder blocked the same way.
        #expect(FileManager.default.createFile(atPath: t.hub.stateDirectory + "/reports", contents: Data("x".utf8)))
        let cleanup = await t.run("w1", "cleanup", #"{"generate_report": true}"#)
        #expect(cleanup.errorCode == "STORE_UNAVAILABLE")
        #expect(await t.run("w1", "get-status").result["workflow_state"]?["archived"] == false)
    }
}
