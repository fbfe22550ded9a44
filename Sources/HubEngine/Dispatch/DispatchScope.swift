import HubCore
import HubStore

/// One dispatcher transaction: the agents, leases and tasks it touches, with one
/// ``Mutation`` per workflow it changes (each bumps its version once, §9).
struct DispatchScope {
    let tx: any StoreWriter
    let now: Int64
    let ids: any IDGenerator
    let configuration: Configuration
    private(set) var mutations: [String: Mutation] = [:]
    private(set) var agentEvents: [HubEvent] = []

    /// The event that caused this whole change, if one did (``Mutation/causeOfChanges``).
    var rootCause: String?
    /// The first resource event of no workflow this change published: the cause of the rest.
    var resourceChainStart: String?
    /// Whether a server that has just started holds lease expiry back (``Hub/expiryHeldUntil``):
    /// a lease that lapsed while it was down is still its agent's, to renew or report on.
    var expiryHeld = false

    init(
        tx: any StoreWriter, now: Int64, ids: any IDGenerator, configuration: Configuration, rootCause: String? = nil
    ) {
        self.tx = tx
        self.now = now
        self.ids = ids
        self.configuration = configuration
        self.rootCause = rootCause
    }

    /// How long a lease lasts from its claim or last heartbeat: 3 heartbeat intervals (§17).
    var leaseDuration: Int64 { configuration.heartbeatInterval.milliseconds * 3 }

    /// Runs `body` on the workflow's mutation, loading the workflow the first time.
    @discardableResult
    mutating func workflow<T>(_ id: String, _ body: (inout Mutation) throws -> T) throws -> T {
        var mutation: Mutation
        if let existing = mutations[id] {
            mutation = existing
        } else {
            guard let workflow = try tx.workflow(id) else { throw HubError.workflowNotFound(id) }
            mutation = Mutation(
                tx: tx, workflow: workflow, now: now, ids: ids,
                checkpointRetention: configuration.checkpointRetention, rootCause: rootCause)
        }
        let value = try body(&mutation)
        mutations[id] = mutation
        return value
    }

    /// Appends an event about an agent; unless it names a cause, it is caused by what caused
    /// the operation (``Mutation/causeOfChanges``), as a workflow's events are.
    @discardableResult
    mutating func emitAgent(
        _ type: String, _ agentID: String, severity: Severity = .info, data: JSONValue = .emptyObject,
        causedBy cause: String? = nil
    ) throws -> HubEvent {
        let event = try tx.append(
            .agent(type, agentID, severity: severity, data: data, causedBy: cause ?? rootCause),
            eventID: ids.make("evt"), timestamp: now)
        agentEvents.append(event)
        return event
    }

    /// Loads an agent or throws `AGENT_NOT_FOUND`.
    func agent(_ id: String) throws -> Agent {
        guard let agent = try tx.agent(id) else {
            throw HubError(
                .agentNotFound, "Agent \(id.prefix(128)) is not registered",
                details: "Register it first; deregistered agents must register again.",
                suggestions: [
                    "Register it: coordination-hub register-agent '{\"agent_id\": \"\(id.prefix(128))\", \"specializations\": [\"code\"]}'"
                ])
        }
        return agent
    }

    /// Marks the end of the sweep: the operation's own events are not caused by what the
    /// sweep found due (an agent's expiry did not cause an unrelated redistribution).
    mutating func beginOperation() {
        for id in mutations.keys { mutations[id]?.beginChain() }
    }

    /// Commits every workflow mutation that emitted events.
    mutating func finish() throws {
        for id in mutations.keys.sorted() {
            guard var m = mutations[id], !m.events.isEmpty else { continue }
            try m.commit()
            mutations[id] = m
        }
    }

    /// Keeps an agent's load and busy/available status in step after its lease count changed by `delta`.
    mutating func adjustLoad(of agentID: String, by delta: Int) throws {
        guard var agent = try tx.agent(agentID) else { return }
        agent.currentLoad = max(0, agent.currentLoad + delta)
        if agent.status == .available || agent.status == .busy {
            agent.status = agent.currentLoad >= agent.maxConcurrentTasks ? .busy : .available
        }
        try tx.save(agent)
    }
}

extension Hub {
    /// Runs a dispatcher operation: one write transaction that first applies what the
    /// clock says is due (silent agents, lapsed leases, task timeouts), then `body`.
    func dispatch<T: Sendable>(_ body: @escaping @Sendable (inout DispatchScope) throws -> T) async throws -> T {
        let now = clock.nowMilliseconds()
        let ids = self.ids
        let configuration = self.configuration
        let rootCause = Mutation.causeOfChanges
        return try await store.write { [self] tx in
            var scope = DispatchScope(tx: tx, now: now, ids: ids, configuration: configuration, rootCause: rootCause)
            scope.expiryHeld = try expiryHeld(now: now, in: tx)
            try scope.sweep(holdingExpiry: scope.expiryHeld)
            scope.beginOperation()
            let value = try body(&scope)
            try scope.finish()
            return value
        }
    }
}
