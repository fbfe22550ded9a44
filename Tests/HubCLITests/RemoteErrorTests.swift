import Foundation
import HubCore
import HubTesting
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What the command line says when a `--hub` call gets no answer.
@Suite(.timeLimit(.minutes(1))) struct RemoteErrorTests {
    /// NIO's description came through whole, parentheses unbalanced: "Cannot reach the hub at
    /// …: connection reset (error set): Connection refused) (errno: 111)".
    @Test func aRefusedConnectionIsSaidPlainly() throws {
        let hub = try CLISandbox("remote-refused")
        defer { hub.remove() }
        // A port bound but not listening: nobody there, and nobody can take it meanwhile.
        let (fd, port) = try ServePortInUseTests.occupyPort(listening: false)
        defer { close(fd) }
        let url = "http://127.0.0.1:\(port)"
        let error = try hub.fail(["--hub", url, "list-workflows"], code: "STORE_UNAVAILABLE", exit: 1)
        #expect(error["message"]?.stringValue == "Cannot reach the hub at \(url): connection refused", "\(error)")
    }
}

/// Options typed for the other side of `--hub` were ignored: `--token` on the local store,
/// `--state-dir` and `--set` through a server. The command ran somewhere the user did not
/// mean; now it is refused before anything is opened or sent.
@Suite(.timeLimit(.minutes(1))) struct MisplacedOptionTests {
    /// The hub named is a port nobody listens on: an answer other than the refusal would be
    /// "Cannot reach the hub", so the refusal shows that nothing was sent.
    @Test func optionsOfTheLocalStoreAreRefusedThroughAServer() throws {
        let hub = try CLISandbox("misplaced-remote")
        defer { hub.remove() }
        let (fd, port) = try ServePortInUseTests.occupyPort(listening: false)
        defer { close(fd) }
        let url = "http://127.0.0.1:\(port)"
        let stateDir = try hub.fail(
            ["--hub", url, "--state-dir", hub.directory.file("elsewhere"), "list-workflows"],
            code: "INVALID_ARGUMENTS", exit: 2)
        #expect(stateDir["message"]?.stringValue?.hasPrefix("--state-dir names a local store") == true, "\(stateDir)")
        let set = try hub.fail(
            ["--hub", url, "--set", "heartbeat_interval=5s", "list-workflows"], code: "INVALID_ARGUMENTS", exit: 2)
        #expect(set["message"]?.stringValue?.hasPrefix("--set heartbeat_interval") == true, "\(set)")

        // The same through the environment's URL, which the message names.
        var ambient = hub
        ambient.runner.environment["COORDINATION_HUB_URL"] = url
        let named = try ambient.fail(
            ["--state-dir", hub.directory.file("elsewhere"), "list-workflows"], code: "INVALID_ARGUMENTS", exit: 2)
        #expect(named["message"]?.stringValue?.contains("COORDINATION_HUB_URL is set") == true, "\(named)")
        #expect(!hub.exists(hub.directory.file("elsewhere")))
    }

    @Test func aTokenIsRefusedOnTheLocalStore() throws {
        let hub = try CLISandbox("misplaced-token")
        defer { hub.remove() }
        let error = try hub.fail(["--token", "secret", "w1", "create", "{}"], code: "INVALID_ARGUMENTS", exit: 2)
        #expect(error["message"]?.stringValue?.hasPrefix("--token is sent to a server") == true, "\(error)")
        #expect(!hub.exists(hub.stateDirectory), "nothing was created")
        let agent = try hub.fail(
            ["agent", "--id", "a1", "--token", "secret", "--", "true"], code: "INVALID_ARGUMENTS", exit: 2)
        #expect(agent["message"]?.stringValue?.hasPrefix("--token is sent to a server") == true, "\(agent)")
        #expect(!hub.exists(hub.stateDirectory), "the runner did not start")
    }
}

/// A `--hub` call its caller cancels is not an unreachable hub.
@Suite(.timeLimit(.minutes(1))) struct RemoteCancellationTests {
    /// Through `--hub`, an MCP `claim_task` waiting for work, cut short by the client closing
    /// its input, was answered STORE_UNAVAILABLE "Cannot reach the hub at …:
    /// CancellationError()"; on the local store it is an empty claim, and so it is now. The
    /// server withdrew the claim as the connection closed, so nothing was taken.
    @Test func aWaitingClaimCutShortThroughAServerIsAnEmptyClaim() async throws {
        let s = try DispatchSandbox("remote-claim-cut")
        defer { s.remove() }
        let (server, url) = try await AgentRunnerTests.server(s)
        defer {
            kill(server.processIdentifier, SIGTERM)
            server.waitUntilExit()
        }
        try s.succeed("--hub", url, "register-agent", #"{"agent_id": "waiter"}"#)
        let session = try MCPCommandTests.Session(s.runner, ["mcp", "--hub", url])
        session.initialize()
        let claim = session.waitingClaimCutShort()
        #expect(claim["result"]?["isError"] == false, "\(claim)")
        #expect(claim["result"]?["structuredContent"]?["status"] == "success", "\(claim)")
        #expect(claim["result"]?["structuredContent"]?["result"]?["count"] == 0, "\(claim)")
        #expect(try s.pool()["waiter"]?["current_load"] == 0)
    }
}
