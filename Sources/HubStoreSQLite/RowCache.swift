import GRDB
import HubCore

/// The workflows, agents, tasks and leases as the writer's connection last read or wrote
/// them, so that a claim or a completion reads the rows it touches from memory instead of
/// decoding them from SQLite again (they are read by almost every dispatcher operation and
/// took 12.3 % of a dispatch-bench profile, docs/PERFORMANCE.md "Session 9").
///
/// It holds exactly what the database holds, which three rules keep true:
/// - Every write of these rows by this connection goes through ``SQLiteTransaction``,
///   which writes the row through to the cache once its statement has succeeded (or
///   forgets the rows a statement may have changed).
/// - A turn that rolls anything back — an operation's savepoint, or the whole
///   transaction — forgets everything (``clear()``): rollbacks are rare, and what a
///   rolled-back savepoint wrote is not told apart from what earlier ones did.
/// - Another connection's commit (another process, a one-shot command) changes
///   `PRAGMA data_version`, which each turn reads once it holds the write lock
///   (``beginTurn(_:)``); a change forgets everything.
///
/// Only the writer's thread touches it, during a turn.
final class RowCache: @unchecked Sendable {
    /// Entries kept per table; a table that outgrows it is forgotten and fills again.
    static let capacity = 4_096

    struct TaskKey: Hashable {
        var workflowID: String
        var taskID: String
    }

    private var workflows: [String: Workflow] = [:]
    private var agents: [String: Agent] = [:]
    private var tasks: [TaskKey: WorkTask] = [:]
    private var leases: [String: Lease] = [:]
    private var dataVersion: Int64?

    /// Forgets everything unless the database is as this connection left it. Call it
    /// inside the turn's transaction, after `BEGIN IMMEDIATE`: from then on no other
    /// connection can write until the turn ends.
    func beginTurn(_ db: Database) throws {
        let version = try Int64.fetchOne(db.cachedStatement(sql: "PRAGMA data_version"))
        if version != dataVersion {
            clear()
            dataVersion = version
        }
    }

    func clear() {
        workflows.removeAll(keepingCapacity: true)
        agents.removeAll(keepingCapacity: true)
        tasks.removeAll(keepingCapacity: true)
        leases.removeAll(keepingCapacity: true)
    }

    func workflow(_ id: String) -> Workflow? { workflows[id] }
    func agent(_ id: String) -> Agent? { agents[id] }
    func task(_ workflowID: String, _ taskID: String) -> WorkTask? {
        tasks[TaskKey(workflowID: workflowID, taskID: taskID)]
    }
    func lease(_ id: String) -> Lease? { leases[id] }

    func keep(_ w: Workflow) { Self.put(w, at: w.id, in: &workflows) }
    func keep(_ a: Agent) { Self.put(a, at: a.agentID, in: &agents) }
    func keep(_ t: WorkTask) { Self.put(t, at: TaskKey(workflowID: t.workflowID, taskID: t.taskID), in: &tasks) }
    func keep(_ l: Lease) { Self.put(l, at: l.leaseID, in: &leases) }

    func forgetAgent(_ id: String) { agents[id] = nil }
    func forgetTask(_ workflowID: String, _ taskID: String) {
        tasks[TaskKey(workflowID: workflowID, taskID: taskID)] = nil
    }
    func forgetTasks(of workflowID: String) { tasks = tasks.filter { $0.key.workflowID != workflowID } }

    private static func put<Key: Hashable, Value>(_ value: Value, at key: Key, in table: inout [Key: Value]) {
        if table.count >= capacity && table[key] == nil { table.removeAll(keepingCapacity: true) }
        table[key] = value
    }
}
