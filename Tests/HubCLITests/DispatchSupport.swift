import Foundation
import HubCore
import HubEngine
import HubTesting
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A fresh working directory in which the dispatch tests run the built
/// `coordination-hub`, as short-lived commands and as long-running `agent` processes.
struct DispatchSandbox: Sendable {
    let directory: TemporaryDirectory
    let runner: ExecutableRunner

    init(_ label: String, environment: [String: String] = [:]) throws {
        directory = try TemporaryDirectory(label)
        runner = ExecutableRunner(workingDirectory: directory.path, environment: environment)
    }

    func remove() { directory.remove() }

    /// A path in the working directory (the workspace of the workflows created here).
    func file(_ relative: String) -> String { directory.file(relative) }

    func read(_ relative: String) -> String? {
        guard let data = FileManager.default.contents(atPath: file(relative)) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// Runs the executable with these words and waits for it to exit.
    @discardableResult
    func run(_ arguments: [String]) throws -> ExecutableRunner.Outcome { try runner.run(arguments) }

    /// Runs an operation that must succeed (exit 0, `status: success`) and returns its `result`.
    @discardableResult
    func succeed(_ arguments: String..., sourceLocation: SourceLocation = #_sourceLocation) throws -> JSONValue {
        let outcome = try runner.run(arguments)
        #expect(
            outcome.status == 0 && outcome.json["status"]?.stringValue == "success",
            "\(arguments) exited \(outcome.status): \(outcome.stdout) \(outcome.stderr)",
            sourceLocation: sourceLocation)
        return outcome.json["result"] ?? .null
    }

    /// Runs an operation that must fail with `code` and exit status `exit`; returns the `error` object.
    @discardableResult
    func fail(
        _ arguments: [String], code: String, exit: Int32 = 1, sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> JSONValue {
        let outcome = try runner.run(arguments)
        #expect(outcome.errorCode == code, "\(arguments): \(outcome.stdout)", sourceLocation: sourceLocation)
        #expect(outcome.status == exit, "\(arguments) exited \(outcome.status)", sourceLocation: sourceLocation)
        #expect(outcome.json["status"]?.stringValue == "error", sourceLocation: sourceLocation)
        #expect(
            (outcome.json["error"]?["message"]?.stringValue ?? "").count > 0, "an error must say what is wrong",
            sourceLocation: sourceLocation)
        return outcome.json["error"] ?? .null
    }

