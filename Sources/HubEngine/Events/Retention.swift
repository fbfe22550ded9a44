import HubCore
import HubStore

extension Hub {
    /// Events compressed per retention run at most, so one run stays short.
    static let compressionBatch = 10_000

    /// Applies the persistence policy (§10 `configure-persistence`): removes what the
    /// retention period and policy say goes, compresses older events' data when that
    /// is on, and records the run. Without `force` it runs only when due, after one
    /// read; the command line calls it after each operation, the server on a timer.
    /// Returns the policy as it stands after the run, or `nil` when it was not due.
    @discardableResult
    public func enforceRetention(force: Bool = false) async throws -> PersistencePolicy? {
        // An unfinished restore journal is told committed from uncommitted by its workflow's
        // state_restored event: retention waits until none is left (a server's timer can come
        // before any operation after a restart, and finishing can fail until a path is clear).
        guard await InterruptedRestores(hub: self).finish() else {
            logger.notice("event retention waits: a restore's files are not all in place yet")
            return nil
        }
        let now = clock.nowMilliseconds()
        let retention = configuration.eventRetention
        if !force {
            let policy = try await store.read { tx in
                PersistencePolicy(
                    json: try tx.setting(EventSettingKey.persistence) ?? .emptyObject, defaultRetention: retention)
            }
            guard policy.isDue(now: now) else { return nil }
        }
        return try await store.write { tx -> PersistencePolicy? in
            var policy = PersistencePolicy(
                json: try tx.setting(EventSettingKey.persistence) ?? .emptyObject, defaultRetention: retention)
            guard force || policy.isDue(now: now) else { return nil }
            // An event every subscription has acknowledged is no one's any more; with no
            // subscriptions, none is waited for.
            let subscriptions = try tx.subscriptions()
            let acknowledged = try subscriptions.map(\.cursor).min() ?? tx.lastEventSequence()
            // Past the lowest cursor, events every subscription matching them has acknowledged
            // (§10: interest-based); read only when some policy asks for it.
            let wantsAcknowledged =
                ([policy.retention(of: nil)] + policy.byWorkflow.keys.map { policy.retention(of: $0) })
                .contains { $0.replay == .acknowledgedOnly }
            let acknowledgedBeyond =
                wantsAcknowledged && !subscriptions.isEmpty
                ? try SubscriptionScan.acknowledgedByAll(tx, subscriptions, after: acknowledged) : []
            func rule(_ own: PersistencePolicy.WorkflowRetention) -> RetentionRule {
                var rule = RetentionRule(before: now - own.retention.milliseconds)
                if own.policy == .selectiveCritical {
                    rule.infoBefore = now - PersistencePolicy.progressRetention.milliseconds
                    rule.keptTypes = PersistencePolicy.lifecycleTypes
                }
                if own.replay == .acknowledgedOnly {
                    rule.acknowledgedThrough = acknowledged
                    rule.acknowledgedSequences = acknowledgedBeyond
                }
                return rule
            }
            // The hub-wide rule for every event but those of workflows with their own, then theirs.
            var hubWide = rule(policy.retention(of: nil))
            hubWide.exceptWorkflows = policy.byWorkflow.keys.sorted()
            var removed = try tx.deleteEvents(hubWide)
            for id in policy.byWorkflow.keys.sorted() {
                var scoped = rule(policy.retention(of: id))
                scoped.workflowID = id
                removed += try tx.deleteEvents(scoped)
            }
            policy.lastRemoved = removed
            if policy.compression || policy.byWorkflow.values.contains(where: { $0["compression_enabled"] == true }) {
                let pass = try tx.compressEventData(
                    afterSequence: policy.compressedThrough,
                    before: now - PersistencePolicy.compressAfter.milliseconds, limit: Self.compressionBatch,
                    compressing: { policy.retention(of: $0).compression })
                if let through = pass.throughSequence { policy.compressedThrough = through }
                policy.compressedEvents += pass.events
                policy.compressedBytesBefore += pass.bytesBefore
                policy.compressedBytesAfter += pass.bytesAfter
            }
            policy.lastEnforcedAt = now
            try tx.setSetting(EventSettingKey.persistence, policy.storedJSON)
            return policy
        }
    }
}
