import GRDB
import HubStore

/// Agent tokens, by their SHA-256.
extension SQLiteTransaction {
    func tokenAgent(hash: String) throws -> String? {
        try String.fetchOne(
            db.cachedStatement(sql: "SELECT agent_id FROM agent_tokens WHERE token_hash = ?"), arguments: [hash])
    }

    func agentHasWorked(agentID: String, workflowID: String) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT 1 FROM leases WHERE agent_id = ? AND workflow_id = ? LIMIT 1"),
            arguments: [agentID, workflowID]) != nil
    }

    func insertToken(hash: String, agentID: String, createdAt: Int64) throws {
        try db.cachedStatement(sql: "INSERT INTO agent_tokens (token_hash, agent_id, created_at) VALUES (?, ?, ?)")
            .execute(arguments: [hash, agentID, createdAt])
    }

    func removeTokens(agentID: String) throws -> Int {
        try db.cachedStatement(sql: "DELETE FROM agent_tokens WHERE agent_id = ?").execute(arguments: [agentID])
        return db.changesCount
    }
}
