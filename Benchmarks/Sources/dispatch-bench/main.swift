import BenchSupport
import Foundation
import HubCore
import HubEngine
import HubStoreSQLite

// Issue 3's in-process dispatch benchmarks, printed as JSON:
//
//   swift run -c release dispatch-bench throughput [tasks] [agents]
//       (a) durable claim→complete cycles by `agents` concurrent agents on a workflow of
//           `tasks` tasks, against a bare GRDB loop of fsynced write transactions in the
//           same run; target: cycles/s ≥ 2 × bare transactions/s.
//   swift run -c release dispatch-bench scaling [claims]
//       (b) the mean time of a claim with 1,000 and with 100,000 ready tasks, across
//           workflows and for the one workflow; target: the larger at most 2 × the smaller.
//   swift run -c release dispatch-bench ceiling [tasks] [agents]
//       The ceiling under (a): the same agents, each making two durable writes per "cycle"
//       straight through the store's group committer, each write one event row and nothing
//       else — the best a design with one appended record per operation could do with this
//       committer and disk — against the same bare loop.
//   swift run -c release dispatch-bench cost [cycles] [agents]
//       The process's CPU time (user and system, getrusage) per claim→complete cycle, for
//       `cycles` cycles by `agents` agents (default 1000 and 8) on a workflow of 2,000 tasks,
//       set-up excluded: what the operations cost, where the rates above also wait for the
//       disk, whose speed drifts by a quarter from one minute to the next here.

/// The process's CPU time so far, in seconds.
struct CPUTime {
    var user: Double
    var system: Double

    static func now() -> CPUTime {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return CPUTime(user: s(usage.ru_utime), system: s(usage.ru_stime))
    }

    static func - (a: CPUTime, b: CPUTime) -> CPUTime { CPUTime(user: a.user - b.user, system: a.system - b.system) }
}

func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

func makeHub(_ label: String) throws -> (Hub, ScratchDirectory) {
    let directory = try ScratchDirectory(label)
    var configuration = Configuration()
    // Agents do not heartbeat during the run; a long interval keeps their leases.
    configuration.heartbeatInterval = .hours(1)
    let store = try SQLiteStore(path: (directory.path as NSString).appendingPathComponent("hub.sqlite"))
    return (Hub(store: store, stateDirectory: directory.path, configuration: configuration, workingDirectory: directory.path), directory)
}

func perform(_ hub: Hub, _ workflow: String?, _ operation: String, _ parameters: JSONValue) async throws -> JSONValue {
    let response = await hub.perform(OperationRequest(workflowID: workflow, operation: operation, parameters: parameters))
    if let error = response.error { throw WorkloadError("\(operation): \(error)") }
    return response.json["result"] ?? .null
}

func workflow(_ hub: Hub, tasks: Int) async throws {
    let list: [JSONValue] = (0..<tasks).map { ["task_id": .string("t\($0)")] }
    _ = try await perform(hub, "bench", "create", ["phases": [["name": "work", "tasks": .array(list)]]])
    _ = try await perform(hub, "bench", "start", [:])
}

let arguments = Array(CommandLine.arguments.dropFirst())
let mode = arguments.first ?? "throughput"
let numbers = arguments.dropFirst().compactMap { Int($0) }
let clock = ContinuousClock()

// The bare loop runs before and after the measured part, and the ratio is against the
// mean of the two: the disk's speed drifts by a quarter from one minute to the next here,
// and one measurement on one side of the run made the ratio follow that drift.
func bareRate() throws -> Double {
    let bare = try BareGRDBWorkload()
    defer { try? bare.close() }
    let transactions = 2_000
    let elapsed = try clock.measure { for index in 0..<transactions { try bare.transaction(index) } }
    return Double(transactions) / seconds(elapsed)
}

func report(_ name: String, tasks: Int, agents: Int, cycles: Double, bare: (Double, Double)) {
    let bareMean = (bare.0 + bare.1) / 2
    print(
        "{\"benchmark\": \"\(name)\", \"tasks\": \(tasks), \"agents\": \(agents), "
            + "\"cycles_per_second\": \(String(format: "%.1f", cycles)), \"bare_transactions_per_second\": \(String(format: "%.1f", bareMean)), "
            + "\"bare_before\": \(String(format: "%.1f", bare.0)), \"bare_after\": \(String(format: "%.1f", bare.1)), "
            + "\"ratio\": \(String(format: "%.3f", cycles / bareMean)), \"target_ratio_at_least\": 2}")
}

