import GRDB
import HubCore
import HubStore

/// Tasks: their rows, the phase counters that follow their status, and their removal.
extension SQLiteTransaction {
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
                  critical_path_ms, reserved_for, run_deadline_at, queued_by, priority_rank, head_before, verified_evidence,
                  position,
                  workflow_priority_rank)
                VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,
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
        // The phase seldom changes (a restore, a task moved by add-tasks): left out of the SET
        // otherwise, SQLite leaves the task's entry in tasks_by_phase alone (an assigned
        // column's every index entry is rewritten, whatever its value).
        let movesPhase = before.map { $0.phaseID != t.phaseID } ?? true
        var update = try RawStatement(
            db.cachedStatement(sql: movesPhase ? Self.taskUpdateMovingPhase : Self.taskUpdate), in: db)
        if movesPhase { try update.bind(t.phaseID) }
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
        try update.bind(t.queuedBy)
        try update.bind(t.priority.rank)
        try update.bind(t.headBefore)
        try update.bind(t.verifiedEvidence?.serialized())
        try update.bind(t.workflowID)
        try update.bind(t.taskID)
        try update.run()
        if before != nil { cache?.keep(t) }
    }

    private static let taskUpdateAssignments = """
        description = ?, role = ?, status = ?,
          depends_on = ?, files = ?, resources = ?, priority = ?, estimate_ms = ?, timeout_ms = ?, max_retries = ?,
          attempts = ?, risky = ?, evidence = ?, command = ?, payload = ?, assigned_agent = ?, result = ?,
          last_error = ?, started_at = ?, completed_at = ?, execution_ms = ?,
          critical_path_ms = ?, reserved_for = ?, run_deadline_at = ?, queued_by = ?, priority_rank = ?,
          head_before = ?, verified_evidence = ?
        WHERE workflow_id = ? AND task_id = ?
        """
    private static let taskUpdate = "UPDATE tasks SET " + taskUpdateAssignments
    private static let taskUpdateMovingPhase = "UPDATE tasks SET phase_id = ?, " + taskUpdateAssignments

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
            t.runDeadline, t.queuedBy, t.priority.rank, t.headBefore, t.verifiedEvidence?.serialized(),
        ]
    }

    /// The columns ``task(from:)`` reads, in its order.
    static let taskColumnNames = [
        "workflow_id", "task_id", "phase_id", "description", "created_at", "role", "status", "depends_on", "files",
        "resources", "priority", "estimate_ms", "timeout_ms", "max_retries", "attempts", "risky", "evidence",
        "command", "payload", "assigned_agent", "result", "last_error", "started_at", "completed_at", "execution_ms",
        "critical_path_ms", "reserved_for", "run_deadline_at", "queued_by",
        "head_before", "verified_evidence",
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
        t.queuedBy = c.optional()
        t.headBefore = c.optional()
        t.verifiedEvidence = JSONValue.stored(c.optional())
        return t
    }
}
