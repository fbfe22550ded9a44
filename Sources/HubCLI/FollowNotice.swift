import HubCore
import HubEngine

/// The line with which `get-events` with `follow` says on standard error that it is on (§2:
/// long-running commands report progress there): its starting point is fixed by then, so an
/// event published after the line appears is printed.
enum FollowNotice {
    /// Following the local store.
    static func local(_ request: OperationRequest) -> String {
        let p = request.parameters
        let from: String
        if let subscription = p["subscription"]?.stringValue {
            from = "the events of subscription \(subscription.prefix(128))"
        } else if let since = p["since"]?.stringValue {
            from = "the events since \(since.prefix(64))"
        } else {
            from = "the events after sequence \(p["after_sequence"]?.intValue ?? 0)"
        }
        return "get-events: following \(from) until interrupted\n"
    }

    /// Following a server: its event stream answered (`polling` false), or the polling of
    /// `get-events` began.
    static func remote(_ base: String, polling: Bool) -> String {
        polling
            ? "get-events: following \(base) by reading get-events again and again until interrupted\n"
            : "get-events: following the event stream of \(base) until interrupted\n"
    }
}
