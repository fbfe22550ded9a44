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
        var offset = 0
        let page = 500
        while true {
            let start = offset
            let (batch, total) = try await store.read { tx -> ([String], Int) in
                let (workflows, total) = try tx.workflows(
                    WorkflowQuery(statuses: [.running], limit: page, offset: start))
                return (try workflows.filter { try Self.intervalCheckpointDue($0, tx: tx, now: now) }.map(\.id), total)
            }
            due += batch
            offset += page
            if offset >= total { break }
        }
        for id in due { try await takeIntervalCheckpoint(id, now: now) }
        return due
    }
}
