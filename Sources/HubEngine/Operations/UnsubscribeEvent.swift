import HubCore
import HubStore

/// `unsubscribe-event`: remove a subscription, its cursor and its dead letters (§10).
enum UnsubscribeEvent {
    struct Parameters: OperationParameters {
        var subscription: String
        static let schema = Schema.object([
            .init("subscription", .string("Its sub_… id or callback name.", maxLength: 128), required: true)
        ])
    }

    static let descriptor = OperationDescriptor(
        "unsubscribe-event", scope: .hub, mutating: false, parameters: Parameters.self,
        summary: "Remove a subscription with its cursor and dead letters.",
        example: "coordination-hub unsubscribe-event '{\"subscription\": \"ci-watcher\"}'",
        handler: run)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        let removed = try await context.store.write { tx -> Subscription in
            let s = try tx.requireSubscription(p.subscription)
            try tx.removeSubscription(s.id)
            return s
        }
        return OperationOutcome(
            result: ["subscription_id": .string(removed.id), "callback": .string(removed.callback), "removed": true])
    }
}
