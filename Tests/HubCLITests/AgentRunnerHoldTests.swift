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

/// One runner at a time under an agent id, decided by the hub (`runner_id`), as a user runs
/// the runners: two started together under a new id both passed the runner's own check of
/// `monitor-pool` and then released each other's claims at every heartbeat, and a runner whose
/// agent token may not read `monitor-pool` could not check at all.
@Suite(.timeLimit(.minutes(2))) struct AgentRunnerHoldTests {
    static let refusal = "another runner holds this id"

    /// The first line of `lines` saying the runner registered or was refused.
    static func startOutcome(_ lines: inout LineStream) async -> String? {
        await AgentRunnerLifecycleTests.firstOf([refusal, "registered with roles"], in: &lines)
    }

    /// The `run_…` id a "registered" line names.
    static func runnerID(in line: String) -> String? {
        guard let range = line.range(of: "(runner ") else { return nil }
        return String(line[range.upperBound...].prefix { $0 != ")" })
    }

    @Test func ofTwoRunnersStartedTogetherUnderANewIDExactlyOneRuns() async throws {
        let s = try DispatchSandbox("agent-twins", environment: ["COORDINATION_HUB_HEARTBEAT_INTERVAL": "1s"])
        defer { s.remove() }
        try s.succeed("w", "create", AgentRunnerTests.oneTask + #"", "command": "echo ran >> runs"}]}]}"#)
        try s.succeed("w", "start")
        let arguments = ["agent", "--id", "twin", "--roles", "code", "--idle-delay", "50ms"]
        let (first, firstLog) = try AgentRunnerTests.agent(s, arguments)
        let (second, secondLog) = try AgentRunnerTests.agent(s, arguments)
        defer {
            for runner in [first, second] where runner.isRunning { kill(runner.processIdentifier, SIGKILL) }
        }
        var logs = [firstLog, secondLog]
        let said = [await Self.startOutcome(&logs[0]), await Self.startOutcome(&logs[1])]
        let refused = said.indices.filter { said[$0]?.contains(Self.refusal) == true }
        let registered = said.indices.filter { said[$0]?.contains("registered with roles") == true }
        try #require(refused.count == 1 && registered.count == 1, "\(said)")
        let (loser, winner) = refused[0] == 0 ? (first, second) : (second, first)
        let message = said[refused[0]] ?? ""
        #expect(message.contains("silent for 3 heartbeat intervals"), "\(message)")
        #expect(message.contains("or use another --id"), "\(message)")
        #expect(await ProcessWait.exit(of: loser, within: .seconds(30)), "the refused runner did not exit")
        #expect(loser.terminationStatus == 1)
        // The winner holds the id and works: its task runs once and is recorded.
        let holder = try #require(said[registered[0]].flatMap(Self.runnerID(in:)), "\(said)")
        #expect(holder.hasPrefix("run_"))
        var winnerLines = logs[registered[0]]
        #expect(await winnerLines.until("completed w/t") != nil)
        let task = try s.tasks("w")["t"]
        #expect(task?["status"] == "completed", "\(task ?? .null)")
        #expect(task?["attempts"] == 1)
        #expect(s.read("runs") == "ran\n")
        let agent = try s.pool()["twin"]
        #expect(agent?["runner_id"]?.stringValue == holder, "\(agent ?? .null)")
        #expect(winner.isRunning)
        kill(winner.processIdentifier, SIGTERM)
        #expect(await ProcessWait.exit(of: winner, within: .seconds(30)), "the running runner did not stop")
        #expect(winner.terminationStatus == 0)
        // Stopped, it let go of the id: the agent is offline and held by no runner.
        let after = try s.pool()["twin"]
        #expect(after?["status"] == "offline", "\(after ?? .null)")
        #expect(after?["runner_id"] == .null, "\(after ?? .null)")
    }

    /// Through a server with an agent token, which may not read `monitor-pool`: the second
    /// runner used to log that it could not check, and start.
    @Test func aRunnerWithAnAgentTokenIsRefusedUnderALiveID() async throws {
        let admin = "admin-token-0123456789"
        let s = try DispatchSandbox("agent-token-twice", environment: ["COORDINATION_HUB_ADMIN_TOKEN": admin])
        defer { s.remove() }
        let (server, url, _) = try await ServeTests.startServer(s)
        defer {
            kill(server.processIdentifier, SIGTERM)
            server.waitUntilExit()
        }
        let issued = try s.run(["--hub", url, "--token", admin, "issue-token", #"{"agent_id": "tok"}"#])
        let token = try #require(issued.json["result"]?["token"]?.stringValue, "\(issued.json)")
        let arguments = ["agent", "--hub", url, "--token", token, "--id", "tok", "--roles", "code", "--", "true"]
        let (first, firstLog) = try AgentRunnerTests.agent(s, arguments)
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) } }
        var firstLines = firstLog
        #expect(await Self.startOutcome(&firstLines)?.contains("registered with roles") == true)
        let (second, secondLog) = try AgentRunnerTests.agent(s, arguments)
        defer { if second.isRunning { kill(second.processIdentifier, SIGKILL) } }
        var secondLines = secondLog
        let said = await Self.startOutcome(&secondLines)
        #expect(said?.contains(Self.refusal) == true, "\(said ?? "no line")")
        #expect(await ProcessWait.exit(of: second, within: .seconds(30)))
        #expect(second.terminationStatus == 1)
        #expect(first.isRunning)
        kill(first.processIdentifier, SIGTERM)
        #expect(await ProcessWait.exit(of: first, within: .seconds(30)), "the first runner did not stop")
        #expect(first.terminationStatus == 0)
    }

    /// Found by session 18's probe: deregistering an agent revokes its token, so the runner's
    /// next heartbeat was refused UNAUTHORIZED, which it ignored: its command ran on beside the
    /// task's next claimant, and its claims were refused twice a second for good.
    @Test func aRunnerWhoseTokenIsRevokedStopsItsCommandAndExits() async throws {
        let admin = "admin-token-0123456789"
        let s = try DispatchSandbox(
            "agent-token-revoked",
            environment: ["COORDINATION_HUB_ADMIN_TOKEN": admin, "COORDINATION_HUB_HEARTBEAT_INTERVAL": "1s"])
        defer { s.remove() }
        let (server, url, _) = try await ServeTests.startServer(s)
        defer {
            kill(server.processIdentifier, SIGTERM)
            server.waitUntilExit()
        }
        let asAdmin = ["--hub", url, "--token", admin]
        #expect(try s.run(asAdmin + ["w", "create", AgentRunnerTests.oneTask + #""}]}]}"#]).status == 0)
        #expect(try s.run(asAdmin + ["w", "start"]).status == 0)
        let issued = try s.run(asAdmin + ["issue-token", #"{"agent_id": "gone"}"#])
        let token = try #require(issued.json["result"]?["token"]?.stringValue, "\(issued.json)")
        let (runner, log) = try AgentRunnerTests.agent(
            s,
            [
                "agent", "--hub", url, "--token", token, "--id", "gone", "--roles", "code", "--", "/bin/sh", "-c",
                "exec sleep 600",
            ])
        defer { if runner.isRunning { kill(runner.processIdentifier, SIGKILL) } }
        var lines = log
        #expect(await lines.until("running w/t") != nil)

        #expect(try s.run(asAdmin + ["deregister-agent", #"{"agent_id": "gone"}"#]).status == 0)

        // Its token refused or its agent unknown: which it hears first is a race (the heartbeat
        // let in just before the deregistration, or just after). Both stop it alike.
        let why = await lines.until("; stopping")
        #expect(
            why?.contains("no longer accepts this runner's token") == true
                || why?.contains("no longer knows this agent") == true, "\(why ?? "no line")")
        #expect(await lines.until("stopped its command") != nil)
        #expect(await ProcessWait.exit(of: runner, within: .seconds(30)), "the runner did not stop")
        #expect(runner.terminationStatus == 1)
    }

    /// A runner whose id another runner registered while the agent was not live (here set
    /// offline by hand) is refused at its next heartbeat: it stops its command and exits 1,
    /// where the two used to release each other's claims.
    @Test func aRunnerWhoseIDIsTakenOverStopsAtItsNextHeartbeat() async throws {
        let s = try DispatchSandbox("agent-taken-over", environment: ["COORDINATION_HUB_HEARTBEAT_INTERVAL": "1s"])
        defer { s.remove() }
        try s.succeed("w", "create", AgentRunnerTests.oneTask + #""}]}]}"#)
        try s.succeed("w", "start")
        let (runner, log) = try AgentRunnerTests.agent(
            s, ["agent", "--id", "moved", "--roles", "code", "--", "/bin/sh", "-c", "exec sleep 600"])
        defer { if runner.isRunning { kill(runner.processIdentifier, SIGKILL) } }
        var lines = log
        #expect(await lines.until("running w/t") != nil)
        // The runner's own heartbeat may bring the agent back between the two calls: try again.
        let taken = try await DispatchSandbox.poll(attempts: 50) {
            try s.succeed("heartbeat", #"{"agent_id": "moved", "offline": true}"#)
            return try s.run(["register-agent", #"{"agent_id": "moved", "runner_id": "run_other"}"#]).status == 0
        }
        try #require(taken)
        let said = await lines.until(Self.refusal)
        #expect(said?.contains("run_other") == true, "\(said ?? "no line")")
        #expect(said?.contains("took the id over") == true, "\(said ?? "no line")")
        #expect(await ProcessWait.exit(of: runner, within: .seconds(30)), "the displaced runner did not stop")
        #expect(runner.terminationStatus == 1)
        #expect(try s.pool()["moved"]?["runner_id"] == "run_other")
    }

    /// Between heartbeats a displaced runner learns it from its next claim, which is refused
    /// and takes nothing: it used to take a task that then ran beside the new holder's.
    @Test func aRunnerWhoseIDIsTakenOverStopsAtItsNextClaim() async throws {
        let s = try DispatchSandbox("agent-claim-displaced", environment: ["COORDINATION_HUB_HEARTBEAT_INTERVAL": "1h"])
        defer { s.remove() }
        let (runner, log) = try AgentRunnerTests.agent(
            s, ["agent", "--id", "claimer", "--roles", "code", "--idle-delay", "50ms", "--", "true"])
        defer { if runner.isRunning { kill(runner.processIdentifier, SIGKILL) } }
        var lines = log
        #expect(await Self.startOutcome(&lines)?.contains("registered with roles") == true)
        try s.succeed("heartbeat", #"{"agent_id": "claimer", "offline": true}"#)
        try s.succeed("register-agent", #"{"agent_id": "claimer", "runner_id": "run_other"}"#)
        let said = await lines.until(Self.refusal)
        #expect(said?.contains("claim refused") == true, "\(said ?? "no line")")
        #expect(said?.contains("run_other") == true, "\(said ?? "no line")")
        #expect(await ProcessWait.exit(of: runner, within: .seconds(30)), "the displaced runner did not stop")
        #expect(runner.terminationStatus == 1)
        // It stopped without a last heartbeat of its own: the new holder keeps the id.
        let agent = try s.pool()["claimer"]
        #expect(agent?["runner_id"] == "run_other", "\(agent ?? .null)")
        #expect(agent?["status"] == "available", "\(agent ?? .null)")
    }
}
