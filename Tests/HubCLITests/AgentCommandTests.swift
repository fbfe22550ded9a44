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

/// What `coordination-hub agent` promises in `help agent` and the README, held to what it does.
@Suite(.timeLimit(.minutes(2))) struct AgentCommandTests {
    /// `help agent` as one line, so a phrase is found wherever the text wraps.
    static func helpText() throws -> String {
        try #require(CommandHelp.text("agent")).split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    /// `help agent` said the command after `--` ran "with /bin/sh -c"; it is executed directly
    /// (§7), only a task's own `command` field goes to a shell.
    @Test func helpSaysTheCommandAfterTheDashesIsExecutedDirectly() throws {
        let text = try Self.helpText()
        #expect(!text.contains("(or the command after --) with /bin/sh -c"), "\(text)")
        #expect(text.contains("task's command field with /bin/sh -c"), "\(text)")
        #expect(text.contains("the command given after --, executed directly"), "\(text)")
    }

    /// The command after `--` gets its arguments as given: no shell expands `$TASK_ID` or `*`.
    @Test func theCommandAfterTheDashesGetsItsArgumentsAsGiven() async throws {
        let s = try DispatchSandbox("agent-argv")
        defer { s.remove() }
        try s.succeed("w", "create", AgentRunnerTests.oneTask + #""}]}]}"#)
        try s.succeed("w", "start")
        let (runner, log) = try AgentRunnerTests.agent(
            s, ["agent", "--id", "a", "--roles", "code", "--workflow", "w", "--", "/bin/echo", "$TASK_ID", "*"])
        defer { if runner.isRunning { kill(runner.processIdentifier, SIGKILL) } }
        var lines = log
        #expect(await lines.until("workflow w is finished (completed); exiting") != nil)
        #expect(await ProcessWait.exit(of: runner, within: .seconds(30)), "the runner did not stop")
        let task = try s.tasks("w")["t"]
        #expect(task?["result"]?["output_tail"] == "$TASK_ID *\n", "\(task ?? .null)")
    }

    /// A runner without `--roles` logged "registered with roles , up to 1 task(s)". It has no
    /// roles, and takes the tasks that need none (§7: it has every role such a task names).
    @Test func aRunnerWithoutRolesSaysSoAndTakesTasksThatNeedNone() async throws {
        let s = try DispatchSandbox("agent-no-roles")
        defer { s.remove() }
        try s.succeed(
            "w", "create",
            #"{"phases": [{"name": "p", "tasks": [{"task_id": "free"}, {"task_id": "coded", "role": "code"}]}]}"#)
        try s.succeed("w", "start")
        let (runner, log) = try AgentRunnerTests.agent(
            s, ["agent", "--id", "plain", "--idle-delay", "50ms", "--", "true"])
        defer { if runner.isRunning { kill(runner.processIdentifier, SIGKILL) } }
        var lines = log
        let registered = await lines.until("registered")
        #expect(registered?.contains("registered with no roles (only tasks without a role), up to 1 task(s)") == true)
        #expect(await lines.until("completed w/free") != nil)
        kill(runner.processIdentifier, SIGTERM)
        #expect(await ProcessWait.exit(of: runner, within: .seconds(30)), "the runner did not stop")
        #expect(try s.tasks("w")["coded"]?["status"] == "ready")
    }
}
