import HubCore
import HubStore

/// What an operation's handler works with: the hub, the workflow id it was
/// called with, and the `if_version` it must honour.
public struct OperationContext: Sendable {
    public let hub: Hub
    /// The workflow id given (required for workflow operations; narrows hub operations).
    public let workflowID: String?
    /// `if_version`, when the caller sent one.
    public var expectedVersion: Int64?
    /// The operation's name, for messages.
    public let operation: String

    var store: any Store { hub.store }
    var now: Int64 { hub.clock.nowMilliseconds() }

    /// The workflow id of a workflow-scoped operation (the table guarantees it is there).
    var requiredWorkflowID: String {
        get throws(HubError) {
            guard let workflowID else {
                throw HubError(
                    .invalidArguments, "\(operation) needs a workflow id: coordination-hub <workflow-id> \(operation)")
            }
            return workflowID
        }
    }
}
