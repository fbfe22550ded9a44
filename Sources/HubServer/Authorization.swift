import HTTPTypes
import HubCore
import HubEngine
import HubStore

/// Bearer tokens (§13). With no admin token the server is open (and bound to
/// loopback); with one, every API request needs a token: the admin token may do
/// everything, an agent token (from `issue-token`) only acts as its agent.
public struct Authorization: Sendable {
    /// Who is calling.
    public enum Caller: Sendable, Equatable {
        case admin
        case agent(String)
    }

    public let adminToken: String?
    let hub: Hub

    public init(adminToken: String?, hub: Hub) {
        self.adminToken = adminToken.flatMap { $0.isEmpty ? nil : $0 }
        self.hub = hub
    }

    /// Operations an agent token may call, beyond reading status.
    static let agentOperations: Set<String> = [
        "register-agent", "deregister-agent", "heartbeat", "claim-task", "complete-task", "fail-task", "publish-event",
    ]
    static let readOperations: Set<String> = ["get-status", "list-workflows"]

    /// The caller of a request with these headers, or `UNAUTHORIZED`.
    public func caller(_ headers: HTTPFields) async throws(HubError) -> Caller {
        guard let adminToken else { return .admin }
        // The scheme is case-insensitive (RFC 9110 §11.1): `bearer` and `BEARER` are Bearer too.
        guard let value = headers[.authorization], value.count > 7, value.prefix(7).lowercased() == "bearer " else {
            throw HubError(
                .unauthorized, "This server needs a bearer token",
                details: "Send 'Authorization: Bearer <token>' (the command line: --token or COORDINATION_HUB_TOKEN).",
                suggestions: ["Ask the hub's administrator for a token (issue-token)"])
        }
        let token = String(value.dropFirst(7).drop { $0 == " " })
        if Self.equal(token, adminToken) { return .admin }
        let hash = Checksum.sha256(Array(token.utf8))
        let agent: String?
        do {
            agent = try await hub.store.read { tx in try tx.tokenAgent(hash: hash) }
        } catch {
            throw HubError(.storeUnavailable, "The token could not be checked: \(error)")
        }
        guard let agent else {
            throw HubError(
                .unauthorized, "The bearer token is not valid",
                suggestions: ["Check the token, or ask for a new one (issue-token)"])
        }
        return .agent(agent)
    }

    /// Refuses what `caller` may not do with `FORBIDDEN`.
    public func authorize(_ caller: Caller, _ request: OperationRequest) async throws(HubError) {
        // An open server lets anyone who reaches it in; the tokens it minted would keep
        // working once the server is restarted with an admin token.
        if adminToken == nil && request.operation == "issue-token" {
            throw HubError(
                .forbidden, "issue-token needs a server started with an admin token",
                details: "This server is open (no admin token): tokens it issued would let anyone in later.",
                suggestions: [
                    "Start the server with --admin-token (or COORDINATION_HUB_ADMIN_TOKEN)",
                    "Or issue the token with the command line on the hub's own state: coordination-hub issue-token '{\"agent_id\": \"…\"}'",
                ])
        }
        guard case .agent(let agent) = caller else { return }
        let operation = request.operation
        if Self.readOperations.contains(operation) { return }
        guard Self.agentOperations.contains(operation) else {
            // An operation that does not exist is OPERATION_NOT_FOUND (404) for everyone: the
            // engine answers it, running nothing.
            if hub.table[operation] == nil { return }
            throw forbidden(agent, "may not call \(operation.prefix(64))")
        }
        let parameters = request.parameters
        switch operation {
        case "complete-task", "fail-task":
            guard let leaseID = parameters["lease_id"]?.stringValue else { return }  // the operation reports it
            let owner = try? await hub.store.read { tx in try tx.lease(leaseID)?.agentID }
            if let owner, owner != agent {
                throw forbidden(agent, "may not report on another agent's lease")
            }
        case "publish-event":
            guard let workflowID = request.workflowID ?? parameters["workflow_id"]?.stringValue else {
                throw forbidden(agent, "may only publish to workflows in which it holds or has held tasks")
            }
            let worked =
                (try? await hub.store.read { tx in try tx.agentHasWorked(agentID: agent, workflowID: workflowID) })
            if worked != true {
                throw forbidden(agent, "holds no task in workflow \(workflowID.prefix(64))")
            }
            // Its events speak for its own agent only (an event naming another agent is on
            // that agent's subject, agent.<id>.<type>, where subscribers take it for theirs).
            let items = parameters["events"]?.arrayValue ?? [parameters]
            for item in items {
                if let named = item["agent_id"]?.stringValue, named != agent {
                    throw forbidden(agent, "may only publish as itself, not as \(named.prefix(64))")
                }
            }
        default:
            if let named = parameters["agent_id"]?.stringValue, named != agent {
                throw forbidden(agent, "may only act as itself, not as \(named.prefix(64))")
            }
            // A budget limits the agent: the agent it limits does not set it (it raised its
            // own once spent, and claimed again).
            if operation == "register-agent", parameters["budget"] != nil {
                throw forbidden(agent, "may not set its own budget")
            }
        }
    }

    func forbidden(_ agent: String, _ what: String) -> HubError {
        HubError(
            .forbidden, "The token of agent \(agent) \(what)",
            details: "Agent tokens act only as their agent; the admin token may do everything.",
            suggestions: ["Use the admin token for this"])
    }

    /// Compares without stopping at the first difference, so timing does not tell how much matched.
    static func equal(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        var difference = x.count ^ y.count
        for i in 0..<max(x.count, y.count) {
            difference |= Int((i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0))
        }
        return difference == 0
    }
}
