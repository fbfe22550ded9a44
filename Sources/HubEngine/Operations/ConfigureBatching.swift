import HubCore
import HubStore

/// `configure-batching`: how delivery groups events, for all types or the listed ones (§10).
enum ConfigureBatching {
    /// A number or `"adaptive"`.
    enum SizeInput: Decodable, Sendable {
        case fixed(Int)
        case adaptive

        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let n = try? c.decode(Int.self) {
                self = .fixed(n)
            } else if try c.decode(String.self) == "adaptive" {
                self = .adaptive
            } else {
                throw HubError.parameter("batch_size", "must be a number from 1 to 1000 or \"adaptive\"")
            }
        }
    }

    struct Parameters: OperationParameters {
        var eventTypes: [String]?
        var batchSize: SizeInput?
        var batchTimeout: String?
        var compressionEnabled: Bool?
        var deduplicationEnabled: Bool?
        var enabled: Bool?
        var reset: Bool?

        static let schema = Schema.object([
            .init(
                "event_types",
                .array(.string(maxLength: 64), "Only these event types; all when absent.", minItems: 1, maxItems: 100)
            ),
            .init(
                "batch_size",
                .anyOf(
                    [.integer(min: 1, max: 1000), .oneOf(["adaptive"])],
                    "Events per batch, or adaptive: grows with the queue's depth between 5 and 100. Defaults to 10.")),
            .init("batch_timeout", .duration("A batch goes when it is full or this old. Defaults to 1s.")),
            .init("compression_enabled", .boolean("gzip the bodies of batched webhook deliveries.")),
            .init(
                "deduplication_enabled",
                .boolean(
                    "Drop repeats (same dedup_id, or same type, workflow, phase and data) published within the dedup window of one delivered, however late they are read."
                )),
            .init("enabled", .boolean("Whether these types are batched at all. Defaults to true.")),
            .init(
                "reset",
                .boolean(
                    "With a workflow id: drop the workflow's own settings first (for the event_types given, else all of them), so they follow the hub-wide settings again."
                )),
        ])
    }

    static let descriptor = OperationDescriptor(
        "configure-batching", scope: .hub, mutating: false, parameters: Parameters.self,
        summary: "Configure how delivery batches events: size (or adaptive), timeout, gzip, deduplication.",
        discussion: """
            Batching shapes delivery only: publishing is durable on return whatever the batching. With a workflow id \
            the settings are that workflow's own, used for its events: the fields given override the hub-wide \
            settings, which every other field follows, also when they change later; reset drops what it set before. The \
            result is then the settings in force for the workflow, and under own what it set.
            """,
        example: """
            coordination-hub configure-batching '{"event_types": ["task_completed", "task_ready"], "batch_size": "adaptive", "batch_timeout": "2s", "compression_enabled": true, "deduplication_enabled": true}'
            """,
        workflowID:
            "The settings given become this workflow's own, used for its events; what they do not set follows the hub-wide settings.",
        handler: run)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        if case .fixed(let n) = p.batchSize, !(1...1000).contains(n) {
            throw HubError.parameter("batch_size", "must be from 1 to 1000 (or \"adaptive\")")
        }
        let timeout = try p.batchTimeout.map { text throws(HubError) -> HubDuration in
            guard let d = HubDuration(parsing: text), d.milliseconds > 0 else {
                throw HubError.parameter("batch_timeout", "must be a positive duration such as 500ms or 2s")
            }
            return d
        }
        for (n, type) in (p.eventTypes ?? []).enumerated() where !PublishEvent.isEventType(type) {
            throw HubError.parameter("event_types[\(n)]", "is not a lower_snake_case event type")
        }
        let workflowID = context.workflowID
        if workflowID == nil && p.reset == true {
            throw HubError.parameter(
                "reset", "drops a workflow's own settings: give the workflow id (hub-wide fields are set, not reset)")
        }
        let settings = try await context.store.write { tx -> JSONValue in
            var settings = BatchingSettings(json: try tx.setting(EventSettingKey.batching) ?? .emptyObject)
            func change(_ rule: inout BatchingRule) {
                if let size = p.batchSize {
                    switch size {
                    case .fixed(let n): rule.size = .fixed(n)
                    case .adaptive: rule.size = .adaptive
                    }
                }
                if let timeout { rule.timeout = timeout }
                if let c = p.compressionEnabled { rule.compression = c }
                if let d = p.deduplicationEnabled { rule.deduplication = d }
                if let e = p.enabled { rule.enabled = e }
            }
            if let workflowID {
                // The workflow's own settings hold just the fields given; the rest follows the hub's (§17).
                try EventSettingKey.refuseArchived(workflowID, operation: "configure-batching", in: tx)
                var given = BatchingRule.standard
                change(&given)
                let rule = given.json
                var fields: JSONValue = .emptyObject
                if p.enabled != nil { fields["enabled"] = rule["enabled"] ?? .null }
                if p.batchSize != nil { fields["batch_size"] = rule["batch_size"] ?? .null }
                if timeout != nil { fields["batch_timeout"] = rule["batch_timeout"] ?? .null }
                if p.compressionEnabled != nil { fields["compression_enabled"] = rule["compression_enabled"] ?? .null }
                if p.deduplicationEnabled != nil {
                    fields["deduplication_enabled"] = rule["deduplication_enabled"] ?? .null
                }
                if p.reset == true { settings.removeOverrides(workflowID, eventTypes: p.eventTypes ?? []) }
                if !(fields.objectValue?.isEmpty ?? true) {
                    settings.override(workflowID, eventTypes: p.eventTypes ?? [], with: fields)
                }
                try tx.setSetting(EventSettingKey.batching, settings.json)
                var shown = settings.effective(for: workflowID).json
                shown["own"] = settings.byWorkflow[workflowID] ?? .emptyObject
                return shown
            }
            if let types = p.eventTypes, !types.isEmpty {
                for type in types {
                    var rule = settings.rule(for: type)
                    change(&rule)
                    settings.byType[type] = rule
                }
            } else {
                // All types (§10): the defaults, and the given fields of every type's own rule too.
                change(&settings.defaults)
                for type in settings.byType.keys { change(&settings.byType[type, default: settings.defaults]) }
            }
            try tx.setSetting(EventSettingKey.batching, settings.json)
            return settings.json
        }
        return OperationOutcome(result: ["batching": settings])
    }
}

extension EventSettingKey {
    /// A workflow's own event settings are a change to it: an archived workflow refuses them.
    static func refuseArchived(_ workflowID: String, operation: String, in tx: any StoreReader) throws {
        guard let workflow = try tx.workflow(workflowID), workflow.archived else { return }
        throw HubError.invalidTransition(
            operation: "\(operation) for", workflowID: workflowID, current: workflow.status, archived: true, allowed: []
        )
    }
}