    /// `workflow_state` of `get-status`.
    func workflowState(_ id: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> JSONValue {
        try succeed(id, "get-status", sourceLocation: sourceLocation)["workflow_state"] ?? .null
    }

    /// Every task of a workflow's `get-status`, by task id.
    func tasks(_ id: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: JSONValue] {
        let phases = try workflowState(id, sourceLocation: sourceLocation)["phases"]?.arrayValue ?? []
        var tasks: [String: JSONValue] = [:]
        for phase in phases {
            for task in phase["tasks"]?.arrayValue ?? [] {
                if let taskID = task["task_id"]?.stringValue { tasks[taskID] = task }
            }
        }
        return tasks
    }

    /// Every event matching `filter` (a `get-events` parameter object without paging),
    /// read page by page with `after_sequence`.
    func events(_ filter: JSONValue, sourceLocation: SourceLocation = #_sourceLocation) throws -> [JSONValue] {
        var all: [JSONValue] = []
        var after: Int64 = 0
        // Bounded: each page holds up to 10,000 events.
        for _ in 0..<100 {
            var parameters = filter
            parameters["after_sequence"] = .int(after)
            parameters["limit"] = 10_000
            let page = try succeed("get-events", parameters.serialized(), sourceLocation: sourceLocation)
            let events = page["events"]?.arrayValue ?? []
            if events.isEmpty { return all }
            all += events
            after = events.last?["sequence"]?.intValue ?? after
        }
        Issue.record("get-events kept returning pages", sourceLocation: sourceLocation)
        return all
    }

    /// The sequence of the newest event in the store.
    func lastSequence() throws -> Int64 {
        let newest = try succeed("get-events", #"{"order": "desc", "limit": 1}"#)["events"]?.arrayValue ?? []
        return newest.first?["sequence"]?.intValue ?? 0
    }

    /// `agent_pool.performance_metrics` of `monitor-pool`, by agent id.
    func pool(sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: JSONValue] {
        let pool = try succeed("monitor-pool", sourceLocation: sourceLocation)["agent_pool"]
        var agents: [String: JSONValue] = [:]
        for (id, agent) in pool?["performance_metrics"]?.objectValue ?? [:] { agents[id] = agent }
        return agents
    }

    /// What a change would touch: the workflow's status and version, its tasks'
    /// statuses, agents and attempts, the agents' records and the newest event.
    func fingerprint(_ workflowID: String) throws -> String {
        let state = try workflowState(workflowID)
        let tasks = try self.tasks(workflowID).sorted { $0.key < $1.key }.map { id, task in
            "\(id)=\(task["status"]?.stringValue ?? "?")/\(task["assigned_agent"]?.stringValue ?? "-")/\(task["attempts"]?.intValue ?? -1)"
        }
        let agents = try pool().sorted { $0.key < $1.key }.map { id, agent in
            "\(id)=\(agent["status"]?.stringValue ?? "?")/load \(agent["current_load"]?.intValue ?? -1)"
                + "/done \(agent["tasks_completed"]?.intValue ?? -1)/failed \(agent["tasks_failed"]?.intValue ?? -1)"
        }
        return """
            \(state["status"]?.stringValue ?? "?") v\(state["state_version"]?.intValue ?? -1) \
            tasks[\(tasks.joined(separator: " "))] agents[\(agents.joined(separator: " "))] \
            last_event=\(try lastSequence())
            """
    }

    /// Runs `body` and checks that it changed nothing in the workflow, the pool or the event log.
    func expectUnchanged(
        _ workflowID: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
    ) throws {
        let before = try fingerprint(workflowID)
        try body()
        let after = try fingerprint(workflowID)
        #expect(before == after, "the store changed", sourceLocation: sourceLocation)
    }

    /// Starts a long-running `coordination-hub` process (an `agent`) in the working
    /// directory; its standard error goes to `<name>.log` there, for diagnosis.
    func launch(_ arguments: [String], log name: String) throws -> SpawnedProcess {
        let logPath = file("\(name).log")
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        return try runner.start(arguments, standardError: FileHandle(forWritingAtPath: logPath))
    }

    /// Polls until `condition` holds, at most `attempts` times, `interval` apart.
    /// Each attempt looks at real external state (a file a child wrote, a CLI command).
    static func poll(
        attempts: Int, interval: Duration = .milliseconds(50), _ condition: () throws -> Bool
    ) async rethrows -> Bool {
        for _ in 0..<attempts {
            if try condition() { return true }
            try? await Task.sleep(for: interval)
        }
        return try condition()
    }
}

/// Values gathered from several threads.
final class Gathered<Element: Sendable>: Sendable {
    private let values = Mutex<[Element]>([])
    func append(_ value: Element) { values.withLock { $0.append(value) } }
    var all: [Element] { values.withLock { $0 } }
}

/// Waiting for processes the tests started.
enum ProcessWait {
    /// Waits for `process` to exit. Returns `false` when it had not exited within
    /// `timeout`: it is then killed (SIGKILL), so a hung process cannot hang the test.
    static func exit(of process: SpawnedProcess, within timeout: Duration) async -> Bool {
        let watchdog = Task { () -> Bool in
            do { try await Task.sleep(for: timeout) } catch { return false }
            return process.send(SIGKILL)
        }
        await process.exited()
        watchdog.cancel()
        return !(await watchdog.value)
    }
}
