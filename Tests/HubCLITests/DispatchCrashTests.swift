import Foundation
import HubCore
import HubTesting
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An agent process killed with SIGKILL in the middle of a task: once its lease
/// lapses another agent completes the task, and the dead agent's late completion
/// is refused.
@Suite struct DispatchCrashTests {
    /// Short, so the dead agent's lease (3 intervals) lapses quickly. Every command
    /// of the test (and both agents) reads it from the environment.
    static let heartbeat = "1s"

    @Test func aKilledAgentsTaskIsCompletedByAnotherAndItsLateCompletionIsLeaseExpired() async throws {
        let hub = try DispatchSandbox(
            "dispatch-crash", environment: ["COORDINATION_HUB_HEARTBEAT_INTERVAL": Self.heartbeat])
        defer { hub.remove() }
        try hub.succeed(
            "w", "create",
            #"{"name": "Crash", "phases": [{"name": "build", "tasks": [{"task_id": "build_it", "role": "code"}]}]}"#)
        try hub.succeed("w", "start")

        // The victim runs the task as a child that records its lease and pid, then hangs
        // (for far longer than a loaded machine can take to get to the kill below).
        let victim = try hub.launch(
            [
                "--set", "heartbeat_interval=\(Self.heartbeat)", "agent", "--id", "victim", "--roles", "code",
                "--max-tasks", "1", "--workflow", "w", "--idle-delay", "50ms", "--", "/bin/sh", "-c",
                #"echo $$ > "$TASK_ID.pid"; echo "$LEASE_ID" > "$TASK_ID.lease.tmp"; mv "$TASK_ID.lease.tmp" "$TASK_ID.lease"; exec sleep 600"#,
            ], log: "victim")
        let started = await DispatchSandbox.poll(attempts: 400) { hub.read("build_it.lease") != nil }
        guard started else {
            kill(victim.processIdentifier, SIGKILL)
            victim.waitUntilExit()
            Issue.record("the victim never started its task: \(hub.read("victim.log") ?? "")")
            return
        }
        let victimLease = (hub.read("build_it.lease") ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let childPID = Int32((hub.read("build_it.pid") ?? "").trimmingCharacters(in: .whitespacesAndNewlines))

        // The lease the child saw is the one the hub recorded for the victim.
        let running = try hub.tasks("w")["build_it"]
        #expect(running?["status"]?.stringValue == "running")
        #expect(running?["assigned_agent"]?.stringValue == "victim")
        let assigned = try hub.events(["event_types": ["task_assigned"], "workflow_id": "w"])
        #expect(assigned.count == 1)
        #expect(assigned.first?["data"]?["agent_id"]?.stringValue == "victim")
        #expect(assigned.first?["data"]?["lease_id"]?.stringValue == victimLease)
        #expect(victimLease.hasPrefix("lease_"))

        // Kill the agent outright (no chance to release anything), then its orphaned child.
        #expect(kill(victim.processIdentifier, SIGKILL) == 0)
        #expect(await victim.exited() == .signaled(SIGKILL))
        if let childPID, childPID > 0 { kill(childPID, SIGKILL) }

        // A second agent takes the task once the victim's lease lapses, and exits when the workflow is done.
        let rescuer = try hub.launch(
            [
                "--set", "heartbeat_interval=\(Self.heartbeat)", "agent", "--id", "rescuer", "--roles", "code",
                "--max-tasks", "1", "--workflow", "w", "--idle-delay", "50ms", "--", "/bin/sh", "-c",
                #"echo "$LEASE_ID" > "$TASK_ID.rescued""#,
            ], log: "rescuer")
        let exited = await ProcessWait.exit(of: rescuer, within: .seconds(60))
        #expect(exited, "the rescuer did not finish the workflow: \(hub.read("rescuer.log") ?? "")")
        #expect(rescuer.terminationStatus == 0 || !exited)

        // The task was completed once, by the rescuer, under a new lease, on its second attempt.
        let rescuedLease = (hub.read("build_it.rescued") ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(rescuedLease.hasPrefix("lease_"))
        #expect(rescuedLease != victimLease)
        let state = try hub.workflowState("w")
        #expect(state["status"]?.stringValue == "completed")
        let task = try hub.tasks("w")["build_it"]
        #expect(task?["status"]?.stringValue == "completed")
        #expect(task?["assigned_agent"]?.stringValue == "rescuer")
        #expect(task?["attempts"]?.intValue == 2, "the victim's attempt is counted")
        let completions = try hub.events(["event_types": ["task_completed"], "workflow_id": "w"])
        #expect(completions.count == 1)
        #expect(completions.first?["data"]?["agent_id"]?.stringValue == "rescuer")
        let retried = try hub.events(["event_types": ["task_retried"], "workflow_id": "w"])
        #expect(retried.first?["data"]?["lease_id"]?.stringValue == victimLease, "the victim's lease was revoked")

        // The victim is unresponsive and its failure was published. (The sweep that requeued
        // its task marks it; monitor-pool is itself a dispatcher operation, so polling it is bounded.)
        let unresponsive = try await DispatchSandbox.poll(attempts: 100) {
            try hub.pool()["victim"]?["status"]?.stringValue == "unresponsive"
        }
        let pool = try hub.pool()
        #expect(unresponsive, "victim is \(pool["victim"]?["status"]?.stringValue ?? "missing")")
        #expect(pool["victim"]?["current_load"]?.intValue == 0)
        #expect(pool["victim"]?["tasks_completed"]?.intValue == 0)
        #expect(pool["rescuer"]?["tasks_completed"]?.intValue == 1)
        let failures = try hub.events(["event_types": ["failed"]]).filter {
            $0["subject"]?.stringValue == "agent.victim.failed"
        }
        #expect(failures.count >= 1)
        #expect(failures.first?["workflow_id"]?.isNull == true)
        #expect(
            retried.first?["metadata"]?["causation_id"]?.stringValue == failures.first?["event_id"]?.stringValue,
            "the requeue is caused by the agent's failure")
        #expect(failures.first?["severity"]?.stringValue == "error")

        // The dead agent's late completion is refused and changes nothing.
        let version = state["state_version"]?.intValue
        let lastEvent = try hub.lastSequence()
        let error = try hub.fail(
            ["complete-task", #"{"lease_id": "\#(victimLease)", "result": {"late": true}}"#], code: "LEASE_EXPIRED")
        #expect(error["message"]?.stringValue?.contains(victimLease) == true)
        #expect(try hub.workflowState("w")["state_version"]?.intValue == version)
        #expect(try hub.lastSequence() == lastEvent)
        #expect(try hub.tasks("w")["build_it"]?["assigned_agent"]?.stringValue == "rescuer")
        #expect(try hub.pool()["victim"]?["tasks_completed"]?.intValue == 0)
        let after = try hub.events(["event_types": ["task_completed"], "workflow_id": "w"])
        #expect(after.count == 1)
    }
}
