import Foundation
import GRDB
import HubTesting
import Testing

@testable import HubStoreSQLite

/// Cost follows the work (DESIGN): the store's per-task statements search an index;
/// none walks the tasks of a whole workflow.
@Suite struct QueryPlanTests {
    func plan(_ sql: String, _ arguments: StatementArguments) throws -> [String] {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/hub.sqlite"
        // Opening the store creates the schema.
        let store = try SQLiteStore(path: path)
        _ = store
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments).map { $0["detail"] }
        }
    }

    @Test func whichContentsAreStoredIsReadFromTheIndexAlone() throws {
        let details = try plan("SELECT sha256 FROM checkpoint_contents WHERE sha256 IN (?, ?)", ["a", "b"])
        #expect(details.contains { $0.contains("COVERING INDEX") }, "\(details)")
    }

    @Test func aTasksDependentsAreFoundThroughItsLinksNotByWalkingTheWorkflow() throws {
        let details = try plan(SQLiteTransaction.dependentsQuery, ["w", "a"])
        #expect(details.first?.hasPrefix("SEARCH d") == true, "\(details)")
        #expect(!details.contains { $0.hasPrefix("SCAN") }, "\(details)")
    }

    @Test func aWorkflowsEventsAreFoundThroughTheWorkflowIndex() throws {
        let details = try plan(
            "SELECT * FROM events WHERE workflow_id = ? ORDER BY sequence ASC LIMIT ?", ["w", 10])
        #expect(details.contains { $0.contains("INDEX events_by_workflow") }, "\(details)")
        #expect(!details.contains { $0.hasPrefix("SCAN") && !$0.contains("events_by_workflow") }, "\(details)")
    }

    /// A claim reads a page of candidates in the policy's order straight from an index,
    /// also when it is for one workflow: a sort would read every ready task first.
    @Test(arguments: [false, true])
    func claimCandidatesComeInOrderFromAnIndexWithoutASort(inWorkflow: Bool) throws {
        let arguments: StatementArguments = inWorkflow ? [nil, "w", "a", "a", 40, 0] : [nil, "a", "a", 40, 0]
        let details = try plan(SQLiteTransaction.readyCandidatesQuery(inWorkflow: inWorkflow), arguments)
        let index = inWorkflow ? "tasks_claimable_in_workflow (workflow_id=? AND role=?)" : "tasks_claimable (role=?)"
        #expect(details.contains { $0.hasPrefix("SEARCH t USING INDEX " + index) }, "\(details)")
        #expect(!details.contains { $0.contains("TEMP B-TREE") }, "\(details)")
    }

    /// The tasks reserved for an agent come from the index of reserved ready tasks.
    @Test(arguments: [false, true])
    func reservedCandidatesComeFromTheReservedIndex(inWorkflow: Bool) throws {
        let arguments: StatementArguments = inWorkflow ? ["a", "w"] : ["a"]
        let details = try plan(SQLiteTransaction.reservedCandidatesQuery(inWorkflow: inWorkflow), arguments)
        #expect(details.contains { $0.hasPrefix("SEARCH t USING INDEX tasks_reserved") }, "\(details)")
    }

    /// What running tasks hold is read from an index of the running tasks that hold anything,
    /// not by reading every running task.
    @Test func aClaimReadsOnlyTheRunningTasksThatHoldFilesOrResources() throws {
        let details = try plan(SQLiteTransaction.runningHoldsQuery, [])
        #expect(details.first?.hasPrefix("SEARCH t USING INDEX tasks_holding") == true, "\(details)")
    }

    /// A phase's tasks come in order from an index of the phase, with no sort.
    @Test func aPhasesTasksComeInOrderFromItsIndex() throws {
        let details = try plan(SQLiteTransaction.phaseTasksQuery, ["w", 1])
        #expect(details == ["SEARCH tasks USING INDEX tasks_by_phase (workflow_id=? AND phase_id=?)"], "\(details)")
    }

    /// Silent agents are found through the index of when each falls silent (migration 21), and
    /// those recorded before it through the same index's NULL entries: the sweep runs before
    /// every dispatcher operation and must not read every agent.
    @Test func silentAgentsAreFoundThroughIndexesNotByReadingEveryAgent() throws {
        let queries: [(String, StatementArguments)] = [
            (SQLiteTransaction.sweepQuery, [1, 1, 1, 1]),
            ("SELECT agent_id FROM agents WHERE status IN ('available','busy') AND silent_at <= ?", [1]),
        ]
        for (sql, arguments) in queries {
            let details = try plan(sql, arguments)
            #expect(details.contains { $0.contains("USING INDEX agents_by_silence (silent_at<?)") }, "\(details)")
            #expect(!details.contains { $0.hasPrefix("SCAN agents") }, "\(details)")
        }
        let unrecorded = try plan(SQLiteTransaction.sweepQuery, [1, 1, 1, 1])
        #expect(unrecorded.contains { $0.contains("USING INDEX agents_by_silence (silent_at=?)") }, "\(unrecorded)")
    }

    /// The sweep's probe for overdue tasks, and their read, look only at running tasks past
    /// their deadline: through tasks_by_status they read every running task.
    @Test func overdueTasksAreFoundThroughTheDeadlineIndexOfRunningTasks() throws {
        let queries: [(String, StatementArguments)] = [
            (SQLiteTransaction.overdueTasksQuery, [1]),
            (SQLiteTransaction.sweepQuery, [1, 1, 1, 1]),
        ]
        for (sql, arguments) in queries {
            let details = try plan(sql, arguments)
            #expect(
                details.contains {
                    $0.contains("USING INDEX tasks_run_deadline (run_deadline_at>? AND run_deadline_at<?)")
                },
                "\(details)")
            #expect(!details.contains { $0.contains("tasks_by_status") }, "\(details)")
        }
    }
}
