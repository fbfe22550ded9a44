import HubCore

/// `allocate-resources`: named resources, all or nothing, in priority then arrival order (§8).
enum AllocateResources {
    struct Parameters: OperationParameters {
        var resources: [String: Int]?
        var priority: Priority?
        var constraints: Constraints?
        var agentId: String?
        var requestId: String?

        struct Constraints: Decodable, Sendable {
            var maxWaitTime: HubDuration?
            var conflictTolerance: String?
        }

        static let schema = Schema.object([
            .init(
                "resources",
                .map(
                    .integer(min: 1, max: 1_000_000), "Units per resource: {\"database\": 1, \"file:src/a.swift\": 1}.")
            ),
            .init("priority", .oneOf(["high", "medium", "low"], "Defaults to medium.")),
            .init(
                "constraints",
                .object([
                    .init("max_wait_time", .duration("How long a queued request waits. Defaults to 10m.")),
                    .init(
                        "conflict_tolerance",
                        .oneOf(["low", "high"], "low: exclusive units; high: shares with other readers.")),
                ])),
            .init(
                "agent_id", .id("The agent the allocation belongs to: it is released when the agent fails or leaves.")),
            .init(
                "request_id",
                .string("Ask about an earlier queued request instead of making a new one.", maxLength: 128)),
        ])
    }

