import Foundation

/// `hub-load dispatch URL [--agents 2] [--batch 10] [--tasks 20000]`: issue 6 (a).
///
/// Creates one running workflow of `tasks` no-op tasks in one phase, starts `agents`
/// child processes (`dispatch-agent`) that claim up to `batch` tasks at a time and
/// complete each, and measures from the first claim to the last completion.
enum DispatchScenario {
    static let target = 10_000.0
    /// Tasks per create/add-tasks request: ~25 bytes each, far below the 1 MiB body limit.
    static let tasksPerRequest = 5_000

    static func run(_ arguments: [String]) async throws -> [String: Any] {
        let options = try Options(arguments, known: ["agents", "batch", "tasks", "server-pid"])
        let agents = try options.int("agents", default: 2)
        let batch = try options.int("batch", default: 10)
        let tasks = try options.int("tasks", default: 20_000)
        let server = try serverProcess(options)
        let workflow = "load_dispatch_\(getpid())_\(Clock.monotonicNanoseconds() / 1_000_000)"

        return try await HubClient.with(options.url, connections: 2) { client in
            let setupStart = Clock.monotonicNanoseconds()
            try await createWorkflow(workflow, tasks: tasks, client: client)
            let setup = Double(Clock.monotonicNanoseconds() - setupStart) / 1e9
            note("workflow \(workflow): \(tasks) tasks created and started in \(rounded(setup)) s")

            let reports = try await runAgents(
                agents, batch: batch, workflow: workflow, url: options.url, server: server)
            let watch = reports.watch

            let status = try await client.get("/v1/workflows/\(workflow)")
            let final = try HubClient.result(
                of: "get-status", status: status.status, body: status.body, as: StatusResult.self)
            let completed = reports.agents.reduce(0) { $0 + $1.completed }
            guard let first = reports.agents.map(\.firstClaimNs).min(),
                let last = reports.agents.map(\.lastCompleteNs).max(), last > first
            else { throw LoadError("the agents completed no task") }
            let seconds = Double(last - first) / 1e9
            func samples(_ values: (AgentReport) -> [Int64]) -> [String: Any] {
                var all = Samples()
                for report in reports.agents { for value in values(report) { all.add(value) } }
                return all.summary()
            }
            let perSecond = Double(completed) / seconds
            return [
                "scenario": "dispatch", "url": options.url, "workflow_id": workflow,
                "tasks": tasks, "agents": agents, "batch": batch,
                "completed": completed, "seconds": rounded(seconds),
                "tasks_per_second": rounded(perSecond), "target_tasks_per_second": target,
                "met": perSecond >= target,
                "claims": reports.agents.reduce(0) { $0 + $1.claims },
                "claim_latency": samples(\.claimNs), "complete_latency": samples(\.completeNs),
                "claim_in_hub": samples(\.claimInHubNs), "complete_in_hub": samples(\.completeInHubNs),
                "workflow_status": final.workflowState.status,
                "tasks_completed_by_hub": final.hubToOrchestrate.executionMetrics.tasksCompleted,
                "setup_seconds": rounded(setup), "cpu": watch,
            ]
        }
    }

    /// Creates `workflow` with `tasks` tasks in one phase (create, then add-tasks in chunks) and starts it.
    static func createWorkflow(_ workflow: String, tasks: Int, client: HubClient) async throws {
        func taskList(_ range: Range<Int>) -> JSONParameter {
            .array(range.map { .object(["task_id": .string("t\($0)")]) })
        }
        let firstChunk = 0..<min(tasks, tasksPerRequest)
        let phase: JSONParameter = .object(["name": "work", "tasks": taskList(firstChunk)])
        _ = try await client.call(
            "workflows/\(workflow)/create", ["phases": .array([phase])] as Parameters, as: Ignored.self)
        var next = firstChunk.upperBound
        while next < tasks {
            let chunk = next..<min(tasks, next + tasksPerRequest)
            _ = try await client.call(
                "workflows/\(workflow)/add-tasks", ["tasks": taskList(chunk)] as Parameters, as: Ignored.self)
            next = chunk.upperBound
        }
        _ = try await client.call("workflows/\(workflow)/start", [:] as Parameters, as: Ignored.self)
    }

    /// Starts the agent processes, lets them go together once all are registered, and
    /// collects their reports.
    static func runAgents(_ count: Int, batch: Int, workflow: String, url: String, server: ServerProcess?)
        async throws -> (agents: [AgentReport], watch: [String: Any])
    {
        var children: [ChildProcess] = []
        do {
            for index in 1...count {
                children.append(
                    try ChildProcess(arguments: [
                        "dispatch-agent", url, "--id", "load_agent_\(index)", "--workflow", workflow,
                        "--batch", String(batch),
                    ]))
            }
            for child in children {
                guard let line = await child.readLine(), line == "ready" else {
                    throw LoadError("an agent process failed before it was ready (its error is above)")
                }
            }
            let watch = CPUWatch(server: server)
            for child in children { child.writeLine("go") }
            var reports: [AgentReport] = []
            for child in children {
                guard let line = await child.readLine() else {
                    throw LoadError("an agent process ended without its report (its error is above)")
                }
                do {
                    reports.append(try JSONDecoder().decode(AgentReport.self, from: Data(line.utf8)))
                } catch {
                    throw LoadError("an agent's report is not readable (\(error)): \(line.prefix(200))")
                }
            }
            for child in children {
                let status = await child.wait()
                guard status == 0 else { throw LoadError("an agent process exited with status \(status)") }
            }
            return (reports, watch.report())
        } catch {
            for child in children { child.terminate() }
            throw error
        }
    }
}

/// What one agent process did, as it reports it on its standard output.
struct AgentReport: Codable {
    var agentID: String
    var completed = 0
    var claims = 0
    var firstClaimNs: Int64 = 0
    var lastCompleteNs: Int64 = 0
    /// Latency of each claim-task and complete-task request, in nanoseconds.
    var claimNs: [Int64] = []
    var completeNs: [Int64] = []
    /// The hub's own time for each (`metrics.execution_time`), in nanoseconds.
    var claimInHubNs: [Int64] = []
    var completeInHubNs: [Int64] = []
}

/// The parts of get-status a dispatch run checks.
struct StatusResult: Decodable {
    let workflowState: WorkflowState
    let hubToOrchestrate: HubToOrchestrate

    struct WorkflowState: Decodable { let status: String }
    struct HubToOrchestrate: Decodable {
        let executionMetrics: Metrics
        enum CodingKeys: String, CodingKey { case executionMetrics = "execution_metrics" }
    }
    struct Metrics: Decodable {
        let tasksCompleted: Int
        enum CodingKeys: String, CodingKey { case tasksCompleted = "tasks_completed" }
    }
    enum CodingKeys: String, CodingKey {
        case workflowState = "workflow_state"
        case hubToOrchestrate = "hub_to_orchestrate"
    }
}
