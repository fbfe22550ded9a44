import HubCore
import HubStore

extension Hub {
    /// Takes the `interval` checkpoint of every running workflow whose `checkpoint_interval`
    /// has passed, and returns their ids. A long-lived process calls it on a timer, so
    /// workflows nobody touches are checkpointed too; each workflow is re-checked inside its
    /// own transaction, so processes sharing a store do not take the same checkpoint twice.
    @discardableResult
    public func takeDueIntervalCheckpoints() async throws -> [String] {
        let now = clock.nowMilliseconds()
        var due: [String] = []
        // Paged by place, not offset: a workflow started or finished between pages shifted the
        // offsets, and one was looked at twice or not at all.
        var after: WorkflowCursor?
        let page = 500
        while true {
            let from = after
            let (batch, last, count) = try await store.read { tx -> ([String], WorkflowCursor?, Int) in
                let (workflows, _) = try tx.workflows(WorkflowQuery(statuses: [.running], limit: page, after: from))
                return (
                    try workflows.filter { try Self.intervalCheckpointDue($0, tx: tx, now: now) }.map(\.id),
                    workflows.last.map(WorkflowCursor.init), workflows.count
                )
            }
            due += batch
            guard count == page, let last else { break }
            after = last
        }
        for id in due { try await takeIntervalCheckpoint(id, now: now) }
        return due
    }
}
