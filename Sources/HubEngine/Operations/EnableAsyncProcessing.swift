import HubCore
import HubStore

/// `enable-async-processing`: delivery concurrency and the order of a backlog (§10).
enum EnableAsyncProcessing {
    struct Parameters: OperationParameters {
        var processingPoolSize: Int?
        var priorityScheme: AsyncProcessing.PriorityScheme?
        var autoScaling: Bool?
        var optimizationMode: AsyncProcessing.Mode?
        var enabled: Bool?

        static let schema = Schema.object([
            .init("processing_pool_size", .integer("Deliveries at once. Defaults to 4.", min: 1, max: 64)),
            .init(
                "priority_scheme",
                .oneOf(
                    AsyncProcessing.PriorityScheme.allCases.map(\.rawValue),
                    "weighted or strict: with a backlog, deliveries holding critical and error events go first; fifo (default): in order."
                )),
            .init("auto_scaling", .boolean("Delivery workers grow with the backlog up to the pool size.")),
            .init(
                "optimization_mode",
                .oneOf(
                    AsyncProcessing.Mode.allCases.map(\.rawValue),
                    "balanced (default); throughput: batches fill for up to five batch timeouts; latency: each event goes at once."
                )),
            .init("enabled", .boolean("Defaults to true; false returns to one delivery at a time.")),
        ])
    }

    static let descriptor = OperationDescriptor(
        "enable-async-processing", scope: .hub, mutating: false, parameters: Parameters.self,
        summary: "Configure delivery: how many deliveries run at once and in what order a backlog goes.",
        example: """
            coordination-hub enable-async-processing '{"processing_pool_size": 8, "priority_scheme": "weighted", "auto_scaling": true, "optimization_mode": "balanced"}'
            """,
        handler: run)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        let settings = try await context.store.write { tx -> AsyncProcessing in
            var s = AsyncProcessing(json: try tx.setting(EventSettingKey.asyncProcessing) ?? .emptyObject)
            s.enabled = p.enabled ?? true
            if let n = p.processingPoolSize { s.poolSize = n }
            if let scheme = p.priorityScheme { s.priorityScheme = scheme }
            if let auto = p.autoScaling { s.autoScaling = auto }
            if let mode = p.optimizationMode { s.mode = mode }
            try tx.setSetting(EventSettingKey.asyncProcessing, s.json)
            return s
        }
        return OperationOutcome(result: ["async_processing": settings.json])
    }
}
