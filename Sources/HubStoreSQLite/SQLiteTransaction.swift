import GRDB
import HubCore
import HubStore

/// The store's reads and writes on one SQLite connection inside a transaction.
struct SQLiteTransaction: StoreWriter {
    let db: Database
    /// Collects the events appended in a write transaction, for the store's commit observer.
    var appended: AppendedEvents? = nil
    /// The writer's rows of the hot tables, in a write turn (see ``RowCache``).
    var cache: RowCache? = nil

    /// A row the cache holds. Debug builds (the tests) check it against the database on
    /// every use, so a write that bypasses the cache cannot go unnoticed.
    func cached<T: Equatable>(_ row: T, _ stored: () throws -> T?) rethrows -> T {
        #if DEBUG
            let fresh = try stored()
            assert(fresh == row, "RowCache diverged from the database:\n\(row)\n\(String(describing: fresh))")
        #endif
        return row
    }

    /// The cache's row (`hit`) when it holds one, else the stored row, which is then kept.
    func throughCache<T: Equatable>(_ hit: T?, keep: (T) -> Void, _ stored: () throws -> T?) rethrows -> T? {
        if let hit { return try cached(hit, stored) }
        let row = try stored()
        if let row { keep(row) }
        return row
    }

    // MARK: Workflows

    func workflow(_ id: String) throws -> Workflow? {
        try throughCache(cache?.workflow(id), keep: { cache?.keep($0) }) { try storedWorkflow(id) }
    }

    private func storedWorkflow(_ id: String) throws -> Workflow? {
        // A cursor's row looks columns up by name through a dictionary (a fetched row
        // compares every column name, lowercased, on each lookup); the row is read
        // inside the cursor's `next`, while the statement still holds it.
        try Row.fetchCursor(
            db.cachedStatement(sql: "SELECT \(Self.workflowColumns) FROM workflows WHERE id = ?"), arguments: [id]
        )
        .map(Self.workflow(from:)).next()
    }

    func workflows(_ query: WorkflowQuery) throws -> (workflows: [Workflow], total: Int) {
        var clauses: [String] = []
        var arguments: StatementArguments = []
        if !query.includeArchived { clauses.append("archived = 0") }
        if !query.statuses.isEmpty {
            clauses.append("status IN (\(query.statuses.map { _ in "?" }.joined(separator: ",")))")
            for s in query.statuses { _ = arguments.append(contentsOf: [s.rawValue]) }
        }
        let filter = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM workflows \(filter)", arguments: arguments) ?? 0
        var page = arguments
        var pageClauses = clauses
        if let after = query.after {
            pageClauses.append("(created_at < ? OR (created_at = ? AND id > ?))")
            _ = page.append(contentsOf: [after.createdAt, after.createdAt, after.id])
        }
        let pageFilter = pageClauses.isEmpty ? "" : "WHERE " + pageClauses.joined(separator: " AND ")
        _ = page.append(contentsOf: [query.limit, query.offset])
        let rows = try Row.fetchAll(
            db,
            sql:
                "SELECT \(Self.workflowColumns) FROM workflows \(pageFilter) ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
            arguments: page)
        return (rows.map(Self.workflow(from:)), total)
    }

    func insert(_ w: Workflow) throws {
        if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM workflows WHERE id = ?"), arguments: [w.id]) != nil
        {
            throw HubError(
                .workflowExists, "Workflow \(w.id) already exists",
                details: "Workflow ids are unique; pick another id or work with the existing workflow.",
                suggestions: [
                    "Read it with 'coordination-hub \(w.id) get-status'", "Create the new workflow under another id",
                ])
        }
        try db.cachedStatement(
            sql: """
                INSERT INTO workflows (id, name, description, status, archived, priority, agent_requirements, dependencies,
                  timeout_ms, checkpoint_interval_ms, failure_tolerance, max_agents, workspace, created_at, updated_at,
                  started_at, finished_at, current_phase, total_phases, state_version, active_ms, running_since,
                  deadline_at, failure_reason, correlation_id, budget, spend, finalized_at)
                VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
                """
        ).execute(arguments: Self.arguments(w))
        cache?.keep(w)
    }