switch mode {
case "ceiling":
    let tasks = numbers.first ?? 10_000
    let agents = numbers.dropFirst().first ?? 8
    let bareBefore = try bareRate()
    let (hub, directory) = try makeHub("ceiling")
    let store = hub.store
    let perAgent = tasks / agents
    let elapsed = try await clock.measure {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<agents {
                group.addTask {
                    for index in 0..<(2 * perAgent) {
                        let draft = EventDraft(eventType: "bench.write", workflowID: nil, phase: 0, subject: "agent\(n)")
                        _ = try await store.write { writer in
                            try writer.append(draft, eventID: "e\(n)-\(index)", timestamp: Int64(index))
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
    }
    try await store.close()
    directory.remove()
    let bareAfter = try bareRate()
    report("ceiling: two one-row durable writes per cycle", tasks: perAgent * agents, agents: agents,
        cycles: Double(perAgent * agents) / seconds(elapsed), bare: (bareBefore, bareAfter))
case "cost":
    let cycles = numbers.first ?? 1_000
    let agents = max(1, numbers.dropFirst().first ?? 8)
    let tasks = 2_000
    guard cycles <= tasks else { throw WorkloadError("at most \(tasks) cycles") }
    let (hub, directory) = try makeHub("cost")
    try await workflow(hub, tasks: tasks)
    for n in 0..<agents { _ = try await perform(hub, nil, "register-agent", ["agent_id": .string("agent\(n)")]) }
    let before = CPUTime.now()
    let elapsed = try await clock.measure {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<agents {
                group.addTask {
                    for _ in stride(from: n, to: cycles, by: agents) {
                        let claimed = try await perform(hub, nil, "claim-task", ["agent_id": .string("agent\(n)")])
                        guard let task = claimed["tasks"]?.arrayValue?.first, let lease = task["lease_id"] else {
                            throw WorkloadError("agent\(n) found no task")
                        }
                        _ = try await perform(hub, nil, "complete-task", ["lease_id": lease])
                    }
                }
            }
            try await group.waitForAll()
        }
    }
    let used = CPUTime.now() - before
    try await hub.store.close()
    directory.remove()
    func perCycle(_ s: Double) -> String { String(format: "%.1f", s / Double(cycles) * 1e6) }
    print(
        "{\"benchmark\": \"claim→complete CPU cost\", \"cycles\": \(cycles), \"agents\": \(agents), "
            + "\"cycles_per_second\": \(String(format: "%.1f", Double(cycles) / seconds(elapsed))), "
            + "\"cpu_us_per_cycle\": \(perCycle(used.user + used.system)), \"user_us_per_cycle\": \(perCycle(used.user)), "
            + "\"system_us_per_cycle\": \(perCycle(used.system))}")
case "scaling":
    let claims = numbers.first ?? 300
    // Claims across workflows (the policy's order over every ready task) and for one
    // workflow (`workflow_id` given), which an index of its own keeps from sorting them all.
    var means: [String: Double] = [:]
    for scoped in [false, true] {
        for size in [1_000, 100_000] {
            let (hub, directory) = try makeHub("scaling")
            try await workflow(hub, tasks: size)
            _ = try await perform(hub, nil, "register-agent", ["agent_id": "a", "max_concurrent_tasks": 1000])
            let elapsed = try await clock.measure {
                for _ in 0..<claims { _ = try await perform(hub, scoped ? "bench" : nil, "claim-task", ["agent_id": "a"]) }
            }
            means["\(scoped ? "in_workflow_" : "")\(size / 1000)k"] = seconds(elapsed) / Double(claims) * 1000
            try await hub.store.close()
            directory.remove()
        }
    }
    func mean(_ key: String) -> String { String(format: "%.3f", means[key] ?? 0) }
    func ratio(_ large: String, _ small: String) -> String {
        String(format: "%.2f", (means[large] ?? 0) / max(means[small] ?? 0, 1e-9))
    }
    print(
        "{\"benchmark\": \"claim scaling\", \"claims\": \(claims), \"mean_ms_1k\": \(mean("1k")), "
            + "\"mean_ms_100k\": \(mean("100k")), \"ratio\": \(ratio("100k", "1k")), "
            + "\"mean_ms_1k_in_workflow\": \(mean("in_workflow_1k")), \"mean_ms_100k_in_workflow\": \(mean("in_workflow_100k")), "
            + "\"ratio_in_workflow\": \(ratio("in_workflow_100k", "in_workflow_1k")), \"target_ratio_at_most\": 2}")
default:
    let tasks = numbers.first ?? 10_000
    let agents = numbers.dropFirst().first ?? 8
    let bareBefore = try bareRate()
    let (hub, directory) = try makeHub("throughput")
    try await workflow(hub, tasks: tasks)
    for n in 0..<agents { _ = try await perform(hub, nil, "register-agent", ["agent_id": .string("agent\(n)")]) }
    let elapsed = try await clock.measure {
        try await withThrowingTaskGroup(of: Int.self) { group in
            for n in 0..<agents {
                group.addTask {
                    var done = 0
                    while true {
                        let claimed = try await perform(hub, nil, "claim-task", ["agent_id": .string("agent\(n)")])
                        guard let task = claimed["tasks"]?.arrayValue?.first, let lease = task["lease_id"] else { return done }
                        _ = try await perform(hub, nil, "complete-task", ["lease_id": lease])
                        done += 1
                    }
                }
            }
            var total = 0
            for try await count in group { total += count }
            guard total == tasks else { throw WorkloadError("completed \(total) of \(tasks) tasks") }
        }
    }
    try await hub.store.close()
    directory.remove()
    let bareAfter = try bareRate()
    report("claim→complete throughput", tasks: tasks, agents: agents, cycles: Double(tasks) / seconds(elapsed), bare: (bareBefore, bareAfter))
}
