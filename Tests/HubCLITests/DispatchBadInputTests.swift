import Foundation
import HubCore
import HubTesting
import Testing

/// Bad input to the dispatcher through the command line: each a clear error with
/// its exit status and code, and nothing changed.
@Suite struct DispatchBadInputTests {
    /// A running workflow with two ready tasks and two registered agents, `alpha` and `beta`.
    static func prepared(_ label: String) throws -> DispatchSandbox {
        let hub = try DispatchSandbox(label)
        try hub.succeed(
            "w", "create",
            #"{"phases": [{"name": "work", "tasks": [{"task_id": "one"}, {"task_id": "two"}]}, {"name": "later"}]}"#)
        try hub.succeed("w", "start")
        for agent in ["alpha", "beta"] {
            try hub.succeed("register-agent", #"{"agent_id": "\#(agent)", "max_concurrent_tasks": 2}"#)
        }
        return hub
    }

    /// Claims one task for `agent`; returns (task_id, lease_id).
    static func claimOne(_ hub: DispatchSandbox, _ agent: String) throws -> (task: String, lease: String) {
        let tasks = try hub.succeed("claim-task", #"{"agent_id": "\#(agent)"}"#)["tasks"]?.arrayValue ?? []
        #expect(tasks.count == 1)
        return (tasks.first?["task_id"]?.stringValue ?? "?", tasks.first?["lease_id"]?.stringValue ?? "?")
    }

    @Test func claimForAnUnknownAgentIsAgentNotFound() throws {
        let hub = try Self.prepared("dispatch-bad-agent")
        defer { hub.remove() }
        try hub.expectUnchanged("w") {
            let error = try hub.fail(["claim-task", #"{"agent_id": "ghost"}"#], code: "AGENT_NOT_FOUND")
            #expect(error["message"]?.stringValue?.contains("ghost") == true)
            try hub.fail(["w", "claim-task", #"{"agent_id": "ghost", "max_tasks": 2}"#], code: "AGENT_NOT_FOUND")
        }
        #expect(try hub.pool()["ghost"] == nil, "a refused claim must not register the agent")
    }

    @Test func anotherAgentsLeaseIsLeaseExpiredAndChangesNothing() throws {
        let hub = try Self.prepared("dispatch-bad-lease")
        defer { hub.remove() }
        let alpha = try Self.claimOne(hub, "alpha")
        let beta = try Self.claimOne(hub, "beta")
        #expect(alpha.task != beta.task)
        #expect(alpha.lease != beta.lease)
        try hub.succeed("other", "create", #"{"phases": ["p"]}"#)
        try hub.expectUnchanged("w") {
            // beta reports its own task under alpha's lease: foreign.
            let error = try hub.fail(
                ["complete-task", #"{"lease_id": "\#(alpha.lease)", "task_id": "\#(beta.task)"}"#],
                code: "LEASE_EXPIRED")
            #expect(error["message"]?.stringValue?.contains(alpha.lease) == true)
            try hub.fail(
                ["fail-task", #"{"lease_id": "\#(alpha.lease)", "task_id": "\#(beta.task)", "error": "x"}"#],
                code: "LEASE_EXPIRED")
            // alpha's lease with another workflow: foreign too.
            try hub.fail(["other", "complete-task", #"{"lease_id": "\#(alpha.lease)"}"#], code: "LEASE_EXPIRED")
            // An unknown lease.
            try hub.fail(["complete-task", #"{"lease_id": "lease_doesnotexist"}"#], code: "LEASE_EXPIRED")
        }
        // Both leases still work for their own tasks.
        let tasks = try hub.tasks("w")
        #expect(tasks[alpha.task]?["assigned_agent"]?.stringValue == "alpha")
        #expect(tasks[beta.task]?["assigned_agent"]?.stringValue == "beta")
        try hub.succeed("complete-task", #"{"lease_id": "\#(alpha.lease)", "task_id": "\#(alpha.task)"}"#)
        try hub.succeed("w", "complete-task", #"{"lease_id": "\#(beta.lease)"}"#)
        let pool = try hub.pool()
        #expect(pool["alpha"]?["tasks_completed"]?.intValue == 1)
        #expect(pool["beta"]?["tasks_completed"]?.intValue == 1)
    }

    @Test func aSecondOutcomeOnTheSameLeaseIsLeaseExpiredAndChangesNothing() throws {
        let hub = try Self.prepared("dispatch-bad-second")
        defer { hub.remove() }
        let alpha = try Self.claimOne(hub, "alpha")
        let failed = try hub.succeed("fail-task", #"{"lease_id": "\#(alpha.lease)", "error": "compiler crashed"}"#)
        #expect(failed["task_id"]?.stringValue == alpha.task)
        let task = try hub.tasks("w")[alpha.task]
        #expect(task?["status"]?.stringValue == "ready", "a retryable failure puts the task back")
        #expect(task?["attempts"]?.intValue == 1)
        try hub.expectUnchanged("w") {
            let error = try hub.fail(
                ["fail-task", #"{"lease_id": "\#(alpha.lease)", "error": "again"}"#], code: "LEASE_EXPIRED")
            #expect(error["message"]?.stringValue?.contains(alpha.lease) == true)
            // It says which outcome the lease recorded: a report sent again after a lost answer
            // was told "the outcome was not recorded".
            #expect(error["context"]?["lease_state"]?.stringValue == "failed", "\(error)")
            #expect(error["details"]?.stringValue?.contains("recorded and stands") == true, "\(error)")
            try hub.fail(["complete-task", #"{"lease_id": "\#(alpha.lease)"}"#], code: "LEASE_EXPIRED")
        }
        let pool = try hub.pool()
        #expect(pool["alpha"]?["tasks_failed"]?.intValue == 1, "one failure recorded, not two")
        let failures = try hub.events(["event_types": ["task_failed"], "workflow_id": "w"])
        #expect(failures.count == 1, "one outcome recorded: \(failures.count) task_failed events")
    }

    @Test func aDeregisteredAgentsLeaseIsLeaseExpiredAndItsAttemptIsNotCounted() throws {
        let hub = try Self.prepared("dispatch-bad-deregistered")
        defer { hub.remove() }
        let alpha = try Self.claimOne(hub, "alpha")
        let left = try hub.succeed("deregister-agent", #"{"agent_id": "alpha"}"#)
        #expect(left["tasks_requeued"]?.arrayValue == [.string(alpha.task)])
        let task = try hub.tasks("w")[alpha.task]
        #expect(task?["status"]?.stringValue == "ready")
        #expect(task?["attempts"]?.intValue == 0, "deregistration gives the attempt back")
        #expect(try hub.pool()["alpha"] == nil, "a deregistered agent leaves monitor-pool")
        try hub.expectUnchanged("w") {
            try hub.fail(["complete-task", #"{"lease_id": "\#(alpha.lease)"}"#], code: "LEASE_EXPIRED")
            try hub.fail(["claim-task", #"{"agent_id": "alpha"}"#], code: "AGENT_NOT_FOUND")
            try hub.fail(["heartbeat", #"{"agent_id": "alpha"}"#], code: "AGENT_NOT_FOUND")
        }
    }

    @Test func completionWithoutTheRequiredEvidenceIsEvidenceMissingAndTheTaskStaysRunning() throws {
        let hub = try DispatchSandbox("dispatch-bad-evidence")
        defer { hub.remove() }
        try hub.succeed(
            "w", "create",
            #"{"phases": [{"name": "work", "tasks": [{"task_id": "report", "evidence": {"files": ["out/report.txt"]}}]}]}"#
        )
        try hub.succeed("w", "start")
        try hub.succeed("register-agent", #"{"agent_id": "alpha"}"#)
        let alpha = try Self.claimOne(hub, "alpha")
        try hub.expectUnchanged("w") {
            let error = try hub.fail(["complete-task", #"{"lease_id": "\#(alpha.lease)"}"#], code: "EVIDENCE_MISSING")
            #expect(error["message"]?.stringValue?.contains("out/report.txt") == true, "\(error)")
        }
        #expect(try hub.tasks("w")["report"]?["status"]?.stringValue == "running")
        // Once the evidence exists, the same lease completes the task.
        try FileManager.default.createDirectory(atPath: hub.file("out"), withIntermediateDirectories: true)
        try Data("done\n".utf8).write(to: URL(fileURLWithPath: hub.file("out/report.txt")))
        try hub.succeed("complete-task", #"{"lease_id": "\#(alpha.lease)"}"#)
        #expect(try hub.workflowState("w")["status"]?.stringValue == "completed")
    }

    @Test(arguments: ["0", "-1", "1000000", "101", "1.5", "\"2\""])
    func maxTasksOutOfRangeIsInvalidParameters(_ maxTasks: String) throws {
        let hub = try Self.prepared("dispatch-bad-max")
        defer { hub.remove() }
        try hub.expectUnchanged("w") {
            let error = try hub.fail(
                ["claim-task", #"{"agent_id": "alpha", "max_tasks": \#(maxTasks)}"#], code: "INVALID_PARAMETERS")
            #expect(
                error["message"]?.stringValue?.contains("max_tasks") == true
                    || error["context"]?["field"]?.stringValue == "max_tasks",
                "the error names the field: \(error)")
        }
    }

    @Test func aCycleIntroducedByAddTasksIsInvalidParametersNamingTheTasks() throws {
        let hub = try Self.prepared("dispatch-bad-cycle")
        defer { hub.remove() }
        try hub.expectUnchanged("w") {
            let error = try hub.fail(
                [
                    "w", "add-tasks",
                    #"""
                    {"tasks": [
                      {"task_id": "fine", "phase": "later", "depends_on": ["one"]},
                      {"task_id": "cycle_a", "phase": "later", "depends_on": ["cycle_c", "one"]},
                      {"task_id": "cycle_b", "phase": "later", "depends_on": ["cycle_a"]},
                      {"task_id": "cycle_c", "phase": "later", "depends_on": ["cycle_b"]}
                    ]}
                    """#,
                ], code: "INVALID_PARAMETERS")
            let text = error.serialized()
            for task in ["cycle_a", "cycle_b", "cycle_c"] {
                #expect(text.contains(task), "the error names \(task): \(text)")
            }
            #expect(text.lowercased().contains("cycle"), "the error says it is a cycle: \(text)")
        }
        #expect(try hub.tasks("w").keys.sorted() == ["one", "two"], "nothing was added, not even the valid task")
    }

    @Test func anAgentWithMaxTasksZeroIsAnUnreadableCommandLine() throws {
        let hub = try Self.prepared("dispatch-bad-runner")
        defer { hub.remove() }
        try hub.expectUnchanged("w") {
            for bad in ["0", "-3", "1000000", "many"] {
                let error = try hub.fail(
                    ["agent", "--id", "gamma", "--roles", "code", "--max-tasks", bad, "--workflow", "w"],
                    code: "INVALID_ARGUMENTS", exit: 2)
                #expect(error["message"]?.stringValue?.contains("--max-tasks") == true, "\(error)")
            }
        }
        #expect(try hub.pool()["gamma"] == nil, "a refused runner registers nothing")
    }

    /// The runner passes the payload in TASK_PAYLOAD; past the system's limit for one
    /// variable the command could not start ("NSCocoaErrorDomain error 256") and was
    /// retried to no purpose. It now fails once, saying why; and a task whose workspace
    /// has gone fails rather than running in the runner's directory.
    @Test func aPayloadTooLargeForTheEnvironmentOrAMissingWorkspaceFailsTheTaskSayingWhy() throws {
        let hub = try DispatchSandbox("dispatch-runner-env")
        defer { hub.remove() }
        let payload = String(repeating: "p", count: 200_000)
        try FileManager.default.createDirectory(atPath: hub.file("gone"), withIntermediateDirectories: true)
        // From a file: as an argument it is itself too long for the system to pass.
        try
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "big", "command": "true", "payload": {"s": "\#(payload)"}}]}]}"#
            .write(toFile: hub.file("big.json"), atomically: true, encoding: .utf8)
        try hub.succeed("w", "create", "@big.json")
        try hub.succeed(
            "v", "create",
            #"{"workspace": "\#(hub.file("gone"))", "phases": [{"name": "p", "tasks": [{"task_id": "t", "command": "touch MADE_BY_TASK", "max_retries": 0}]}]}"#
        )
        try FileManager.default.removeItem(atPath: hub.file("gone"))
        for id in ["w", "v"] {
            try hub.succeed(id, "start")
            let run = try hub.run(["agent", "--id", "runner-\(id)", "--workflow", id, "--idle-delay", "10ms"])
            #expect(run.status == 0, "\(run.stderr)")
        }
        let big = try hub.tasks("w")["big"]
        #expect(big?["status"] == "failed", "\(String(describing: big))")
        #expect(big?["attempts"] == 1, "retrying cannot help: \(String(describing: big))")
        #expect(big?["error"]?.stringValue?.contains("E2BIG") == true, "\(String(describing: big))")
        let gone = try hub.tasks("v")["t"]
        #expect(gone?["status"] == "failed", "\(String(describing: gone))")
        #expect(!FileManager.default.fileExists(atPath: hub.file("MADE_BY_TASK")))
    }

    /// With every slot taken the runner slept a whole --idle-delay, even when its tasks ended
    /// at once: twenty `true` tasks took 15 s with four slots and a 3 s delay. It claims again
    /// as soon as a slot frees (with an hour's delay this finishes, or fails at the time limit).
    @Test(.timeLimit(.minutes(2))) func aRunnerWithEverySlotTakenClaimsAgainWhenATaskEnds() throws {
        let hub = try DispatchSandbox("dispatch-runner-slots")
        defer { hub.remove() }
        let tasks = (1...5).map { #"{"task_id": "t\#($0)", "command": "true"}"# }.joined(separator: ", ")
        try hub.succeed("w", "create", #"{"phases": [{"name": "p", "tasks": [\#(tasks)]}]}"#)
        try hub.succeed("w", "start")
        let run = try hub.run([
            "agent", "--id", "one-slot", "--max-tasks", "1", "--workflow", "w", "--idle-delay", "1h",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try hub.tasks("w").values.allSatisfy { $0["status"] == "completed" })
    }
}
