import HubCore
import Testing

/// A restore rewrites only what differs from the checkpoint (SnapshotDiff), and falls
/// back to replacing everything when in-place changes cannot express the target.
@Suite struct SnapshotDiffTests {
    func task(_ id: String, _ status: TaskStatus = .ready, dependsOn: [String] = []) -> WorkTask {
        var t = WorkTask(workflowID: "w", taskID: id, phaseID: 1, createdAt: 0)
        t.status = status
        t.dependsOn = dependsOn
        return t
    }

    func snapshot(_ tasks: [WorkTask], phases: [Phase]? = nil) -> WorkflowSnapshot {
        let w = Workflow(
            id: "w", name: "w",
            configuration: WorkflowConfiguration(timeout: .hours(1), checkpointInterval: .minutes(15)),
            workspace: "/tmp", createdAt: 0, totalPhases: 1, correlationID: "c")
        return WorkflowSnapshot(
            workflow: w, phases: phases ?? [Phase(workflowID: "w", phaseID: 1, name: "p", status: .running)],
            tasks: tasks)
    }

    @Test func theSameStateNeedsNoWrites() throws {
        let state = snapshot([task("a"), task("b", dependsOn: ["a"])])
        let diff = try #require(SnapshotDiff.make(current: state, target: state))
        #expect(diff.isEmpty)
    }

    @Test func onlyChangedTasksAndPhasesAreRewrittenAndLaterTasksRemoved() throws {
        let current = snapshot([
            task("a", .completed), task("x"), task("b", .running, dependsOn: ["a"]), task("c"), task("y"),
        ])
        var phase = Phase(workflowID: "w", phaseID: 1, name: "p", status: .running)
        phase.startedAt = 5
        let target = snapshot([task("a"), task("b", .pending, dependsOn: ["a"]), task("c")], phases: [phase])
        let diff = try #require(SnapshotDiff.make(current: current, target: target))
        #expect(diff.removedTasks == ["x", "y"])
        #expect(diff.changedTasks.map(\.taskID) == ["a", "b"])
        #expect(diff.changedTasks.map(\.status) == [.ready, .pending])
        #expect(diff.changedPhases == [phase])
    }

    @Test func whatInPlaceChangesCannotExpressReplacesTheWhole() {
        let current = snapshot([task("a"), task("b")])
        // A task the store does not have, another order, other dependencies, other phases.
        #expect(SnapshotDiff.make(current: current, target: snapshot([task("a"), task("b"), task("new")])) == nil)
        #expect(SnapshotDiff.make(current: current, target: snapshot([task("b"), task("a")])) == nil)
        #expect(SnapshotDiff.make(current: current, target: snapshot([task("a"), task("b", dependsOn: ["a"])])) == nil)
        let twoPhases = [
            Phase(workflowID: "w", phaseID: 1, name: "p"), Phase(workflowID: "w", phaseID: 2, name: "q"),
        ]
        #expect(
            SnapshotDiff.make(current: current, target: snapshot([task("a"), task("b")], phases: twoPhases)) == nil)
    }
}

/// A retried task brings back what its failure skipped, transitively, and nothing else.
@Suite struct SkippedDependentsTests {
    func task(_ id: String, _ status: TaskStatus, blockedBy: String? = nil) -> WorkTask {
        var t = WorkTask(workflowID: "w", taskID: id, phaseID: 1, createdAt: 0)
        t.status = status
        t.lastError = blockedBy.map { ["blocked_by": .string($0)] }
        return t
    }

    @Test func onlyTasksSkippedBecauseOfTheRetriedTaskComeBack() {
        let tasks = [
            task("build", .failed), task("test", .skipped, blockedBy: "build"),
            task("lint", .skipped, blockedBy: "test"), task("deploy", .skipped, blockedBy: "other"),
            task("manual", .skipped), task("other", .failed),
        ]
        let revived = SkippedDependents.revived(after: "build", in: tasks)
        #expect(revived.map(\.taskID) == ["test", "lint"])
        #expect(revived.allSatisfy { $0.status == .pending && $0.lastError == nil })
    }
}
