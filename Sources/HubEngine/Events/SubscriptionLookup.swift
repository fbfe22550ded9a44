import HubCore
import HubStore

extension HubError {
    /// `SUBSCRIPTION_NOT_FOUND`, naming the subscription asked for.
    static func subscriptionNotFound(_ name: String) -> HubError {
        HubError(
            .subscriptionNotFound, "No subscription \"\(name.prefix(128))\"",
            details: "A subscription is named by its sub_… id or its callback name.",
            suggestions: [
                "Create one with subscribe-event '{\"patterns\": [\"#\"], \"callback\": \"\(name.prefix(64))\"}'"
            ])
    }
}

extension StoreReader {
    /// The named subscription, or `SUBSCRIPTION_NOT_FOUND`.
    func requireSubscription(_ name: String) throws -> Subscription {
        guard let subscription = try subscription(name) else { throw HubError.subscriptionNotFound(name) }
        return subscription
    }
}
