import HubCore
import HubStore

/// `optimize-subscriptions`: advice from a subscription's real counters, and the safe part applied (§10).
enum OptimizeSubscriptions {
    struct Parameters: OperationParameters {
        var subscription: String?
        var subscriberId: String?
        var optimizationGoal: OptimizationGoal?
        var enableAdaptiveFiltering: Bool?
        var performanceMonitoring: Bool?
        var apply: Bool?

        static let schema = Schema.object([
            .init("subscription", .string("Its sub_… id or callback name.", maxLength: 128)),
            .init("subscriber_id", .string("The same, by the subscriber's (callback) name.", maxLength: 128)),
            .init(
                "optimization_goal",
                .oneOf(OptimizationGoal.allCases.map(\.rawValue), "Stored with the subscription when applied.")),
            .init(
                "enable_adaptive_filtering",
                .boolean(
                    "Apply the safe changes now and whenever subscribe-event gives the subscription new patterns.")),
            .init("performance_monitoring", .boolean("Include the subscription's counters in the result.")),
            .init(
                "apply",
                .boolean(
                    "Apply the safe changes: remove patterns that repeat another or that another pattern covers (*.failed beside #). Patterns that never matched are only reported: the events they wait for may still come."
                )),
        ])
    }

    static let descriptor = OperationDescriptor(
        "optimize-subscriptions", scope: .hub, mutating: false, parameters: Parameters.self,
        summary:
            "Advise on a subscription from its real counters: dead patterns, broad patterns, filters that cut noise.",
        discussion: """
            Counts come from the subscription's acknowledged events plus a sample of the newest 10,000 events. \
            Only changes that leave what the subscriber receives the same are applied: repeated patterns and \
            patterns another one covers (covered_patterns). Patterns that never matched (never_matched), broad \
            patterns and filter suggestions are advice only: acting on them changes what the subscriber receives.
            """,
        example: """
            coordination-hub optimize-subscriptions '{"subscriber_id": "ci-watcher", "optimization_goal": "efficiency", "performance_monitoring": true, "apply": true}'
            """,
        handler: run)

    /// Newest events sampled for the advice.
    static let sampleSize = 10_000

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        guard let name = p.subscription ?? p.subscriberId else {
            throw HubError.parameter("subscription", "(or subscriber_id) is required")
        }
        if let a = p.subscription, let b = p.subscriberId, a != b {
            throw HubError.parameter("subscriber_id", "names another subscription than 'subscription'")
        }
        let write = p.apply == true || p.enableAdaptiveFiltering != nil
        let body: @Sendable (any StoreReader) throws -> (Subscription, SubscriptionAdvice) = { tx in
            let s = try tx.requireSubscription(name)
            var sample = try tx.events(EventQuery(limit: sampleSize, descending: true))
            sample.reverse()
            return (s, SubscriptionAdvice.compute(s, sample: sample, goal: p.optimizationGoal))
        }
        let (before, advice) = try await context.store.read(body)
        var after = before
        var removed: [String] = []
        if write {
            (after, removed) = try await context.store.write { tx -> (Subscription, [String]) in
                let (current, advice) = try body(tx)
                let applying = p.apply == true || p.enableAdaptiveFiltering == true
                var (updated, removed) = applying ? advice.applySafe(to: current) : (current, [])
                if p.apply == true, let goal = p.optimizationGoal { updated.optimizationGoal = goal }
                if let adaptive = p.enableAdaptiveFiltering { updated.adaptiveFiltering = adaptive }
                try tx.update(updated)
                return (updated, removed)
            }
        }
        var result: JSONValue = [
            "subscription_id": .string(after.id), "advice": advice.json,
            "applied": .bool(p.apply == true || p.enableAdaptiveFiltering == true),
            "patterns_removed": .strings(removed), "patterns": .strings(after.patterns),
            "enable_adaptive_filtering": .bool(after.adaptiveFiltering),
        ]
        if p.performanceMonitoring == true { result["counters"] = after.counters.json }
        return OperationOutcome(result: result)
    }
}
