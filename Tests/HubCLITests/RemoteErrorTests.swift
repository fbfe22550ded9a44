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
