import GRDB
import HubCore
import HubStore

extension SQLiteTransaction {
    func liveAllocations() throws -> [ResourceAllocation] {
        try Row.fetchAll(
            db.cachedStatement(
                sql: "SELECT * FROM resource_allocations WHERE state IN ('queued','granted') ORDER BY sequence")
        ).map(Self.allocation(from:))
    }

    func allocation(_ id: String) throws -> ResourceAllocation? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT * FROM resource_allocations WHERE request_id = ? OR allocation_id = ?"),
            arguments: [id, id]
        ).map(Self.allocation(from:))
    }

    func insert(_ a: ResourceAllocation) throws -> ResourceAllocation {
        try db.cachedStatement(
            sql: """
                INSERT INTO resource_allocations (request_id, allocation_id, workflow_id, agent_id, resources, priority, mode,
                  state, created_at, deadline, granted_at, ended_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)
                """
        ).execute(arguments: Self.arguments(a))
        var stored = a
        stored.sequence = db.lastInsertedRowID
        return stored
    }

    func update(_ a: ResourceAllocation) throws {
        var args = Self.arguments(a)
        _ = args.append(contentsOf: [a.requestID])
        try db.cachedStatement(
            sql: """
                UPDATE resource_allocations SET request_id = ?, allocation_id = ?, workflow_id = ?, agent_id = ?, resources = ?,
                  priority = ?, mode = ?, state = ?, created_at = ?, deadline = ?, granted_at = ?, ended_at = ?
                WHERE request_id = ?
                """
        ).execute(arguments: args)
    }

    private static func arguments(_ a: ResourceAllocation) -> StatementArguments {
        var resources: JSONValue = .emptyObject
        for name in a.resources.keys.sorted() { resources[name] = .count(a.resources[name] ?? 1) }
        let values: [(any DatabaseValueConvertible)?] = [
            a.requestID, a.allocationID, a.workflowID, a.agentID, resources.serialized(), a.priority.rawValue,
            a.mode.rawValue,
            a.state.rawValue, a.createdAt, a.deadline, a.grantedAt, a.endedAt,
        ]
        return StatementArguments(values)
    }

    static func allocation(from row: Row) -> ResourceAllocation {
        var resources: [String: Int] = [:]
        for (k, v) in JSONValue.stored(row["resources"])?.objectValue ?? [:] { resources[k] = Int(v.intValue ?? 1) }
        var a = ResourceAllocation(
            requestID: row["request_id"], workflowID: row["workflow_id"], agentID: row["agent_id"],
            resources: resources,
            priority: Priority(rawValue: row["priority"]) ?? .medium,
            mode: ResourceMode(rawValue: row["mode"]) ?? .exclusive,
            createdAt: row["created_at"], deadline: row["deadline"])
        a.allocationID = row["allocation_id"]
        a.state = AllocationState(rawValue: row["state"]) ?? .released
        a.grantedAt = row["granted_at"]
        a.endedAt = row["ended_at"]
        a.sequence = row["sequence"]
        return a
    }
}
