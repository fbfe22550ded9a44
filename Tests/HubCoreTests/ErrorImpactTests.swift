import HubCore
import Testing

@Suite struct ErrorImpactTests {
    func task(_ id: String, phase: Int, status: TaskStatus = .pending) -> WorkTask {
        var t = WorkTask(workflowID: "w", taskID: id, phaseID: phase, createdAt: 0)
        t.status = status
        return t
    }

    /// Phases run in order: a later phase waits for an earlier one held up by the error, even
    /// when none of its tasks depends on the affected task.
    @Test func laterUnfinishedPhasesAreDelayedToo() {
        let phases = [
            Phase(workflowID: "w", phaseID: 1, name: "done", status: .completed),
            Phase(workflowID: "w", phaseID: 2, name: "now", status: .running),
            Phase(workflowID: "w", phaseID: 3, name: "next"),
            Phase(workflowID: "w", phaseID: 4, name: "skipped", status: .skipped),
            Phase(workflowID: "w", phaseID: 5, name: "last"),
        ]
        let tasks = [
            task("a", phase: 1, status: .completed), task("b", phase: 2, status: .running), task("c", phase: 3),
            task("d", phase: 5),
        ]
        let impact = ErrorImpact(affected: ["b"], tasks: tasks, phases: phases)
        #expect(impact.blockedTasks.isEmpty)
        #expect(impact.delayedPhases == [2, 3, 5])
    }

    /// An error that holds up no unfinished phase delays none.
    @Test func anErrorInFinishedPhasesDelaysNone() {
        let phases = [
            Phase(workflowID: "w", phaseID: 1, name: "done", status: .completed),
            Phase(workflowID: "w", phaseID: 2, name: "skipped", status: .skipped),
        ]
        let impact = ErrorImpact(
            affected: ["a"], tasks: [task("a", phase: 1, status: .completed)], phases: phases)
        #expect(impact.delayedPhases.isEmpty)
    }
}
