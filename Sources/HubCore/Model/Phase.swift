/// One ordered stage of a workflow (§4).
public struct Phase: Sendable, Equatable {
    public var workflowID: String
    /// 1-based position in the workflow.
    public var phaseID: Int
    public var name: String
    public var status: PhaseStatus
    public var startedAt: Int64?
    public var completedAt: Int64?

    public init(workflowID: String, phaseID: Int, name: String, status: PhaseStatus = .pending) {
        self.workflowID = workflowID
        self.phaseID = phaseID
        self.name = name
        self.status = status
        self.startedAt = nil
        self.completedAt = nil
    }
}