    func update(_ w: Workflow) throws {
        // Most updates bump the version and nothing else (every dispatcher operation does):
        // when the cache shows that, only those two columns are written, and the workflow's
        // four JSON columns are not serialized again.
        if var bumped = cache?.workflow(w.id) {
            bumped.stateVersion = w.stateVersion
            bumped.updatedAt = w.updatedAt
            if bumped == w {
                try db.cachedStatement(sql: "UPDATE workflows SET state_version = ?, updated_at = ? WHERE id = ?")
                    .execute(arguments: [w.stateVersion, w.updatedAt, w.id])
                cache?.keep(w)
                return
            }
        }
        // SQLite rewrites an index's entry whenever an UPDATE sets one of its columns, even to
        // the value it had, and each rewritten page is one more 4 KiB frame in the WAL at
        // commit. Most updates (a version bump) leave the indexed columns as they were: try
        // the update that leaves them out, on the condition that they are unchanged.
        let values = Self.mutableValues(w)
        let indexed: [(any DatabaseValueConvertible)?] = [w.status.rawValue, w.archived, w.deadline, w.createdAt]
        try db.cachedStatement(sql: Self.updateUnlessIndexedColumnsChanged)
            .execute(arguments: StatementArguments(values + [w.id] + indexed))
        if db.changesCount == 0 {
            try db.cachedStatement(sql: Self.updateAll).execute(
                arguments: StatementArguments(values + indexed + [w.id]))
        }
        cache?.keep(w)
    }

    /// The SET of the columns in ``mutableValues(_:)``.
    private static let unindexedAssignments = """
        name = ?, description = ?, priority = ?, agent_requirements = ?, dependencies = ?, timeout_ms = ?,
          checkpoint_interval_ms = ?, failure_tolerance = ?, max_agents = ?, workspace = ?, updated_at = ?,
          started_at = ?, finished_at = ?, current_phase = ?, total_phases = ?, state_version = ?, active_ms = ?,
          running_since = ?, failure_reason = ?, correlation_id = ?, budget = ?, spend = ?, finalized_at = ?
        """
    private static let updateUnlessIndexedColumnsChanged = """
        UPDATE workflows SET \(unindexedAssignments)
        WHERE id = ? AND status = ? AND archived = ? AND deadline_at IS ? AND created_at = ?
        """
    private static let updateAll = """
        UPDATE workflows SET \(unindexedAssignments), status = ?, archived = ?, deadline_at = ?, created_at = ?
        WHERE id = ?
        """

    /// The columns an update may change and no index covers, in the update statements' order.
    private static func mutableValues(_ w: Workflow) -> [(any DatabaseValueConvertible)?] {
        [
            w.name, w.description, w.priority.rawValue, w.agentRequirements.json.serialized(),
            w.dependencies.json.serialized(), w.configuration.timeout.milliseconds,
            w.configuration.checkpointInterval.milliseconds, w.configuration.failureTolerance.rawValue,
            w.configuration.maxAgents, w.workspace, w.updatedAt, w.startedAt, w.finishedAt, w.currentPhase,
            w.totalPhases, w.stateVersion, w.activeMilliseconds, w.runningSince, w.failureReason, w.correlationID,
            w.budget?.json.serialized(), w.spend.json.serialized(), w.finalizedAt,
        ]
    }

