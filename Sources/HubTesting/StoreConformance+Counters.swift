import HubCore
import HubStore

extension StoreConformance {
    static let counterCases: [(name: String, run: @Sendable (any Store) async throws -> Void)] = [
        ("phase counters follow every insert, update and removal of a task", phaseCountersFollowTheTasks),
        ("attempt outcomes count one workflow's completed and failed leases", attemptOutcomesCountLeases),
    ]

    /// `get-metrics` with a workflow id takes its success rate from these counts: leases that
    /// ended completed, or failed or expired (a run that timed out or whose agent went silent, a
    /// failed attempt in the agent's record), not revoked ones, and only the workflow's own.
    static func attemptOutcomesCountLeases(_ store: any Store) async throws {
        try await insert(sample("conf_attempts"), into: store)
        try await insert(sample("conf_attempts_other"), into: store)
        let ends: [(String, String, LeaseState?)] = [
            ("conf_attempts", "a", .completed), ("conf_attempts", "a", .failed), ("conf_attempts", "b", .failed),
            ("conf_attempts", "b", .expired), ("conf_attempts", "b", .revoked), ("conf_attempts", "a", nil),
            ("conf_attempts_other", "a", .completed),
        ]
        try await store.write { tx in
            for (n, (workflow, task, state)) in ends.enumerated() {
                var lease = Lease(
                    leaseID: "lease_conf_att_\(n)", workflowID: workflow, taskID: task, agentID: "ag_\(n)",
                    claimedAt: Int64(n), expiresAt: 1_000_000)
                try tx.insert(lease)
                if let state {
                    lease.state = state
                    lease.endedAt = Int64(n) + 1
                    try tx.update(lease)
                }
            }
        }
        let counts = try await store.read { tx in try tx.attemptOutcomes(workflowID: "conf_attempts") }
        try expect(counts.completed == 1 && counts.failed == 3, "attempt outcomes were \(counts), expected 1 and 3")
        // The agents of the finished attempts, not of the revoked or open ones or another workflow's.
        try expect(counts.agents == ["ag_0", "ag_1", "ag_2", "ag_3"], "the attempts' agents were \(counts.agents)")
    }

    /// A phase's counters (how many tasks, how many still open, how many failed or
    /// cancelled) are kept by the store as tasks come, change and go, not counted on each
    /// read; after every step they must equal a count of the tasks themselves.
    static func phaseCountersFollowTheTasks(_ store: any Store) async throws {
        var s = sample("conf_counts")
        var c = WorkTask(workflowID: "conf_counts", taskID: "c", phaseID: 1, createdAt: 1_000)
        c.status = .ready
        var d = WorkTask(workflowID: "conf_counts", taskID: "d", phaseID: 2, createdAt: 1_000)
        d.status = .failed
        s.tasks += [c, d]
        try await insert(s, into: store)
        try await expectCountsMatchTasks(store, step: "after the insert")

        // (task id, phase, status) for each update, one per step.
        let steps: [(String, Int, TaskStatus)] = [
            ("a", 1, .ready),  // open to open: no counter moves
            ("a", 1, .running),
            ("a", 1, .completed),  // open to settled
            ("c", 1, .failed),  // open to failed
            ("d", 2, .ready),  // failed back to open (a retry)
            ("b", 1, .pending),  // to another phase, still open
            ("d", 1, .cancelled),  // to another phase, and failed
            ("a", 2, .skipped),  // to another phase, settled to settled
            ("c", 1, .cancelled),  // failed to cancelled: both count as failed
        ]
        // Then every change of status to every other, within a phase (c) and to the other phase (b).
        let pairs = TaskStatus.allCases.flatMap { from in TaskStatus.allCases.map { (from, $0) } }
        let every: [(String, Int, TaskStatus)] =
            pairs.flatMap { [("c", 1, $0.0), ("c", 1, $0.1)] } + pairs.flatMap { [("b", 1, $0.0), ("b", 2, $0.1)] }
        for (n, (id, phase, status)) in (steps + every).enumerated() {
            try await store.write { tx in
                guard var task = try tx.tasks(of: "conf_counts").first(where: { $0.taskID == id }) else { return }
                task.phaseID = phase
                task.status = status
                try tx.update(task)
            }
            try await expectCountsMatchTasks(store, step: "after step \(n) (\(id) to phase \(phase), \(status))")
        }
        try await store.write { tx in try tx.removeTasks(["d", "a"], of: "conf_counts") }
        try await expectCountsMatchTasks(store, step: "after removing d and a")
        // A write that fails leaves the counters in step with the tasks (both rolled back).
        _ = try? await store.write { tx -> Void in
            guard var task = try tx.tasks(of: "conf_counts").first(where: { $0.taskID == "b" }) else { return }
            task.status = .failed
            try tx.update(task)
            throw ConformanceFailure(description: "rolled back on purpose")
        }
        try await expectCountsMatchTasks(store, step: "after a write that failed")
    }

    private static func expectCountsMatchTasks(_ store: any Store, step: String) async throws {
        let (kept, counted) = try await store.read { tx -> ([PhaseCounts], [PhaseCounts]) in
            let tasks = try tx.tasks(of: "conf_counts")
            let kept = try [1, 2].map { try tx.phaseCounts(workflowID: "conf_counts", phaseID: $0) }
            let counted = [1, 2].map { phase in
                let inPhase = tasks.filter { $0.phaseID == phase }
                return PhaseCounts(
                    total: inPhase.count, open: inPhase.count { !$0.status.isSettled },
                    failed: inPhase.count { $0.status == .failed || $0.status == .cancelled })
            }
            return (kept, counted)
        }
        try expect(kept == counted, "\(step): the store's phase counters \(kept) differ from the tasks' \(counted)")
    }
}
