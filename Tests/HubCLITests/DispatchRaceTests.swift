import Foundation
import HubCore
import HubTesting
import Testing

/// Eight processes racing to claim and complete a 200-task workflow through the
/// command line: every task is handed out and completed exactly once.
@Suite struct DispatchRaceTests {
    static let taskCount = 200
    static let agentCount = 8

    /// What one racing agent did.
    struct AgentReport: Sendable {
        var agentID: String
        /// (task_id, lease_id) of every task a claim handed it.
        var claimed: [(task: String, lease: String)] = []
        var completed: [String] = []
        /// Every command that did not succeed, with its output.
        var errors: [String] = []
        var sawWorkflowCompleted = false
        var claims = 0
    }

    /// One agent's loop, each step a separate `coordination-hub` process: register,
    /// then claim (1 to 3 tasks) and complete each lease, until a claim comes back
    /// empty and the workflow is completed. Bounded so it cannot loop forever.
    static func race(_ hub: DispatchSandbox, agentID: String, index: Int) -> AgentReport {
        var report = AgentReport(agentID: agentID)
        func run(_ arguments: [String]) -> ExecutableRunner.Outcome? {
            do {
                let outcome = try hub.run(arguments)
                if outcome.status != 0 {
                    report.errors.append("\(arguments) exited \(outcome.status): \(outcome.stdout) \(outcome.stderr)")
                    return nil
                }
                return outcome
            } catch {
                report.errors.append("\(arguments) could not run: \(error)")
                return nil
            }
        }
        let registration: JSONValue = [
            "agent_id": .string(agentID), "specializations": ["code"], "max_concurrent_tasks": 3,
        ]
        guard run(["register-agent", registration.serialized()]) != nil else { return report }
        for iteration in 0..<400 {
            let maxTasks = 1 + (index + iteration) % 3
            let claimParameters: JSONValue = ["agent_id": .string(agentID), "max_tasks": .count(maxTasks)]
            report.claims += 1
            guard let claim = run(["claim-task", claimParameters.serialized()]) else { continue }
            let tasks = claim.json["result"]?["tasks"]?.arrayValue ?? []
            if tasks.count > maxTasks {
                report.errors.append("a claim with max_tasks \(maxTasks) returned \(tasks.count) tasks")
            }
            if tasks.isEmpty {
                let status = run(["race", "get-status"])?.json["result"]?["workflow_state"]?["status"]?.stringValue
                if status == "completed" {
                    report.sawWorkflowCompleted = true
                    return report
                }
                // Others still hold the last tasks: look again shortly (a poll interval, bounded by the loop).
                Thread.sleep(forTimeInterval: 0.02)
                continue
            }
            for task in tasks {
                let taskID = task["task_id"]?.stringValue ?? "?"
                let leaseID = task["lease_id"]?.stringValue ?? "?"
                report.claimed.append((taskID, leaseID))
                let completion: JSONValue = [
                    "lease_id": .string(leaseID), "task_id": .string(taskID),
                    "result": ["by": .string(agentID)],
                ]
                if run(["complete-task", completion.serialized()]) != nil { report.completed.append(taskID) }
            }
        }
        report.errors.append("\(agentID) did not see the workflow completed within its bound of iterations")
        return report
    }

