import Foundation
import HubCore
import HubEngine
import HubTesting
import Testing

@testable import HubCLI
@testable import HubEngine

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension LineStream {
    /// Reads lines until one contains `text`; answers it, or `nil` when the output ended first.
    mutating func until(_ text: String) async -> String? {
        while let line = await next() {
            if line.contains(text) { return line }
        }
        return nil
    }
}

/// The agent runner as a user runs it, driven by its log lines (standard error) and the
/// store: what it does with a lease it lost, a second stop signal, the server's heartbeat
/// interval, a stop during a long poll, a workflow it cannot work on and a refused outcome.
@Suite(.timeLimit(.minutes(2))) struct AgentRunnerTests {
    static let oneTask =
        #"{"phases": [{"name": "p", "tasks": [{"task_id": "t", "role": "code"#

    /// Starts an agent whose log lines the test reads.
    static func agent(_ s: DispatchSandbox, _ arguments: [String]) throws -> (SpawnedProcess, LineStream) {
        let errors = Pipe()
        let process = try s.runner.start(arguments, standardError: errors)
        return (process, LineStream(errors.fileHandleForReading))
    }

    /// A task that times out after 1s with one retry, and a runner of two slots whose command
    /// writes its pid to `<lease>.pid` and sleeps.
    static func timingOutTaskAndRunner(_ s: DispatchSandbox) throws -> (SpawnedProcess, LineStream) {
        try s.succeed("w", "create", oneTask + #"", "timeout": "1s", "max_retries": 1}]}]}"#)
        try s.succeed("w", "start")
        return try agent(
            s,
            [
                "agent", "--id", "slow", "--roles", "code", "--max-tasks", "2", "--idle-delay", "50ms", "--",
                "/bin/sh", "-c", #"echo $$ > "$LEASE_ID.pid"; exec sleep 600"#,
            ])
    }

    /// The pids the runs of `timingOutTaskAndRunner` wrote.
    static func commandPIDs(_ s: DispatchSandbox) throws -> [Int32] {
        try FileManager.default.contentsOfDirectory(atPath: s.file("")).filter { $0.hasSuffix(".pid") }
            .compactMap { s.read($0).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) } }
    }

    /// Whether `pid` is still a live process (a zombie is not).
    static func alive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else {
            return kill(pid, 0) == 0
        }
        let state = stat.split(separator: ")").last?.split(separator: " ").first
        return state != "Z"
    }

    /// A task past its timeout was re-queued and run again beside its first run, and the
    /// runner then ignored every signal: each run's command is stopped once the hub no
    /// longer renews its lease, and nothing is reported for it.
    @Test func aTaskPastItsTimeoutHasItsCommandStopped() async throws {
        let s = try DispatchSandbox("agent-timeout", environment: ["COORDINATION_HUB_HEARTBEAT_INTERVAL": "1s"])
        defer { s.remove() }
        let (runner, log) = try Self.timingOutTaskAndRunner(s)
        var lines = log
        // Both attempts time out; each one's command is stopped.
        #expect(await lines.until("lease lost; stopped its command") != nil)
        #expect(await lines.until("lease lost; stopped its command") != nil)
        let pids = try Self.commandPIDs(s)
        #expect(pids.count == 2)
        let stopped = await DispatchSandbox.poll(attempts: 200) { !pids.contains(where: Self.alive) }
        #expect(stopped, "a timed-out task's command is still running")
        let task = try s.tasks("w")["t"]
        #expect(task?["status"]?.stringValue == "failed")
        #expect(try s.events(["event_types": ["task_completed"], "workflow_id": "w"]).isEmpty)
        kill(runner.processIdentifier, SIGTERM)
        #expect(await ProcessWait.exit(of: runner, within: .seconds(30)), "the runner did not stop")
        for pid in pids where Self.alive(pid) { kill(pid, SIGKILL) }
    }

    /// SIGHUP (a terminal or ssh session closing) ended the runner at once (exit 129), its
    /// agent left `available` until it was found silent and failed: it stops as SIGTERM does.
    @Test func aHangupStopsTheRunnerGracefully() async throws {
        let s = try DispatchSandbox("agent-hangup")
        defer { s.remove() }
        let (runner, log) = try Self.agent(s, ["agent", "--id", "hup", "--idle-delay", "50ms", "--", "true"])
        defer { if runner.isRunning { kill(runner.processIdentifier, SIGKILL) } }
        var lines = log
        #expect(await lines.until("registered") != nil)
        kill(runner.processIdentifier, SIGHUP)
        #expect(await ProcessWait.exit(of: runner, within: .seconds(30)), "the runner did not stop")
        #expect(runner.terminationStatus == 0)
        #expect(try s.pool()["hup"]?["status"] == "offline")
    }

    /// With the default heartbeat interval, the next claim's sweep times the task out and hands
    /// its retry to the same runner long before a heartbeat would tell it the first run's lease
    /// is gone: both ran at once. A task handed out again stops its earlier run.
    @Test func aTaskHandedOutAgainStopsItsEarlierRun() async throws {
        // No heartbeat comes during the test: only the claim can tell the runner.
        let s = try DispatchSandbox("agent-rerun", environment: ["COORDINATION_HUB_HEARTBEAT_INTERVAL": "1h"])
        defer { s.remove() }
        let (runner, log) = try Self.timingOutTaskAndRunner(s)
        var lines = log
        #expect(await lines.until("running w/t (attempt 1)") != nil)
        #expect(await lines.until("lease lost; stopped its command") != nil)
        let pids = try Self.commandPIDs(s)
        #expect(await DispatchSandbox.poll(attempts: 200) { pids.filter(Self.alive).count <= 1 }, "both runs alive")
        kill(runner.processIdentifier, SIGTERM)
        #expect(await lines.until("waiting for") != nil)
        kill(runner.processIdentifier, SIGINT)
        #expect(await ProcessWait.exit(of: runner, within: .seconds(30)), "the runner did not stop")
        for pid in pids where Self.alive(pid) { kill(pid, SIGKILL) }
    }

    /// A deregistered agent's runner ran its command on while another agent redid the task, and
    /// then asked for work as an unknown agent for ever: it stops the command and exits.
    @Test func aDeregisteredAgentsRunnerStopsItsCommandsAndExits() async throws {
        let s = try DispatchSandbox("agent-deregistered", environment: ["COORDINATION_HUB_HEARTBEAT_INTERVAL": "1s"])
        defer { s.remove() }
        try s.succeed("w", "create", Self.oneTask + #""}]}]}"#)
        try s.succeed("w", "start")
        let (runner, log) = try Self.agent(
            s, ["agent", "--id", "gone", "--roles", "code", "--", "/bin/sh", "-c", #"echo $$ > t.pid; exec sleep 600"#])
        var lines = log
        #expect(await lines.until("running w/t") != nil)
        try s.succeed("deregister-agent", #"{"agent_id": "gone"}"#)
        #expect(await lines.until("no longer knows this agent") != nil)
        #expect(await ProcessWait.exit(of: runner, within: .seconds(30)), "the runner did not stop")
        #expect(runner.terminationStatus == 1, "stopped by the hub, as a runner whose token is refused")
        await Self.expectCommandGone(s)
    }

    /// The task's command, whose pid it wrote to `t.pid`, is gone (when it got to write it).
    static func expectCommandGone(_ s: DispatchSandbox) async {
        guard let pid = s.read("t.pid").flatMap({ Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
        else { return }
        #expect(await DispatchSandbox.poll(attempts: 200) { !alive(pid) })
    }

    /// A second SIGINT or SIGTERM while the runner waits for its tasks stops their commands
    /// and gives each task back, no attempt counted; the first still lets them finish. It
    /// was reported with fail-task, which counted the attempt and a failure against the agent,
    /// and failed a task without retries left for good.
    @Test func aSecondSignalStopsTheCommandsAndGivesTheirTasksBack() async throws {
        let s = try DispatchSandbox("agent-second-signal")
        defer { s.remove() }
        let (runner, log) = try Self.runnerOfOneSleepingTask(s)
        var lines = log
        #expect(await lines.until("running w/t") != nil)
        kill(runner.processIdentifier, SIGTERM)
        #expect(await lines.until("waiting for 1 running task(s)") != nil)
        kill(runner.processIdentifier, SIGINT)
        try await Self.expectGivenBack(runner, lines: &lines, in: s)
        #expect(try s.events(["event_types": ["task_failed"], "workflow_id": "w"]).isEmpty)
        await Self.expectCommandGone(s)
    }

    /// Two SIGTERMs back to back were one: the signal handler ran on a global queue, whose
    /// threads the command's blocking waits held (on a small machine all of them), so it ran
    /// late and once for both; the runner then waited for the command. Now the second one
    /// stops the command and gives its task back, as a second signal after a pause does.
    @Test func twoSignalsBackToBackStopTheCommandAndGiveItsTaskBack() async throws {
        let s = try DispatchSandbox("agent-two-signals")
        defer { s.remove() }
        let (runner, log) = try Self.runnerOfOneSleepingTask(s)
        defer { if runner.isRunning { kill(runner.processIdentifier, SIGKILL) } }
        var lines = log
        #expect(await lines.until("running w/t") != nil)
        let pid = try #require(
            await Self.eventually {
                s.read("t.pid").flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            })
        kill(runner.processIdentifier, SIGTERM)
        // A signal sent while the same one is still pending merges with it in the kernel:
        // the second goes once the first has been handed to the process, not later.
        #expect(await Self.handedOver(SIGTERM, to: runner.processIdentifier))
        kill(runner.processIdentifier, SIGTERM)
        try await Self.expectGivenBack(runner, lines: &lines, in: s)
        #expect(await DispatchSandbox.poll(attempts: 200) { !Self.alive(pid) })
    }

    /// A runner of workflow `w`'s one task `t` (no retries), whose command writes its pid to
    /// `t.pid` and sleeps.
    static func runnerOfOneSleepingTask(_ s: DispatchSandbox) throws -> (SpawnedProcess, LineStream) {
        try s.succeed("w", "create", Self.oneTask + #"", "max_retries": 0}]}]}"#)
        try s.succeed("w", "start")
        return try Self.agent(
            s,
            [
                "agent", "--id", "a", "--roles", "code", "--idle-delay", "50ms", "--", "/bin/sh", "-c",
                #"echo $$ > t.pid; exec sleep 600"#,
            ])
    }

    /// The runner logs that it stopped its command and gave the task back, exits 0, and `w/t`
    /// is ready again with no attempt counted.
    static func expectGivenBack(_ runner: SpawnedProcess, lines: inout LineStream, in s: DispatchSandbox) async throws {
        #expect(await lines.until("stopped with the runner; given back for another attempt") != nil)
        #expect(await ProcessWait.exit(of: runner, within: .seconds(30)), "the runner did not stop")
        #expect(runner.terminationStatus == 0)
        let task = try s.tasks("w")["t"]
        #expect(task?["status"]?.stringValue == "ready", "\(task ?? .null)")
        #expect(task?["attempts"]?.intValue == 0)
    }

    /// `value()` once it answers something, or `nil` after a while.
    static func eventually<T>(_ value: () -> T?) async -> T? {
        var found: T?
        _ = await DispatchSandbox.poll(attempts: 400) {
            found = value()
            return found != nil
        }
        return found
    }

    /// Whether the kernel has handed `signal`, sent to the process `pid`, over to it: it is
    /// pending neither for the process nor for any of its threads (Dispatch passes a signal a
    /// thread caught on to a thread of its own). On systems without `/proc`, assumed.
    static func handedOver(_ signal: Int32, to pid: Int32) async -> Bool {
        #if os(Linux)
            func pending(_ file: String, _ field: String) -> Bool {
                guard let status = try? String(contentsOfFile: file, encoding: .utf8),
                    let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field) }),
                    let mask = UInt64(line.dropFirst(field.count).trimmingCharacters(in: .whitespaces), radix: 16)
                else { return false }
                return mask & (1 << UInt64(signal - 1)) != 0
            }
            return await DispatchSandbox.poll(attempts: 1000, interval: .milliseconds(2)) {
                let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
                return !pending("/proc/\(pid)/status", "ShdPnd:")
                    && !threads.contains { pending("/proc/\(pid)/task/\($0)/status", "SigPnd:") }
            }
        #else
            return true
        #endif
    }

    /// Starts `serve` with `settings` (`--set` values) and answers the process and its URL.
    static func server(_ s: DispatchSandbox, _ settings: [String] = []) async throws -> (SpawnedProcess, String) {
        let errors = Pipe()
        let process = try s.runner.start(
            settings.flatMap { ["--set", $0] } + ["serve", "--port", "0"], standardError: errors)
        var lines = LineStream(errors.fileHandleForReading)
        guard let line = await lines.until("serving "), let range = line.range(of: "serving ") else {
            throw ServeTests.ServeFailure(description: "the server did not start")
        }
        return (process, String(line[range.upperBound...].prefix { $0 != " " }))
    }

    /// Through `--hub`, the runner heartbeats by the server's interval: by its own (30s) a
    /// server set to 1s declared it dead in the middle of its task.
    @Test func throughAServerTheRunnerHeartbeatsByTheServersInterval() async throws {
        let s = try DispatchSandbox("agent-server-heartbeat")
        defer { s.remove() }
        let (server, url) = try await Self.server(s, ["heartbeat_interval=1s"])
        defer {
            kill(server.processIdentifier, SIGTERM)
            server.waitUntilExit()
        }
        let registered = try s.succeed("--hub", url, "register-agent", #"{"agent_id": "probe"}"#)
        #expect(registered["heartbeat_interval"] == "1s")
        try s.succeed("--hub", url, "w", "create", Self.oneTask + #""}]}]}"#)
        try s.succeed("--hub", url, "w", "start")
        let fifo = s.file("go")
        #expect(mkfifo(fifo, 0o600) == 0)
        let (runner, log) = try Self.agent(
            s,
            [
                "agent", "--hub", url, "--id", "a", "--roles", "code", "--workflow", "w", "--", "/bin/sh", "-c",
                "read line < '\(fifo)'",
            ])
        var lines = log
        #expect(await lines.until("running w/t") != nil)
        // Holds the task until the hub has seen heartbeats over more than 3 of its intervals
        // (by the runner's own 30s, it declared the agent dead first).
        var seen: Set<String> = []
        let kept = try await DispatchSandbox.poll(attempts: 400) {
            let agent = try s.succeed("--hub", url, "monitor-pool")["agent_pool"]?["performance_metrics"]?["a"]
            if agent?["status"]?.stringValue == "unresponsive" { return true }
            if let beat = agent?["last_heartbeat"]?.stringValue { seen.insert(beat) }
            return seen.count >= 8
        }
        #expect(kept)
        let writer = FileHandle(forWritingAtPath: fifo)
        writer?.write(Data("go\n".utf8))
        try? writer?.close()
        #expect(await ProcessWait.exit(of: runner, within: .seconds(30)))
        let phases = try s.succeed("--hub", url, "w", "get-status")["workflow_state"]?["phases"]?.arrayValue
        let task = phases?.first?["tasks"]?.arrayValue?.first
        #expect(task?["status"] == "completed", "\(task ?? .null)")
        #expect(task?["attempts"] == 1)
    }

    /// A runner stopped while its claim waits on the server takes no task that appears
    /// after the stop: it used to claim and run it.
    @Test func aStopDuringALongPollTakesNoMoreWork() async throws {
        let s = try DispatchSandbox("agent-stop-poll")
        defer { s.remove() }
        let (server, url) = try await Self.server(s)
        defer {
            kill(server.processIdentifier, SIGTERM)
            server.waitUntilExit()
        }
        let (runner, log) = try Self.agent(
            s, ["agent", "--hub", url, "--id", "a", "--roles", "code", "--", "/bin/sh", "-c", "touch ran"])
        var lines = log
        #expect(await lines.until("registered") != nil)
        kill(runner.processIdentifier, SIGTERM)
        #expect(await lines.until("no new claims") != nil)
        try s.succeed("--hub", url, "w", "create", Self.oneTask + #""}]}]}"#)
        try s.succeed("--hub", url, "w", "start")
        #expect(await ProcessWait.exit(of: runner, within: .seconds(30)))
        #expect(runner.terminationStatus == 0)
        #expect(s.read("ran") == nil, "the runner ran a task claimed after its stop")
        var rest: [String] = []
        while let line = await lines.next() { rest.append(line) }
        #expect(!rest.contains { $0.contains("claim-task") && $0.contains("STORE_UNAVAILABLE") }, "\(rest)")
    }

    /// `--workflow` with a malformed id is refused like `--id` (it used to claim for ever,
    /// logging INVALID_WORKFLOW_ID); an unknown one is an error at start, not "finished".
    @Test func aWorkflowTheRunnerCannotWorkOnIsAnError() async throws {
        let s = try DispatchSandbox("agent-workflow-id")
        defer { s.remove() }
        let (bad, _) = try Self.agent(s, ["agent", "--id", "a", "--workflow", "bad.id", "--", "true"])
        #expect(await ProcessWait.exit(of: bad, within: .seconds(30)))
        #expect(bad.terminationStatus == 2)
        let refused = try s.fail(["agent", "--id", "a", "--workflow", "bad.id"], code: "INVALID_ARGUMENTS", exit: 2)
        #expect(refused["message"]?.stringValue?.contains("--workflow") == true)
        let (unknown, log) = try Self.agent(s, ["agent", "--id", "a", "--workflow", "nosuch", "--", "true"])
        var lines = log
        #expect(await lines.until("workflow nosuch was not found") != nil)
        #expect(await ProcessWait.exit(of: unknown, within: .seconds(30)))
        #expect(unknown.terminationStatus == 1)
    }

    /// A second runner under an id whose runner holds tasks and heartbeats refuses to start:
    /// the two released each other's leases at every heartbeat, and a task ran again and
    /// again without its outcome ever being recorded.
    @Test func aSecondRunnerUnderALiveIDRefusesToStart() async throws {
        let s = try DispatchSandbox("agent-twice")
        defer { s.remove() }
        try s.succeed("w", "create", Self.oneTask + #""}]}]}"#)
        try s.succeed("w", "start")
        let (first, log) = try Self.agent(
            s, ["agent", "--id", "dup", "--roles", "code", "--workflow", "w", "--", "sleep", "600"])
        var lines = log
        #expect(await lines.until("running w/t") != nil)
        let (second, secondLog) = try Self.agent(s, ["agent", "--id", "dup", "--roles", "code", "--", "true"])
        var refusal = secondLog
        #expect(await refusal.until("another runner holds this id") != nil)
        #expect(await ProcessWait.exit(of: second, within: .seconds(30)))
        #expect(second.terminationStatus == 1)
        kill(first.processIdentifier, SIGTERM)
        #expect(await lines.until("waiting for 1 running task(s)") != nil)
        kill(first.processIdentifier, SIGINT)
        #expect(await ProcessWait.exit(of: first, within: .seconds(30)), "the first runner did not stop")
    }

    /// An outcome the hub refuses is logged as refused: the runner said "completed" for a
    /// completion refused with LEASE_EXPIRED.
    @Test func aRefusedCompletionIsNotLoggedAsCompleted() async throws {
        let s = try DispatchSandbox("agent-refused")
        defer { s.remove() }
        try s.succeed("w", "create", Self.oneTask + #""}]}]}"#)
        try s.succeed("w", "start")
        // The command reports its own lease as failed, so the runner's completion comes too late.
        let (runner, log) = try Self.agent(
            s,
            [
                "agent", "--id", "a", "--roles", "code", "--workflow", "w", "--", "/bin/sh", "-c",
                #"cd "$0" && "$1" fail-task "{\"lease_id\": \"$LEASE_ID\", \"error\": \"x\", \"retryable\": false}""#,
                s.file(""), s.runner.executable,
            ])
        var lines = log
        // The line names the run (it named the operation alone: whose completion, in which workflow?).
        let refused = await lines.until("complete-task for w/t (lease lease_")
        #expect(refused?.contains(") refused: LEASE_EXPIRED") == true, "\(refused ?? "no refusal logged")")
        var rest: [String] = []
        while let line = await lines.next() { rest.append(line) }
        #expect(!rest.contains { $0.contains("completed w/t") }, "\(rest)")
        #expect(await ProcessWait.exit(of: runner, within: .seconds(30)))
    }
}

/// What the runner says while it has nothing to run.
@Suite(.timeLimit(.minutes(2))) struct AgentRunnerIdleTests {
    /// A runner with nothing to claim never said why, though the empty claim's answer did (a
    /// workflow paused, its budget spent). It says so once, not at every poll.
    @Test func aRunnerWithNothingToClaimSaysWhyOnce() async throws {
        let s = try DispatchSandbox("agent-idle-reason")
        defer { s.remove() }
        try s.succeed("w", "create", AgentRunnerTests.oneTask + #"", "command": "true"}]}]}"#)
        try s.succeed("w", "start")
        try s.succeed("w", "pause")
        let (runner, log) = try AgentRunnerTests.agent(
            s, ["agent", "--id", "a", "--roles", "code", "--workflow", "w", "--idle-delay", "10ms"])
        defer { if runner.isRunning { kill(runner.processIdentifier, SIGKILL) } }
        var lines = log
        let said = await lines.until("nothing to claim")
        #expect(said?.contains("Workflow w is paused") == true, "\(said ?? "not said")")
        // Claims go on meanwhile (every 10ms), each as empty and for the same reason.
        try s.succeed("w", "resume")
        var rest: [String] = []
        while let line = await lines.next() { rest.append(line) }
        #expect(!rest.contains { $0.contains("is paused") }, "\(rest)")
        #expect(rest.contains { $0.contains("completed w/t") }, "\(rest)")
        #expect(await ProcessWait.exit(of: runner, within: .seconds(30)))
    }
}

/// An outcome sent again after its answer was lost (the hub unreachable, then back).
@Suite struct ResentOutcomeTests {
    /// Answers each request with the next scripted error, then success.
    final class Scripted: OperationPerformer, @unchecked Sendable {
        private let lock = NSLock()
        private var errors: [HubError]
        init(_ errors: [HubError]) { self.errors = errors }
        func perform(_ request: OperationRequest) async -> OperationResponse {
            let next: HubError? = lock.withLock { errors.isEmpty ? nil : errors.removeFirst() }
            guard let next else {
                return .success(request: request, outcome: OperationOutcome(result: [:]), timestamp: 0, elapsed: .zero)
            }
            return .failure(request: request, error: next, timestamp: 0)
        }
    }

    static func runner(_ hub: Scripted, log: @escaping @Sendable (String) -> Void, stop: StopFlag = StopFlag())
        -> AgentRunner
    {
        AgentRunner(
            hub: hub, heartbeatInterval: .seconds(30),
            options: .init(
                agentID: "ag", roles: [], maxTasks: 1, command: ["true"], idleDelay: HubDuration(milliseconds: 1)),
            log: log, stop: stop)
    }

    /// A first signal lets running commands finish: a finished command's outcome was sent once
    /// and, the hub being away, dropped ("refused") while the runner exited 0; the task then
    /// ran again elsewhere. It is retried until the hub answers, or a second signal.
    @Test func aRunnerStoppingGracefullyStillDeliversItsOutcomes() async {
        let down = HubError(.storeUnavailable, "down")
        let stopping = StopFlag()
        stopping.set()
        let lines = LockedLines()
        let delivered = Self.runner(Scripted([down, down]), log: lines.append, stop: stopping)
        #expect(await delivered.report("complete-task", ["lease_id": "lease_x"]))
        #expect(lines.all.contains { $0.contains("(a second signal gives up)") }, "\(lines.all)")
        // A second signal: the outcome is not sent, and the log says so rather than "refused".
        let urgent = StopFlag()
        urgent.set()
        urgent.urgent?.set()
        let given = LockedLines()
        let abandoned = Self.runner(Scripted([down]), log: given.append, stop: urgent)
        #expect(await !abandoned.report("complete-task", ["lease_id": "lease_x"]))
        #expect(given.all.contains { $0.contains("complete-task not sent: STORE_UNAVAILABLE") }, "\(given.all)")
    }

    /// The runner logged "complete-task refused: LEASE_EXPIRED" for a completion the hub had
    /// recorded before it went down: the lease now says so, and the runner takes it as done.
    @Test func aCompletionRecordedBeforeItsAnswerWasLostIsDone() async {
        let used = HubError(.leaseExpired, "used", context: ["lease_state": "completed"])
        let lines = LockedLines()
        let resent = Self.runner(Scripted([HubError(.storeUnavailable, "down"), used]), log: lines.append)
        #expect(await resent.report("complete-task", ["lease_id": "lease_x"]))
        #expect(lines.all.contains { $0.contains("recorded before its answer was lost") }, "\(lines.all)")
        // Sent once, the same answer is a refusal: this report did not record it.
        let once = Self.runner(Scripted([used]), log: { _ in })
        #expect(await !once.report("complete-task", ["lease_id": "lease_x"]))
        // Resent, a lease that recorded the other outcome is a refusal too.
        let other = HubError(.leaseExpired, "used", context: ["lease_state": "failed"])
        let mismatched = Self.runner(Scripted([HubError(.storeUnavailable, "down"), other]), log: { _ in })
        #expect(await !mismatched.report("complete-task", ["lease_id": "lease_x"]))
    }

    final class LockedLines: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func append(_ line: String) { lock.withLock { lines.append(line) } }
        var all: [String] { lock.withLock { lines } }
    }
}

/// How long the runner waits before claiming again after claims that failed.
@Suite struct ClaimBackoffTests {
    /// A hub that was down got a claim, and the log a line, every --idle-delay (two a second
    /// by default) for as long as it was down; the pause grows with each failure in a row.
    @Test func thePauseGrowsWithFailuresInARowUpToFiveSeconds() {
        let idle = HubDuration(milliseconds: 500)
        let pauses = [1, 2, 3, 4, 5, 40].map { AgentRunner.pause(afterFailures: $0, idle: idle) }
        #expect(pauses == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(5), .seconds(5)])
        // An idle delay longer than the cap is kept as given.
        #expect(AgentRunner.pause(afterFailures: 3, idle: HubDuration(milliseconds: 9_000)) == .seconds(9))
    }
}

/// Which held leases a heartbeat's answer no longer renews.
@Suite struct LostLeaseTests {
    @Test func aLeaseTheAnswerDoesNotRenewIsLost() throws {
        let answer = try JSONParser.parse(#"{"leases": [{"lease_id": "lease_a"}, {"lease_id": "lease_c"}]}"#)
        #expect(AgentRunner.lost(held: ["lease_a", "lease_b"], renewed: answer) == ["lease_b"])
        #expect(AgentRunner.lost(held: [], renewed: answer).isEmpty)
    }

    /// A task whose command has exited between the heartbeat's snapshot and its answer has
    /// nothing to stop: its outcome is being reported.
    @Test func aCommandThatHasExitedIsNotStopped() async {
        let held = HeldLeases()
        held.insert("lease_a")
        let (outcome, ending) = await held.run("lease_a") { ChildProcess.Outcome(status: 0, tail: "") }
        #expect(outcome?.status == 0 && ending == nil)
        #expect(!held.stop("lease_a", because: .leaseLost))
        held.remove("lease_a")
        #expect(!held.stop("lease_a", because: .leaseLost))
        // A lease lost before its command starts keeps it from starting.
        held.insert("lease_b")
        #expect(held.stop("lease_b", because: .leaseLost))
        let (never, why) = await held.run("lease_b") { ChildProcess.Outcome(status: 0, tail: "ran") }
        #expect(never == nil && why == .leaseLost)
    }
}
