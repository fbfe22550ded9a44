import Foundation
import HubCore
import HubEngine
import HubTesting
import Testing

/// The README's (and `scripts/demo.sh`'s) real run: a workflow with dependent code,
/// test and docs tasks, two of them sharing a file, carried to completion by three
/// `agent` processes started together.
@Suite struct DispatchReadmeRunTests {
    /// Each code task writes its line in two halves with a pause between: if the two
    /// tasks sharing `src/login.txt` ever ran at once, their halves would interleave.
    static let workflow = #"""
        {
          "name": "Login feature",
          "priority": "high",
          "phases": [
            {"name": "implementation", "tasks": [
              {"task_id": "write_login", "role": "code", "files": ["src/login.txt"], "estimate": "1s",
               "command": "printf 'login(): ' >> src/login.txt; sleep 0.2; printf 'checks the password\\n' >> src/login.txt"},
              {"task_id": "write_logout", "role": "code", "files": ["src/login.txt"], "estimate": "1s",
               "command": "printf 'logout(): ' >> src/login.txt; sleep 0.2; printf 'clears the session\\n' >> src/login.txt"}
            ]},
            {"name": "verification", "tasks": [
              {"task_id": "test_login", "role": "test", "depends_on": ["write_login", "write_logout"],
               "command": "grep -qx 'login(): checks the password' src/login.txt && grep -qx 'logout(): clears the session' src/login.txt"},
              {"task_id": "document_login", "role": "docs", "depends_on": ["test_login"],
               "command": "echo \"Log in with login(), out with logout().\" > docs/login.md"}
            ]}
          ]
        }
        """#

    static let agents: [(id: String, role: String, maxTasks: Int)] = [
        ("coder", "code", 2), ("tester", "test", 1), ("writer", "docs", 1),
    ]

    @Test func threeAgentProcessesCarryTheReadmeWorkflowToCompletion() async throws {
        let hub = try DispatchSandbox("dispatch-readme")
        defer { hub.remove() }
        for folder in ["src", "docs"] {
            try FileManager.default.createDirectory(atPath: hub.file(folder), withIntermediateDirectories: true)
        }
        // The workspace defaults to the directory `create` ran in: the sandbox.
        let created = try hub.succeed("feature_login", "create", Self.workflow)
        #expect(
            created["workspace"]?.stringValue.map { URL(fileURLWithPath: $0).standardized.path }
                == URL(fileURLWithPath: hub.directory.path).standardized.path)
        try hub.succeed("feature_login", "start")

        var processes: [SpawnedProcess] = []
        for agent in Self.agents {
            processes.append(
                try hub.launch(
                    [
                        "agent", "--id", agent.id, "--roles", agent.role, "--max-tasks", String(agent.maxTasks),
                        "--workflow", "feature_login", "--idle-delay", "50ms",
                    ], log: agent.id))
        }
        // With --workflow each agent exits once the workflow has finished; a hung one is killed.
        var exitedInTime: [Bool] = []
        for process in processes { exitedInTime.append(await ProcessWait.exit(of: process, within: .seconds(120))) }
        for (agent, (process, exited)) in zip(Self.agents, zip(processes, exitedInTime)) {
            #expect(exited, "\(agent.id) did not exit: \(hub.read("\(agent.id).log") ?? "")")
            #expect(
                exited && process.terminationStatus == 0,
                "\(agent.id) exited \(process.terminationStatus): \(hub.read("\(agent.id).log") ?? "")")
        }

        // The workflow completed by itself, every task on its first attempt.
        let state = try hub.workflowState("feature_login")
        #expect(state["status"]?.stringValue == "completed")
        #expect(state["progress_percentage"]?.doubleValue == 100)
        #expect(state["phases"]?.arrayValue?.map { $0["status"]?.stringValue } == ["completed", "completed"])

        // Each task was completed by the agent with its role.
        let agentFor = ["code": "coder", "test": "tester", "docs": "writer"]
        let tasks = try hub.tasks("feature_login")
        #expect(tasks.count == 4)
        for (id, task) in tasks {
            let role = task["role"]?.stringValue ?? "?"
            #expect(task["status"]?.stringValue == "completed", "\(id)")
            #expect(task["assigned_agent"]?.stringValue == agentFor[role], "\(id) (\(role))")
            #expect(task["attempts"]?.intValue == 1, "\(id)")
        }
        let completions = try hub.events(["event_types": ["task_completed"], "workflow_id": "feature_login"])
        var completedBy: [String: String] = [:]
        for event in completions {
            let task = event["data"]?["task_id"]?.stringValue ?? "?"
            #expect(completedBy[task] == nil, "\(task) completed twice")
            completedBy[task] = event["data"]?["agent_id"]?.stringValue
        }
        #expect(
            completedBy == [
                "write_login": "coder", "write_logout": "coder", "test_login": "tester", "document_login": "writer",
            ])
        // Dependencies held: the test ran after both code tasks, the docs after the test.
        let order = completions.compactMap { $0["data"]?["task_id"]?.stringValue }
        #expect(order.count == 4 && Array(order.suffix(2)) == ["test_login", "document_login"], "\(order)")

        // The shared file holds both lines, whole: the two tasks never ran at the same time.
        let lines = (hub.read("src/login.txt") ?? "").split(separator: "\n", omittingEmptySubsequences: false)
        #expect(
            Set(lines) == ["login(): checks the password", "logout(): clears the session", ""] && lines.count == 3,
            "src/login.txt: \(lines)")
        #expect(hub.read("docs/login.md") == "Log in with login(), out with logout().\n")

        // monitor-pool shows the three agents, with track records matching what they did.
        let pool = try hub.pool()
        #expect(Set(pool.keys) == Set(Self.agents.map(\.id)))
        var total: Int64 = 0
        for agent in Self.agents {
            let record = pool[agent.id]
            let expected = Int64(completedBy.values.filter { $0 == agent.id }.count)
            #expect(record?["tasks_completed"]?.intValue == expected, "\(agent.id): \(String(describing: record))")
            #expect(record?["tasks_failed"]?.intValue == 0)
            #expect(record?["current_load"]?.intValue == 0)
            #expect(record?["specializations"]?.arrayValue == [.string(agent.role)])
            #expect(record?["success_rate"]?.doubleValue == 100)
            total += record?["tasks_completed"]?.intValue ?? 0
        }
        #expect(total == 4)
    }
}
