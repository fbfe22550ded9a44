import HubCore
import HubStore

/// `configure-persistence`: what the event log keeps and for how long (§10).
enum ConfigurePersistence {
    struct Parameters: OperationParameters {
        var persistencePolicy: PersistencePolicy.Policy?
        var retentionPeriod: String?
        var compressionEnabled: Bool?
        var replayCapabilities: PersistencePolicy.Replay?
        var enforceNow: Bool?
        var reset: Bool?

        static let schema = Schema.object([
            .init(
                "persistence_policy",
                .oneOf(
                    PersistencePolicy.Policy.allCases.map(\.rawValue),
                    "all (default), or selective_critical: lifecycle events and severity ≥ warning stay for the whole retention, other info events 24h."
                )),
            .init(
                "retention_period",
                .duration("How long events are kept. Defaults to the configuration's event_retention (7d).")),
            .init("compression_enabled", .boolean("Store the data of events older than 24h gzip-compressed.")),
            .init(
                "replay_capabilities",
                .oneOf(
                    PersistencePolicy.Replay.allCases.map(\.rawValue),
                    "full (default): every event is kept for the retention period; acknowledged_only: an event goes once every subscription matching it has acknowledged it."
                )),
            .init("enforce_now", .boolean("Apply the policy at once instead of at the next hourly run.")),
            .init(
                "reset",
                .boolean(
                    "With a workflow id: drop the workflow's own settings first, so it follows the hub-wide policy again (the fields given are then its only own ones)."
                )),
        ])
    }

    static let descriptor = OperationDescriptor(
        "configure-persistence", scope: .hub, mutating: false, parameters: Parameters.self,
        summary: "Configure event retention: period, selective policy, compression of older data, replay guarantees.",
        discussion: """
            Retention runs at most hourly: in the server's background job, and in the command line when it notices a \
            run is due. The newest event is always kept, so sequences keep rising. With a workflow id the fields \
            given are that workflow's own, used for its events; what it does not set follows the hub-wide policy; \
            reset drops what it set before. The result shows \
            each workflow's retention in force under persistence.workflows.
            """,
        example: """
            coordination-hub configure-persistence '{"persistence_policy": "selective_critical", "retention_period": "30d", "compression_enabled": true, "replay_capabilities": "full"}'
            """,
        workflowID:
            "The fields given become this workflow's own, used for its events; what they do not set follows the hub-wide policy.",
        handler: run)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        let retention = try p.retentionPeriod.map { text throws(HubError) -> HubDuration in
            guard let d = HubDuration(parsing: text), d >= .hours(1) else {
                throw HubError.parameter("retention_period", "must be a duration of at least 1h, such as 7d")
            }
            return d
        }
        let configured = context.hub.configuration.eventRetention
        let workflowID = context.workflowID
        if workflowID == nil && p.reset == true {
            throw HubError.parameter(
                "reset", "drops a workflow's own settings: give the workflow id (hub-wide fields are set, not reset)")
        }
        var policy = try await context.store.write { tx -> PersistencePolicy in
            var policy = PersistencePolicy(
                json: try tx.setting(EventSettingKey.persistence) ?? .emptyObject, defaultRetention: configured)
            if let workflowID {
                // The workflow's own retention holds just the fields given; the rest follows the hub's (§17).
                try EventSettingKey.refuseArchived(workflowID, operation: "configure-persistence", in: tx)
                var own = p.reset == true ? .emptyObject : policy.byWorkflow[workflowID] ?? .emptyObject
                if let value = p.persistencePolicy { own["persistence_policy"] = .string(value.rawValue) }
                if let retention { own["retention_period"] = .string(retention.description) }
                if let r = p.replayCapabilities { own["replay_capabilities"] = .string(r.rawValue) }
                if let c = p.compressionEnabled { own["compression_enabled"] = .bool(c) }
                policy.byWorkflow[workflowID] = own.objectValue?.isEmpty == true ? nil : own
            } else {
                if let value = p.persistencePolicy { policy.policy = value }
                if let retention { (policy.retention, policy.retentionIsSet) = (retention, true) }
                if let c = p.compressionEnabled { policy.compression = c }
                if let r = p.replayCapabilities { policy.replay = r }
            }
            try tx.setSetting(EventSettingKey.persistence, policy.storedJSON)
            return policy
        }
        if p.enforceNow == true, let after = try await context.hub.enforceRetention(force: true) { policy = after }
        return OperationOutcome(result: ["persistence": policy.json])
    }
}
