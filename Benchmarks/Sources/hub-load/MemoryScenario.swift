import Foundation

/// `hub-load memory URL --server-pid PID [--workflows 1000] [--tasks 100] [--agents 100] [--concurrency 4]`:
/// issue 6 (d).
///
/// Creates `workflows` workflows of `tasks` tasks each (one phase, tasks in the create
/// request) and starts them, registers `agents` agents, all through HTTP, then reads the
/// server's VmRSS (resident now) and VmHWM (the peak) from /proc/PID/status.
enum MemoryScenario {
    static let targetMiB = 200.0

    static func run(_ arguments: [String]) async throws -> [String: Any] {
        let options = try Options(arguments, known: ["server-pid", "workflows", "tasks", "agents", "concurrency"])
        guard let server = try serverProcess(options) else {
            throw LoadError("--server-pid is required: the memory read is the server's")
        }
        let workflows = try options.int("workflows", default: 1000)
        let tasks = try options.int("tasks", default: 100)
        let agents = try options.int("agents", default: 100)
        let concurrency = try options.int("concurrency", default: 4)
        let before = try server.memoryKiB()
        let prefix = "load_memory_\(getpid())"

        return try await HubClient.with(options.url, connections: concurrency) { client in
            let start = Clock.monotonicNanoseconds()
            try await forEach(1...workflows, concurrency: concurrency) { index in
                let id = "\(prefix)_w\(index)"
                let taskList = JSONParameter.array((1...tasks).map { .object(["task_id": .string("t\($0)")]) })
                let phase: JSONParameter = .object(["name": "work", "tasks": taskList])
                _ = try await client.call(
                    "workflows/\(id)/create", ["phases": .array([phase])] as Parameters, as: Ignored.self)
                _ = try await client.call("workflows/\(id)/start", [:] as Parameters, as: Ignored.self)
            }
            try await forEach(1...agents, concurrency: concurrency) { index in
                let parameters: Parameters = [
                    "agent_id": .string("\(prefix)_a\(index)"), "max_concurrent_tasks": 10,
                    "specializations": .array(["code", "test"]),
                ]
                _ = try await client.call("register-agent", parameters, as: Ignored.self)
            }
            let setup = Double(Clock.monotonicNanoseconds() - start) / 1e9
            let after = try server.memoryKiB()
            let rss = Double(after.rss) / 1024
            let hwm = Double(after.hwm) / 1024
            return [
                "scenario": "memory", "url": options.url, "workflows": workflows, "tasks_per_workflow": tasks,
                "agents": agents, "setup_seconds": rounded(setup),
                "rss_before_mib": rounded(Double(before.rss) / 1024), "rss_mib": rounded(rss), "hwm_mib": rounded(hwm),
                "target_mib": targetMiB, "met": max(rss, hwm) <= targetMiB,
            ]
        }
    }

    /// Runs `body` for each element with at most `concurrency` at a time; the first error stops the rest.
    static func forEach(
        _ elements: ClosedRange<Int>, concurrency: Int, _ body: @escaping @Sendable (Int) async throws -> Void
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var iterator = elements.makeIterator()
            for _ in 0..<concurrency {
                guard let element = iterator.next() else { break }
                group.addTask { try await body(element) }
            }
            while try await group.next() != nil {
                if let element = iterator.next() { group.addTask { try await body(element) } }
            }
        }
    }
}
