import GRDB
import HubCore
import HubStore

extension SQLiteTransaction {
    // MARK: Agents

    func agent(_ id: String) throws -> Agent? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM agents WHERE agent_id = ?"), arguments: [id])
            .map(Self.agent(from:))
    }

    func agents() throws -> [Agent] {
        try Row.fetchAll(db, sql: "SELECT * FROM agents ORDER BY agent_id").map(Self.agent(from:))
    }

    func agentsSilentSince(_ time: Int64) throws -> [Agent] {
        try Row.fetchAll(
            db.cachedStatement(
                sql:
                    "SELECT * FROM agents WHERE status IN ('available','busy') AND last_heartbeat <= ? ORDER BY agent_id"
            ),
            arguments: [time]
        ).map(Self.agent(from:))
    }

    func save(_ a: Agent) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO agents (agent_id, specializations, max_concurrent_tasks, preferred_task_types, status,
                  registered_at, last_heartbeat, current_load, record, budget, spend) VALUES (?,?,?,?,?,?,?,?,?,?,?)
                ON CONFLICT(agent_id) DO UPDATE SET specializations = excluded.specializations,
                  max_concurrent_tasks = excluded.max_concurrent_tasks, preferred_task_types = excluded.preferred_task_types,
                  status = excluded.status, registered_at = excluded.registered_at, last_heartbeat = excluded.last_heartbeat,
                  current_load = excluded.current_load, record = excluded.record, budget = excluded.budget,
                  spend = excluded.spend
                """
        ).execute(arguments: [
            a.agentID, JSONValue.strings(a.specializations).serialized(), a.maxConcurrentTasks,
            JSONValue.strings(a.preferredTaskTypes).serialized(), a.status.rawValue, a.registeredAt, a.lastHeartbeat,
            a.currentLoad, a.record.storedJSON.serialized(), a.budget?.json.serialized(), a.spend.json.serialized(),
        ])
    }

    func removeAgent(_ id: String) throws {
        try db.execute(sql: "DELETE FROM agents WHERE agent_id = ?", arguments: [id])
        try db.execute(sql: "DELETE FROM workflow_pools WHERE agent_id = ?", arguments: [id])
    }

    static func agent(from row: Row) -> Agent {
        var a = Agent(
            agentID: row["agent_id"],
            specializations: JSONValue.stored(row["specializations"])?.arrayValue?.compactMap(\.stringValue) ?? [],
            maxConcurrentTasks: row["max_concurrent_tasks"],
            preferredTaskTypes: JSONValue.stored(row["preferred_task_types"])?.arrayValue?.compactMap(\.stringValue)
                ?? [],
            registeredAt: row["registered_at"])
        a.status = AgentStatus(rawValue: row["status"]) ?? .offline
        a.lastHeartbeat = row["last_heartbeat"]
        a.currentLoad = row["current_load"]
        a.record = TrackRecord(storedJSON: JSONValue.stored(row["record"]) ?? .null)
        a.budget = Budget(json: JSONValue.stored(row["budget"]))
        a.spend = Spend(json: JSONValue.stored(row["spend"]))
        return a
    }

    // MARK: Leases

    func lease(_ id: String) throws -> Lease? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM leases WHERE lease_id = ?"), arguments: [id])
            .map(Self.lease(from:))
    }

    func activeLeases(agentID: String) throws -> [Lease] {
        try Row.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM leases WHERE agent_id = ? AND state = 'active' ORDER BY claimed_at"),
            arguments: [agentID]
        ).map(Self.lease(from:))
    }

    func activeLeases(workflowID: String) throws -> [Lease] {
        try Row.fetchAll(
            db.cachedStatement(
                sql: "SELECT * FROM leases WHERE workflow_id = ? AND state = 'active' ORDER BY claimed_at"),
            arguments: [workflowID]
        ).map(Self.lease(from:))
    }

    func expiredLeases(now: Int64) throws -> [Lease] {
        try Row.fetchAll(
            db.cachedStatement(
                sql: "SELECT * FROM leases WHERE state = 'active' AND expires_at <= ? ORDER BY expires_at"),
            arguments: [now]
        ).map(Self.lease(from:))
    }

    func insert(_ l: Lease) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO leases (lease_id, workflow_id, task_id, agent_id, claimed_at, expires_at, state, ended_at)
                VALUES (?,?,?,?,?,?,?,?)
                """
        ).execute(arguments: [
            l.leaseID, l.workflowID, l.taskID, l.agentID, l.claimedAt, l.expiresAt, l.state.rawValue, l.endedAt,
        ])
    }

    func update(_ l: Lease) throws {
        try db.cachedStatement(sql: "UPDATE leases SET expires_at = ?, state = ?, ended_at = ? WHERE lease_id = ?")
            .execute(arguments: [l.expiresAt, l.state.rawValue, l.endedAt, l.leaseID])
    }

    static func lease(from row: Row) -> Lease {
        var l = Lease(
            leaseID: row["lease_id"], workflowID: row["workflow_id"], taskID: row["task_id"], agentID: row["agent_id"],
            claimedAt: row["claimed_at"], expiresAt: row["expires_at"])
        l.state = LeaseState(rawValue: row["state"]) ?? .expired
        l.endedAt = row["ended_at"]
        return l
    }

    // MARK: Tasks for dispatch

    func task(workflowID: String, taskID: String) throws -> WorkTask? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT * FROM tasks WHERE workflow_id = ? AND task_id = ?"),
            arguments: [workflowID, taskID]
        ).map(Self.task(from:))
    }

    func tasks(of workflowID: String, phase: Int) throws -> [WorkTask] {
        try Row.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM tasks WHERE workflow_id = ? AND phase_id = ? ORDER BY position"),
            arguments: [workflowID, phase]
        ).map(Self.task(from:))
    }

    /// CROSS JOIN keeps the dependency links as the outer loop: left to itself SQLite walked
    /// every task of the workflow in position order (to skip the sort) and probed the links
    /// for each, so completing a task cost more the larger its workflow.
    func dependents(workflowID: String, of taskID: String) throws -> [WorkTask] {
        try Row.fetchAll(db.cachedStatement(sql: Self.dependentsQuery), arguments: [workflowID, taskID])
            .map(Self.task(from:))
    }

    static let dependentsQuery = """
        SELECT t.* FROM task_dependencies d CROSS JOIN tasks t
          ON t.workflow_id = d.workflow_id AND t.task_id = d.task_id
        WHERE d.workflow_id = ? AND d.depends_on = ? ORDER BY t.position
        """

    func phaseCounts(workflowID: String, phaseID: Int) throws -> PhaseCounts {
        let row = try Row.fetchOne(
            db.cachedStatement(
                sql: "SELECT total_tasks, open_tasks, failed_tasks FROM phases WHERE workflow_id = ? AND phase_id = ?"),
            arguments: [workflowID, phaseID])
        return PhaseCounts(
            total: row?["total_tasks"] ?? 0, open: row?["open_tasks"] ?? 0, failed: row?["failed_tasks"] ?? 0)
    }

    func readyCandidates(role: String?, workflowID: String?, offset: Int, limit: Int) throws -> [TaskCandidate] {
        // The partial index tasks_claimable serves both the role equality and the order.
        var sql = """
            SELECT t.workflow_id, t.task_id, t.role, t.priority, t.critical_path_ms, t.created_at, t.position, t.files,
              t.resources, t.reserved_for, t.workflow_priority_rank, w.workspace
            FROM tasks t INDEXED BY tasks_claimable JOIN workflows w ON w.id = t.workflow_id
            WHERE t.status = 'ready' AND t.role IS ? AND w.status = 'running'
            """
        var arguments: StatementArguments = [role]
        if let workflowID {
            sql += " AND t.workflow_id = ?"
            _ = arguments.append(contentsOf: [workflowID])
        }
        sql += """
             ORDER BY t.role, t.workflow_priority_rank DESC, t.priority_rank DESC, t.critical_path_ms DESC, t.created_at,
               t.workflow_id, t.position LIMIT ? OFFSET ?
            """
        _ = arguments.append(contentsOf: [limit, offset])
        return try Row.fetchAll(db.cachedStatement(sql: sql), arguments: arguments).map { row in
            let workspace: String = row["workspace"]
            var resources: [String: Int] = [:]
            for (k, v) in JSONValue.stored(row["resources"])?.objectValue ?? [:] { resources[k] = Int(v.intValue ?? 1) }
            let rank: Int = row["workflow_priority_rank"]
            return TaskCandidate(
                workflowID: row["workflow_id"], taskID: row["task_id"], role: row["role"],
                workflowPriority: rank >= 3 ? .high : rank <= 1 ? .low : .medium,
                taskPriority: Priority(rawValue: row["priority"]) ?? .medium, criticalPath: row["critical_path_ms"],
                createdAt: row["created_at"], position: row["position"],
                files: (JSONValue.stored(row["files"])?.arrayValue?.compactMap(\.stringValue) ?? []).map {
                    WorkTask.fileKey($0, workspace: workspace)
                },
                resources: resources, reservedFor: row["reserved_for"])
        }
    }

    func runningHolds() throws -> (files: Set<String>, resources: [String: Int]) {
        var files: Set<String> = []
        var resources: [String: Int] = [:]
        let rows = try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT t.files, t.resources, w.workspace FROM tasks t INDEXED BY tasks_by_status
                    JOIN workflows w ON w.id = t.workflow_id WHERE t.status IN ('assigned','running')
                    """))
        for row in rows {
            let workspace: String = row["workspace"]
            for f in JSONValue.stored(row["files"])?.arrayValue?.compactMap(\.stringValue) ?? [] {
                files.insert(WorkTask.fileKey(f, workspace: workspace))
            }
            for (k, v) in JSONValue.stored(row["resources"])?.objectValue ?? [:] {
                resources[k, default: 0] += Int(v.intValue ?? 1)
            }
        }
        return (files, resources)
    }

    func reservedTasks() throws -> [WorkTask] {
        try Row.fetchAll(
            db.cachedStatement(
                sql:
                    "SELECT * FROM tasks INDEXED BY tasks_reserved WHERE reserved_for IS NOT NULL AND status = 'ready' ORDER BY created_at, position"
            )
        ).map(Self.task(from:))
    }

    func overdueTasks(now: Int64) throws -> [WorkTask] {
        try Row.fetchAll(
            db.cachedStatement(
                sql:
                    "SELECT * FROM tasks WHERE run_deadline_at IS NOT NULL AND run_deadline_at <= ? AND status = 'running'"
            ),
            arguments: [now]
        ).map(Self.task(from:))
    }

    // MARK: Pools

    func pools(of workflowIDs: [String]) throws -> [String: Set<String>] {
        var pools: [String: Set<String>] = [:]
        let statement = try db.cachedStatement(sql: "SELECT agent_id FROM workflow_pools WHERE workflow_id = ?")
        for id in Set(workflowIDs) {
            let members = try String.fetchAll(statement, arguments: [id])
            if !members.isEmpty { pools[id] = Set(members) }
        }
        return pools
    }

    func setPool(workflowID: String, agents: [String]) throws {
        try db.execute(sql: "DELETE FROM workflow_pools WHERE workflow_id = ?", arguments: [workflowID])
        let statement = try db.cachedStatement(
            sql: "INSERT OR IGNORE INTO workflow_pools (workflow_id, agent_id) VALUES (?,?)")
        for a in agents { try statement.execute(arguments: [workflowID, a]) }
    }
}
