import HubCore
import Testing

@Suite struct WorkflowLifecycleTests {
    /// §5's table: for every status, the lifecycle operations and where they lead (nil = refused).
    static let table: [WorkflowStatus: [LifecycleOperation: WorkflowLifecycle.Action?]] = [
        .created: [.start: .transition(to: .running), .cancel: .transition(to: .cancelled)],
        .running: [
            .pause: .transition(to: .paused), .complete: .transition(to: .completed), .fail: .transition(to: .failed),
            .cancel: .transition(to: .cancelled),
        ],
        .paused: [
            .resume: .transition(to: .running), .complete: .transition(to: .completed), .fail: .transition(to: .failed),
            .cancel: .transition(to: .cancelled),
        ],
        .failed: [.resume: .transition(to: .running), .cancel: .transition(to: .cancelled), .cleanup: .archive],
        .completed: [.complete: .finalize, .cleanup: .archive],
        .cancelled: [.cleanup: .archive],
    ]

    @Test(arguments: WorkflowStatus.allCases)
    func everyOperationFromEveryStatus(_ status: WorkflowStatus) {
        let allowed = Self.table[status] ?? [:]
        for operation in LifecycleOperation.allCases {
            var machine = WorkflowLifecycle(status: status)
            let action = machine.apply(operation)
            if let expected = allowed[operation], let expected {
                #expect(action == expected, "\(operation) from \(status)")
            } else {
                let allowedOps = LifecycleOperation.allCases.filter { allowed[$0] != nil }
                #expect(
                    action == .refuse(current: status, archived: false, allowed: allowedOps),
                    "\(operation) from \(status)")
                #expect(machine.status == status, "a refused \(operation) moved the machine")
            }
        }
    }

    /// Every transition is refused; `cleanup` again on a finished one only finalizes (writes the
    /// files asked for), so that a cleanup stopped before it wrote them can be finished.
    @Test(arguments: WorkflowStatus.allCases)
    func archivedWorkflowsRefuseEveryTransition(_ status: WorkflowStatus) {
        for operation in LifecycleOperation.allCases {
            var machine = WorkflowLifecycle(status: status, archived: true)
            let expected: WorkflowLifecycle.Action =
                operation == .cleanup && status.isFinished
                ? .finalize : .refuse(current: status, archived: true, allowed: [])
            #expect(machine.apply(operation) == expected, "\(operation)")
            #expect(machine == WorkflowLifecycle(status: status, archived: true))
        }
    }

    @Test func cleanupKeepsTheStatusAndArchives() {
        var machine = WorkflowLifecycle(status: .failed)
        #expect(machine.apply(.cleanup) == .archive)
        #expect(machine.status == .failed)
        #expect(machine.archived)
        #expect(!machine.acceptsWork)
    }

    @Test func completedAndCancelledAreTerminalForWork() {
        #expect(!WorkflowLifecycle(status: .completed).acceptsWork)
        #expect(!WorkflowLifecycle(status: .cancelled).acceptsWork)
        #expect(WorkflowLifecycle(status: .failed).acceptsWork)
    }

    @Test func finishingByItselfOnlyFromRunningOrPaused() {
        var running = WorkflowLifecycle(status: .running)
        #expect(running.completedByItself() == .transition(to: .completed))
        var created = WorkflowLifecycle(status: .created)
        #expect(created.failedByItself() == .refuse(current: .created, archived: false, allowed: [.start, .cancel]))
    }

    @Test func invalidTransitionErrorNamesStatusAndAllowedOperations() {
        let error = HubError.invalidTransition(
            operation: "pause", workflowID: "w1", current: .paused, archived: false, allowed: [.resume, .cancel])
        #expect(error.code == .invalidTransition)
        #expect(error.message.contains("paused"))
        #expect(error.message.contains("resume, cancel"))
        #expect(error.context?["allowed_operations"] == ["resume", "cancel"])
        #expect(error.context?["current_status"] == "paused")
    }
}