    private static func arguments(_ w: Workflow) -> StatementArguments {
        let values: [(any DatabaseValueConvertible)?] = [
            w.id, w.name, w.description, w.status.rawValue, w.archived, w.priority.rawValue,
            w.agentRequirements.json.serialized(), w.dependencies.json.serialized(),
            w.configuration.timeout.milliseconds, w.configuration.checkpointInterval.milliseconds,
            w.configuration.failureTolerance.rawValue, w.configuration.maxAgents, w.workspace, w.createdAt, w.updatedAt,
            w.startedAt, w.finishedAt, w.currentPhase, w.totalPhases, w.stateVersion, w.activeMilliseconds,
            w.runningSince, w.deadline, w.failureReason, w.correlationID, w.budget?.json.serialized(),
            w.spend.json.serialized(), w.finalizedAt,
        ]
        return StatementArguments(values)
    }

    /// The columns ``workflow(from:)`` reads, in its order.
    static let workflowColumns = ColumnReader.list([
        "id", "name", "description", "priority", "agent_requirements", "dependencies", "timeout_ms",
        "checkpoint_interval_ms", "failure_tolerance", "max_agents", "workspace", "created_at", "total_phases",
        "correlation_id", "status", "archived", "updated_at", "started_at", "finished_at", "current_phase",
        "state_version", "active_ms", "running_since", "failure_reason", "budget", "spend", "finalized_at",
    ])

    /// A workflow from a row of ``workflowColumns``.
    private static func workflow(from row: Row) -> Workflow {
        var c = ColumnReader(row)
        var w = Workflow(
            id: c.next(), name: c.next(), description: c.next(),
            priority: Priority(rawValue: c.next()) ?? .medium,
            agentRequirements: AgentRequirements(json: JSONValue.stored(c.optional()) ?? .null),
            dependencies: Dependencies(json: JSONValue.stored(c.optional()) ?? .null),
            configuration: WorkflowConfiguration(
                timeout: HubDuration(milliseconds: c.next()),
                checkpointInterval: HubDuration(milliseconds: c.next()),
                failureTolerance: FailureTolerance(rawValue: c.next()) ?? .low,
                maxAgents: c.optional()),
            workspace: c.next(), createdAt: c.next(), totalPhases: c.next(),
            correlationID: c.next())
        w.status = WorkflowStatus(rawValue: c.next()) ?? .failed
        w.archived = c.next()
        w.updatedAt = c.next()
        w.startedAt = c.optional()
        w.finishedAt = c.optional()
        w.currentPhase = c.next()
        w.stateVersion = c.next()
        w.activeMilliseconds = c.next()
        w.runningSince = c.optional()
        w.failureReason = c.optional()
        w.budget = Budget(json: JSONValue.stored(c.optional()))
        w.spend = Spend(json: JSONValue.stored(c.optional()))
        w.finalizedAt = c.optional()
        return w
    }

    // MARK: Phases

    func phases(of workflowID: String) throws -> [Phase] {
        try Array(
            Row.fetchCursor(
                db.cachedStatement(sql: "SELECT * FROM phases WHERE workflow_id = ? ORDER BY phase_id"),
                arguments: [workflowID]
            )
            .map { row in
                var p = Phase(
                    workflowID: row["workflow_id"], phaseID: row["phase_id"], name: row["name"],
                    status: PhaseStatus(rawValue: row["status"]) ?? .pending)
                p.startedAt = row["started_at"]
                p.completedAt = row["completed_at"]
                return p
            })
    }

    func insert(_ phases: [Phase]) throws {
        let statement = try db.cachedStatement(
            sql:
                "INSERT INTO phases (workflow_id, phase_id, name, status, started_at, completed_at) VALUES (?,?,?,?,?,?)"
        )
        for p in phases {
            try statement.execute(arguments: [
                p.workflowID, p.phaseID, p.name, p.status.rawValue, p.startedAt, p.completedAt,
            ])
        }
    }

    func update(_ p: Phase) throws {
        try db.cachedStatement(
            sql:
                "UPDATE phases SET name = ?, status = ?, started_at = ?, completed_at = ? WHERE workflow_id = ? AND phase_id = ?"
        ).execute(arguments: [p.name, p.status.rawValue, p.startedAt, p.completedAt, p.workflowID, p.phaseID])
    }
}
