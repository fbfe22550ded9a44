import HubCore
import HubStore

extension DispatchScope {
    /// What is held now: running tasks hold their resources and files (as `file:<path>`)
    /// exclusively, granted allocations hold theirs in their mode.
    func resourceLedger() throws -> ResourceLedger { try resourceState().ledger }

    /// The ledger, and the requests still queued (a claim keeps clear of what they wait for),
    /// from one read of the live allocations.
    func resourceState() throws -> (ledger: ResourceLedger, queued: [ResourceAllocation]) {
        var ledger = ResourceLedger(capacity: configuration.resources)
        // Running tasks, and tasks whose ended lease's agent may still be running them.
        for holds in [try tx.runningHolds(), try tx.lingeringHolds(now: now)] {
            ledger.hold(holds.resources, mode: .exclusive)
            var files: [String: Int] = [:]
            for key in holds.files { files["file:" + key] = 1 }
            ledger.hold(files, mode: .exclusive)
        }
        var queued: [ResourceAllocation] = []
        for allocation in try tx.liveAllocations() {
            if allocation.state == .granted {
                ledger.hold(allocation.resources, mode: allocation.mode)
            } else {
                queued.append(allocation)
            }
        }
        return (ledger, queued)
    }

    /// Ends queued requests past their wait and grants what fits, in priority then arrival order.
    /// A request whose wait ends at this very moment (`max_wait_time` 0s) gets this one look first.
    mutating func processResourceQueue() throws {
        let live = try tx.liveAllocations()
        var queued: [ResourceAllocation] = []
        for request in live where request.state == .queued {
            if request.deadline < now { try expire(request) } else { queued.append(request) }
        }
        guard !queued.isEmpty else { return }
        var ledger = try resourceLedger()
        let granted = Set(ledger.grant(queued.map(\.request)))
        for var request in queued {
            guard granted.contains(request.requestID) else {
                if request.deadline <= now { try expire(request) }
                continue
            }
            request.state = .granted
            request.allocationID = ids.make("alloc")
            request.grantedAt = now
            try tx.update(request)
            try emitResourceEvent("resource_allocated", request)
        }
    }

    /// Ends a granted allocation (released) or a queued request (withdrawn), publishes
    /// `resource_released` and grants what that frees; anything else is returned as it is.
    mutating func end(_ allocation: ResourceAllocation) throws -> ResourceAllocation {
        guard allocation.state == .granted || allocation.state == .queued else { return allocation }
        var ended = allocation
        ended.state = allocation.state == .granted ? .released : .withdrawn
        ended.endedAt = now
        try tx.update(ended)
        try emitResourceEvent("resource_released", ended)
        try processResourceQueue()
        return ended
    }

    private mutating func expire(_ queued: ResourceAllocation) throws {
        var request = queued
        request.state = .expired
        request.endedAt = now
        try tx.update(request)
        try emitResourceEvent("resource_request_expired", request, severity: .warning)
    }

    /// Ends granted and queued requests of an agent (it failed or left).
    mutating func releaseAllocations(
        agentID: String, reason: String, where included: (ResourceAllocation) -> Bool = { _ in true }
    ) throws {
        for var allocation in try tx.liveAllocations() where allocation.agentID == agentID && included(allocation) {
            allocation.state = allocation.state == .granted ? .released : .withdrawn
            allocation.endedAt = now
            try tx.update(allocation)
            try emitResourceEvent("resource_released", allocation, extra: ["reason": .string(reason)])
        }
    }

    /// Publishes a resource event on its workflow's subject, or on `hub.resources` for requests of no
    /// workflow. Those carry the metadata a workflow's events do: the correlation id of the agent
    /// the request belongs to (of the request itself, `corr_<request id>`, for one of no agent), and
    /// the operation's first such event as their cause (a release causes the grants it makes room
    /// for), or what caused the operation.
    mutating func emitResourceEvent(
        _ type: String, _ allocation: ResourceAllocation, severity: Severity = .info, extra: JSONValue = .emptyObject
    ) throws {
        var data = ResourceView.json(allocation)
        for (k, v) in extra.objectValue ?? [:] { data[k] = v }
        if let workflowID = allocation.workflowID {
            try workflow(workflowID) { m in _ = try m.emit(type, severity: severity, data: data) }
        } else {
            let correlation = allocation.agentID.map(EventDraft.agentCorrelationID) ?? "corr_\(allocation.requestID)"
            let draft = EventDraft(
                eventType: type, workflowID: nil, phase: 0, severity: severity, data: data,
                subject: "hub.resources.\(type)",
                metadata: EventMetadata(correlationID: correlation, causationID: resourceChainStart ?? rootCause))
            let event = try tx.append(draft, eventID: ids.make("evt"), timestamp: now)
            resourceChainStart = resourceChainStart ?? event.eventID
        }
    }
}

extension Mutation {
    /// Releases the workflow's allocations and withdraws its queued requests (it finished).
    mutating func releaseAllocations(reason: String) throws -> Int {
        var count = 0
        for var allocation in try tx.liveAllocations() where allocation.workflowID == workflow.id {
            let wasGranted = allocation.state == .granted
            allocation.state = wasGranted ? .released : .withdrawn
            allocation.endedAt = now
            try tx.update(allocation)
            var data = ResourceView.json(allocation)
            data["reason"] = .string(reason)
            try emit("resource_released", data: data)
            if wasGranted { count += 1 }
        }
        return count
    }
}

/// How the API shows a resource request.
enum ResourceView {
    static func json(_ a: ResourceAllocation) -> JSONValue {
        var resources: JSONValue = .emptyObject
        for name in a.resources.keys.sorted() { resources[name] = .count(a.resources[name] ?? 1) }
        return [
            "request_id": .string(a.requestID), "allocation_id": .optional(a.allocationID),
            "state": .string(a.state.rawValue),
            "resources": resources, "priority": .string(a.priority.rawValue),
            "conflict_tolerance": .string(a.mode == .shared ? "high" : "low"), "workflow_id": .optional(a.workflowID),
            "agent_id": .optional(a.agentID), "deadline": .string(Timestamp.format(milliseconds: a.deadline)),
        ]
    }
}
