import HubCore

/// `next_steps` derived from the state a workflow is in after an operation (§3).
enum NextSteps {
    /// When `w` is paused with its budget spent: what it takes to go on (a plain resume is
    /// refused), with the limits to raise.
    static func budgetSpent(_ w: Workflow) -> String? {
        guard w.status == .paused, let budget = w.budget else { return nil }
        let ran = w.activeTime(now: w.updatedAt)
        let spent = budget.exhausted(by: w.spend, time: ran)
        guard !spent.isEmpty else { return nil }
        let larger = budget.raised(spent, spend: w.spend, time: ran)
        return
            "Workflow \(w.id) is paused because its budget is spent (\(spent.joined(separator: ", "))): resume it with a larger one (the limits given replace those; the others stay): coordination-hub \(w.id) resume '{\"budget\": \(larger.serialized(.compact))}'"
    }

    static func after(_ snapshot: WorkflowSnapshot) -> [String] {
        let w = snapshot.workflow
        let id = w.id
        if w.archived {
            return ["Workflow \(id) is archived: read it with 'get-status' or export it with 'save-state'"]
        }
        switch w.status {
        case .created:
            var steps = ["Start the workflow: coordination-hub \(id) start"]
            if snapshot.tasks.isEmpty {
                steps.append("Add tasks to its phases: coordination-hub \(id) add-tasks '{\"tasks\": [...]}'")
            }
            return steps
        case .running:
            var steps: [String] = []
            let current = w.currentPhase
            let name = snapshot.phases.first { $0.phaseID == current }?.name ?? "\(current)"
            let phaseTasks = snapshot.tasks.filter { $0.phaseID == current }
            if phaseTasks.isEmpty {
                steps.append(
                    "Phase \(current) (\(name)) has no tasks: add some with 'add-tasks' or close it with 'complete-phase'"
                )
            } else {
                let ready = phaseTasks.filter { $0.status == .ready }.count
                let running = phaseTasks.filter { $0.status == .running || $0.status == .assigned }.count
                let open = phaseTasks.filter { !$0.status.isSettled }.count
                if ready > 0 { steps.append("\(ready) task(s) of phase \(current) (\(name)) are ready for agents") }
                if running > 0 { steps.append("\(running) task(s) of phase \(current) are running") }
                if open > 0 {
                    steps.append(
                        "Close phase \(current) early with 'complete-phase' and force: true (open tasks are skipped)")
                }
            }
            steps.append("Watch progress with 'coordination-hub \(id) get-status'")
            return steps
        case .paused:
            // Paused on a spent budget, a plain resume is refused: it needs a larger one.
            if let spent = budgetSpent(w) {
                return [spent, "Or stop it: 'complete' with force, 'fail' or 'cancel'"]
            }
            return [
                "Resume the workflow: coordination-hub \(id) resume",
                "Or stop it: 'complete' with force, 'fail' or 'cancel'",
            ]
        case .failed:
            let phase = w.currentPhase
            return [
                "Resume from the failed phase: coordination-hub \(id) resume '{\"resume_from_phase\": \(max(phase, 1))}'",
                "Or give up: 'cancel', then 'cleanup' to archive it",
            ]
        case .completed where w.finalizedAt != nil:
            // `complete` has run its finalization: what is left is archiving.
            return ["Archive it: coordination-hub \(id) cleanup"]
        case .completed:
            return [
                "Finalize it: coordination-hub \(id) complete '{\"generate_report\": true, \"archive_state\": true}'",
                "Archive it: coordination-hub \(id) cleanup",
            ]
        case .cancelled:
            return ["Archive it: coordination-hub \(id) cleanup"]
        }
    }
}
