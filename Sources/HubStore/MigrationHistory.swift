/// The numbered, append-only migration history every store follows.
///
/// Each store implements each step in its own dialect under the same number and
/// name, so a database's version means the same thing whatever the store.
public enum MigrationHistory {
    /// `(number, name)` of every migration, in order. Append only.
    public static let steps: [(number: Int, name: String)] = [
        (1, "workflows_phases_tasks_events"),
        (2, "agents_leases_pools_dispatch_indexes"),
        (3, "reservations_index"),
        (4, "budgets_and_spend"),
        (5, "resource_allocations"),
        (6, "subscriptions_dead_letters_settings"),
        (7, "checkpoints"),
        (8, "agent_tokens"),
        (9, "checkpoint_file_sets"),
        (10, "events_by_workflow_only_workflow_events"),
        (11, "tasks_claimable_in_workflow"),
        (12, "tasks_holding"),
        (13, "task_indexes_without_status"),
        (14, "task_queued_by"),
        (15, "subscription_replay_narrowing"),
        (16, "lease_lingering_holds"),
        (17, "agent_runner_id"),
        (18, "workflow_finalized_at"),
        (19, "task_head_before"),
        (20, "task_verified_evidence"),
        (21, "agent_silent_at"),
    ]

    /// The identifier a store records for a step, e.g. `0001_workflows_phases_tasks_events`.
    public static func identifier(_ step: (number: Int, name: String)) -> String {
        let n = String(step.number)
        return String(repeating: "0", count: max(0, 4 - n.count)) + n + "_" + step.name
    }
}
