import HubCore
import Testing

@Suite struct TaskGraphAndProgressionTests {
    func task(_ id: String, phase: Int = 1, dependsOn: [String] = [], status: TaskStatus = .pending) -> WorkTask {
        var t = WorkTask(workflowID: "w", taskID: id, phaseID: phase, createdAt: 0)
        t.dependsOn = dependsOn
        t.status = status
        return t
    }

    func workflow(tolerance: FailureTolerance = .low, phases: Int = 2) -> Workflow {
        var w = Workflow(
            id: "w", name: "w",
            configuration: WorkflowConfiguration(
                timeout: .hours(1), checkpointInterval: .minutes(15), failureTolerance: tolerance),
            workspace: "/", createdAt: 0, totalPhases: phases, correlationID: "c")
        w.status = .running
        return w
    }

    /// A task's files are held by their path in the workspace: inside it, relative or absolute.
    @Test func taskFilesMustLieInsideTheWorkspace() {
        func check(_ files: [String], workspace: String = "/work/project") -> Bool {
            var t = task("t")
            t.files = files
            return (try? TaskGraph.validateFiles([t], workspace: workspace)) != nil
        }
        #expect(check(["src/a.swift", "./docs/x.md", "src/../README.md", "/work/project/src/b.swift"]))
        #expect(!check(["../other/a.swift"]))
        #expect(!check(["src/../../other"]))
        #expect(!check(["/etc/passwd"]))
        #expect(!check(["/work/project-two/a"]))
        #expect(!check(["."]))
        #expect(check(["etc/hosts", "/etc/hosts"], workspace: "/"))
    }

    /// Required evidence files refused `./b`, `a/../b` and absolute paths inside the workspace,
    /// which task files accept: both follow one rule now.
    @Test func evidenceFilesFollowTheRuleOfTaskFiles() {
        let workspace = "/work/project"
        let paths = [
            "src/a.swift", "./docs/x.md", "src/../README.md", "/work/project/src/b.swift", "../project/c.txt",
            "../other/a.swift", "src/../../other", "/etc/passwd", "/work/project-two/a", ".", "", "/work/project",
        ]
        for path in paths {
            var files = task("t")
            files.files = [path]
            var evidence = task("t")
            evidence.evidence = ["files": .strings([path])]
            let asFile = (try? TaskGraph.validateFiles([files], workspace: workspace)) != nil
            let asEvidence = (try? TaskGraph.validateEvidence([evidence], workspace: workspace)) != nil
            #expect(asFile == asEvidence, "\(path): files \(asFile), evidence \(asEvidence)")
            #expect(asEvidence == (WorkspacePath.resolved(path, in: workspace) != nil), "\(path)")
        }
        #expect(WorkspacePath.resolved("./docs/../x.md", in: workspace) == "/work/project/x.md")
        #expect(WorkspacePath.resolved("../project/c.txt", in: workspace) == "/work/project/c.txt")
        #expect(WorkspacePath.resolved("../other/a.swift", in: workspace) == nil)
    }

    @Test func aCycleIsRefusedNamingItsTasks() {
        let tasks = [task("a", dependsOn: ["c"]), task("b", dependsOn: ["a"]), task("c", dependsOn: ["b"])]
        #expect(throws: HubError.self) { try TaskGraph.validate(existing: [], adding: tasks) }
        let cycle = TaskGraph.findCycle(tasks)
        #expect(cycle?.first == cycle?.last)
        #expect(Set(cycle ?? []) == ["a", "b", "c"])
    }

    @Test func aCycleThroughExistingTasksIsRefused() {
        let existing = [task("a", dependsOn: [])]
        var a = existing[0]
        a.dependsOn = ["b"]
        #expect(TaskGraph.findCycle([a, task("b", dependsOn: ["a"])]) != nil)
        #expect(throws: HubError.self) { try TaskGraph.validate(existing: existing, adding: [task("a")]) }
    }

