import HubCore
import HubStore

/// `issue-token`: a bearer token bound to one agent (§13). Only its SHA-256 is
/// stored; the token is shown once, in this answer. The server lets only the admin call it.
enum IssueToken {
    struct Parameters: OperationParameters {
        var agentId: String
        static let schema = Schema.object([
            .init("agent_id", .id("The agent the token acts as."), required: true)
        ])
    }

    static let descriptor = OperationDescriptor(
        "issue-token", scope: .hub, mutating: false, parameters: Parameters.self,
        summary: "Issue a bearer token for one agent: it may act only as that agent on the server.",
        discussion: """
            With the token an agent may register, heartbeat, claim, complete and fail its own tasks, publish events \
            to workflows in which it holds or has held tasks, and read status (get-status, list-workflows). The token \
            is shown once; only its SHA-256 is stored.
            """,
        example: "coordination-hub issue-token '{\"agent_id\": \"agent_001\"}'",
        handler: run)

    /// Random bytes in a token.
    static let entropyBytes = 32

    static func run(_ context: OperationContext, _ p: Parameters) async throws -> OperationOutcome {
        // A token for an id register-agent refuses (§2: ids are not operation names) could never
        // register; one of an agent registered before that rule still works.
        if Hub.isCommandName(p.agentId, table: context.hub.table),
            try await context.store.read({ tx in try tx.agent(p.agentId) }) == nil
        {
            throw HubError.parameter(
                "agent_id", "must not be the name of an operation or command: register-agent refuses it",
                suggestions: ["Use an id such as \(p.agentId)_agent"])
        }
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<entropyBytes).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let token = "hubtok_" + bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        let hash = Checksum.sha256(Array(token.utf8))
        let now = context.now
        try await context.store.write { tx in
            try tx.insertToken(hash: hash, agentID: p.agentId, createdAt: now)
        }
        return OperationOutcome(
            result: ["agent_id": .string(p.agentId), "token": .string(token)],
            nextSteps: [
                "Give it to the agent: coordination-hub agent --hub URL --token <token> --id \(p.agentId) …",
                "It is shown only now; issue another if it is lost",
            ])
    }
}
