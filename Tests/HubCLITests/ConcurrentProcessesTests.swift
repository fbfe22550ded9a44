import Foundation
import HubCore
import HubTesting
import Testing

/// Several `coordination-hub` processes on one state directory at once (§1: "several
/// processes at once are safe"): nobody sees a busy store, no acknowledged change is
/// lost, and every change gets its own `state_version` (§9).
@Suite struct ConcurrentProcessesTests {
    static let workers = 8
    static let operationsPerWorker = 50

    /// One invocation and what it is expected to do.
    struct Step: Sendable {
        var workflow: String
        var arguments: [String]
        /// The task an `add-tasks` step adds.
        var addedTask: String?
    }

    /// What one invocation answered.
    struct Record: Sendable {
        var worker: Int
        var step: Step
        var exitStatus: Int32
        var errorCode: String?
        var stateVersion: Int64?
        var output: String
    }

    /// Worker `k`: creates and starts `proc_k`, then cycles add-tasks / pause / resume on it,
    /// adding a task to the shared workflow every fourth step.
    static func plan(worker k: Int) -> [Step] {
        let own = "proc_\(k)"
        var steps = [
            Step(workflow: own, arguments: [own, "create", #"{"phases": ["work"]}"#]),
            Step(workflow: own, arguments: [own, "start"]),
        ]
        for i in 0..<(operationsPerWorker - steps.count) {
            switch i % 4 {
            case 0:
                let task = "own_\(k)_\(i)"
                steps.append(
                    Step(
                        workflow: own, arguments: [own, "add-tasks", #"{"tasks": [{"task_id": "\#(task)"}]}"#],
                        addedTask: task))
            case 1: steps.append(Step(workflow: own, arguments: [own, "pause"]))
            case 2: steps.append(Step(workflow: own, arguments: [own, "resume"]))
            default:
                let task = "shared_\(k)_\(i)"
                steps.append(
                    Step(
                        workflow: "shared",
                        arguments: ["shared", "add-tasks", #"{"tasks": [{"task_id": "\#(task)", "role": "code"}]}"#],
                        addedTask: task))
            }
        }
        return steps
    }

    /// Collects the records of the worker threads.
    final class Collector: @unchecked Sendable {
        private let lock = NSLock()
        private var records: [Record] = []
        func add(_ batch: [Record]) { lock.withLock { records += batch } }
        var all: [Record] { lock.withLock { records } }
    }

    /// Runs every worker's plan on its own thread, each step a separate process, all at once.
    static func runConcurrently(_ runner: ExecutableRunner) -> [Record] {
        let collector = Collector()
        let group = DispatchGroup()
        for k in 0..<workers {
            group.enter()
            let thread = Thread {
                var batch: [Record] = []
                for step in plan(worker: k) {
                    do {
                        let outcome = try runner.run(step.arguments)
                        batch.append(
                            Record(
                                worker: k, step: step, exitStatus: outcome.status, errorCode: outcome.errorCode,
                                stateVersion: outcome.json["metrics"]?["state_version"]?.intValue,
                                output: outcome.stdout + outcome.stderr))
                    } catch {
                        batch.append(
                            Record(
                                worker: k, step: step, exitStatus: -1, errorCode: "LAUNCH_FAILED", stateVersion: nil,
                                output: "\(error)"))
                    }
                }
                collector.add(batch)
                group.leave()
            }
            thread.start()
        }
        group.wait()
        return collector.all
    }

    /// Every task id of a workflow, from `get-status`.
    static func taskIDs(_ hub: CLISandbox, _ id: String) throws -> [String] {
        let phases = try hub.workflowState(id)["phases"]?.arrayValue ?? []
        return phases.flatMap { $0["tasks"]?.arrayValue ?? [] }.compactMap { $0["task_id"]?.stringValue }
    }

    @Test func eightProcessesAtOnceLoseNoAcknowledgedChangeAndCountEveryVersion() throws {
        let hub = try CLISandbox("concurrent")
        defer { hub.remove() }
        try hub.succeed("shared", "create", #"{"phases": ["build"]}"#)
        try hub.succeed("shared", "start")

        let records = Self.runConcurrently(hub.runner)
        #expect(records.count == Self.workers * Self.operationsPerWorker)

        // No busy store reaches a user; in fact nothing here should fail at all.
        let busy = records.filter { $0.errorCode == "STORE_UNAVAILABLE" }
        #expect(busy.isEmpty, "STORE_UNAVAILABLE reached a user: \(busy.first?.output ?? "")")
        let failed = records.filter { $0.exitStatus != 0 }
        #expect(
            failed.isEmpty,
            "\(failed.count) failed, e.g. \(failed.first.map { "\($0.step.arguments): \($0.output)" } ?? "")")
        let succeeded = records.filter { $0.exitStatus == 0 }

        // Every acknowledged task is there afterwards, and nothing else.
        let workflows = ["shared"] + (0..<Self.workers).map { "proc_\($0)" }
        for id in workflows {
            let acknowledged = succeeded.filter { $0.step.workflow == id }.compactMap(\.step.addedTask)
            let stored = try Self.taskIDs(hub, id)
            #expect(
                Set(stored) == Set(acknowledged), "\(id): stored \(stored.count), acknowledged \(acknowledged.count)")
            #expect(stored.count == Set(stored).count, "\(id) holds a task twice")
        }

        // Each process sees its versions of a workflow strictly increase.
        for k in 0..<Self.workers {
            for id in ["shared", "proc_\(k)"] {
                let versions = succeeded.filter { $0.worker == k && $0.step.workflow == id }.compactMap(\.stateVersion)
                #expect(
                    zip(versions, versions.dropFirst()).allSatisfy { $0 < $1 },
                    "worker \(k) saw \(id) go \(versions)")
            }
        }

        // Every change bumps the version by exactly one: create is 1, each mutation adds one.
        for k in 0..<Self.workers {
            let id = "proc_\(k)"
            let changes = succeeded.filter { $0.step.workflow == id }
            let state = try hub.workflowState(id)
            #expect(state["state_version"]?.intValue == Int64(changes.count), "\(id): \(changes.count) changes")
            #expect(state["status"]?.stringValue == "running")
            #expect(changes.compactMap(\.stateVersion) == (1...Int64(changes.count)).map { $0 })
        }
        let sharedChanges = succeeded.filter { $0.step.workflow == "shared" }
        let sharedFinal = try hub.workflowState("shared")["state_version"]?.intValue
        // create (1) and start (2) happened before the workers.
        #expect(sharedFinal == Int64(sharedChanges.count + 2))
        // Each response reports its own change's version: all different, together 3…final.
        let reported = sharedChanges.compactMap(\.stateVersion).sorted()
        #expect(reported == (3...Int64(sharedChanges.count + 2)).map { $0 }, "versions reported twice or skipped")

        // The event log holds one workflow_state_updated per change, each with its own version.
        let updates = try hub.succeed(
            "shared", "get-events", #"{"event_types": ["workflow_state_updated"], "limit": 10000}"#)
        let logged = (updates["events"]?.arrayValue ?? []).compactMap { $0["data"]?["state_version"]?.intValue }
        #expect(logged == (1...(sharedFinal ?? 0)).map { $0 })
    }
}
