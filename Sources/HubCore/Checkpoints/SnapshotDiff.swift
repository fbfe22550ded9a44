/// The changes that turn a workflow's stored phases and tasks into a target's in place:
/// tasks removed, tasks and phases rewritten where they differ, everything else left
/// alone, so a restore writes what changed since its checkpoint rather than the whole
/// workflow (§11; DESIGN: cost follows the work). Pure.
public struct SnapshotDiff: Sendable, Equatable {
    /// Tasks stored now that the target does not have.
    public var removedTasks: [String] = []
    /// Target tasks that differ from their stored version.
    public var changedTasks: [WorkTask] = []
    /// Target phases that differ from their stored version.
    public var changedPhases: [Phase] = []

    /// The in-place changes from `current` to `target`, or `nil` when the target cannot be
    /// reached that way and must replace the stored state whole: a phase list that differs in
    /// its ids, a task the store does not have, tasks in another order, or changed dependencies
    /// (which the store indexes apart from the task row).
    public static func make(current: WorkflowSnapshot, target: WorkflowSnapshot) -> SnapshotDiff? {
        guard current.phases.map(\.phaseID) == target.phases.map(\.phaseID) else { return nil }
        var diff = SnapshotDiff()
        for (now, wanted) in zip(current.phases, target.phases) where now != wanted {
            diff.changedPhases.append(wanted)
        }
        // The target's tasks must appear among the stored ones in the same order (positions stay).
        var next = current.tasks.startIndex
        for wanted in target.tasks {
            while next < current.tasks.endIndex && current.tasks[next].taskID != wanted.taskID {
                diff.removedTasks.append(current.tasks[next].taskID)
                next += 1
            }
            guard next < current.tasks.endIndex else { return nil }
            let now = current.tasks[next]
            guard now.dependsOn == wanted.dependsOn else { return nil }
            if now != wanted { diff.changedTasks.append(wanted) }
            next += 1
        }
        diff.removedTasks += current.tasks[next...].map(\.taskID)
        return diff
    }

    /// Whether nothing needs writing.
    public var isEmpty: Bool { removedTasks.isEmpty && changedTasks.isEmpty && changedPhases.isEmpty }
}
