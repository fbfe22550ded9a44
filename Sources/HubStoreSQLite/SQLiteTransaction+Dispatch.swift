import GRDB
import HubCore
import HubStore

extension SQLiteTransaction {
    // MARK: Agents

    func agent(_ id: String) throws -> Agent? {
        try throughCache(cache?.agent(id), keep: { cache?.keep($0) }) { try storedAgent(id) }
    }

    private func storedAgent(_ id: String) throws -> Agent? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(Self.agentColumns) FROM agents WHERE agent_id = ?"), arguments: [id]
        )
        .map(Self.agent(from:))
    }

    func agents() throws -> [Agent] {
        try Row.fetchAll(db, sql: "SELECT \(Self.agentColumns) FROM agents ORDER BY agent_id").map(Self.agent(from:))
    }

    func agentsSilent(by time: Int64, unrecordedSince: Int64) throws -> [Agent] {
        try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT \(Self.agentColumns) FROM agents WHERE status IN ('available','busy') AND silent_at <= ?
                    UNION ALL
                    SELECT \(Self.agentColumns) FROM agents
                      WHERE status IN ('available','busy') AND silent_at IS NULL AND last_heartbeat <= ?
                    ORDER BY agent_id
                    """
            ),
            arguments: [time, unrecordedSince]
        ).map(Self.agent(from:))
    }

    func save(_ a: Agent) throws {
        // A claim changes the agent's load (and so perhaps its status), a completion its
        // track record too; when the cache shows nothing else changed, only the columns that
        // did are written, and the agent's other JSON columns are not serialized again. The
        // status is set only when it changed: setting it rewrites the silence index's entry
        // (the index's condition names it), one more WAL frame at commit.
        let old = cache?.agent(a.agentID)
        if let old {
            var probe = old
            probe.currentLoad = a.currentLoad
            probe.status = a.status
            probe.record = a.record
            if probe == a {
                var assignments = "current_load = ?"
                var arguments: StatementArguments = [a.currentLoad]
                if old.status != a.status {
                    assignments += ", status = ?"
                    _ = arguments.append(contentsOf: [a.status.rawValue])
                }
                if old.record != a.record {
                    assignments += ", record = ?"
                    _ = arguments.append(contentsOf: [a.record.storedJSON.serialized()])
                }
                _ = arguments.append(contentsOf: [a.agentID])
                try db.cachedStatement(sql: "UPDATE agents SET \(assignments) WHERE agent_id = ?")
                    .execute(arguments: arguments)
                cache?.keep(a)
                return
            }
        }
        let specializations = JSONValue.strings(a.specializations).serialized()
        let preferred = JSONValue.strings(a.preferredTaskTypes).serialized()
        let record = a.record.storedJSON.serialized()
        let budget = a.budget?.json.serialized()
        let spend = a.spend.json.serialized()
        // Most saves change the load or the track record only: an update that leaves out the
        // indexed columns (on the condition that they are unchanged) keeps SQLite from
        // rewriting the silence index's page, one WAL frame less at commit. When the cache
        // shows them changed, that update would change nothing and is not tried.
        if old == nil
            || (old?.status == a.status && old?.lastHeartbeat == a.lastHeartbeat && old?.silentAt == a.silentAt)
        {
            try db.cachedStatement(
                sql: """
                    UPDATE agents SET specializations = ?, max_concurrent_tasks = ?, preferred_task_types = ?,
                      registered_at = ?, current_load = ?, record = ?, budget = ?, spend = ?, runner_id = ?
                    WHERE agent_id = ? AND status = ? AND last_heartbeat = ? AND silent_at IS ?
                    """
            ).execute(arguments: [
                specializations, a.maxConcurrentTasks, preferred, a.registeredAt, a.currentLoad, record, budget, spend,
                a.runnerID, a.agentID, a.status.rawValue, a.lastHeartbeat, a.silentAt,
            ])
            if db.changesCount > 0 {
                cache?.keep(a)
                return
            }
        }
        try db.cachedStatement(
            sql: """
                INSERT INTO agents (agent_id, specializations, max_concurrent_tasks, preferred_task_types, status,
                  registered_at, last_heartbeat, current_load, record, budget, spend, runner_id, silent_at)
                  VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)
                ON CONFLICT(agent_id) DO UPDATE SET specializations = excluded.specializations,
                  max_concurrent_tasks = excluded.max_concurrent_tasks, preferred_task_types = excluded.preferred_task_types,
                  status = excluded.status, registered_at = excluded.registered_at, last_heartbeat = excluded.last_heartbeat,
                  current_load = excluded.current_load, record = excluded.record, budget = excluded.budget,
                  spend = excluded.spend, runner_id = excluded.runner_id, silent_at = excluded.silent_at
                """
        ).execute(arguments: [
            a.agentID, specializations, a.maxConcurrentTasks, preferred, a.status.rawValue, a.registeredAt,
            a.lastHeartbeat, a.currentLoad, record, budget, spend, a.runnerID, a.silentAt,
        ])
        cache?.keep(a)
    }

    func removeAgent(_ id: String) throws {
        try db.execute(sql: "DELETE FROM agents WHERE agent_id = ?", arguments: [id])
        cache?.forgetAgent(id)
        try db.execute(sql: "DELETE FROM workflow_pools WHERE agent_id = ?", arguments: [id])
    }

    /// The columns ``agent(from:)`` reads, in its order.
    static let agentColumns = ColumnReader.list([
        "agent_id", "specializations", "max_concurrent_tasks", "preferred_task_types", "registered_at", "status",
        "last_heartbeat", "current_load", "record", "budget", "spend", "runner_id", "silent_at",
    ])

    /// An agent from a row of ``agentColumns``.
    static func agent(from row: Row) -> Agent {
        var c = ColumnReader(row)
        var a = Agent(
            agentID: c.next(),
            specializations: JSONValue.stored(c.optional())?.arrayValue?.compactMap(\.stringValue) ?? [],
            maxConcurrentTasks: c.next(),
            preferredTaskTypes: JSONValue.stored(c.optional())?.arrayValue?.compactMap(\.stringValue) ?? [],
            registeredAt: c.next())
        a.status = AgentStatus(rawValue: c.next()) ?? .offline
        a.lastHeartbeat = c.next()
        a.currentLoad = c.next()
        a.record = TrackRecord(storedJSON: JSONValue.stored(c.optional()) ?? .null)
        a.budget = Budget(json: JSONValue.stored(c.optional()))
        a.spend = Spend(json: JSONValue.stored(c.optional()))
        a.runnerID = c.optional()
        a.silentAt = c.optional()
        return a
    }

    // MARK: Leases

    func lease(_ id: String) throws -> Lease? {
        try throughCache(cache?.lease(id), keep: { cache?.keep($0) }) { try storedLease(id) }
    }

    private func storedLease(_ id: String) throws -> Lease? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(Self.leaseColumns) FROM leases WHERE lease_id = ?"), arguments: [id]
        )
        .map(Self.lease(from:))
    }

    func activeLeases(agentID: String) throws -> [Lease] {
        try Row.fetchAll(
            db.cachedStatement(
                sql:
                    "SELECT \(Self.leaseColumns) FROM leases WHERE agent_id = ? AND state = 'active' ORDER BY claimed_at"
            ),
            arguments: [agentID]
        ).map(Self.lease(from:))
    }

    func activeLeases(workflowID: String) throws -> [Lease] {
        try Row.fetchAll(
            db.cachedStatement(
                sql:
                    "SELECT \(Self.leaseColumns) FROM leases WHERE workflow_id = ? AND state = 'active' ORDER BY claimed_at"
            ),
            arguments: [workflowID]
        ).map(Self.lease(from:))
    }

    func attemptOutcomes(workflowID: String) throws -> AttemptOutcomes {
        let rows = try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT state, agent_id, count(*) AS n FROM leases
                    WHERE workflow_id = ? AND state IN ('completed', 'failed', 'expired') GROUP BY state, agent_id
                    """),
            arguments: [workflowID])
        var outcomes = AttemptOutcomes()
        for row in rows {
            let n: Int = row["n"]
            if (row["state"] as String) == "completed" { outcomes.completed += n } else { outcomes.failed += n }
            outcomes.agents.insert(row["agent_id"])
        }
        return outcomes
    }

    func expiredLeases(now: Int64) throws -> [Lease] {
        try Row.fetchAll(
            db.cachedStatement(
                sql:
                    "SELECT \(Self.leaseColumns) FROM leases WHERE state = 'active' AND expires_at <= ? ORDER BY expires_at"
            ),
            arguments: [now]
        ).map(Self.lease(from:))
    }

    func insert(_ l: Lease) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO leases
                  (lease_id, workflow_id, task_id, agent_id, claimed_at, expires_at, state, ended_at, holds_until)
                VALUES (?,?,?,?,?,?,?,?,?)
                """
        ).execute(arguments: [
            l.leaseID, l.workflowID, l.taskID, l.agentID, l.claimedAt, l.expiresAt, l.state.rawValue, l.endedAt,
            l.holdsUntil,
        ])
        cache?.keep(l)
    }

    func update(_ l: Lease) throws {
        try db.cachedStatement(sql: "UPDATE leases SET expires_at = ?, state = ?, ended_at = ? WHERE lease_id = ?")
            .execute(arguments: [l.expiresAt, l.state.rawValue, l.endedAt, l.leaseID])
        // The update writes three columns: the cache keeps the stored lease with those three.
        if var stored = cache?.lease(l.leaseID) {
            stored.expiresAt = l.expiresAt
            stored.state = l.state
            stored.endedAt = l.endedAt
            cache?.keep(stored)
        }
    }

    func setHold(leaseID: String, until: Int64?) throws {
        try db.cachedStatement(sql: "UPDATE leases SET holds_until = ? WHERE lease_id = ?")
            .execute(arguments: [until, leaseID])
        if var stored = cache?.lease(leaseID) {
            stored.holdsUntil = until
            cache?.keep(stored)
        }
    }

    func lingeringLeases(agentID: String?, now: Int64) throws -> [Lease] {
        try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT \(Self.leaseColumns) FROM leases INDEXED BY leases_lingering
                    WHERE holds_until > ? AND (? IS NULL OR agent_id = ?) ORDER BY holds_until
                    """),
            arguments: [now, agentID, agentID]
        ).map(Self.lease(from:))
    }

    func lingeringHolds(now: Int64) throws -> (files: Set<String>, resources: [String: Int]) {
        Self.holds(
            try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT t.files, t.resources, w.workspace FROM leases l INDEXED BY leases_lingering
                        JOIN tasks t ON t.workflow_id = l.workflow_id AND t.task_id = l.task_id
                        JOIN workflows w ON w.id = t.workflow_id
                        WHERE l.holds_until > ? AND (t.files <> '[]' OR t.resources <> '{}')
                        """),
                arguments: [now]))
    }

    /// The columns ``lease(from:)`` reads, in its order.
    static let leaseColumns = ColumnReader.list([
        "lease_id", "workflow_id", "task_id", "agent_id", "claimed_at", "expires_at", "state", "ended_at",
        "holds_until",
    ])

    /// A lease from a row of ``leaseColumns``.
    static func lease(from row: Row) -> Lease {
        var c = ColumnReader(row)
        var l = Lease(
            leaseID: c.next(), workflowID: c.next(), taskID: c.next(), agentID: c.next(), claimedAt: c.next(),
            expiresAt: c.next())
        l.state = LeaseState(rawValue: c.next()) ?? .expired
        l.endedAt = c.optional()
        l.holdsUntil = c.optional()
        return l
    }

    // MARK: Tasks for dispatch

    func task(workflowID: String, taskID: String) throws -> WorkTask? {
        try throughCache(cache?.task(workflowID, taskID), keep: { cache?.keep($0) }) {
            try storedTask(workflowID: workflowID, taskID: taskID)
        }
    }

    private func storedTask(workflowID: String, taskID: String) throws -> WorkTask? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(Self.taskColumns) FROM tasks WHERE workflow_id = ? AND task_id = ?"),
            arguments: [workflowID, taskID]
        ).map(Self.task(from:))
    }

    static let phaseTasksQuery =
        "SELECT \(taskColumns) FROM tasks WHERE workflow_id = ? AND phase_id = ? ORDER BY position"

    func tasks(of workflowID: String, phase: Int) throws -> [WorkTask] {
        try Row.fetchAll(db.cachedStatement(sql: Self.phaseTasksQuery), arguments: [workflowID, phase])
            .map(Self.task(from:))
    }

    /// CROSS JOIN keeps the dependency links as the outer loop: left to itself SQLite walked
    /// every task of the workflow in position order (to skip the sort) and probed the links
    /// for each, so completing a task cost more the larger its workflow.
    func dependents(workflowID: String, of taskID: String) throws -> [WorkTask] {
        try Row.fetchAll(db.cachedStatement(sql: Self.dependentsQuery), arguments: [workflowID, taskID])
            .map(Self.task(from:))
    }

    static let dependentsQuery = """
        SELECT \(ColumnReader.list(taskColumnNames, table: "t")) FROM task_dependencies d CROSS JOIN tasks t
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

    /// A partial index of ready tasks serves both the role equality and the order:
    /// tasks_claimable across workflows, tasks_claimable_in_workflow within one
    /// (QueryPlanTests: no sort, whatever the number of ready tasks).
    static func readyCandidatesQuery(inWorkflow: Bool) -> String {
        """
        SELECT t.workflow_id, t.task_id, t.role, t.priority, t.critical_path_ms, t.created_at, t.position, t.files,
          t.resources, t.reserved_for, t.workflow_priority_rank, w.workspace
        FROM tasks t INDEXED BY \(inWorkflow ? "tasks_claimable_in_workflow" : "tasks_claimable")
          JOIN workflows w ON w.id = t.workflow_id
        WHERE t.status = 'ready' AND t.role IS ? AND w.status = 'running'\(inWorkflow ? " AND t.workflow_id = ?" : "")
          AND (t.reserved_for IS NULL OR t.reserved_for = ?)
          AND (NOT EXISTS (SELECT 1 FROM workflow_pools p WHERE p.workflow_id = t.workflow_id)
            OR EXISTS (SELECT 1 FROM workflow_pools p WHERE p.workflow_id = t.workflow_id AND p.agent_id = ?))
        ORDER BY t.role, t.workflow_priority_rank DESC, t.priority_rank DESC, t.critical_path_ms DESC, t.created_at,
          t.workflow_id, t.position LIMIT ? OFFSET ?
        """
    }

    func readyCandidates(role: String?, workflowID: String?, agentID: String, offset: Int, limit: Int) throws
        -> [TaskCandidate]
    {
        var arguments: StatementArguments = [role]
        if let workflowID { _ = arguments.append(contentsOf: [workflowID]) }
        _ = arguments.append(contentsOf: [agentID, agentID, limit, offset])
        let sql = Self.readyCandidatesQuery(inWorkflow: workflowID != nil)
        return try Row.fetchAll(db.cachedStatement(sql: sql), arguments: arguments).map(Self.candidate(from:))
    }

    /// Through the index of reserved ready tasks (`tasks_reserved`), empty but for
    /// `redistribute-tasks`' reservations.
    static func reservedCandidatesQuery(inWorkflow: Bool) -> String {
        """
        SELECT t.workflow_id, t.task_id, t.role, t.priority, t.critical_path_ms, t.created_at, t.position, t.files,
          t.resources, t.reserved_for, t.workflow_priority_rank, w.workspace
        FROM tasks t INDEXED BY tasks_reserved JOIN workflows w ON w.id = t.workflow_id
        WHERE t.reserved_for = ? AND t.status = 'ready' AND w.status = 'running'\(inWorkflow ? " AND t.workflow_id = ?" : "")
        """
    }

    func reservedCandidates(agentID: String, workflowID: String?) throws -> [TaskCandidate] {
        var arguments: StatementArguments = [agentID]
        if let workflowID { _ = arguments.append(contentsOf: [workflowID]) }
        let sql = Self.reservedCandidatesQuery(inWorkflow: workflowID != nil)
        return try Row.fetchAll(db.cachedStatement(sql: sql), arguments: arguments).map(Self.candidate(from:))
    }

    /// A candidate from a row of ``readyCandidatesQuery(inWorkflow:)``'s columns.
    static func candidate(from row: Row) -> TaskCandidate {
        var c = ColumnReader(row)
        let workflowID: String = c.next()
        let taskID: String = c.next()
        let role: String? = c.optional()
        let priority: String = c.next()
        let criticalPath: Int64 = c.next()
        let createdAt: Int64 = c.next()
        let position: Int64 = c.next()
        let files: String? = c.optional()
        let storedResources: String? = c.optional()
        let reservedFor: String? = c.optional()
        let rank: Int = c.next()
        let workspace: String = c.next()
        var resources: [String: Int] = [:]
        for (k, v) in JSONValue.stored(storedResources)?.objectValue ?? [:] { resources[k] = Int(v.intValue ?? 1) }
        return TaskCandidate(
            workflowID: workflowID, taskID: taskID, role: role,
            workflowPriority: rank >= 3 ? .high : rank <= 1 ? .low : .medium,
            taskPriority: Priority(rawValue: priority) ?? .medium, criticalPath: criticalPath,
            createdAt: createdAt, position: position,
            files: (JSONValue.stored(files)?.arrayValue?.compactMap(\.stringValue) ?? []).map {
                WorkTask.fileKey($0, workspace: workspace)
            },
            resources: resources, reservedFor: reservedFor)
    }

    /// The files and resources of running tasks that hold any (an empty list is stored as
    /// `[]`, no resources as `{}`), through the index of exactly those (`tasks_holding`).
    static let runningHoldsQuery = """
        SELECT t.files, t.resources, w.workspace FROM tasks t INDEXED BY tasks_holding
        JOIN workflows w ON w.id = t.workflow_id
        WHERE t.status IN ('assigned','running') AND (t.files <> '[]' OR t.resources <> '{}')
        """

    func runningHolds() throws -> (files: Set<String>, resources: [String: Int]) {
        Self.holds(try Row.fetchAll(db.cachedStatement(sql: Self.runningHoldsQuery)))
    }

    /// Files (as file keys) and resource units of rows of `files, resources, workspace`.
    static func holds(_ rows: [Row]) -> (files: Set<String>, resources: [String: Int]) {
        var files: Set<String> = []
        var resources: [String: Int] = [:]
        for row in rows {
            var c = ColumnReader(row)
            let storedFiles: String? = c.optional()
            let storedResources: String? = c.optional()
            let workspace: String = c.next()
            for f in JSONValue.stored(storedFiles)?.arrayValue?.compactMap(\.stringValue) ?? [] {
                files.insert(WorkTask.fileKey(f, workspace: workspace))
            }
            for (k, v) in JSONValue.stored(storedResources)?.objectValue ?? [:] {
                resources[k, default: 0] += Int(v.intValue ?? 1)
            }
        }
        return (files, resources)
    }

    func reservedTasks() throws -> [WorkTask] {
        try Row.fetchAll(
            db.cachedStatement(
                sql:
                    "SELECT \(Self.taskColumns) FROM tasks INDEXED BY tasks_reserved WHERE reserved_for IS NOT NULL AND status = 'ready' ORDER BY created_at, position"
            )
        ).map(Self.task(from:))
    }

    /// Each test is the condition of the read it stands for, through the same index.
    static let sweepQuery = """
        SELECT EXISTS (SELECT 1 FROM agents WHERE status IN ('available','busy') AND silent_at <= ?)
          OR EXISTS (SELECT 1 FROM agents WHERE status IN ('available','busy') AND silent_at IS NULL
                       AND last_heartbeat <= ?)
          OR EXISTS (SELECT 1 FROM leases WHERE state = 'active' AND expires_at <= ?)
          OR EXISTS (SELECT 1 FROM tasks WHERE run_deadline_at IS NOT NULL AND run_deadline_at <= ?
                       AND status = 'running')
          OR EXISTS (SELECT 1 FROM tasks INDEXED BY tasks_reserved
                       WHERE reserved_for IS NOT NULL AND status = 'ready')
          OR EXISTS (SELECT 1 FROM resource_allocations WHERE state IN ('queued','granted'))
        """

    func sweepHasWork(agentsSilentBy: Int64, unrecordedSilentSince: Int64, leasesExpiredBy: Int64, now: Int64) throws
        -> Bool
    {
        try Bool.fetchOne(
            db.cachedStatement(sql: Self.sweepQuery),
            arguments: [agentsSilentBy, unrecordedSilentSince, leasesExpiredBy, now]) ?? true
    }

    static let overdueTasksQuery =
        "SELECT \(taskColumns) FROM tasks WHERE run_deadline_at IS NOT NULL AND run_deadline_at <= ? AND status = 'running'"

    func overdueTasks(now: Int64) throws -> [WorkTask] {
        try Row.fetchAll(db.cachedStatement(sql: Self.overdueTasksQuery), arguments: [now]).map(Self.task(from:))
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

    func workflowsPooling(agentID: String) throws -> [String] {
        try String.fetchAll(
            db.cachedStatement(sql: "SELECT workflow_id FROM workflow_pools WHERE agent_id = ? ORDER BY workflow_id"),
            arguments: [agentID])
    }

    func setPool(workflowID: String, agents: [String]) throws {
        try db.execute(sql: "DELETE FROM workflow_pools WHERE workflow_id = ?", arguments: [workflowID])
        let statement = try db.cachedStatement(
            sql: "INSERT OR IGNORE INTO workflow_pools (workflow_id, agent_id) VALUES (?,?)")
        for a in agents { try statement.execute(arguments: [workflowID, a]) }
    }
}
