import HubCore

/// `complete-task`: record a task's success under its lease, exactly once (§7).
enum CompleteTask {
    struct Parameters: OperationParameters {
        var leaseId: String
        var taskId: String?
        var result: JSONValue?
        var evidence: JSONValue?
        var usage: UsageReport?
        static let schema = Schema.object([
            .init(
                "lease_id", .id("The lease claim-task returned; enough on its own."), required: true
            ),
            .init("task_id", .string("Checked against the lease when given.", maxLength: 128)),
            .init("result", .anyJSON("What the task produced, kept with the task.")),
            .init("usage", Spend.usageSchema),
            .init(
                "evidence",
                .object(
                    [
                        .init(
                            "files", .map(.string(maxLength: 64), "Optional {path: sha256} to check against the files.")
                        ),
                        .init(
                            "commit",
                            .string(
                                "The git commit id the work is in, {\"commit\": \"<sha>\"}; it must exist in the workspace repository. (The task's requirement says {\"commit\": true}.)",
                                maxLength: 64
                            ).hinting(
                                "complete-task supplies the commit id itself, {\"commit\": \"<sha>\"}; true belongs in the task's evidence requirement"
                            )),
                    ], "What the task's evidence requirement asks for.")),
        ])
    }

    static let descriptor = OperationDescriptor(
        "complete-task", scope: .hub, mutating: false, parameters: Parameters.self,
        summary: "Report a task done under its lease; dependents become ready and phases advance by themselves.",
        discussion: """
            A stale, foreign or already used lease gets LEASE_EXPIRED and changes nothing, so an outcome is recorded \
            exactly once even when a task ran twice. A workflow id (or workflow_id) is checked against the lease. \
            A task with an evidence requirement completes only when it is met: required files exist (their SHA-256 is \
            recorded), the commit exists in the workspace repository, the check command exits 0 \
            (EVIDENCE_MISSING or EVIDENCE_REJECTED otherwise; the task stays running; a commit git cannot check, in a \
            workspace that is not a repository or that git refuses, is rejected with git's reason). Evidence supplied beyond \
            the requirement, or for a task without one, is checked the same way and recorded: a file named must \
            exist inside the workspace with the SHA-256 given, a commit must exist; EVIDENCE_REJECTED otherwise.
            """,
        example:
            "coordination-hub complete-task '{\"lease_id\": \"lease_038hqm3a0a00117sp5797zky4n\", \"result\": {\"summary\": \"added the endpoint\"}}'",
        workflowID:
            "Checked against the lease: a lease of another workflow's task is LEASE_EXPIRED (lease_id alone is enough).",
        withoutVersion:
            "complete-task acts through the task's lease, which is its guard: a stale or foreign lease, or a second outcome, is LEASE_EXPIRED",
        handler: run)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        // The lease's workflow times out first, however the call names it.
        try await context.hub.enforceDeadline(ofLease: p.leaseId, named: context.workflowID)
        // Most tasks have no evidence requirement, and the transaction that records the outcome
        // finds that out itself. A task that has one is sent back: its evidence is checked
        // outside any transaction (it may run commands), then the outcome is recorded with it.
        if let outcome = try await record(context, p, evidence: .unchecked) { return outcome }
        let verified = try await verifyEvidence(context, p)
        guard let outcome = try await record(context, p, evidence: .checked(verified)) else {
            throw HubError.internal("complete-task: the evidence was checked but the outcome was not recorded")
        }
        return outcome
    }

    /// Where the task's evidence stands when its outcome is to be recorded.
    enum Evidence {
        /// Not looked at: a task with a requirement is not completed (``record`` returns nil).
        case unchecked
        /// Checked against the requirement; what was verified, nil when there was no requirement.
        case checked(JSONValue?)
    }

    /// Records the success, or returns nil (changing nothing of the task) when its evidence
    /// must be checked first.
    static func record(_ context: OperationContext, _ p: Parameters, evidence: Evidence) async throws
        -> OperationOutcome?
    {
        let workflowID = context.workflowID
        let recorded = try await context.hub.dispatch { scope -> (WorkTask, WorkflowStatus, JSONValue?)? in
            let (lease, found) = try scope.usableLease(p.leaseId, taskID: p.taskId, workflowID: workflowID)
            let verified: JSONValue?
            switch evidence {
            case .unchecked:
                guard EvidenceRequirement(json: found.evidence) == nil, !EvidenceVerifier.suppliesAny(p.evidence)
                else { return nil }
                verified = nil
            case .checked(let value): verified = value
            }
            var task = found
            let (outcome, degradation) = try scope.recordOutcome(
                lease: lease, task: task, succeeded: true, usage: p.usage?.spend ?? Spend())
            task.status = .completed
            task.result = p.result
            // Kept with the task as well as in the event, which retention may remove (§16).
            task.verifiedEvidence = verified
            task.completedAt = scope.now
            task.executionMilliseconds = outcome.milliseconds
            task.runDeadline = nil
            try scope.tx.update(task)
            let done = task
            let (status, completed) = try scope.workflow(task.workflowID) { m -> (WorkflowStatus, String) in
                let event = try m.emit(
                    "task_completed",
                    data: [
                        "task_id": .string(done.taskID), "agent_id": .string(lease.agentID),
                        "execution_time": .string(HubDuration(milliseconds: outcome.milliseconds).description),
                        "attempts": .count(done.attempts), "evidence": verified ?? .null,
                    ], phase: done.phaseID)
                try m.charge(p.usage?.spend ?? Spend(), by: lease.agentID, pausing: false)
                try m.settle(done)
                try m.pauseIfBudgetExhausted()
                return (m.workflow.status, event.eventID)
            }
            try scope.announce(degradation, causedBy: completed)
            return (done, status, verified)
        }
        guard let (task, status, verified) = recorded else { return nil }
        return OperationOutcome(
            result: [
                "workflow_id": .string(task.workflowID), "task_id": .string(task.taskID), "status": "completed",
                "execution_time": .optional(
                    task.executionMilliseconds.map { HubDuration(milliseconds: $0).description }),
                "workflow_status": .string(status.rawValue), "evidence": verified ?? .null,
            ],
            nextSteps: [Self.nextStep(workflowID: task.workflowID, status: status)])
    }

    /// What the agent does next, as the workflow now is: its tasks are handed out only while it runs.
    static func nextStep(workflowID: String, status: WorkflowStatus) -> String {
        switch status {
        case .running: "Claim the next task with claim-task"
        case .completed, .cancelled: "Workflow \(workflowID) is \(status.rawValue): it has no more tasks to hand out"
        case .paused, .failed, .created:
            "Workflow \(workflowID) is \(status.rawValue): claim-task hands out none of its tasks until it runs again"
        }
    }

    /// Checks the task's evidence outside any transaction (it may run commands); the
    /// lease is checked again when the outcome is written.
    static func verifyEvidence(_ context: OperationContext, _ p: Parameters) async throws -> JSONValue? {
        let workflowID = context.workflowID
        let now = context.now
        let (task, workspace) = try await context.store.read { tx -> (WorkTask, String) in
            let scope = ReadScope(tx: tx, now: now, expiryHeld: try context.hub.expiryHeld(now: now, in: tx))
            let (_, task) = try scope.usableLease(p.leaseId, taskID: p.taskId, workflowID: workflowID)
            return (task, try tx.workflow(task.workflowID)?.workspace ?? "/")
        }
        let requirement = EvidenceRequirement(json: task.evidence)
        guard requirement != nil || EvidenceVerifier.suppliesAny(p.evidence) else { return nil }
        let limit = context.hub.configuration.checkTimeout
        return try await EvidenceVerifier(workspace: workspace, taskID: task.taskID, checkLimit: limit).verify(
            requirement ?? EvidenceRequirement(), supplied: p.evidence)
    }
}
