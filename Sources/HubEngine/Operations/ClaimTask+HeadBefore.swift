import HubCore

extension ClaimTask {
    /// Records, on each claimed task that asks for a commit and has none recorded yet, the
    /// workspace's git HEAD before its run (§16): the claim's answer has not reached the agent,
    /// so its command has not started. A retry's runner then knows which HEAD is not the task's
    /// work: it may offer the HEAD it finds only when it is another one (an earlier attempt
    /// committed, then could not report). Read outside the claim's transaction (it runs git);
    /// an unborn HEAD is recorded as "" (any commit is new).
    ///
    /// A HEAD git cannot tell, or a record that could not be written, leaves none: the claim
    /// stands (failing its answer now would strand the leases it made), and a retry must then
    /// make its own commit.
    static func recordHeads(_ claimed: [ClaimedTask], _ context: OperationContext) async -> [ClaimedTask] {
        var found: [Int: String] = [:]
        for (n, c) in claimed.enumerated()
        where c.task.headBefore == nil && EvidenceRequirement(json: c.task.evidence)?.commit == true {
            switch await GitHead.read(in: c.workspace) {
            case .commit(let id): found[n] = id
            case .unborn: found[n] = ""
            case .unknown: break
            }
        }
        let heads = found
        guard !heads.isEmpty else { return claimed }
        let recorded = try? await context.hub.store.write { tx -> Set<Int> in
            var recorded: Set<Int> = []
            for (n, head) in heads {
                let c = claimed[n]
                // Still the run this claim started, and still without a record.
                guard var task = try tx.task(workflowID: c.task.workflowID, taskID: c.task.taskID),
                    task.status == .running, task.attempts == c.task.attempts, task.headBefore == nil
                else { continue }
                task.headBefore = head
                try tx.update(task)
                recorded.insert(n)
            }
            return recorded
        }
        var answered = claimed
        for n in recorded ?? [] { answered[n].task.headBefore = heads[n] }
        return answered
    }
}
