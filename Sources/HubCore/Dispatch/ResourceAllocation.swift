/// Where a resource request stands.
public enum AllocationState: String, Sendable, CaseIterable {
    case queued, granted, released, expired, withdrawn
}

/// A request for resources and, once granted, the allocation (§8).
public struct ResourceAllocation: Sendable, Equatable {
    /// `req_…`: names the request from the start.
    public var requestID: String
    /// `alloc_…`: set when granted.
    public var allocationID: String?
    /// The workflow it belongs to (it ends with the workflow), if any.
    public var workflowID: String?
    /// The agent it belongs to (it ends when the agent fails), if any.
    public var agentID: String?
    /// Units per resource name; file resources are normalized (`file:/abs/path`).
    public var resources: [String: Int]
    public var priority: Priority
    public var mode: ResourceMode
    public var state: AllocationState
    public var createdAt: Int64
    /// When a queued request gives up.
    public var deadline: Int64
    public var grantedAt: Int64?
    public var endedAt: Int64?
    /// Arrival order, assigned by the store.
    public var sequence: Int64

    public init(
        requestID: String, workflowID: String?, agentID: String?, resources: [String: Int], priority: Priority,
        mode: ResourceMode, createdAt: Int64, deadline: Int64
    ) {
        self.requestID = requestID
        self.allocationID = nil
        self.workflowID = workflowID
        self.agentID = agentID
        self.resources = resources
        self.priority = priority
        self.mode = mode
        self.state = .queued
        self.createdAt = createdAt
        self.deadline = deadline
        self.grantedAt = nil
        self.endedAt = nil
        self.sequence = 0
    }

    public var request: ResourceRequest {
        ResourceRequest(id: requestID, resources: resources, priority: priority, mode: mode, sequence: sequence)
    }
}
