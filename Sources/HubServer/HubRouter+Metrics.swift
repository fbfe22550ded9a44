import HubCore
import HubEngine
import Hummingbird
import NIOCore
import Prometheus

extension HubRouter {
    /// `GET /metrics` (§13): the Prometheus text of `registry` — request counts and
    /// latencies and the delivery figures, recorded through swift-metrics — plus the
    /// store's figures, read when scraped from `get-metrics` into gauges.
    static func addMetrics(
        to router: Router<HubRequestContext>, hub: Hub, registry: PrometheusCollectorRegistry, auth: Authorization
    ) {
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
            if let figures = response.json["result"]?["event_system_performance"] {
                record(figures, into: registry)
            }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
    }

    /// The gauges taken from `get-metrics`; a field with no measurement is left out, never zeroed.
    static func record(_ figures: JSONValue, into registry: PrometheusCollectorRegistry) {
        func gauge(_ name: String, _ help: String, _ value: JSONValue?, labels: [(String, String)] = []) {
            let gauge = registry.makeGauge(
                descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
            guard let number = value?.doubleValue ?? value?.intValue.map(Double.init) else {
                // Unmeasured now: an earlier scrape's value would be a stale figure.
                registry.unregisterGauge(gauge)
                return
            }
            gauge.set(number)
        }
        let persistence = figures["persistence_performance"]
        gauge("hub_events_stored", "Events in the log.", persistence?["events_stored"])
        gauge("hub_event_data_bytes", "Bytes of the stored events' data.", persistence?["event_data_bytes"])
        let processing = figures["async_processing_performance"]
        gauge(
            "hub_event_queue_depth", "Events the subscriptions match after their cursors, in all.",
            processing?["event_queue_depth"])
        gauge("hub_delivery_retries", "Delivery attempts retried, in all.", processing?["retries"])
        gauge("hub_dead_letters", "Events dead-lettered, in all.", processing?["dead_letters"])
        let batching = figures["batching_performance"]
        gauge(
            "hub_delivered_events", "Events delivered by the delivery service, in all.", batching?["events_delivered"])
        gauge("hub_delivered_batches", "Batches delivered, in all.", batching?["batches_delivered"])
        gauge("hub_subscriptions", "Subscriptions.", figures["filtering_optimization"]?["subscriptions"])
        for (status, count) in figures["workflow_efficiency"]?["workflows_by_status"]?.objectValue ?? [:] {
            gauge("hub_workflows", "Workflows by status.", count, labels: [("status", status)])
        }
        let agents = figures["agent_performance"]
        gauge("hub_agents", "Registered agents.", agents?["agents"])
        gauge("hub_tasks_completed", "Tasks completed by agents, in all.", agents?["tasks_completed"])
        gauge("hub_tasks_failed", "Task attempts failed by agents, in all.", agents?["tasks_failed"])
        gauge(
            "hub_storage_bytes", "Bytes the store's database occupies.",
            figures["system_health"]?["storage_consumption_bytes"])
    }
}