    @Test func unknownDependenciesAndLaterPhasesAreRefused() {
        do {
            try TaskGraph.validate(existing: [], adding: [task("a", dependsOn: ["ghost"])])
            Issue.record("an unknown dependency was accepted")
        } catch {
            #expect(error.code == .invalidParameters)
            #expect(error.message.contains("a -> ghost"))
        }
        #expect(throws: HubError.self) {
            try TaskGraph.validate(existing: [], adding: [task("a", phase: 1, dependsOn: ["b"]), task("b", phase: 2)])
        }
    }

    @Test func aLongChainIsNotACycle() {
        let tasks = (0..<50_000).map { n in task("t\(n)", dependsOn: n == 0 ? [] : ["t\(n - 1)"]) }
        #expect(TaskGraph.findCycle(tasks) == nil)
    }

    @Test func startingAPhaseReadiesTasksWhoseDependenciesAreDone() {
        let phases = [Phase(workflowID: "w", phaseID: 1, name: "p1"), Phase(workflowID: "w", phaseID: 2, name: "p2")]
        var p = WorkflowProgression(
            workflow: workflow(), phases: phases, tasks: [task("a"), task("b", dependsOn: ["a"]), task("c", phase: 2)])
        let effects = p.startPhase(1, now: 10)
        #expect(effects == [.phaseStarted(phase: 1), .taskReady(taskID: "a")])
        #expect(p.tasks.map(\.status) == [.ready, .pending, .pending])
    }

    @Test func aPhaseCompletesWhenItsTasksAreSettledAndTheLastCompletesTheWorkflow() {
        let phases = [Phase(workflowID: "w", phaseID: 1, name: "p1", status: .running)]
        var w = workflow(phases: 1)
        w.currentPhase = 1
        var p = WorkflowProgression(workflow: w, phases: phases, tasks: [task("a", status: .completed)])
        #expect(p.advance(now: 5) == [.phaseCompleted(phase: 1), .workflowCompleted])
        #expect(p.workflow.status == .completed)
    }

    /// A workflow running its first of two phases, with these tasks.
    func inFirstOfTwoPhases(_ tasks: [WorkTask]) -> WorkflowProgression {
        let phases = [
            Phase(workflowID: "w", phaseID: 1, name: "p1", status: .running),
            Phase(workflowID: "w", phaseID: 2, name: "p2"),
        ]
        var w = workflow()
        w.currentPhase = 1
        return WorkflowProgression(workflow: w, phases: phases, tasks: tasks)
    }

    /// A phase started again (a resume of its failure) kept no trace of its first start: the
    /// report's timeline had it begin after tasks of it had finished. A phase never started
    /// starts now.
    @Test func aPhaseStartedAgainKeepsItsFirstStart() {
        var p = inFirstOfTwoPhases([task("a", status: .failed)])
        p.phases[0].startedAt = 5
        p.phases[0].status = .failed
        _ = p.startPhase(1, now: 50)
        #expect(p.phases[0].startedAt == 5)
        _ = p.startPhase(2, now: 60)
        #expect(p.phases[1].startedAt == 60)
    }

    /// Stopping at a phase's end leaves the next phase pending until the next call (the
    /// caller checkpoints in between, §17); without it one call does both.
    @Test func advancingStopsBetweenAPhaseThatCompletedAndTheNext() {
        let tasks = [task("a", status: .completed), task("b", phase: 2)]
        var p = inFirstOfTwoPhases(tasks)
        #expect(p.advance(now: 5, stopAtPhaseEnd: true) == [.phaseCompleted(phase: 1)])
        #expect(p.phases.map(\.status) == [.completed, .pending])
        #expect(p.workflow.currentPhase == 1)
        #expect(p.advance(now: 6, stopAtPhaseEnd: true) == [.phaseStarted(phase: 2), .taskReady(taskID: "b")])
        #expect(p.workflow.currentPhase == 2)
        var whole = inFirstOfTwoPhases(tasks)
        #expect(whole.advance(now: 5) == [.phaseCompleted(phase: 1), .phaseStarted(phase: 2), .taskReady(taskID: "b")])
    }

    @Test(
        arguments: [
            (FailureTolerance.low, 1, false), (.medium, 1, true), (.medium, 2, false), (.high, 10, true),
        ] as [(FailureTolerance, Int, Bool)])
    func failureToleranceDecidesBetweenPhaseCompletionAndWorkflowFailure(
        _ tolerance: FailureTolerance, _ failures: Int, _ completes: Bool
    ) {
        let phases = [Phase(workflowID: "w", phaseID: 1, name: "p1", status: .running)]
        var w = workflow(tolerance: tolerance, phases: 1)
        w.currentPhase = 1
        let tasks = (0..<10).map { n in task("t\(n)", status: n < failures ? .failed : .completed) }
        var p = WorkflowProgression(workflow: w, phases: phases, tasks: tasks)
        let effects = p.advance(now: 5)
        #expect(effects.contains(.workflowCompleted) == completes)
        #expect(p.workflow.status == (completes ? .completed : .failed))
    }

    /// A skip says what became of the dependency that blocked it: a dependent of a skipped task was
    /// told its dependency "failed". A skipped dependency is named with the task behind it.
    @Test func aSkippedTaskNamesWhatBecameOfItsBlocker() {
        let tasks = [
            task("a", status: .failed), task("b", dependsOn: ["a"]), task("c", dependsOn: ["b"]),
            task("d", dependsOn: ["c"]), task("x", status: .cancelled), task("y", dependsOn: ["x"]),
            task("z", dependsOn: ["y"]),
        ]
        var p = inFirstOfTwoPhases(tasks)
        let effects = p.advance(now: 5)
        #expect(effects.contains(.taskSkipped(taskID: "b", reason: "dependency a failed")))
        #expect(effects.contains(.taskSkipped(taskID: "c", reason: "dependency b was skipped (a failed)")))
        #expect(effects.contains(.taskSkipped(taskID: "d", reason: "dependency c was skipped (a failed)")))
        #expect(effects.contains(.taskSkipped(taskID: "y", reason: "dependency x was cancelled")))
        #expect(effects.contains(.taskSkipped(taskID: "z", reason: "dependency y was skipped (x was cancelled)")))
    }

    @Test func mediumToleranceAllowsTenPercentRoundedUp() {
        #expect(FailureTolerance.medium.allowedFailures(taskCount: 1) == 1)
        #expect(FailureTolerance.medium.allowedFailures(taskCount: 11) == 2)
        #expect(FailureTolerance.low.allowedFailures(taskCount: 100) == 0)
    }

    @Test func closingAPhaseWithOpenTasksNeedsForce() {
        var p = inFirstOfTwoPhases([task("a", status: .ready)])
        let refused = p.completeCurrentPhase(force: false, now: 1)
        #expect(refused.remaining == ["a"])
        #expect(p.tasks[0].status == .ready)
        let forced = p.completeCurrentPhase(force: true, now: 1)
        #expect(forced.effects.contains(.phaseCompleted(phase: 1)))
        #expect(forced.effects.contains(.phaseStarted(phase: 2)))
        #expect(p.tasks[0].status == .skipped)
    }

    @Test func progressCountsTasklessPhasesAsOneUnit() {
        let phases = [
            Phase(workflowID: "w", phaseID: 1, name: "p1", status: .completed),
            Phase(workflowID: "w", phaseID: 2, name: "p2"),
        ]
        let tasks = [task("a", phase: 2, status: .completed), task("b", phase: 2)]
        #expect(WorkflowProgression.progressPercentage(phases: phases, tasks: tasks) == 66.7)
    }

    /// A cancel skips every open phase; a task-less one counted as done, so a workflow cancelled
    /// before any work showed 100 %. A phase skipped by moving on still counts, as its skipped
    /// tasks do.
    @Test func aCancelledWorkflowsSkippedTasklessPhasesAreNotProgress() {
        let phases = [
            Phase(workflowID: "w", phaseID: 1, name: "p1", status: .completed),
            Phase(workflowID: "w", phaseID: 2, name: "p2", status: .skipped),
            Phase(workflowID: "w", phaseID: 3, name: "p3", status: .skipped),
        ]
        let tasks = [task("a", phase: 3, status: .cancelled)]
        #expect(WorkflowProgression.progressPercentage(phases: phases, tasks: tasks, cancelled: true) == 33.3)
        #expect(WorkflowProgression.progressPercentage(phases: phases, tasks: tasks, cancelled: false) == 66.7)
    }

    @Test func pausedTimeDoesNotCountTowardsTheTimeout() {
        var w = workflow()
        w.status = .created
        w.configuration.timeout = .seconds(10)
        w.enter(.running, now: 0)
        w.enter(.paused, now: 6_000)
        #expect(!w.hasTimedOut(now: 100_000))
        w.enter(.running, now: 100_000)
        #expect(w.deadline == 104_000)
        #expect(!w.hasTimedOut(now: 103_999))
        #expect(w.hasTimedOut(now: 104_000))
    }
}
