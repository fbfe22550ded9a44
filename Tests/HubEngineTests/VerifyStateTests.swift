import HubCore
import HubEngine
import HubStore
import HubTesting
import Testing

@Suite struct VerifyStateTests {
    let t: TestHub
    init() throws { t = try TestHub() }

    /// A running workflow with task `a` claimed by `ag`, then damaged behind the hub's back:
    /// `b` marked running without a lease, and the agent's load wrong.
    func damaged() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "a"}, {"task_id": "b"}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag", "max_concurrent_tasks": 3}"#)
        await t.run(nil, "claim-task", #"{"agent_id": "ag"}"#)
        try await t.hub.store.write { tx in
            if var b = try tx.task(workflowID: "w1", taskID: "b") {
                b.status = .running
                try tx.update(b)
            }
            if var agent = try tx.agent("ag") {
                agent.currentLoad = 3
                try tx.save(agent)
            }
        }
    }

    @Test func aConsistentWorkflowIsValid() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "a"}]}]}"#)
        await t.run("w1", "start")
        let checked = await t.run("w1", "verify-state")
        #expect(checked.result["valid"] == true)
        #expect(checked.result["violations"] == [])
    }

    @Test func violationsAreReportedAndNothingChangesWithoutRepair() async throws {
        try await damaged()
        let version = await t.run("w1", "get-status").result["workflow_state"]?["state_version"]
        let checked = await t.run("w1", "verify-state")
        #expect(checked.result["valid"] == false)
        let invariants = checked.result["violations"]?.arrayValue?.compactMap { $0["invariant"]?.stringValue } ?? []
        #expect(invariants.contains("task_running_without_lease"))
        #expect(invariants.contains("agent_load_disagrees"))
        #expect(await t.run("w1", "get-status").result["workflow_state"]?["state_version"] == version)
    }

    /// Phases out of order, a workflow not started with a phase that has, a phase running with
    /// nothing left to run: each was called valid (the first is what a partial restore left).
    @Test(arguments: [
        "phase_started_before_an_earlier_one_ended", "created_workflow_with_started_phase",
        "running_phase_with_every_task_settled", "running_workflow_with_every_phase_closed",
    ])
    func phaseStatusesAgainstEachOtherAndTheWorkflowAreChecked(_ invariant: String) async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "a", "tasks": [{"task_id": "t1"}]}, {"name": "b", "tasks": [{"task_id": "t2"}]}]}"#)
        if invariant != "created_workflow_with_started_phase" { await t.run("w1", "start") }
        try await t.hub.store.write { tx in
            var phases = try tx.phases(of: "w1")
            switch invariant {
            case "running_workflow_with_every_phase_closed":
                for var task in try tx.tasks(of: "w1") {
                    task.status = .completed
                    try tx.update(task)
                }
                for var phase in phases {
                    phase.status = .completed
                    try tx.update(phase)
                }
            case "running_phase_with_every_task_settled":
                if var t1 = try tx.task(workflowID: "w1", taskID: "t1") {
                    t1.status = .completed
                    try tx.update(t1)
                }
            default:
                phases[1].status = .running
                try tx.update(phases[1])
            }
        }
        let checked = await t.run("w1", "verify-state")
        let found = checked.result["violations"]?.arrayValue?.compactMap { $0["invariant"]?.stringValue } ?? []
        #expect(found.contains(invariant), "\(checked.json)")
        #expect(checked.result["valid"] == false)
    }

    /// redistribute-tasks sets the agent it names offline, its work in other workflows keeping
    /// its leases while it heartbeats (its help says so): verify-state called that lease held by
    /// a dead agent, and its repair took the task away from the live agent.
    @Test func anOfflineAgentsLeaseInAnotherWorkflowIsValid() async throws {
        for w in ["wa", "wb"] {
            await t.run(w, "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "t1", "role": "code"}]}]}"#)
            await t.run(w, "start")
        }
        await t.run(
            nil, "register-agent", #"{"agent_id": "ag1", "specializations": ["code"], "max_concurrent_tasks": 2}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "ag2", "specializations": ["code"]}"#)
        #expect(await t.run("wa", "claim-task", #"{"agent_id": "ag1"}"#).result["count"] == 1)
        #expect(await t.run("wb", "claim-task", #"{"agent_id": "ag1"}"#).result["count"] == 1)
        #expect(await t.run("wa", "redistribute-tasks", #"{"failed_agent": "ag1"}"#).succeeded)
        let checked = await t.run("wb", "verify-state")
        #expect(checked.result["valid"] == true, "\(checked.json)")
        let repaired = await t.run("wb", "verify-state", #"{"repair": true}"#)
        #expect(repaired.result["repairs"] == [], "\(repaired.json)")
        let task = await t.run("wb", "get-status").result["workflow_state"]?["phases"]?.arrayValue?.first?["tasks"]?
            .arrayValue?.first
        #expect(task?["status"] == "running")
    }

    /// A lease on a task that is no longer running is revoked by the repair, and its agent's
    /// load drops with it: the next pass judged only agents holding a lease of the workflow,
    /// so an agent with no other left kept the load of the lease it lost.
    @Test func revokingALeaseRecountsItsAgentsLoad() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "a"}, {"task_id": "b"}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag", "max_concurrent_tasks": 3}"#)
        #expect(await t.run(nil, "claim-task", #"{"agent_id": "ag"}"#).result["count"] == 1)
        try await t.hub.store.write { tx in
            for var task in try tx.tasks(of: "w1") where task.status == .running {
                task.status = .completed
                task.assignedAgent = nil
                try tx.update(task)
            }
        }
        let repaired = await t.run("w1", "verify-state", #"{"repair": true}"#)
        let actions = repaired.result["repairs"]?.arrayValue?.compactMap { $0["repair"]?["action"]?.stringValue } ?? []
        #expect(actions.contains("revoke_lease"), "\(repaired.json)")
        #expect(actions.contains("set_agent_load"), "\(repaired.json)")
        let pool = await t.run(nil, "monitor-pool").result["agent_pool"]
        #expect(pool?["performance_metrics"]?["ag"]?["current_load"] == 0, "\(pool ?? .null)")
        #expect(await t.run("w1", "verify-state").result["valid"] == true)
    }

    /// A violation nothing repairs got "restore the latest checkpoint", though the workflow had
    /// none (CHECKPOINT_NOT_FOUND), and never the command its message names: a running workflow
    /// with every phase closed is settled by `complete`.
    @Test func theStepsAfterAViolationNameWhatSettlesIt() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "a", "tasks": [{"task_id": "t1"}]}, {"name": "b", "tasks": [{"task_id": "t2"}]}]}"#)
        await t.run("w1", "start")
        #expect(await t.run("w1", "list-checkpoints").result["checkpoints"] == [])
        try await t.hub.store.write { tx in
            for var task in try tx.tasks(of: "w1") {
                task.status = .completed
                try tx.update(task)
            }
            for var phase in try tx.phases(of: "w1") {
                phase.status = .completed
                try tx.update(phase)
            }
        }
        let checked = await t.run("w1", "verify-state")
        let steps = checked.json["next_steps"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(steps.first == "Complete it, as every phase is closed: coordination-hub w1 complete", "\(steps)")
        #expect(!steps.contains { $0.contains("restore") }, "\(steps)")
        #expect(await t.run("w1", "complete").result["status"] == "completed")
    }

    /// A violation no command settles: restore is offered only when there is a checkpoint to
    /// restore, by its id (the newest valid), or as `latest` when the checkpoints were not checked.
    @Test func restoreIsOfferedOnlyWithACheckpointToRestore() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "a", "tasks": [{"task_id": "t1"}]}, {"name": "b", "tasks": [{"task_id": "t2"}]}]}"#)
        await t.run("w1", "start")
        try await t.hub.store.write { tx in
            var phases = try tx.phases(of: "w1")
            phases[1].status = .running
            try tx.update(phases[1])
        }
        func steps(_ parameters: String = "{}") async -> [String] {
            await t.run("w1", "verify-state", parameters).json["next_steps"]?.arrayValue?.compactMap(\.stringValue)
                ?? []
        }
        let without = await steps()
        #expect(!without.contains { $0.contains("restore") }, "\(without)")
        let id = try #require(await t.run("w1", "checkpoint").result["checkpoint_id"]?.stringValue)
        let with = await steps()
        #expect(
            with.first == "Restore a valid checkpoint: coordination-hub w1 restore '{\"checkpoint_id\": \"\(id)\"}'",
            "\(with)")
        let unchecked = await steps(#"{"checkpoints": false}"#)
        #expect(
            unchecked.first
                == #"Restore a valid checkpoint: coordination-hub w1 restore '{"checkpoint_id": "latest"}'"#,
            "\(unchecked)")
    }

    /// A lease past its expiry (no dispatcher operation since to end it) was called valid,
    /// its task running for an agent long gone.
    @Test func aLeasePastItsExpiryIsFoundAndEnded() async throws {
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "a"}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        await t.run(nil, "claim-task", #"{"agent_id": "ag"}"#)
        func task() async -> JSONValue? {
            await t.run("w1", "get-status").result["workflow_state"]?["phases"]?.arrayValue?.first?["tasks"]?
                .arrayValue?.first
        }
        // get-status, a read, does not sweep; it shows the lease's expiry, and that it has passed.
        let held = await task()
        #expect(
            held?["status"] == "running" && held?["lease_expires_at"]?.stringValue != nil, "\(String(describing: held))"
        )
        #expect(held?["lease_expired"] == nil)
        t.clock.advance(by: .hours(1))
        let lapsed = await task()
        #expect(lapsed?["status"] == "running" && lapsed?["lease_expired"] == true, "\(String(describing: lapsed))")
        let checked = await t.run("w1", "verify-state")
        let found = checked.result["violations"]?.arrayValue?.compactMap { $0["invariant"]?.stringValue } ?? []
        #expect(found.contains("lease_past_its_expiry"), "\(checked.json)")
        let repaired = await t.run("w1", "verify-state", #"{"repair": true}"#)
        #expect(repaired.result["valid"] == true, "\(repaired.json)")
        let ready = await task()
        #expect(ready?["status"] == "ready" && ready?["lease_expires_at"] == nil)
        // Ended as the heartbeat monitor ends it: its silent holder failed, the attempt counted.
        let actions = repaired.result["repairs"]?.arrayValue?.compactMap { $0["repair"]?["action"]?.stringValue }
        #expect(actions == ["expire_lease"], "\(repaired.json)")
        let published = await t.run("w1", "get-events", #"{"event_types": ["state_repaired"]}"#).result["events"]
        #expect(
            published?.arrayValue?.first?["data"]?["repairs"]?.arrayValue?.count == 1,
            "\(String(describing: published))")
        let failed = await t.run(nil, "get-events", #"{"event_types": ["failed"]}"#).result["events"]?.arrayValue
        #expect(failed?.contains { $0["subject"] == "agent.ag.failed" } == true)
        let pool = await t.run(nil, "monitor-pool").result["agent_pool"]?["performance_metrics"]?["ag"]
        #expect(pool?["status"] == "unresponsive" && pool?["tasks_failed"] == 1, "\(String(describing: pool))")
    }

    /// A dead lease's repair changed its agent's load without listing it, and the load repair
    /// computed before it then moved the load up and back down again: the log named neither
    /// the wrong value found nor one change.
    @Test func aLoadRepairAfterALeaseRepairListsOneChangeFromTheValueFound() async throws {
        try await damaged()
        try await t.hub.store.write { tx in
            // `a`, claimed by ag, marked completed under its still active lease.
            if var a = try tx.task(workflowID: "w1", taskID: "a") {
                a.status = .completed
                try tx.update(a)
            }
            if var agent = try tx.agent("ag") {
                agent.currentLoad = 7
                try tx.save(agent)
            }
        }
        let repaired = await t.run("w1", "verify-state", #"{"repair": true}"#)
        let loads = repaired.result["repairs"]?.arrayValue?.compactMap { entry -> String? in
            guard entry["repair"]?["action"] == "set_agent_load" else { return nil }
            return "\(entry["repair"]?["from"]?.intValue ?? -1)→\(entry["repair"]?["to"]?.intValue ?? -1)"
        }
        #expect(loads == ["7→0"], "\(repaired.json)")
    }

    @Test func repairFixesWhatItCanAndReportsEachRepair() async throws {
        try await damaged()
        let repaired = await t.run("w1", "verify-state", #"{"repair": true}"#)
        #expect(repaired.succeeded, "\(repaired.json)")
        #expect(repaired.result["valid"] == true)
        let actions = repaired.result["repairs"]?.arrayValue?.compactMap { $0["repair"]?["action"]?.stringValue } ?? []
        #expect(actions.contains("set_task_status"))
        #expect(actions.contains("set_agent_load"))
        #expect(await t.run("w1", "verify-state").result["valid"] == true)
        #expect(await t.run("w1", "get-events", #"{"event_types": ["state_repaired"]}"#).result["count"] == 1)
        #expect(await t.run(nil, "monitor-pool").succeeded)
    }

    @Test func aCheckpointWithValidateStateRecordsTheViolations() async throws {
        try await damaged()
        let taken = await t.run("w1", "checkpoint", #"{"validate_state": true}"#)
        #expect(taken.succeeded)
        #expect(taken.result["state_valid"] == false)
        #expect((taken.result["validation"]?["violations"]?.arrayValue?.count ?? 0) >= 2)
        #expect(await t.run("w1", "list-checkpoints").result["checkpoints"]?.arrayValue?.first?["state_valid"] == false)
    }

    @Test func verifyStateNamesCorruptCheckpoints() async throws {
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        let id = try #require(await t.run("w1", "checkpoint").result["checkpoint_id"]?.stringValue)
        try await t.damageCheckpoint(id, byte: 0, bit: 0x20)
        let checked = await t.run("w1", "verify-state")
        #expect(checked.result["checkpoints"]?["corrupt"] == .strings([id]))
        #expect(checked.result["checkpoints"]?["newest_valid_checkpoint"] == .null)
        // The state is valid, and the answer says there is nothing to fall back on (it said
        // only "resume").
        let steps = checked.json["next_steps"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(steps.first == "No checkpoint of w1 is valid: take one now with 'coordination-hub w1 checkpoint'")
        let newer = try #require(await t.run("w1", "checkpoint").result["checkpoint_id"]?.stringValue)
        let again = await t.run("w1", "verify-state").json["next_steps"]?.arrayValue?.first?.stringValue
        #expect(again?.hasSuffix("the newest valid one, \(newer)") == true, "\(again ?? "")")
    }
}
