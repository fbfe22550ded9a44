import HubCore
import Testing

@Suite struct GlobPatternTests {
    func glob(_ text: String) throws -> GlobPattern { try #require(GlobPattern(text)) }

    @Test func starStaysInOneSegmentAndDoubleStarSpansAny() throws {
        #expect(try glob("src/*.swift").matches("src/a.swift"))
        #expect(!(try glob("src/*.swift").matches("src/x/a.swift")))
        #expect(try glob("src/**/*.swift").matches("src/a.swift"))
        #expect(try glob("src/**/*.swift").matches("src/x/y/a.swift"))
        #expect(try glob("**").matches("a/b/c"))
        #expect(try glob("?.txt").matches("a.txt"))
        #expect(try glob("[ab].txt").matches("b.txt"))
        #expect(!(try glob("[!ab].txt").matches("b.txt")))
        #expect(try glob("f[0-9]").matches("f7"))
    }

    /// A declared path is matched as written: `[id]` is two brackets, not a set of two letters.
    @Test func aLiteralPatternMatchesItsPathAndNothingElse() throws {
        for path in ["app/[id]/page.tsx", "a*b?.txt", #"back\slash"#, "plain/file.txt"] {
            let literal = try #require(GlobPattern.literal(path))
            #expect(literal.isLiteral, "\(path)")
            #expect(literal.literalPath == path)
            #expect(literal.matches(path), "\(path)")
        }
        let route = try #require(GlobPattern.literal("app/[id]/page.tsx"))
        #expect(!route.matches("app/i/page.tsx"))
        #expect(!route.matches("app/d/page.tsx"))
        #expect(!(try #require(GlobPattern.literal("a*b?.txt")).matches("axxbc.txt")))
        #expect(try glob(#"app/\[id\]/*.tsx"#).matches("app/[id]/page.tsx"), "escapes work in any glob")
        #expect(!(try glob(#"app/\[id\]/*.tsx"#).isLiteral))
    }

    @Test func hiddenFilesNeedALiteralDot() throws {
        #expect(!(try glob("*").matches(".env")))
        #expect(try glob(".*").matches(".env"))
    }

    @Test func patternsThatCouldLeaveTheWorkspaceAreRefused() {
        #expect(GlobPattern("../x") == nil)
        #expect(GlobPattern("a/../../x") == nil)
        #expect(GlobPattern("/etc/passwd") == nil)
        #expect(GlobPattern("") == nil)
        #expect(GlobPattern("./a.txt")?.literalPath == "a.txt")
    }

    @Test func pruningKnowsWhichDirectoriesCanHoldMatches() throws {
        #expect(try glob("src/*.swift").mayMatchBelow("src"))
        #expect(!(try glob("src/*.swift").mayMatchBelow("docs")))
        #expect(!(try glob("src/*.swift").mayMatchBelow("src/deep")))
        #expect(try glob("src/**").mayMatchBelow("src/a/b"))
    }

    /// Backtracking over each `**` takes exponential time in their number: hours for these.
    @Test(.timeLimit(.minutes(1))) func manyDoubleStarsMatchADeepPathInPolynomialTime() throws {
        let deep = Array(repeating: "d", count: 60).joined(separator: "/")
        let consecutive = try glob(Array(repeating: "**", count: 30).joined(separator: "/") + "/zz")
        #expect(!consecutive.matches(deep))
        #expect(consecutive.matches(deep + "/zz"))
        let interleaved = try glob(Array(repeating: "**/*", count: 15).joined(separator: "/") + "/zz")
        #expect(!interleaved.matches(deep))
        #expect(interleaved.matches(deep + "/zz"))
        #expect(!interleaved.matches(Array(repeating: "d", count: 14).joined(separator: "/") + "/zz"))
    }

    @Test func consecutiveDoubleStarsMatchAsOne() throws {
        #expect(try glob("a/**/**/b").matches("a/b"))
        #expect(try glob("a/**/**/b").matches("a/x/y/b"))
        #expect(!(try glob("a/**/**/b").matches("a/x/y/c")))
    }

    @Test func safeRelativePathsStayInside() {
        #expect(WorkspacePath.isSafeRelative("a/b.txt"))
        #expect(!WorkspacePath.isSafeRelative("../a"))
        #expect(!WorkspacePath.isSafeRelative("/a"))
        #expect(!WorkspacePath.isSafeRelative("a//b"))
        #expect(!WorkspacePath.isSafeRelative("a/./b"))
    }
}

@Suite struct CheckpointRetentionTests {
    @Test func theNewestAreKept() {
        let list = (1...5).map { (id: "c\($0)", valid: true) }
        #expect(CheckpointRetention.expired(list, keep: 3) == ["c4", "c5"])
        #expect(CheckpointRetention.expired(list, keep: 10) == [])
    }

