import HubCore
import HubEngine
import Hummingbird
import NIOCore
import Prometheus
import Synchronization

extension HubRouter {
    /// `GET /metrics` (§13): the Prometheus text of `registry` — request counts and
    /// latencies and the delivery figures, recorded through swift-metrics — plus the
    /// store's figures, read when scraped from `get-metrics`: levels as gauges, the
    /// cumulative figures (kept in the store, so they span processes and restarts) as
    /// counters named `…_total`.
    static func addMetrics(
        to router: Router<HubRequestContext>, hub: Hub, registry: PrometheusCollectorRegistry, auth: Authorization
    ) {
        let scrape = MetricsScrape(registry: registry)
        router.get("metrics") { request, _ -> Response in
            if let refusal = unknownQuery(request, allowed: [], instead: takesNone) {
                return failure(refusal, operation: "metrics", workflowID: nil, hub: hub)
            }
            // Any valid token may read the figures once tokens are on (§17).
            do throws(HubError) {
                _ = try await auth.caller(request.headers)
            } catch {
                return failure(error, operation: "metrics", workflowID: nil, hub: hub)
            }
            let response = await hub.perform(OperationRequest(workflowID: nil, operation: "get-metrics"))
            let text = scrape.emit(response.json["result"]?["event_system_performance"])
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: text)))
        }
    }
}

/// The store's figures set into the registry and the registry emitted, one scrape at a time:
/// a counter is set to the store's figure by a reset and an increment, which no other scrape
/// may see half done.
final class MetricsScrape: Sendable {
    let registry: PrometheusCollectorRegistry
    private let lock = Mutex(())

    init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    /// Records `figures` (get-metrics' `event_system_performance`, if it answered) and emits the registry.
    func emit(_ figures: JSONValue?) -> [UInt8] {
        lock.withLock { _ in
            if let figures { record(figures) }
            return registry.emitToBuffer()
        }
    }

    /// A field with no measurement is left out, never zeroed.
    func record(_ figures: JSONValue) {
        func number(_ value: JSONValue?) -> Double? { value?.doubleValue ?? value?.intValue.map(Double.init) }
        func gauge(_ name: String, _ help: String, _ value: JSONValue?, labels: [(String, String)] = []) {
            let gauge = registry.makeGauge(
                descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
            guard let number = number(value) else {
                // Unmeasured now: an earlier scrape's value would be a stale figure.
                registry.unregisterGauge(gauge)
                return
            }
            gauge.set(number)
        }
        /// A cumulative figure: `name` gets the `_total` suffix of a Prometheus counter.
        func counter(_ name: String, _ help: String, _ value: JSONValue?) {
            let counter = registry.makeCounter(
                descriptor: MetricNameDescriptor(metricName: name, unitName: "total", helpText: help))
            guard let count = value?.intValue, count >= 0 else {
                registry.unregisterCounter(counter)
                return
            }
            counter.reset()
            counter.increment(by: count)
        }
        let persistence = figures["persistence_performance"]
        gauge("hub_events_stored", "Events in the log.", persistence?["events_stored"])
        gauge("hub_event_data_bytes", "Bytes of the stored events' data.", persistence?["event_data_bytes"])
        let processing = figures["async_processing_performance"]
        gauge(
            "hub_event_queue_depth", "Events the subscriptions match after their cursors, summed over them.",
            processing?["event_queue_depth"])
        counter("hub_delivery_retries", "Delivery attempts retried.", processing?["retries"])
        counter("hub_dead_letters", "Events dead-lettered.", processing?["dead_letters"])
        let batching = figures["batching_performance"]
        counter(
            "hub_delivered_events", "Events delivered by the delivery service.", batching?["events_delivered"])
        counter("hub_delivered_batches", "Batches delivered.", batching?["batches_delivered"])
        gauge("hub_subscriptions", "Subscriptions.", figures["filtering_optimization"]?["subscriptions"])
        for (status, count) in figures["workflow_efficiency"]?["workflows_by_status"]?.objectValue ?? [:] {
            gauge("hub_workflows", "Workflows by status.", count, labels: [("status", status)])
        }
        let agents = figures["agent_performance"]
        gauge("hub_agents", "Registered agents.", agents?["agents"])
        // Levels, not counters: an agent deregistered takes its record with it, and a counter that
        // went down would read as a restart of the server to rate() and increase().
        gauge(
            "hub_agent_tasks_completed", "Tasks completed, as the registered agents' records count them.",
            agents?["tasks_completed"])
        gauge(
            "hub_agent_tasks_failed", "Task attempts failed, as the registered agents' records count them.",
            agents?["tasks_failed"])
        gauge(
            "hub_storage_bytes", "Bytes the store's database occupies.",
            figures["system_health"]?["storage_consumption_bytes"])
    }
}
