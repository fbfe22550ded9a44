import HubCore

/// Every operation the hub offers, described once (DESIGN principle 1).
///
/// Adding an operation is one new file under `Operations/` plus one line here.
public struct OperationTable: Sendable {
    public let operations: [OperationDescriptor]
    private let index: [String: Int]

    public init(_ operations: [OperationDescriptor]) {
        self.operations = operations
        var index: [String: Int] = [:]
        for (n, op) in operations.enumerated() { index[op.name] = n }
        self.index = index
    }

    /// The operation with that name.
    public subscript(name: String) -> OperationDescriptor? { index[name].map { operations[$0] } }

    /// Every operation's name, in table order.
    public var names: [String] { operations.map(\.name) }

    /// The operation name nearest a typo, if one is close.
    public func closest(to name: String) -> String? { Schema.closest(to: name, in: names) }

    /// The table every door uses.
    public static let standard = OperationTable([
        CreateWorkflow.descriptor,
        StartWorkflow.descriptor,
        PauseWorkflow.descriptor,
        ResumeWorkflow.descriptor,
        CompleteWorkflow.descriptor,
        FailWorkflow.descriptor,
        CancelWorkflow.descriptor,
        CleanupWorkflow.descriptor,
        GetStatus.descriptor,
        SaveState.descriptor,
        LoadState.descriptor,
        AddTasks.descriptor,
        CompletePhase.descriptor,
        ListWorkflows.descriptor,
        GetEvents.descriptor,
        PublishEvent.descriptor,
        SubscribeEvent.descriptor,
        UnsubscribeEvent.descriptor,
        AckEvents.descriptor,
        ReplayEvents.descriptor,
        ConfigureBatching.descriptor,
        EnableAsyncProcessing.descriptor,
        ConfigurePersistence.descriptor,
        OptimizeSubscriptions.descriptor,
        GetMetrics.descriptor,
        IssueToken.descriptor,
        RegisterAgent.descriptor,
        DeregisterAgent.descriptor,
        Heartbeat.descriptor,
        ClaimTask.descriptor,
        CompleteTask.descriptor,
        FailTask.descriptor,
        MonitorPool.descriptor,
        AssignAgents.descriptor,
        RedistributeTasks.descriptor,
        AllocateResources.descriptor,
        ReleaseResources.descriptor,
        TakeCheckpoint.descriptor,
        ListCheckpoints.descriptor,
        Restore.descriptor,
        VerifyState.descriptor,
        ReportError.descriptor,
        AcceptHandoff.descriptor,
    ])
}
