import HubCore

extension OperationRequest {
    /// `get-events` with `follow: true` prints events as they come, on the command line; a
    /// door that answers once (an HTTP POST, an MCP tool call) cannot, and answering with a
    /// snapshot would let a flag the caller set change nothing. `instead` says what to use there.
    public func unfollowable(instead: String) -> HubError? {
        guard operation == "get-events", parameters["follow"]?.boolValue == true else { return nil }
        return HubError.parameter("follow", "cannot be served here, which answers once; \(instead)")
    }
}
