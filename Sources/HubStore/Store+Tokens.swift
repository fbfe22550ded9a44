/// Agent tokens (§13): only their SHA-256 is stored, never the token.
public protocol TokenReader {
    /// The agent a token with this SHA-256 belongs to, or `nil`.
    func tokenAgent(hash: String) throws -> String?
    /// Whether the agent holds or has held a lease on a task of the workflow.
    func agentHasWorked(agentID: String, workflowID: String) throws -> Bool
}

/// Writes of agent tokens.
public protocol TokenWriter: TokenReader {
    /// Stores a token's SHA-256 for an agent.
    func insertToken(hash: String, agentID: String, createdAt: Int64) throws
    /// Removes every token of an agent; returns how many there were.
    func removeTokens(agentID: String) throws -> Int
}