    @Test func theNewestValidIsKeptEvenPastTheLimit() {
        let list = [("c1", false), ("c2", false), ("c3", true), ("c4", true)].map { (id: $0.0, valid: $0.1) }
        #expect(CheckpointRetention.expired(list, keep: 2) == ["c4"])
    }
}

@Suite struct CheckpointIntegrityTests {
    @Test func oneFlippedByteInvalidatesTheSnapshot() throws {
        let bytes = Array(#"{"format":"coordination-hub-checkpoint"}"#.utf8)
        var c = Checkpoint(
            checkpointID: "chkpt_1", workflowID: "w", name: "n", trigger: .manual, createdAt: 0, stateVersion: 1,
            eventSequence: 0, checksum: Checksum.sha256(bytes), document: bytes, fileCount: 0)
        #expect(c.isValid)
        c.document[5] ^= 0x01
        #expect(!c.isValid)
        #expect(throws: HubError.self) { try c.verifiedDocument() }
    }

    @Test func theErrorTableMatchesTheSpec() {
        #expect(
            ErrorClassification.of("task_failure") == .init(severity: .error, recoverable: true, recovery: .retryTask))
        #expect(ErrorClassification.of("timeout").severity == .warning)
        #expect(ErrorClassification.of("agent_unresponsive").recovery == .redistribute)
        #expect(ErrorClassification.of("state_corruption").severity == .critical)
        #expect(ErrorClassification.of("something_else") == .init(severity: .error, recoverable: false, recovery: nil))
    }
}

@Suite struct RestorePlanTests {
    func snapshot(_ statuses: [String: TaskStatus], version: Int64 = 1, phase: PhaseStatus = .running)
        -> WorkflowSnapshot
    {
        var w = Workflow(
            id: "w", name: "w",
            configuration: WorkflowConfiguration(timeout: .hours(1), checkpointInterval: .minutes(15)),
            workspace: "/tmp", createdAt: 0, totalPhases: 1, correlationID: "c")
        w.status = .running
        w.stateVersion = version
        var a = WorkTask(workflowID: "w", taskID: "a", phaseID: 1, createdAt: 0)
        a.status = statuses["a"] ?? .ready
        var b = WorkTask(workflowID: "w", taskID: "b", phaseID: 1, createdAt: 0)
        b.dependsOn = ["a"]
        b.status = statuses["b"] ?? .pending
        return WorkflowSnapshot(
            workflow: w, phases: [Phase(workflowID: "w", phaseID: 1, name: "p", status: phase)], tasks: [a, b])
    }

    @Test func aSnapshotFromOutsideIsHeldToTheRulesOfTheOperations() {
        #expect(snapshot([:]).problem() == nil)
        var forged = snapshot([:])
        forged.tasks[1].taskID = "../b"
        #expect(forged.problem()?.hasPrefix("tasks[1].task_id") == true)
        forged = snapshot([:])
        forged.workflow.startedAt = .min
        #expect(forged.problem()?.hasPrefix("workflow.started_at") == true)
        forged = snapshot([:])
        forged.tasks[0].dependsOn = ["b"]
        #expect(forged.problem()?.contains("dependency cycle") == true)
        forged = snapshot([:])
        forged.workflow.totalPhases = 2
        #expect(forged.problem()?.hasPrefix("workflow.total_phases") == true)
        forged = snapshot([:])
        forged.tasks[0].attempts = -1
        #expect(forged.problem() == "tasks[0].attempts is negative")
    }

    /// Phases run one after another: a plan that reopens phase 1 while phase 2 has begun names
    /// phase 2 (the restore refuses it); one that restores phase 2 too names nothing.
    @Test func reopeningAPhaseUnderAStartedLaterOneIsNamed() {
        func twoPhases(_ first: PhaseStatus, _ second: PhaseStatus) -> WorkflowSnapshot {
            var s = snapshot([:])
            s.workflow.totalPhases = 2
            s.phases = [
                Phase(workflowID: "w", phaseID: 1, name: "p1", status: first),
                Phase(workflowID: "w", phaseID: 2, name: "p2", status: second),
            ]
            s.tasks[1].phaseID = 2
            return s
        }
        let now = twoPhases(.completed, .running)
        let saved = twoPhases(.running, .pending)
        let alone = RestorePlan.make(current: now, checkpoint: saved, strategy: .partialRestore, phases: [1], now: 5)
        #expect(alone.startedAfterReopened == [2])
        let both = RestorePlan.make(current: now, checkpoint: saved, strategy: .partialRestore, phases: [1, 2], now: 5)
        #expect(both.startedAfterReopened.isEmpty)
        #expect(both.snapshot.phases.map(\.status) == [.running, .pending])
        let later = RestorePlan.make(current: now, checkpoint: saved, strategy: .partialRestore, phases: [2], now: 5)
        #expect(later.startedAfterReopened.isEmpty, "phase 1 stays completed; phase 2 is pending again")
        #expect(later.restoredAheadOfOpen.isEmpty)
        // The other way round: phase 2 brought back running while phase 1 is open ran both at
        // once, and the workflow completed with phase 2's task still running.
        let open = twoPhases(.running, .pending)
        let ahead = RestorePlan.make(current: open, checkpoint: now, strategy: .partialRestore, phases: [2], now: 5)
        #expect(ahead.restoredAheadOfOpen == [2])
        #expect(ahead.firstOpenPhase == 1)
        let whole = RestorePlan.make(current: open, checkpoint: now, strategy: .partialRestore, phases: [1, 2], now: 5)
        #expect(whole.restoredAheadOfOpen.isEmpty)
    }

