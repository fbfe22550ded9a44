import Foundation
import HubCore
import HubEngine
import HubTesting
import Testing

@Suite struct AutomaticCheckpointTests {
    let t: TestHub
    init() throws { t = try TestHub.heartbeatEvery(.seconds(10)) }

    func checkpoints() async -> [JSONValue] {
        await t.run("w1", "list-checkpoints").result["checkpoints"]?.arrayValue ?? []
    }

    func names() async -> [String] { await checkpoints().compactMap { $0["name"]?.stringValue } }

    func claim(_ agent: String) async -> JSONValue? {
        await t.run(nil, "claim-task", "{\"agent_id\": \"\(agent)\"}").result["tasks"]?.arrayValue?.first
    }

    /// Workflow w1 running phase one (task a) of two (task b), and agent ag registered.
    func startTwoPhases() async {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "one", "tasks": [{"task_id": "a"}]}, {"name": "two", "tasks": [{"task_id": "b"}]}]}"#
        )
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
    }

    /// §17: the phase's checkpoint is taken after it completes and before the next one starts.
    /// The completion that closes a phase commits that state as a version of its own, the
    /// checkpoint's, and the next phase starts in the version after it.
    @Test func completingAPhaseTakesItsCheckpointBeforeTheNextPhaseStarts() async throws {
        await startTwoPhases()
        let lease = try #require(await claim("ag")?["lease_id"]?.stringValue)
        await t.run(nil, "complete-task", "{\"lease_id\": \"\(lease)\"}")
        let list = await checkpoints()
        #expect(list.map { $0["name"] } == ["phase_1_complete"])
        #expect(list.first?["trigger"] == "phase_completed")
        let version = try #require(await t.run("w1", "get-status").result["workflow_state"]?["state_version"]?.intValue)
        #expect(list.first?["state_version"] == .int(version - 1))
        let started = await t.run("w1", "get-events", #"{"event_types": ["phase_started"]}"#).result["events"]
        let secondStart = try #require(started?.arrayValue?.last?["sequence"]?.intValue)
        #expect(try #require(list.first?["event_sequence"]?.intValue) < secondStart)
        // Its snapshot has phase one completed and phase two not started.
        let restored = await t.run("w1", "restore", #"{"name": "phase_1_complete", "strategy": "partial_restore"}"#)
        #expect(restored.succeeded)
        let state = await t.run("w1", "get-status").result["workflow_state"]
        #expect(state?["phases"]?.arrayValue?.map { $0["status"] } == ["completed", "pending"])
        #expect(state?["phases"]?.arrayValue?.last?["tasks"]?.arrayValue?.first?["status"] == "pending")
        // Resuming starts the next phase.
        #expect(await t.run("w1", "resume").succeeded)
        let resumed = await t.run("w1", "get-status").result["workflow_state"]
        #expect(resumed?["current_phase"] == 2)
        #expect(resumed?["phases"]?.arrayValue?.last?["tasks"]?.arrayValue?.first?["status"] == "ready")
        #expect(await claim("ag")?["task_id"] == "b")
    }

    /// A workflow restored to a phase's checkpoint stands between that phase and the next:
    /// `complete-phase` closes the next one (it closed the completed phase again), `add-tasks`
    /// adds to the next one (refused), and the last phase's checkpoint resumes to completion
    /// (it stayed running at 100 % for ever). Restored, it is paused: the phase after the one
    /// closed starts at resume (§5).
    @Test func aWorkflowRestoredBetweenTwoPhasesMovesOn() async throws {
        await t.run("w1", "create", #"{"phases": ["a", "b", "c"]}"#)
        await t.run("w1", "start")
        #expect(await t.run("w1", "complete-phase").result["completed_phase"] == 1)
        #expect(await t.run("w1", "restore", #"{"name": "phase_1_complete"}"#).succeeded)
        let added = await t.run("w1", "add-tasks", #"{"tasks": [{"task_id": "late"}]}"#)
        #expect(added.succeeded, "\(added.json)")
        #expect(await t.run("w1", "complete-phase", #"{"force": true}"#).result["completed_phase"] == 2)
        var phases = await t.run("w1", "get-status").result["workflow_state"]?["phases"]?.arrayValue ?? []
        #expect(phases.map { $0["status"] } == ["completed", "completed", "pending"])
        #expect(phases[1]["tasks"]?.arrayValue?.first?["task_id"] == "late")
        let completions = await t.run("w1", "get-events", #"{"event_types": ["phase_completed"]}"#).result["events"]
        #expect(completions?.arrayValue?.compactMap { $0["data"]?["phase"]?.intValue } == [1, 2])
        #expect(await t.run("w1", "resume").succeeded)
        phases = await t.run("w1", "get-status").result["workflow_state"]?["phases"]?.arrayValue ?? []
        #expect(phases.map { $0["status"] } == ["completed", "completed", "running"])
        // The last phase: its checkpoint restored and resumed, the workflow completes.
        #expect(await t.run("w1", "complete-phase").result["completed_phase"] == 3)
        #expect(await t.run("w1", "get-status").result["workflow_state"]?["status"] == "completed")
        #expect(await t.run("w1", "restore", #"{"name": "phase_3_complete"}"#).succeeded)
        #expect(await t.run("w1", "resume").succeeded)
        #expect(await t.run("w1", "get-status").result["workflow_state"]?["status"] == "completed")
    }

    /// A partial restore of later phases leaves the current phase pending: resuming starts it
    /// (its tasks stayed pending, and nothing could ever be claimed).
    @Test func resumingAfterAPartialRestoreStartsThePendingCurrentPhase() async throws {
        await startTwoPhases()
        for _ in 0..<2 {
            let lease = try #require(await claim("ag")?["lease_id"]?.stringValue)
            await t.run(nil, "complete-task", "{\"lease_id\": \"\(lease)\"}")
        }
        let restored = await t.run(
            "w1", "restore", #"{"name": "phase_1_complete", "strategy": "partial_restore", "phases": [2]}"#)
        #expect(restored.succeeded, "\(restored.json)")
        #expect(await t.run("w1", "resume").succeeded)
        #expect(await claim("ag")?["task_id"] == "b")
    }

    @Test func aRunningWorkflowIsCheckpointedEveryIntervalWhenTouched() async throws {
        await t.run("w1", "create", #"{"phases": ["a"], "configuration": {"checkpoint_interval": "15m"}}"#)
        await t.run("w1", "start")
        t.clock.advance(by: .minutes(14))
        await t.run("w1", "get-status")
        #expect(await names().isEmpty)
        t.clock.advance(by: .minutes(2))
        await t.run("w1", "get-status")
        #expect(await names() == ["interval"])
        t.clock.advance(by: .minutes(10))
        await t.run("w1", "get-status")
        #expect(await names() == ["interval"])
        // Due again, but nothing changed: a copy of the same state pushed the manual and phase
        // checkpoints out of retention, twenty intervals later.
        t.clock.advance(by: .minutes(6))
        await t.run("w1", "get-status")
        #expect(await names() == ["interval"])
        await t.run("w1", "add-tasks", #"{"tasks": [{"task_id": "later", "phase": 1}]}"#)
        t.clock.advance(by: .minutes(16))
        await t.run("w1", "get-status")
        #expect(await names() == ["interval", "interval"])
        #expect(await checkpoints().first?["trigger"] == "interval")
    }

    @Test func aPausedWorkflowTakesNoIntervalCheckpoint() async throws {
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        await t.run("w1", "start")
        await t.run("w1", "pause")
        t.clock.advance(by: .hours(1))
        await t.run("w1", "get-status")
        #expect(await names().isEmpty)
    }

    @Test func aRiskyTaskIsCheckpointedWithItsFilesBeforeItStarts() async throws {
        try Data("original".utf8).write(to: URL(fileURLWithPath: t.directory.file("config.yml")))
        let created = await t.run(
            "w1", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "migrate", "risky": true, "files": ["config.yml"]}]}]}"#)
        #expect(created.succeeded, "\(created.json)")
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        let before = await t.run("w1", "get-status").result["workflow_state"]?["state_version"]
        #expect(await claim("ag")?["task_id"] == "migrate")
        let list = await checkpoints()
        #expect(list.map { $0["name"] } == ["before_migrate"])
        #expect(list.first?["trigger"] == "before_risky_operation")
        #expect(list.first?["state_version"] == before)
        #expect(list.first?["file_count"] == 1)
        try Data("broken".utf8).write(to: URL(fileURLWithPath: t.directory.file("config.yml")))
        let restored = await t.run("w1", "restore", #"{"name": "before_migrate", "strategy": "rollback"}"#)
        #expect(restored.succeeded, "\(restored.json)")
        #expect(FileManager.default.contents(atPath: t.directory.file("config.yml")) == Data("original".utf8))
        // Running when rolled back to before it started: back in the queue.
        #expect(restored.result["requeued_tasks"] == ["migrate"])
    }

    /// The hub names the checkpoint before_<task_id>, longer than an id when the task's id is
    /// one of the longest: restore by that name was refused, "longer than 128 characters".
    @Test func theCheckpointOfARiskyTaskWithTheLongestIDIsRestoredByItsName() async throws {
        let task = String(repeating: "t", count: Identifier.maximumLength)
        await t.run(
            "w1", "create",
            "{\"phases\": [{\"name\": \"p\", \"tasks\": [{\"task_id\": \"\(task)\", \"risky\": true}]}]}")
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        #expect(await claim("ag")?["task_id"] == .string(task))
        #expect(await names() == ["before_\(task)"])
        let restored = await t.run("w1", "restore", "{\"name\": \"before_\(task)\", \"strategy\": \"rollback\"}")
        #expect(restored.succeeded, "\(restored.json)")
        #expect(restored.result["requeued_tasks"] == .strings([task]))
    }

    /// A risky task declaring a directory had an empty "before" checkpoint (the directory was
    /// skipped, and nothing said so): its rollback restored nothing. The directory's files are captured.
    @Test func aRiskyTaskDeclaringADirectoryHasItsFilesCaptured() async throws {
        try t.writeFile("src/a.swift", "original")
        try t.writeFile("src/deep/b.swift", "original too")
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "r", "risky": true, "files": ["src"]}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        #expect(await claim("ag")?["task_id"] == "r")
        #expect(await checkpoints().first?["file_count"] == 2)
        try t.writeFile("src/a.swift", "broken")
        // State only: the files stay, and the answer says how to bring them back (it said nothing).
        let partial = await t.run("w1", "restore", #"{"name": "before_r", "strategy": "partial_restore"}"#)
        #expect(t.readFile("src/a.swift") == "broken")
        let steps = partial.json["next_steps"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(
            steps.first?.contains("2 file(s) of this checkpoint come back with coordination-hub w1 restore") == true,
            "\(steps)")
        let restored = await t.run("w1", "restore", #"{"name": "before_r", "strategy": "rollback"}"#)
        #expect(restored.succeeded, "\(restored.json)")
        #expect(t.readFile("src/a.swift") == "original")
    }

    @Test func aFailedAgentAndATimedOutTaskEachTakeACheckpoint() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "slow", "timeout": "20s", "max_retries": 5}, {"task_id": "other"}]}]}"#
        )
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "a1"}"#)
        #expect(await claim("a1")?["task_id"] == "slow")
        // Timed out: the sweep of the next dispatcher operation fails and retries it.
        t.clock.advance(by: .seconds(21))
        await t.run(nil, "heartbeat", #"{"agent_id": "a1"}"#)
        #expect(await names() == ["timeout_slow"])
        #expect(await checkpoints().first?["trigger"] == "task_timeout")
        // Silent for 3 heartbeat intervals: the agent fails.
        #expect(await claim("a1") != nil)
        await t.run(nil, "register-agent", #"{"agent_id": "a2"}"#)
        t.clock.advance(by: .seconds(31))
        await t.run(nil, "heartbeat", #"{"agent_id": "a2"}"#)
        #expect(await names().first == "agent_failure_a1")
        #expect(await checkpoints().first?["trigger"] == "agent_failure")
    }

    /// Agents failing together, or tasks timing out together, take one checkpoint of the state
    /// they leave: one sweep took one per agent (or task) of the same state, and retention (20)
    /// dropped every older checkpoint, the manual one too (found by session 25's probe).
    @Test func aSweepThatFailsManyAgentsTakesOneCheckpointAndKeepsTheOlderOnes() async throws {
        let tasks = (0..<25).map { "{\"task_id\": \"t\($0)\", \"timeout\": \"20s\"}" }.joined(separator: ", ")
        await t.run("w1", "create", "{\"phases\": [{\"name\": \"p\", \"tasks\": [\(tasks)]}]}")
        await t.run("w1", "start")
        #expect(await t.run("w1", "checkpoint", #"{"name": "precious"}"#).succeeded)
        await t.run(nil, "register-agent", #"{"agent_id": "many", "max_concurrent_tasks": 25}"#)
        #expect(await t.claim("many", max: 25).count == 25)
        t.clock.advance(by: .seconds(21))
        await t.run(nil, "heartbeat", #"{"agent_id": "many"}"#)
        let timedOut = await names()
        #expect(timedOut == ["timeout_t0", "precious"], "\(timedOut)")
        for n in 0..<20 { await t.run(nil, "register-agent", "{\"agent_id\": \"a\(n)\"}") }
        for n in 0..<20 { #expect(await claim("a\(n)") != nil) }
        await t.run(nil, "register-agent", #"{"agent_id": "watcher"}"#)
        t.clock.advance(by: .seconds(31))
        await t.run(nil, "heartbeat", #"{"agent_id": "watcher"}"#)
        let after = await names()
        #expect(after.filter { $0.hasPrefix("agent_failure_") }.count == 1, "\(after)")
        #expect(after.contains("precious"), "\(after)")
    }

    /// §7: the checkpoint is of each workflow running when its agent failed, also when the
    /// attempt the agent lost was the task's last and fails the workflow (the task timeout's
    /// checkpoint was taken then; the agent failure's was not).
    @Test func anAgentFailureThatFailsTheWorkflowStillTakesItsCheckpoint() async throws {
        await t.run(
            "w1", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "only", "max_retries": 0}, {"task_id": "b"}]}]}"#)
        await t.run("w1", "start")
        await t.run(nil, "register-agent", #"{"agent_id": "a1"}"#)
        #expect(await claim("a1")?["task_id"] == "only")
        await t.run(nil, "register-agent", #"{"agent_id": "a2"}"#)
        t.clock.advance(by: .seconds(31))
        await t.run(nil, "heartbeat", #"{"agent_id": "a2"}"#)
        #expect(await t.run("w1", "get-status").result["workflow_state"]?["status"] == "failed")
        #expect(await names() == ["agent_failure_a1"])
    }
}

@Suite struct IntervalCheckpointPassTests {
    @Test func aPassCheckpointsEveryRunningWorkflowThatIsDueAndNoOther() async throws {
        let t = try TestHub()
        defer { t.remove() }
        for id in ["due_a", "due_b", "paused", "fresh"] {
            await t.run(id, "create", #"{"phases": ["a"], "configuration": {"checkpoint_interval": "10m"}}"#)
        }
        await t.run("due_a", "start")
        await t.run("due_b", "start")
        await t.run("paused", "start")
        await t.run("paused", "pause")
        t.clock.advance(by: .minutes(11))
        await t.run("fresh", "start")
        let taken = try await t.hub.takeDueIntervalCheckpoints()
        #expect(Set(taken) == ["due_a", "due_b"])
        #expect(try await t.hub.takeDueIntervalCheckpoints().isEmpty)
        let names = await t.run("due_a", "list-checkpoints").result["checkpoints"]?.arrayValue?.map { $0["name"] }
        #expect(names == ["interval"])
    }
}
