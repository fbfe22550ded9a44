/// The lifecycle operations of §5's table.
public enum LifecycleOperation: String, Sendable, CaseIterable {
    case start, pause, resume, complete, fail, cancel, cleanup
}

/// The workflow lifecycle of §5 as a pure state machine.
///
/// Each event method answers with an ``Action``; the caller performs the I/O.
/// `docs/state_machine.md` draws it.
public struct WorkflowLifecycle: Sendable, Equatable {
    /// What the caller must do for an operation.
    public enum Action: Sendable, Equatable {
        /// Move the workflow to the status.
        case transition(to: WorkflowStatus)
        /// `complete` on a workflow that completed by itself, or `cleanup` on an archived one:
        /// run the finalization only (write the files asked for), changing nothing.
        case finalize
        /// `cleanup`: keep the status and set `archived`.
        case archive
        /// Not allowed from the current state; `allowed` lists what is.
        case refuse(current: WorkflowStatus, archived: Bool, allowed: [LifecycleOperation])
    }

    public private(set) var status: WorkflowStatus
    public private(set) var archived: Bool

    public init(status: WorkflowStatus, archived: Bool = false) {
        self.status = status
        self.archived = archived
    }

    /// The lifecycle operations allowed from the current state, in §5's order.
    public var allowedOperations: [LifecycleOperation] {
        // An archived workflow takes no transition (`cleanup` again only writes its files again).
        guard !archived else { return [] }
        return LifecycleOperation.allCases.filter { Self.target(of: $0, from: status) != nil }
    }

    /// Whether non-lifecycle mutations (`add-tasks`, task changes) may change the workflow.
    public var acceptsWork: Bool { !archived && !status.isTerminal }

    private enum Target {
        case status(WorkflowStatus)
        case finalize, archive
    }

    private static func target(of operation: LifecycleOperation, from status: WorkflowStatus) -> Target? {
        switch (operation, status) {
        case (.start, .created): return .status(.running)
        case (.pause, .running): return .status(.paused)
        case (.resume, .paused), (.resume, .failed): return .status(.running)
        case (.complete, .running), (.complete, .paused): return .status(.completed)
        case (.complete, .completed): return .finalize
        case (.fail, .running), (.fail, .paused): return .status(.failed)
        case (.cancel, .created), (.cancel, .running), (.cancel, .paused), (.cancel, .failed):
            return .status(.cancelled)
        case (.cleanup, .completed), (.cleanup, .failed), (.cleanup, .cancelled): return .archive
        default: return nil
        }
    }

    /// Applies an operation: on success the machine moves, otherwise it stays and refuses.
    public mutating func apply(_ operation: LifecycleOperation) -> Action {
        // `cleanup` again on an archived workflow writes its files again and changes nothing
        // (a cleanup stopped after its commit, before its files, could never be finished).
        if archived, operation == .cleanup, status.isFinished { return .finalize }
        guard !archived, let target = Self.target(of: operation, from: status) else {
            return .refuse(current: status, archived: archived, allowed: allowedOperations)
        }
        switch target {
        case .status(let next):
            status = next
            return .transition(to: next)
        case .finalize:
            return .finalize
        case .archive:
            archived = true
            return .archive
        }
    }

    /// The workflow finished by itself (its last phase completed).
    public mutating func completedByItself() -> Action {
        guard !archived, status == .running || status == .paused else {
            return .refuse(current: status, archived: archived, allowed: allowedOperations)
        }
        status = .completed
        return .transition(to: .completed)
    }

    /// The workflow failed by itself (tolerance exceeded or timed out).
    public mutating func failedByItself() -> Action {
        guard !archived, status == .running || status == .paused else {
            return .refuse(current: status, archived: archived, allowed: allowedOperations)
        }
        status = .failed
        return .transition(to: .failed)
    }
}

extension HubError {
    /// `INVALID_TRANSITION` naming the current status and the operations allowed from it.
    public static func invalidTransition(
        operation: String, workflowID: String, current: WorkflowStatus, archived: Bool,
        allowed: [LifecycleOperation]
    ) -> HubError {
        let state = archived ? "\(current.rawValue) and archived" : current.rawValue
        let allowedText = allowed.isEmpty ? "none" : allowed.map(\.rawValue).joined(separator: ", ")
        var suggestions: [String] = allowed.map { "Run '\($0.rawValue)' on workflow \(workflowID)" }
        if archived { suggestions.append("Archived workflows are read-only: read them with 'get-status'") }
        if suggestions.isEmpty { suggestions.append("Read the workflow with 'get-status'") }
        return HubError(
            .invalidTransition,
            "Cannot \(operation) workflow \(workflowID): it is \(state); allowed operations: \(allowedText)",
            details: "The operation is not allowed from the workflow's current status.",
            context: [
                "current_status": .string(current.rawValue), "archived": .bool(archived),
                "allowed_operations": .strings(allowed.map(\.rawValue)),
            ],
            suggestions: suggestions)
    }
}
