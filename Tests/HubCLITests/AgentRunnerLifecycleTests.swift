import Foundation
import HubCore
import HubTesting
import Testing

@testable import HubCLI

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The agent runner's start and end, and what it does with a refused evidence check, as a
/// user runs it: driven by its log lines (standard error) and the store.
@Suite(.timeLimit(.minutes(2))) struct AgentRunnerLifecycleTests {
    /// A git repository with a committer configured, in `directory`.
    static func initRepository(in directory: String) throws {
        let git = Process()
        git.executableURL = URL(fileURLWithPath: "/bin/sh")
        git.arguments = ["-c", "git init -q . && git config user.email t@t && git config user.name t"]
        git.currentDirectoryURL = URL(fileURLWithPath: directory)
        try git.run()
        git.waitUntilExit()
        try #require(git.terminationStatus == 0, "git init failed")
    }

    /// The next line holding one of `texts`, or `nil` when the output ended first.
    static func firstOf(_ texts: [String], in lines: inout LineStream) async -> String? {
        while let line = await lines.next() {
            if texts.contains(where: line.contains) { return line }
        }
        return nil
    }

    /// A command that exits 0 but whose evidence the hub refuses was logged and forgotten: the
    /// task stayed running, the next heartbeat released it with no attempt counted, and the
    /// same runner claimed and ran it again for ever. It is failed, so max_retries ends it.
    @Test(arguments: [#"{"files": ["missing.txt"]}"#, #"{"check_command": "exit 1"}"#])
    func aTaskWhoseEvidenceIsRefusedIsFailedUntilItsRetriesRunOut(_ evidence: String) async throws {
        let s = try DispatchSandbox("agent-evidence", environment: ["COORDINATION_HUB_HEARTBEAT_INTERVAL": "1s"])
        defer { s.remove() }
        try s.succeed(
            "w8", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "evnf", "role": "code", "command": "true", "evidence": "#
                + evidence + #", "max_retries": 1}]}]}"#)
        try s.succeed("w8", "start")
        let (runner, log) = try AgentRunnerTests.agent(
            s, ["agent", "--id", "ev1", "--roles", "code", "--workflow", "w8", "--idle-delay", "50ms"])
        defer { if runner.isRunning { kill(runner.processIdentifier, SIGKILL) } }
        var lines = log
        #expect(await lines.until("running w8/evnf (attempt 1)") != nil)
        // Unfixed, attempt 1 came again; fixed, attempt 2 comes, and then the workflow is over.
        let next = await Self.firstOf(["running w8/evnf", "is finished"], in: &lines)
        try #require(next?.contains("(attempt 2)") == true, "\(next ?? "the runner ended")")
        #expect(
            await lines.until(
                "workflow w8 is finished (failed: resume it and start the runner again to go on); exiting") != nil)
        #expect(await ProcessWait.exit(of: runner, within: .seconds(30)), "the runner did not stop")
        let task = try s.tasks("w8")["evnf"]
        #expect(task?["status"] == "failed", "\(task ?? .null)")
        #expect(task?["attempts"] == 2)
        let failures = try s.events(["event_types": ["task_failed"], "workflow_id": "w8"])
        #expect(failures.count == 2, "\(failures)")
    }

    /// A task asking for a commit could never be completed by the runner: it sent no evidence,
    /// and the claim did not say any was wanted. The claim now carries the requirement, and the
    /// runner sends the commit its command left checked out in the workspace.
    @Test func aTaskAskingForACommitGetsTheWorkspacesHead() async throws {
        let s = try DispatchSandbox("agent-commit", environment: ["COORDINATION_HUB_HEARTBEAT_INTERVAL": "1s"])
        defer { s.remove() }
        try Self.initRepository(in: s.directory.path)
        try s.succeed(
            "wc", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "cm", "role": "code", "evidence": {"commit": true}, "command": "git commit -q --allow-empty -m work"}]}]}"#
        )
        try s.succeed("wc", "start")
        let (runner, log) = try AgentRunnerTests.agent(
            s, ["agent", "--id", "gc", "--roles", "code", "--workflow", "wc", "--idle-delay", "50ms"])
        defer { if runner.isRunning { kill(runner.processIdentifier, SIGKILL) } }
        var lines = log
        #expect(await lines.until("workflow wc is finished (completed); exiting") != nil)
        #expect(await ProcessWait.exit(of: runner, within: .seconds(30)), "the runner did not stop")
        let task = try s.tasks("wc")["cm"]
        #expect(task?["status"] == "completed", "\(task ?? .null)")
        let completed = try s.events(["event_types": ["task_completed"], "workflow_id": "wc"]).first
        #expect(completed?["data"]?["evidence"]?["commit"]?.stringValue?.count == 40, "\(completed ?? .null)")

        // A command that makes no commit has none to show: the HEAD it found (wc's commit) was
        // sent as its evidence, and any workspace with a history passed.
        try s.succeed(
            "wn", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "idle", "role": "code", "max_retries": 0, "evidence": {"commit": true}, "command": "true"}]}]}"#
        )
        try s.succeed("wn", "start")
        let (second, secondLog) = try AgentRunnerTests.agent(
            s, ["agent", "--id", "gn", "--roles", "code", "--workflow", "wn", "--idle-delay", "50ms"])
        defer { if second.isRunning { kill(second.processIdentifier, SIGKILL) } }
        var secondLines = secondLog
        let noted = await secondLines.until("needs a commit, and its command made none")
        #expect(noted?.contains("as before it ran") == true, "\(noted ?? "not logged")")
        #expect(await secondLines.until("workflow wn is finished (failed") != nil)
        #expect(await ProcessWait.exit(of: second, within: .seconds(30)), "the runner did not stop")
        let idle = try s.tasks("wn")["idle"]
        #expect(idle?["status"] == "failed", "\(idle ?? .null)")
        #expect(idle?["error"]?["code"] == "EVIDENCE_MISSING", "\(idle ?? .null)")

        // A retry whose earlier attempt made the commit (then failed): the HEAD it finds stands.
        try s.succeed(
            "wr", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "again", "role": "code", "max_retries": 1, "evidence": {"commit": true}, "command": "if [ -f made ]; then exit 0; fi; touch made && git commit -q --allow-empty -m again && exit 1"}]}]}"#
        )
        try s.succeed("wr", "start")
        let (third, thirdLog) = try AgentRunnerTests.agent(
            s, ["agent", "--id", "gr", "--roles", "code", "--workflow", "wr", "--idle-delay", "50ms"])
        defer { if third.isRunning { kill(third.processIdentifier, SIGKILL) } }
        var thirdLines = thirdLog
        #expect(await thirdLines.until("workflow wr is finished (completed)") != nil)
        #expect(await ProcessWait.exit(of: third, within: .seconds(30)), "the runner did not stop")
        #expect(try s.tasks("wr")["again"]?["attempts"] == 2)
    }

    /// A retry took any HEAD it found as its evidence: a task that commits nothing, after a
    /// task that committed, was refused on its first attempt and completed on its second with
    /// the other task's commit. A retry's HEAD stands only when it is not the one the hub read
    /// before the task's first run.
    @Test func aRetryDoesNotTakeAnotherTasksCommitAsItsEvidence() async throws {
        let s = try DispatchSandbox("agent-commit-retry", environment: ["COORDINATION_HUB_HEARTBEAT_INTERVAL": "1s"])
        defer { s.remove() }
        try Self.initRepository(in: s.directory.path)
        try s.succeed(
            "wt", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "commits", "role": "code", "command": "echo a > a.txt && git add a.txt && git commit -q -m a"}, {"task_id": "nocommit", "role": "code", "depends_on": ["commits"], "max_retries": 1, "evidence": {"commit": true}, "command": "true"}]}]}"#
        )
        try s.succeed("wt", "start")
        let (runner, log) = try AgentRunnerTests.agent(
            s, ["agent", "--id", "gt", "--roles", "code", "--workflow", "wt", "--idle-delay", "50ms"])
        defer { if runner.isRunning { kill(runner.processIdentifier, SIGKILL) } }
        var lines = log
        #expect(await lines.until("running wt/nocommit (attempt 2)") != nil)
        let noted = await lines.until("needs a commit, and its command made none")
        #expect(noted?.contains("wt/nocommit") == true, "\(noted ?? "not logged")")
        #expect(await lines.until("workflow wt is finished (failed") != nil)
        #expect(await ProcessWait.exit(of: runner, within: .seconds(30)), "the runner did not stop")
        let task = try s.tasks("wt")["nocommit"]
        #expect(task?["status"] == "failed", "\(task ?? .null)")
        #expect(task?["attempts"] == 2)
        #expect(task?["error"]?["code"] == "EVIDENCE_MISSING", "\(task ?? .null)")
    }

    /// Two tasks at once in one workspace (`--max-tasks 2`): one asking for a commit and making
    /// none was completed with the commit the other made meanwhile (the runner took any HEAD
    /// that moved while its command ran), and its retry took it too (a HEAD other than the one
    /// before its first run). Which task made such a commit cannot be told: neither run offers it.
    @Test func aCommitMadeWhileAnotherTaskRanInTheWorkspaceIsNotOffered() async throws {
        let s = try DispatchSandbox("agent-commit-overlap", environment: ["COORDINATION_HUB_HEARTBEAT_INTERVAL": "1s"])
        defer { s.remove() }
        try Self.initRepository(in: s.directory.path)
        // Both run at once, and the commit falls inside the run of "waits": "commits" commits once
        // "waits" has started (its HEAD read), and "waits" ends once that commit is made. Each
        // waits on a FIFO the other writes (opening one blocks until the other end is opened).
        // The retry of "waits" does not wait.
        #expect(mkfifo(s.file("started"), 0o600) == 0)
        #expect(mkfifo(s.file("committed"), 0o600) == 0)
        try s.succeed(
            "wo", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "waits", "role": "code", "max_retries": 1, "evidence": {"commit": true}, "command": "if [ -f tried ]; then exit 0; fi; touch tried && echo go > started && cat committed > /dev/null"}, {"task_id": "commits", "role": "code", "command": "cat started > /dev/null && git commit -q --allow-empty -m other && echo done > committed"}]}]}"#
        )
        try s.succeed("wo", "start")
        let (runner, log) = try AgentRunnerTests.agent(
            s,
            ["agent", "--id", "go", "--roles", "code", "--workflow", "wo", "--max-tasks", "2", "--idle-delay", "50ms"])
        defer { if runner.isRunning { kill(runner.processIdentifier, SIGKILL) } }
        var lines = log
        let withheld = await lines.until("needs a commit; none is offered")
        #expect(withheld?.contains("wo/waits") == true, "\(withheld ?? "not logged")")
        #expect(await lines.until("workflow wo is finished (failed") != nil)
        #expect(await ProcessWait.exit(of: runner, within: .seconds(30)), "the runner did not stop")
        #expect(try s.tasks("wo")["commits"]?["status"] == "completed")
        let task = try s.tasks("wo")["waits"]
        #expect(task?["status"] == "failed", "\(task ?? .null)")
        #expect(task?["attempts"] == 2)
        #expect(task?["error"]?["code"] == "EVIDENCE_MISSING", "\(task ?? .null)")
        #expect(try s.events(["event_types": ["task_completed"], "workflow_id": "wo"]).count == 1)
    }

    /// Token and cost budgets could not hold for work the runner did: nothing told the hub what
    /// a command used. A command writes it to TASK_USAGE_FILE; the runner reports it with the
    /// outcome, and a workflow whose budget that spends pauses. What is not a usage report is
    /// said and left out; the outcome still goes.
    @Test func aCommandsUsageFileIsReportedWithItsOutcome() async throws {
        let s = try DispatchSandbox("agent-usage", environment: ["COORDINATION_HUB_HEARTBEAT_INTERVAL": "1s"])
        defer { s.remove() }
        try s.succeed(
            "wu", "create",
            #"{"budget": {"tokens": 100}, "phases": [{"name": "p", "tasks": [{"task_id": "a", "command": "echo '{\"tokens\": 150, \"cost\": 0.25}' > \"$TASK_USAGE_FILE\""}, {"task_id": "b", "depends_on": ["a"], "command": "true"}]}]}"#
        )
        try s.succeed("wu", "start")
        try s.succeed(
            "wv", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "c", "command": "echo nope > \"$TASK_USAGE_FILE\""}]}]}"#)
        try s.succeed("wv", "start")
        let (runner, log) = try AgentRunnerTests.agent(s, ["agent", "--id", "spender", "--idle-delay", "50ms"])
        defer { if runner.isRunning { kill(runner.processIdentifier, SIGKILL) } }
        var lines = log
        #expect(await lines.until("completed wu/a") != nil)
        #expect(await lines.until("its TASK_USAGE_FILE is not reported") != nil)
        #expect(await lines.until("completed wv/c") != nil)
        kill(runner.processIdentifier, SIGTERM)
        #expect(await ProcessWait.exit(of: runner, within: .seconds(30)), "the runner did not stop")
        let state = try s.workflowState("wu")
        #expect(state["spend"]?["tokens"] == 150, "\(state)")
        #expect(state["spend"]?["cost"] == 0.25, "\(state)")
        #expect(state["status"] == "paused", "the budget is spent: \(state)")
        #expect(try s.workflowState("wv")["spend"]?["tokens"] == 0)
    }

    /// A command that made TASK_USAGE_FILE a FIFO had the runner block opening it for good: the
    /// task stayed running (its lease renewed), and the runner heard no signal but SIGKILL.
    @Test func aUsageFileThatIsNoRegularFileIsNotWaitedFor() async throws {
        let s = try DispatchSandbox("agent-usage-fifo", environment: ["COORDINATION_HUB_HEARTBEAT_INTERVAL": "1s"])
        defer { s.remove() }
        try s.succeed(
            "wf", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "d", "command": "mkfifo \"$TASK_USAGE_FILE\""}]}]}"#)
        try s.succeed("wf", "start")
        let (runner, log) = try AgentRunnerTests.agent(
            s, ["agent", "--id", "fifo", "--workflow", "wf", "--idle-delay", "50ms"])
        defer { if runner.isRunning { kill(runner.processIdentifier, SIGKILL) } }
        var lines = log
        #expect(await lines.until("its TASK_USAGE_FILE is not reported: it is not a regular file") != nil)
        #expect(await lines.until("completed wf/d") != nil)
        #expect(await ProcessWait.exit(of: runner, within: .seconds(30)), "the runner did not stop")
    }

    /// A run given back on a second signal after its command wrote its usage: the heartbeat
    /// that gave the lease back carried the usage, but the hub charged it to the workflows of
    /// the leases it renewed, none, so the workflow's budget never saw it.
    @Test func theUsageOfARunGivenBackIsChargedToItsWorkflow() async throws {
        let s = try DispatchSandbox("agent-usage-given-back")
        defer { s.remove() }
        try s.succeed(
            "w", "create",
            #"{"budget": {"tokens": 1000}, "phases": [{"name": "p", "tasks": [{"task_id": "t", "max_retries": 0, "command": "echo '{\"tokens\": 200}' > \"$TASK_USAGE_FILE\"; echo $$ > t.pid; exec sleep 600"}]}]}"#
        )
        try s.succeed("w", "start")
        let (runner, log) = try AgentRunnerTests.agent(s, ["agent", "--id", "giver", "--idle-delay", "50ms"])
        defer { if runner.isRunning { kill(runner.processIdentifier, SIGKILL) } }
        var lines = log
        let pid = try #require(
            await AgentRunnerTests.eventually {
                s.read("t.pid").flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            })
        kill(runner.processIdentifier, SIGTERM)
        #expect(await lines.until("waiting for 1 running task(s)") != nil)
        kill(runner.processIdentifier, SIGINT)
        try await AgentRunnerTests.expectGivenBack(runner, lines: &lines, in: s)
        #expect(try s.workflowState("w")["spend"]?["tokens"] == 200)
        #expect(try s.pool()["giver"]?["spend"]?["tokens"] == 200)
        #expect(await DispatchSandbox.poll(attempts: 200) { !AgentRunnerTests.alive(pid) })
    }

    /// A second runner under the id of an idle runner started (only a runner holding tasks was
    /// refused), and each one's heartbeat then released the other's claims.
    @Test func aSecondRunnerUnderTheIDOfAnIdleRunnerRefusesToStart() async throws {
        let s = try DispatchSandbox("agent-twice-idle", environment: ["COORDINATION_HUB_HEARTBEAT_INTERVAL": "1s"])
        defer { s.remove() }
        let (first, firstLog) = try AgentRunnerTests.agent(
            s, ["agent", "--id", "dup", "--roles", "code", "--idle-delay", "50ms", "--", "true"])
        var firstLines = firstLog
        #expect(await firstLines.until("registered") != nil)
        let (second, secondLog) = try AgentRunnerTests.agent(
            s, ["agent", "--id", "dup", "--roles", "code", "--idle-delay", "50ms", "--", "true"])
        defer {
            for runner in [first, second] where runner.isRunning { kill(runner.processIdentifier, SIGKILL) }
        }
        var lines = secondLog
        let said = await Self.firstOf(["another runner holds this id", "registered"], in: &lines)
        try #require(said?.contains("another runner holds this id") == true, "\(said ?? "no line")")
        try #require(await ProcessWait.exit(of: second, within: .seconds(30)))
        #expect(second.terminationStatus == 1)
        kill(first.processIdentifier, SIGTERM)
        #expect(await ProcessWait.exit(of: first, within: .seconds(30)), "the first runner did not stop")
    }

    /// A runner that stopped cleanly (a signal, or its workflow finished) was shown
    /// unresponsive and reported `agent.<id>.failed` 3 intervals later: it sets its agent
    /// offline as it stops, and a runner started again under the id is not refused.
    @Test func aRunnerThatStopsSetsItsAgentOffline() async throws {
        let s = try DispatchSandbox("agent-offline", environment: ["COORDINATION_HUB_HEARTBEAT_INTERVAL": "1s"])
        defer { s.remove() }
        let (runner, log) = try AgentRunnerTests.agent(
            s, ["agent", "--id", "calm", "--roles", "code", "--idle-delay", "50ms", "--", "true"])
        var lines = log
        #expect(await lines.until("registered") != nil)
        kill(runner.processIdentifier, SIGTERM)
        #expect(await lines.until("stopped") != nil)
        try #require(await ProcessWait.exit(of: runner, within: .seconds(30)))
        #expect(runner.terminationStatus == 0)
        #expect(try s.pool()["calm"]?["status"] == "offline")
        // Its workflow finished: the same, and the runner started again was not taken for another.
        try s.succeed("w", "create", AgentRunnerTests.oneTask + #""}]}]}"#)
        try s.succeed("w", "start")
        let (again, againLog) = try AgentRunnerTests.agent(
            s, ["agent", "--id", "calm", "--roles", "code", "--workflow", "w", "--idle-delay", "50ms", "--", "true"])
        var againLines = againLog
        #expect(await againLines.until("is finished (completed); exiting") != nil)
        try #require(await ProcessWait.exit(of: again, within: .seconds(30)))
        #expect(again.terminationStatus == 0)
        #expect(try s.pool()["calm"]?["status"] == "offline")
        #expect(try s.events(["patterns": ["agent.calm.failed"]]).isEmpty)
    }

    /// An agent whose budget ran out logged `claim-task: BUDGET_EXHAUSTED` at every idle delay
    /// for ever: it says so once, lets its running task finish and exits 0.
    @Test func aRunnerWhoseBudgetIsSpentFinishesAndExits() async throws {
        let s = try DispatchSandbox("agent-budget", environment: ["COORDINATION_HUB_HEARTBEAT_INTERVAL": "1s"])
        defer { s.remove() }
        try s.succeed(
            "w", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "a", "role": "code"}, {"task_id": "b", "role": "code"}]}]}"#
        )
        try s.succeed("w", "start")
        try s.succeed("register-agent", #"{"agent_id": "thrifty", "budget": {"tokens": 10}}"#)
        // Each task's command reports 20 tokens, spending the budget at the first task.
        let (runner, log) = try AgentRunnerTests.agent(
            s,
            [
                "agent", "--id", "thrifty", "--roles", "code", "--idle-delay", "50ms", "--", "/bin/sh", "-c",
                #"cd "$0" && "$1" heartbeat '{"agent_id": "thrifty", "usage": {"tokens": 20}}'"#,
                s.file(""), s.runner.executable,
            ])
        defer { if runner.isRunning { kill(runner.processIdentifier, SIGKILL) } }
        var lines = log
        let said = await Self.firstOf(["its budget is spent", "BUDGET_EXHAUSTED"], in: &lines)
        try #require(said?.contains("its budget is spent") == true, "\(said ?? "no line")")
        var rest: [String] = []
        while let line = await lines.next() { rest.append(line) }
        try #require(await ProcessWait.exit(of: runner, within: .seconds(30)))
        #expect(runner.terminationStatus == 0)
        #expect(!rest.contains { $0.contains("BUDGET_EXHAUSTED") || $0.contains("budget is spent") }, "\(rest)")
        let tasks = try s.tasks("w")
        #expect(tasks.values.filter { $0["status"] == "completed" }.count == 1, "\(tasks)")
        #expect(tasks.values.filter { $0["status"] == "ready" }.count == 1, "\(tasks)")
    }

    /// Through `--hub`, a runner started while the server was down exited 1 at once: it
    /// retries until the server answers, then registers and works.
    @Test func aRunnerStartedBeforeItsServerWaitsForIt() async throws {
        let s = try DispatchSandbox("agent-server-later")
        defer { s.remove() }
        // A port that was free a moment ago: the first server's, stopped.
        let (probe, url) = try await AgentRunnerTests.server(s)
        kill(probe.processIdentifier, SIGTERM)
        probe.waitUntilExit()
        guard let port = url.split(separator: ":").last.map(String.init) else {
            Issue.record("no port in \(url)")
            return
        }
        let (runner, log) = try AgentRunnerTests.agent(
            s, ["agent", "--hub", url, "--id", "early", "--roles", "code", "--", "true"])
        defer { if runner.isRunning { kill(runner.processIdentifier, SIGKILL) } }
        var lines = log
        let retry = await lines.until("the hub is unavailable")
        try #require(retry?.contains("retrying in") == true, "\(retry ?? "the runner ended")")
        let errors = Pipe()
        let server = try s.runner.start(["serve", "--port", port], standardError: errors)
        defer {
            kill(server.processIdentifier, SIGTERM)
            server.waitUntilExit()
        }
        #expect(await lines.until("registered") != nil)
        kill(runner.processIdentifier, SIGTERM)
        try #require(await ProcessWait.exit(of: runner, within: .seconds(30)))
        #expect(runner.terminationStatus == 0)
    }

    /// A runner killed with SIGKILL left its command running (in a process group of its own),
    /// beside the retry another runner started: the command now gets SIGTERM.
    @Test func aCommandDiesWithItsRunner() async throws {
        let s = try DispatchSandbox("agent-sigkill")
        defer { s.remove() }
        try s.succeed("w", "create", AgentRunnerTests.oneTask + #""}]}]}"#)
        try s.succeed("w", "start")
        let marks = s.file("marks")
        #expect(mkfifo(marks, 0o600) == 0)
        // Read and write: opening does not wait for the command, and the stream never ends by itself.
        let fd = open(marks, O_RDWR)
        #expect(fd >= 0)
        var said = LineStream(FileHandle(fileDescriptor: fd, closeOnDealloc: true))
        let (runner, _) = try AgentRunnerTests.agent(
            s,
            [
                "agent", "--id", "mortal", "--roles", "code", "--", "/bin/sh", "-c",
                #"trap 'echo terminated > "$0"; exit 143' TERM; echo $$ > "$0.pid"; echo ready > "$0"; sleep 600 & wait"#,
                marks,
            ])
        #expect(await said.until("ready") != nil)
        defer {
            // Should the command have outlived the check, its group goes now.
            if let pid = s.read("marks.pid").flatMap({ Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) {
                kill(-pid, SIGKILL)
            }
        }
        kill(runner.processIdentifier, SIGKILL)
        #expect(await said.until("terminated") != nil)
        runner.waitUntilExit()
    }
}

/// The pauses of a runner waiting for a hub that cannot be reached at its start.
@Suite struct StartupRetryTests {
    @Test func thePauseDoublesUpToItsCapAndStopsAfterThirtySeconds() {
        #expect(StartupRetry.delay(afterFailures: 1, waited: .zero) == .milliseconds(250))
        #expect(StartupRetry.delay(afterFailures: 2, waited: .milliseconds(250)) == .milliseconds(500))
        #expect(StartupRetry.delay(afterFailures: 6, waited: .seconds(8)) == .seconds(5))
        #expect(StartupRetry.delay(afterFailures: 1000, waited: .seconds(10)) == .seconds(5))
        // The last pause ends at 30s in all, and then there is none.
        #expect(StartupRetry.delay(afterFailures: 9, waited: .seconds(28)) == .seconds(2))
        #expect(StartupRetry.delay(afterFailures: 10, waited: .seconds(30)) == nil)
        var waited = Duration.zero
        var failures = 0
        while let pause = StartupRetry.delay(afterFailures: failures + 1, waited: waited) {
            failures += 1
            waited += pause
        }
        #expect(waited == .seconds(30))
        #expect(failures < 20)
    }
}