    static let descriptor = OperationDescriptor(
        "allocate-resources", scope: .hub, mutating: false, parameters: Parameters.self,
        summary: "Allocate named resources all or nothing; returns an allocation_id, or a queued request_id.",
        discussion: """
            Capacities come from the configuration's resources (undeclared resources have capacity 1); running tasks hold \
            their resources and files (file:<path>) implicitly. Requests are granted whole in priority then arrival order; \
            a request that cannot be granted holds back later requests for the same resources, so nothing is held \
            partially and two requests never deadlock. A server (serve) answers once the request is granted, or after \
            max_wait_time with RESOURCE_TIMEOUT. The command line answers at once with the queued request_id: it is \
            granted by the next dispatcher operation that finds room; ask about it again with request_id; after \
            max_wait_time it expires (RESOURCE_TIMEOUT). With a \
            workflow id the allocation belongs to the workflow and ends with it.
            """,
        example: """
            coordination-hub workflow_123 allocate-resources '{"resources": {"database": 1, "file:src/a.swift": 1}, "priority": "high", "constraints": {"max_wait_time": "10m", "conflict_tolerance": "low"}}'
            """,
        workflowID:
            "The allocation belongs to this workflow: file: resources are resolved in its workspace, and it is released when the workflow ends (a finished or archived workflow gets none).",
        handler: run)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        let workflowID = context.workflowID
        let workingDirectory = context.hub.workingDirectory
        // Polling names the request, whose terms are set.
        if p.requestId != nil,
            let refusal = HubError.refusing(
                [
                    "resources": p.resources != nil, "priority": p.priority != nil,
                    "constraints": p.constraints != nil, "agent_id": p.agentId != nil,
                ], beside: "request_id, which polls a request made before with its own terms",
                suggestion: "Poll with request_id alone, or make a new request without it")
        {
            throw refusal
        }
        var allocation = try await context.hub.dispatch { scope -> ResourceAllocation in
            if let id = p.requestId {
                try scope.processResourceQueue()
                guard let existing = try scope.tx.allocation(id) else {
                    throw HubError.parameter("request_id", "names no resource request")
                }
                // An expiry found now is committed (and announced) before the caller is told:
                // refused from in here, it was rolled back with the refusal.
                return existing
            }
            guard var resources = p.resources, !resources.isEmpty else {
                throw HubError.parameter(
                    "resources",
                    p.resources == nil
                        ? "is required: units per resource name, e.g. {\"database\": 1}"
                        : "is empty: name at least one resource with its units, e.g. {\"database\": 1}")
            }
            if let agentID = p.agentId { _ = try scope.agent(agentID) }
            var workspace = workingDirectory
            if let workflowID {
                // A workflow's allocations end with it (§8): a finished or archived one gets none.
                guard let workflow = try scope.tx.workflow(workflowID) else {
                    throw HubError.workflowNotFound(workflowID)
                }
                if workflow.archived || workflow.status.isFinished {
                    throw HubError.invalidTransition(
                        operation: "allocate-resources for", workflowID: workflowID, current: workflow.status,
                        archived: workflow.archived,
                        allowed: WorkflowLifecycle(status: workflow.status, archived: workflow.archived)
                            .allowedOperations)
                }
                workspace = workflow.workspace
            } else if let relative = resources.keys.sorted().first(where: {
                $0.hasPrefix("file:") && !$0.dropFirst(5).hasPrefix("/")
            }) {
                // Relative to what? A server's working directory is nobody's workspace.
                throw HubError.parameter(
                    "resources.\(relative)",
                    "is a relative path and the request names no workflow: give the workflow (its workspace is what the path is relative to) or an absolute path"
                )
            }
            resources = normalized(resources, workspace: workspace)
            let mode: ResourceMode = p.constraints?.conflictTolerance == "high" ? .shared : .exclusive
            for (name, units) in resources
            where mode == .exclusive && units > (scope.configuration.resources[name] ?? 1) {
                throw HubError.parameter(
                    "resources.\(name)",
                    "asks for \(units) units but the capacity is \(scope.configuration.resources[name] ?? 1); it could never be granted"
                )
            }
            let wait = p.constraints?.maxWaitTime ?? .minutes(10)
            let request = ResourceAllocation(
                requestID: scope.ids.make("req"), workflowID: workflowID, agentID: p.agentId, resources: resources,
                priority: p.priority ?? .medium, mode: mode, createdAt: scope.now,
                deadline: scope.now + wait.milliseconds)
            let stored = try scope.tx.insert(request)
            try scope.emitResourceEvent("resource_requested", stored)
            try scope.processResourceQueue()
            let outcome = try scope.tx.allocation(stored.requestID) ?? stored
            // Only a wait of 0s ends at once; then nothing was granted, and nothing is kept of the request.
            if outcome.state == .expired {
                throw HubError(
                    .resourceTimeout, "The resources are not free now and max_wait_time is \(wait)",
                    details: "Nothing is held and no request is kept.",
                    suggestions: ["Ask again with a longer max_wait_time to wait in the queue"])
            }
            return outcome
        }
        if let id = p.requestId, allocation.state == .expired {
            throw HubError(
                .resourceTimeout, "Resource request \(id) waited its max_wait_time and expired",
                details: "Nothing is held for it; ask again or ask for less.",
                context: ["request_id": .string(id)],
                suggestions: ["Send allocate-resources again", "Release allocations you no longer need"])
        }
        if context.hub.serving && p.requestId == nil && allocation.state == .queued {
            allocation = try await waitForGrant(allocation, hub: context.hub)
        }
        var steps: [String] = []
        switch allocation.state {
        case .granted:
            steps.append(
                "Release it when done: coordination-hub release-resources '{\"allocation_id\": \"\(allocation.allocationID ?? "")\"}'"
            )
        case .queued:
            steps.append(
                "Queued: ask again with request_id \(allocation.requestID) until it is granted, or withdraw it with release-resources"
            )
        default: break
        }
        return OperationOutcome(result: ResourceView.json(allocation), nextSteps: steps)
    }

    /// How often a waiting request looks again on its own: releases by other processes send
    /// no signal to this one.
    static let recheckInterval: Duration = .seconds(1)

    /// A server's queued request waits (§8): woken by the operations that free resources, it
    /// returns once granted, or fails with `RESOURCE_TIMEOUT` when its `max_wait_time` has
    /// passed, the request expired. A request whose caller went away (the task cancelled) is
    /// withdrawn, so nothing is granted to nobody.
    static func waitForGrant(_ queued: ResourceAllocation, hub: Hub) async throws -> ResourceAllocation {
        var allocation = queued
        while allocation.state == .queued {
            let seen = await hub.workSignal.current()
            let remaining = allocation.deadline - hub.clock.nowMilliseconds()
            let closed = await hub.workSignal.isClosed
            if remaining >= 0 && !Task.isCancelled && !closed {
                await hub.workSignal.wait(after: seen, timeout: min(.milliseconds(remaining + 1), recheckInterval))
            }
            let stopping = await hub.workSignal.isClosed
            allocation = try await recheck(allocation, cancelled: Task.isCancelled || stopping, hub: hub)
        }
        // Granted as its caller left: released again before the answer goes nowhere.
        if allocation.state == .granted && Task.isCancelled {
            allocation = try await recheck(allocation, cancelled: true, hub: hub)
        }
        switch allocation.state {
        case .expired:
            throw HubError(
                .resourceTimeout, "Resource request \(allocation.requestID) waited its max_wait_time and expired",
                details: "Nothing is held for it.",
                context: ["request_id": .string(allocation.requestID)],
                suggestions: ["Send allocate-resources again", "Release allocations you no longer need"])
        case .withdrawn, .released:
            throw HubError(
                .resourceTimeout, "Resource request \(allocation.requestID) was withdrawn while it waited",
                details:
                    "Its workflow ended, its agent failed, left or was redistributed, its client went away or the server is stopping; nothing is held for it.",
                context: ["request_id": .string(allocation.requestID)])
        default:
            return allocation
        }
    }

    /// The request as the queue leaves it now. When nobody will read the answer (`cancelled`),
    /// a request still queued is withdrawn, and one granted meanwhile (a release just before)
    /// is released again, or it would be held for ever.
    static func recheck(_ allocation: ResourceAllocation, cancelled: Bool, hub: Hub) async throws
        -> ResourceAllocation
    {
        try await hub.dispatch { scope -> ResourceAllocation in
            try scope.processResourceQueue()
            guard var current = try scope.tx.allocation(allocation.requestID) else { return allocation }
            if cancelled { current = try scope.end(current) }
            return current
        }
    }

    /// File resources are named by their normalized absolute path, so `file:./a` and `file:a` are one resource.
    static func normalized(_ resources: [String: Int], workspace: String) -> [String: Int] {
        var out: [String: Int] = [:]
        for (name, units) in resources {
            let key =
                name.hasPrefix("file:")
                ? "file:" + WorkTask.fileKey(String(name.dropFirst(5)), workspace: workspace) : name
            out[key, default: 0] += units
        }
        return out
    }
}