    /// After a load-state into another directory, a restore put the checkpoint's workspace
    /// back: the next restore wrote (and a rollback removed) files in the directory the
    /// workflow had left. Every strategy keeps the workspace the workflow is in.
    @Test func aRestoreKeepsTheWorkspaceTheWorkflowIsIn() {
        var now = snapshot(["a": .completed])
        now.workflow.workspace = "/projects/moved"
        var saved = snapshot(["a": .running])
        saved.workflow.workspace = "/projects/original"
        for strategy in [RestoreStrategy.fullRestore, .rollback, .partialRestore] {
            let plan = RestorePlan.make(current: now, checkpoint: saved, strategy: strategy, phases: nil, now: 5)
            #expect(plan.snapshot.workflow.workspace == "/projects/moved", "\(strategy)")
        }
    }

    /// Time run stays, as money spent does: a restore brought back the checkpoint's shorter
    /// running time, escaping the wall_time budget and the timeout; a partial restore dropped the
    /// time since the workflow last started running.
    @Test func aRestoreKeepsTheTimeTheWorkflowHasRun() {
        var now = snapshot(["a": .running])
        now.workflow.status = .running
        now.workflow.activeMilliseconds = 3_000
        now.workflow.runningSince = 10_000
        var saved = snapshot(["a": .ready])
        saved.workflow.status = .running
        saved.workflow.activeMilliseconds = 0
        saved.workflow.runningSince = 9_000
        saved.workflow.updatedAt = 9_500
        for (strategy, phases) in [(RestoreStrategy.fullRestore, nil), (.rollback, nil), (.partialRestore, [1])] {
            let plan = RestorePlan.make(
                current: now, checkpoint: saved, strategy: strategy, phases: phases, now: 12_000)
            #expect(plan.snapshot.workflow.activeMilliseconds == 5_000, "\(strategy)")
            #expect(plan.snapshot.workflow.runningSince == nil && plan.snapshot.workflow.status == .paused)
        }
    }

    @Test func rollbackRequeuesWorkCompletedSinceWithAttemptsKept() {
        var now = snapshot(["a": .completed, "b": .completed], version: 9)
        now.tasks[0].attempts = 2
        let plan = RestorePlan.make(
            current: now, checkpoint: snapshot(["a": .running, "b": .pending]), strategy: .rollback, phases: nil, now: 5
        )
        #expect(plan.undoneTasks == ["a", "b"])
        #expect(plan.snapshot.tasks.map(\.status) == [.ready, .pending])
        #expect(plan.snapshot.tasks[0].attempts == 2)
        #expect(plan.snapshot.workflow.status == .paused)
        #expect(plan.snapshot.workflow.stateVersion == 9)
    }

    @Test func everyTaskPutBackInTheQueueIsRequeuedOnceAndUndoneOnesAreAmongThem() {
        let plan = RestorePlan.make(
            current: snapshot(["a": .completed, "b": .running]), checkpoint: snapshot(["a": .running, "b": .pending]),
            strategy: .rollback, phases: nil, now: 5)
        #expect(plan.requeuedTasks == ["a", "b"])
        #expect(plan.undoneTasks == ["a"])
        let waiting = RestorePlan.make(
            current: snapshot(["a": .ready]), checkpoint: snapshot(["a": .ready]), strategy: .rollback, phases: nil,
            now: 5)
        #expect(waiting.requeuedTasks.isEmpty, "already in the queue")
    }

    @Test func aFullRestoreTakesTheCheckpointsTasksAndRequeuesRunningOnes() {
        let plan = RestorePlan.make(
            current: snapshot(["a": .completed, "b": .completed]), checkpoint: snapshot(["a": .running]),
            strategy: .fullRestore, phases: nil, now: 5)
        // a was running at the checkpoint; b, completed now, is pending again as it was then.
        #expect(plan.requeuedTasks == ["a", "b"])
        #expect(plan.undoneTasks == [])
        #expect(plan.snapshot.tasks.map(\.status) == [.ready, .pending])
    }
}
