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
        _ = page.append(contentsOf: [query.limit, query.offset])
        let rows = try Row.fetchAll(
            db,
            sql:
                "SELECT \(Self.workflowColumns) FROM workflows \(filter) ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
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
                  deadline_at, failure_reason, correlation_id, budget, spend)
                VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
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
          running_since = ?, failure_reason = ?, correlation_id = ?, budget = ?, spend = ?
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
            w.budget?.json.serialized(), w.spend.json.serialized(),
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
            w.spend.json.serialized(),
        ]
        return StatementArguments(values)
    }

    /// The columns ``workflow(from:)`` reads, in its order.
    static let workflowColumns = ColumnReader.list([
        "id", "name", "description", "priority", "agent_requirements", "dependencies", "timeout_ms",
        "checkpoint_interval_ms", "failure_tolerance", "max_agents", "workspace", "created_at", "total_phases",
        "correlation_id", "status", "archived", "updated_at", "started_at", "finished_at", "current_phase",
        "state_version", "active_ms", "running_since", "failure_reason", "budget", "spend",
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

    // MARK: Tasks

    func tasks(of workflowID: String) throws -> [WorkTask] {
        try Array(
            Row.fetchCursor(
                db.cachedStatement(
                    sql: "SELECT \(Self.taskColumns) FROM tasks WHERE workflow_id = ? ORDER BY position"),
                arguments: [workflowID]
            )
            .map(Self.task(from:)))
    }

    func insert(_ tasks: [WorkTask]) throws {
        guard let first = tasks.first else { return }
        var position =
            try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT COALESCE(MAX(position), 0) FROM tasks WHERE workflow_id = ?"),
                arguments: [first.workflowID])
            ?? 0
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO tasks (workflow_id, task_id, phase_id, description, role, status, depends_on, files, resources,
                  priority, estimate_ms, timeout_ms, max_retries, attempts, risky, evidence, command, payload,
                  assigned_agent, result, last_error, created_at, started_at, completed_at, execution_ms,
                  critical_path_ms, reserved_for, run_deadline_at, priority_rank, position, workflow_priority_rank)
                VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,
                  (SELECT CASE priority WHEN 'high' THEN 3 WHEN 'low' THEN 1 ELSE 2 END FROM workflows WHERE id = ?))
                """)
        let dependency = try db.cachedStatement(
            sql: "INSERT OR IGNORE INTO task_dependencies (workflow_id, depends_on, task_id) VALUES (?,?,?)")
        // The phases' counters move once per phase, not once per task (a restore inserts thousands).
        var counts: [PhaseKey: (total: Int, open: Int, failed: Int)] = [:]
        for t in tasks {
            position += 1
            var args = Self.arguments(t)
            _ = args.append(contentsOf: [position, t.workflowID])
            try statement.execute(arguments: args)
            for d in t.dependsOn { try dependency.execute(arguments: [t.workflowID, d, t.taskID]) }
            let delta = Self.countDelta(t.status, sign: 1)
            let key = PhaseKey(workflowID: t.workflowID, phaseID: t.phaseID)
            var c = counts[key] ?? (0, 0, 0)
            c.total += 1
            c.open += delta.open
            c.failed += delta.failed
            counts[key] = c
        }
        for (key, c) in counts.sorted(by: { ($0.key.workflowID, $0.key.phaseID) < ($1.key.workflowID, $1.key.phaseID) })
        {
            try adjustCounts(key.workflowID, key.phaseID, total: c.total, open: c.open, failed: c.failed)
        }
    }

    private struct PhaseKey: Hashable {
        var workflowID: String
        var phaseID: Int
    }

    /// How a task entering (`sign` 1) or leaving (-1) `status` moves a phase's open and failed counters.
    private static func countDelta(_ status: TaskStatus, sign: Int) -> (open: Int, failed: Int) {
        (status.isSettled ? 0 : sign, (status == .failed || status == .cancelled) ? sign : 0)
    }

    /// Keeps the phase's counters in step with a task entering (`sign` 1) or leaving (-1) a status.
    private func adjustCounts(_ workflowID: String, _ phaseID: Int, total: Int, status: TaskStatus, sign: Int) throws {
        let delta = Self.countDelta(status, sign: sign)
        try adjustCounts(workflowID, phaseID, total: total, open: delta.open, failed: delta.failed)
    }

    private func adjustCounts(_ workflowID: String, _ phaseID: Int, total: Int, open: Int, failed: Int) throws {
        guard total != 0 || open != 0 || failed != 0 else { return }
        try db.cachedStatement(
            sql: """
                UPDATE phases SET total_tasks = total_tasks + ?, open_tasks = open_tasks + ?, failed_tasks = failed_tasks + ?
                WHERE workflow_id = ? AND phase_id = ?
                """
        ).execute(arguments: [total, open, failed, workflowID, phaseID])
    }

    func update(_ t: WorkTask) throws {
        // The task as it stands, for its phase's counters: from the cache when it holds it.
        let before: CountedFields? =
            if let old = cache?.task(t.workflowID, t.taskID) {
                try cached(CountedFields(status: old.status, phaseID: old.phaseID, createdAt: old.createdAt)) {
                    try storedCountedFields(t)
                }
            } else {
                try storedCountedFields(t)
            }
        if let before, let old = before.status {
            let oldPhase = before.phaseID
            if oldPhase == t.phaseID {
                let leaving = Self.countDelta(old, sign: -1)
                let entering = Self.countDelta(t.status, sign: 1)
                try adjustCounts(
                    t.workflowID, t.phaseID, total: 0, open: leaving.open + entering.open,
                    failed: leaving.failed + entering.failed)
            } else {
                try adjustCounts(t.workflowID, oldPhase, total: -1, status: old, sign: -1)
                try adjustCounts(t.workflowID, t.phaseID, total: 1, status: t.status, sign: 1)
            }
        }
        // The key never changes and the creation time seldom does (a restore can bring back an
        // older one); leaving them out of the SET keeps SQLite from rewriting every index's
        // entry (all of them hold the key) on each update.
        if let before, before.createdAt != t.createdAt {
            try db.cachedStatement(sql: "UPDATE tasks SET created_at = ? WHERE workflow_id = ? AND task_id = ?")
                .execute(arguments: [t.createdAt, t.workflowID, t.taskID])
        }
        // Bound through SQLite's C API (RawStatement): every claim and completion runs it.
        var update = try RawStatement(
            db.cachedStatement(
                sql: """
                    UPDATE tasks SET phase_id = ?, description = ?, role = ?, status = ?,
                      depends_on = ?, files = ?, resources = ?, priority = ?, estimate_ms = ?, timeout_ms = ?, max_retries = ?,
                      attempts = ?, risky = ?, evidence = ?, command = ?, payload = ?, assigned_agent = ?, result = ?,
                      last_error = ?, started_at = ?, completed_at = ?, execution_ms = ?,
                      critical_path_ms = ?, reserved_for = ?, run_deadline_at = ?, priority_rank = ?
                    WHERE workflow_id = ? AND task_id = ?
                    """), in: db)
        try update.bind(t.phaseID)
        try update.bind(t.description)
        try update.bind(t.role)
        try update.bind(t.status.rawValue)
        try update.bind(Self.list(t.dependsOn))
        try update.bind(Self.list(t.files))
        try update.bind(Self.storedResources(t))
        try update.bind(t.priority.rawValue)
        try update.bind(t.estimate?.milliseconds)
        try update.bind(t.timeout?.milliseconds)
        try update.bind(t.maxRetries)
        try update.bind(t.attempts)
        try update.bind(t.risky)
        try update.bind(t.evidence?.serialized())
        try update.bind(t.command)
        try update.bind(t.payload?.serialized())
        try update.bind(t.assignedAgent)
        try update.bind(t.result?.serialized())
        try update.bind(t.lastError?.serialized())
        try update.bind(t.startedAt)
        try update.bind(t.completedAt)
        try update.bind(t.executionMilliseconds)
        try update.bind(t.criticalPathMilliseconds)
        try update.bind(t.reservedFor)
        try update.bind(t.runDeadline)
        try update.bind(t.priority.rank)
        try update.bind(t.workflowID)
        try update.bind(t.taskID)
        try update.run()
        if before != nil { cache?.keep(t) }
    }

    /// What ``update(_:)`` needs of the stored task: its status, phase and creation time.
    private struct CountedFields: Equatable {
        var status: TaskStatus?
        var phaseID: Int
        var createdAt: Int64
    }

    private func storedCountedFields(_ t: WorkTask) throws -> CountedFields? {
        try Row.fetchOne(
            db.cachedStatement(
                sql: "SELECT status, phase_id, created_at FROM tasks WHERE workflow_id = ? AND task_id = ?"),
            arguments: [t.workflowID, t.taskID]
        ).map { row in CountedFields(status: TaskStatus(rawValue: row[0]), phaseID: row[1], createdAt: row[2]) }
    }

    func removeTasks(_ taskIDs: [String], of workflowID: String) throws {
        let status = try db.cachedStatement(
            sql: "SELECT status, phase_id FROM tasks WHERE workflow_id = ? AND task_id = ?")
        let delete = try db.cachedStatement(sql: "DELETE FROM tasks WHERE workflow_id = ? AND task_id = ?")
        let links = try db.cachedStatement(
            sql: "DELETE FROM task_dependencies WHERE workflow_id = ? AND (task_id = ? OR depends_on = ?)")
        for id in taskIDs {
            guard let row = try Row.fetchOne(status, arguments: [workflowID, id]),
                let old = TaskStatus(rawValue: row["status"])
            else { continue }
            try adjustCounts(workflowID, row["phase_id"], total: -1, status: old, sign: -1)
            try delete.execute(arguments: [workflowID, id])
            try links.execute(arguments: [workflowID, id, id])
            cache?.forgetTask(workflowID, id)
        }
    }

    func removeContents(of workflowID: String) throws {
        try db.execute(sql: "DELETE FROM tasks WHERE workflow_id = ?", arguments: [workflowID])
        cache?.forgetTasks(of: workflowID)
        try db.execute(sql: "DELETE FROM task_dependencies WHERE workflow_id = ?", arguments: [workflowID])
        try db.execute(sql: "DELETE FROM phases WHERE workflow_id = ?", arguments: [workflowID])
    }

    /// A list column's JSON; most lists are empty.
    private static func list(_ values: [String]) -> String {
        values.isEmpty ? "[]" : JSONValue.strings(values).serialized()
    }

    private static func arguments(_ t: WorkTask) -> StatementArguments {
        StatementArguments(values(t))
    }

    /// A task's column values in the INSERT's order; `forUpdate` leaves out the key and the
    /// creation time, as the UPDATE does.
    /// A task's resources as stored: an object with its names in order.
    private static func storedResources(_ t: WorkTask) -> String {
        guard !t.resources.isEmpty else { return "{}" }
        var resources: JSONValue = .emptyObject
        for name in t.resources.keys.sorted() { resources[name] = .count(t.resources[name] ?? 1) }
        return resources.serialized()
    }

    private static func values(_ t: WorkTask) -> [(any DatabaseValueConvertible)?] {
        [
            t.workflowID, t.taskID, t.phaseID, t.description, t.role, t.status.rawValue,
            Self.list(t.dependsOn), Self.list(t.files), Self.storedResources(t),
            t.priority.rawValue, t.estimate?.milliseconds, t.timeout?.milliseconds, t.maxRetries, t.attempts, t.risky,
            t.evidence?.serialized(), t.command, t.payload?.serialized(), t.assignedAgent, t.result?.serialized(),
            t.lastError?.serialized(), t.createdAt, t.startedAt, t.completedAt, t.executionMilliseconds,
            t.criticalPathMilliseconds, t.reservedFor,
            t.runDeadline, t.priority.rank,
        ]
    }

    /// The columns ``task(from:)`` reads, in its order.
    static let taskColumnNames = [
        "workflow_id", "task_id", "phase_id", "description", "created_at", "role", "status", "depends_on", "files",
        "resources", "priority", "estimate_ms", "timeout_ms", "max_retries", "attempts", "risky", "evidence",
        "command", "payload", "assigned_agent", "result", "last_error", "started_at", "completed_at", "execution_ms",
        "critical_path_ms", "reserved_for", "run_deadline_at",
    ]
    static let taskColumns = ColumnReader.list(taskColumnNames)

    /// A task from a row of ``taskColumns``.
    static func task(from row: Row) -> WorkTask {
        var c = ColumnReader(row)
        var t = WorkTask(
            workflowID: c.next(), taskID: c.next(), phaseID: c.next(), description: c.next(), createdAt: c.next())
        t.role = c.optional()
        t.status = TaskStatus(rawValue: c.next()) ?? .pending
        t.dependsOn = JSONValue.stored(c.optional())?.arrayValue?.compactMap(\.stringValue) ?? []
        t.files = JSONValue.stored(c.optional())?.arrayValue?.compactMap(\.stringValue) ?? []
        var resources: [String: Int] = [:]
        for (k, v) in JSONValue.stored(c.optional())?.objectValue ?? [:] { resources[k] = Int(v.intValue ?? 1) }
        t.resources = resources
        t.priority = Priority(rawValue: c.next()) ?? .medium
        t.estimate = (c.optional() as Int64?).map(HubDuration.init(milliseconds:))
        t.timeout = (c.optional() as Int64?).map(HubDuration.init(milliseconds:))
        t.maxRetries = c.next()
        t.attempts = c.next()
        t.risky = c.next()
        t.evidence = JSONValue.stored(c.optional())
        t.command = c.optional()
        t.payload = JSONValue.stored(c.optional())
        t.assignedAgent = c.optional()
        t.result = JSONValue.stored(c.optional())
        t.lastError = JSONValue.stored(c.optional())
        t.startedAt = c.optional()
        t.completedAt = c.optional()
        t.executionMilliseconds = c.optional()
        t.criticalPathMilliseconds = c.next()
        t.reservedFor = c.optional()
        t.runDeadline = c.optional()
        return t
    }

    // MARK: Events

    func events(_ query: EventQuery) throws -> [HubEvent] {
        var clauses: [String] = []
        var arguments: StatementArguments = []
        if let after = query.afterSequence {
            clauses.append("sequence > ?")
            _ = arguments.append(contentsOf: [after])
        }
        if let workflowID = query.workflowID {
            clauses.append("workflow_id = ?")
            _ = arguments.append(contentsOf: [workflowID])
        }
        if let before = query.beforeSequence {
            clauses.append("sequence < ?")
            _ = arguments.append(contentsOf: [before])
        }
        if let since = query.since {
            clauses.append("timestamp >= ?")
            _ = arguments.append(contentsOf: [since])
        }
        if let until = query.until {
            clauses.append("timestamp <= ?")
            _ = arguments.append(contentsOf: [until])
        }
        if !query.severities.isEmpty {
            clauses.append("severity IN (\(query.severities.map { _ in "?" }.joined(separator: ",")))")
            for s in query.severities { _ = arguments.append(contentsOf: [s.rawValue]) }
        }
        if !query.eventTypes.isEmpty {
            clauses.append("event_type IN (\(query.eventTypes.map { _ in "?" }.joined(separator: ",")))")
            for t in query.eventTypes { _ = arguments.append(contentsOf: [t]) }
        }
        let filter = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        _ = arguments.append(contentsOf: [query.limit])
        let order = query.descending ? "DESC" : "ASC"
        // Through the statement cache: a followed stream runs the same query after every
        // publish, and compiling it each time was about a tenth of the server's CPU in the
        // SSE benchmark. The text varies only with which filters are set and the length of
        // the type and severity lists (at most 100 and 4), so the cache stays small.
        return try Row.fetchAll(
            db.cachedStatement(
                sql: "SELECT \(Self.eventColumns) FROM events \(filter) ORDER BY sequence \(order) LIMIT ?"),
            arguments: arguments
        ).map(Self.event(from:))
    }

    func lastEventSequence() throws -> Int64 {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(sequence), 0) FROM events")) ?? 0
    }

    /// Rows per INSERT statement: a batch is cut greedily into statements of these sizes, so
    /// four cached statements serve every batch.
    private static let rowsPerStatement = [64, 16, 4, 1]

    func append(_ events: [EventToAppend], timestamp: Int64) throws -> [HubEvent] {
        // Several rows per statement: AUTOINCREMENT reads and writes its counter once per
        // statement, and the statement's set-up is paid once, not once per event.
        var out: [HubEvent] = []
        out.reserveCapacity(events.count)
        var start = 0
        while start < events.count {
            let rows = Self.rowsPerStatement.first { $0 <= events.count - start } ?? 1
            let chunk = events[start..<(start + rows)]
            var insert = try RawStatement(db.cachedStatement(sql: Self.insertEvents(rows: rows)), in: db)
            for e in chunk {
                let d = e.draft
                try insert.bind(e.eventID)
                try insert.bind(d.eventType)
                try insert.bind(d.workflowID)
                try insert.bind(d.phase)
                try insert.bind(d.severity.rawValue)
                try insert.bind(d.source)
                try insert.bind(timestamp)
                try insert.bind(e.serializedData)
                try insert.bind(d.subject)
                try insert.bind(d.metadata.correlationID)
                try insert.bind(d.metadata.causationID)
                try insert.bind(d.metadata.tags.isEmpty ? nil : JSONValue.strings(d.metadata.tags).serialized())
                try insert.bind(d.dedupID)
            }
            try insert.run()
            // One statement of one writer: its rows took consecutive sequences, the last reported here.
            var sequence = db.lastInsertedRowID - Int64(rows) + 1
            for e in chunk {
                let d = e.draft
                out.append(
                    HubEvent(
                        eventID: e.eventID, sequence: sequence, eventType: d.eventType, workflowID: d.workflowID,
                        phase: d.phase, severity: d.severity, source: d.source, timestamp: timestamp, data: d.data,
                        subject: d.subject, metadata: d.metadata, dedupID: d.dedupID))
                sequence += 1
            }
            start += rows
        }
        appended?.events += out
        return out
    }

    private static func insertEvents(rows: Int) -> String {
        """
        INSERT INTO events (event_id, event_type, workflow_id, phase, severity, source, timestamp, data, subject,
          correlation_id, causation_id, tags, dedup_id) VALUES 
        """ + Array(repeating: "(?,?,?,?,?,?,?,?,?,?,?,?,?)", count: rows).joined(separator: ",")
    }

    /// The columns ``event(from:)`` reads, in its order.
    static let eventColumns = ColumnReader.list([
        "event_id", "sequence", "event_type", "workflow_id", "phase", "severity", "source", "timestamp", "data_gz",
        "data", "subject", "correlation_id", "causation_id", "tags", "dedup_id",
    ])

    /// An event from a row of ``eventColumns``.
    static func event(from row: Row) -> HubEvent {
        var c = ColumnReader(row)
        return HubEvent(
            eventID: c.next(), sequence: c.next(), eventType: c.next(), workflowID: c.optional(), phase: c.next(),
            severity: Severity(rawValue: c.next()) ?? .info, source: c.next(), timestamp: c.next(),
            data: eventData(compressed: c.optional(), plain: c.optional()), subject: c.next(),
            metadata: EventMetadata(
                correlationID: c.optional(), causationID: c.optional(),
                tags: JSONValue.stored(c.optional())?.arrayValue?.compactMap(\.stringValue) ?? []),
            dedupID: c.optional())
    }
}