    @Test func eightProcessesClaimAndCompleteEveryTaskExactlyOnce() async throws {
        let hub = try DispatchSandbox("dispatch-race")
        defer { hub.remove() }
        let taskIDs = (0..<Self.taskCount).map { String(format: "task_%03d", $0) }
        let definition: JSONValue = [
            "name": "Race",
            "phases": [["name": "work", "tasks": .array(taskIDs.map { ["task_id": .string($0)] })]],
        ]
        let created = try hub.succeed("race", "create", definition.serialized())
        #expect(created["total_tasks"]?.intValue == Int64(Self.taskCount))
        try hub.succeed("race", "start")

        // Eight threads (not Swift tasks: the cooperative pool is as wide as the two
        // cores), each running its agent's commands one after another as processes.
        let reports = Gathered<AgentReport>()
        let group = DispatchGroup()
        for index in 0..<Self.agentCount {
            group.enter()
            let thread = Thread {
                let report = Self.race(hub, agentID: "racer_\(index)", index: index)
                reports.append(report)
                group.leave()
            }
            thread.start()
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            group.notify(queue: .global()) { continuation.resume() }
        }
        let all = reports.all
        #expect(all.count == Self.agentCount)

        // Every command succeeded: no LEASE_EXPIRED, no STORE_UNAVAILABLE, no other error.
        for report in all {
            #expect(report.errors.isEmpty, "\(report.agentID): \(report.errors.prefix(5))")
            #expect(report.sawWorkflowCompleted, "\(report.agentID) stopped before the workflow completed")
        }

        // No task was handed to two agents (or twice to one), and every lease is distinct.
        var claimedBy: [String: [String]] = [:]
        var leases = Set<String>()
        for report in all {
            for (task, lease) in report.claimed {
                claimedBy[task, default: []].append(report.agentID)
                #expect(lease.hasPrefix("lease_"), "lease id \(lease)")
                #expect(leases.insert(lease).inserted, "lease \(lease) handed out twice")
            }
        }
        #expect(Set(claimedBy.keys) == Set(taskIDs), "tasks never claimed: \(Set(taskIDs).subtracting(claimedBy.keys))")
        let twice = claimedBy.filter { $0.value.count != 1 }
        #expect(twice.isEmpty, "tasks claimed more than once: \(twice.prefix(5))")
        #expect(all.reduce(0) { $0 + $1.completed.count } == Self.taskCount)
        // The load was actually shared: more than one agent got work.
        #expect(all.filter { !$0.claimed.isEmpty }.count > 1, "one agent took everything; nothing raced")

        // The event log records exactly one completion per task, by the agent that claimed it.
        let completions = try hub.events(["event_types": ["task_completed"], "workflow_id": "race"])
        var completedBy: [String: [String]] = [:]
        for event in completions {
            let task = event["data"]?["task_id"]?.stringValue ?? "?"
            completedBy[task, default: []].append(event["data"]?["agent_id"]?.stringValue ?? "?")
        }
        #expect(Set(completedBy.keys) == Set(taskIDs))
        for task in taskIDs {
            #expect(completedBy[task]?.count == 1, "\(task) completed \(completedBy[task]?.count ?? 0) times")
            #expect(completedBy[task] == claimedBy[task], "\(task) completed by another agent than its claimer")
        }
        let assignments = try hub.events(["event_types": ["task_assigned"], "workflow_id": "race"])
        #expect(assignments.count == Self.taskCount, "a task was assigned more than once")
        let retries = try hub.events(["event_types": ["task_retried", "task_failed"], "workflow_id": "race"])
        #expect(retries.isEmpty, "no lease lapsed and no task failed: \(retries.prefix(3))")

        // The workflow completed by itself, every task completed with its one attempt.
        let state = try hub.workflowState("race")
        #expect(state["status"]?.stringValue == "completed")
        let tasks = try hub.tasks("race")
        #expect(tasks.count == Self.taskCount)
        for (id, task) in tasks {
            #expect(task["status"]?.stringValue == "completed", "\(id) is \(task["status"]?.stringValue ?? "?")")
            #expect(task["attempts"]?.intValue == 1, "\(id) took \(task["attempts"]?.intValue ?? -1) attempts")
        }

        // The pool's records agree: each agent completed what it claimed, and holds nothing.
        let pool = try hub.pool()
        for report in all {
            let agent = pool[report.agentID]
            #expect(agent?["tasks_completed"]?.intValue == Int64(report.claimed.count), "\(report.agentID)")
            #expect(agent?["tasks_failed"]?.intValue == 0)
            #expect(agent?["current_load"]?.intValue == 0)
        }
    }
}