/// `release-resources`: free an allocation or withdraw a queued request (§8).
enum ReleaseResources {
    struct Parameters: OperationParameters {
        var allocationId: String?
        var requestId: String?
        static let schema = Schema.object([
            .init("allocation_id", .string("The allocation to free.", maxLength: 128)),
            .init(
                "request_id", .string("A queued request to withdraw (or the request of an allocation).", maxLength: 128)
            ),
        ])
    }

    static let descriptor = OperationDescriptor(
        "release-resources", scope: .hub, mutating: false, parameters: Parameters.self,
        summary: "Free an allocation (allocation_id) or withdraw a queued request (request_id).",
        example: "coordination-hub release-resources '{\"allocation_id\": \"alloc_01j…\"}'",
        handler: run)

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        guard let id = p.allocationId ?? p.requestId else {
            throw HubError.parameter("allocation_id", "or request_id is required")
        }
        let allocation = try await context.hub.dispatch { scope -> ResourceAllocation in
            guard let allocation = try scope.tx.allocation(id) else {
                throw HubError.parameter(
                    p.allocationId != nil ? "allocation_id" : "request_id", "names no allocation or request")
            }
            if let request = p.requestId, p.allocationId != nil, allocation.requestID != request {
                throw HubError.parameter(
                    "request_id", "is not the request of allocation \(id); give one of them, or both of the same")
            }
            return try scope.end(allocation)
        }
        return OperationOutcome(result: ResourceView.json(allocation))
    }
}
