import HubCore
import Metrics

/// Delivery deduplication for an event stream (`GET /v1/events/stream`, §17): when
/// `configure-batching` turned `deduplication_enabled` on for an event's type, an event that
/// repeats one the stream sent inside the dedup window (same `dedup_id`, or same type,
/// workflow, phase and data) is not sent again, as webhook and batch deliveries drop it.
/// The log itself keeps every event; a stream's client reads them with `get-events`.
public struct StreamDeduplicator: Sendable {
    private let hub: Hub
    private var memory: DeliveryDedup
    private var rules = BatchingSettings()
    private var rulesReadAt: ContinuousClock.Instant?
    /// How long the batching rules read are used before they are read again.
    static let rulesLifetime: Duration = .seconds(1)

    public init(hub: Hub) {
        self.hub = hub
        memory = DeliveryDedup(window: hub.configuration.dedupWindow)
    }

    /// Whether to send `event` (as `get-events` returns it).
    public mutating func admits(_ event: JSONValue) async -> Bool {
        let type = event["event_type"]?.stringValue ?? ""
        if rulesReadAt.map({ ContinuousClock.now - $0 > Self.rulesLifetime }) ?? true {
            // A rule that cannot be read keeps the last one (every event goes out before the first read).
            do {
                let json = try await hub.store.read { tx in try tx.setting(EventSettingKey.batching) }
                rules = BatchingSettings(json: json ?? .emptyObject)
            } catch {}
            rulesReadAt = .now
        }
        guard rules.rule(for: type, workflowID: event["workflow_id"]?.stringValue).deduplication else { return true }
        let key = DeliveryDedup.key(
            eventType: type, workflowID: event["workflow_id"]?.stringValue,
            subject: event["subject"]?.stringValue ?? "",
            phase: Int(event["phase"]?.intValue ?? 0),
            data: event["data"] ?? .emptyObject, dedupID: event["dedup_id"]?.stringValue)
        // Its publication time, which the window is measured from (an event without one, which
        // the hub never sends, counts as published now).
        let published =
            event["timestamp"]?.stringValue.flatMap(Timestamp.parseMilliseconds) ?? hub.clock.nowMilliseconds()
        guard memory.isRepeat(key: key, publishedAt: published) else { return true }
        Counter(label: "hub_events_deduplicated_total").increment()
        return false
    }
}
