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
        #expect(error["details"]?.stringValue == "Nothing was sent: no change was made.", "\(error)")
    }

    /// A call whose connection closed after the request went out reached the hub: "Cannot
    /// reach the hub … Nothing was sent" was wrong, and a retried publish was stored twice.
    @Test func anAnswerLostAfterTheRequestWentOutSaysTheChangeMayHaveBeenMade() throws {
        let hub = try CLISandbox("remote-lost-answer")
        defer { hub.remove() }
        let (fd, port) = try ServePortInUseTests.occupyPort(listening: true)
        defer { close(fd) }
        // Takes one request and hangs up without an answer, as a server killed mid-call does.
        let taker = Thread {
            let connection = accept(fd, nil, nil)
            guard connection >= 0 else { return }
            var buffer = [UInt8](repeating: 0, count: 4096)
            _ = read(connection, &buffer, buffer.count)
            close(connection)
        }
        taker.start()
        let url = "http://127.0.0.1:\(port)"
        let error = try hub.fail(["--hub", url, "w1", "create", "{}"], code: "STORE_UNAVAILABLE", exit: 1)
        #expect(error["message"]?.stringValue?.hasPrefix("The hub at \(url) did not answer") == true, "\(error)")
        #expect(error["details"]?.stringValue?.contains("may or may not have been made") == true, "\(error)")
    }

    /// A port past 65535 crashed the client inside its HTTP library (exit 132, no JSON).
    @Test func aPortOutOfRangeIsRefusedNotACrash() throws {
        let hub = try CLISandbox("remote-bad-port")
        defer { hub.remove() }
        // Too large to read, or nothing after the colon: the request went to port 80.
        for port in ["65536", "99999", "0", "99999999999999999999", ""] {
            let error = try hub.fail(
                ["--hub", "http://127.0.0.1:\(port)", "list-workflows"], code: "INVALID_ARGUMENTS", exit: 2)
            #expect(error["message"]?.stringValue?.hasPrefix("--hub needs a server URL") == true, "\(error)")
        }
    }
}

/// A server's answer nests what a request stored deeper than the request did.
@Suite(.timeLimit(.minutes(2))) struct RemoteDepthTests {
    /// A payload at the request's depth limit made every later answer about its workflow too
    /// deep for the client: a claim that took the task was reported STORE_UNAVAILABLE
    /// ("Something else answered"), and get-status through the server failed from then on.
    @Test func aPayloadAsDeepAsARequestMayCarryComesBackThroughTheServer() async throws {
        let s = try DispatchSandbox("remote-deep")
        defer { s.remove() }
        let (server, url, _) = try await ServeTests.startServer(s)
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        try s.succeed("--hub", url, "w", "create", #"{"phases": [{"name": "p"}]}"#)
        try s.succeed("--hub", url, "w", "start")
        // The deepest a request may nest (128 levels), three of them the request's own.
        let depth = JSONParser.maximumDepth - 4
        let payload = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        try s.succeed("--hub", url, "w", "add-tasks", #"{"tasks": [{"task_id": "deep", "payload": "# + payload + "}]}")
        try s.succeed("--hub", url, "register-agent", #"{"agent_id": "a1"}"#)
        // The answers are deeper than this test's own reading of them: read as text.
        let claimed = try s.run(["--hub", url, "claim-task", #"{"agent_id": "a1"}"#])
        #expect(claimed.status == 0, "\(claimed.stdout)")
        #expect(claimed.stdout.hasPrefix(#"{"status":"success","operation":"claim-task""#), "\(claimed.stdout)")
        #expect(claimed.stdout.contains(#""task_id":"deep""#), "\(claimed.stdout)")
        let status = try s.run(["--hub", url, "w", "get-status"])
        #expect(status.status == 0, "\(status.stdout)")
        #expect(status.stdout.hasPrefix(#"{"status":"success""#), "\(status.stdout)")
        kill(server.processIdentifier, SIGTERM)
        #expect(await ProcessWait.exit(of: server, within: .seconds(30)))
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

    /// The runner through a server read the local configuration, and one the local hub would
    /// refuse (here two files) kept it from a healthy server and then crashed it. It reads
    /// none; `--set` and `--state-dir` are refused for it as for every other command.
    @Test func aRemoteRunnerReadsNoLocalConfigurationAndRefusesLocalOptions() throws {
        let hub = try CLISandbox("misplaced-agent")
        defer { hub.remove() }
        try hub.write(#"{"heartbeat_interval": "10s"}"#, to: hub.state("config.json"))
        try hub.write("heartbeat_interval: 10s\n", to: hub.state("config.yaml"))
        let (fd, port) = try ServePortInUseTests.occupyPort(listening: false)
        defer { close(fd) }
        let url = "http://127.0.0.1:\(port)"
        for words in [
            ["--hub", url, "--set", "heartbeat_interval=5s", "agent", "--id", "a1"],
            ["--hub", url, "agent", "--id", "a1", "--state-dir", hub.directory.file("elsewhere")],
        ] {
            let error = try hub.fail(words, code: "INVALID_ARGUMENTS", exit: 2)
            #expect(error["message"]?.stringValue?.contains("server") == true, "\(words): \(error)")
        }
    }

    @Test func aRemoteRunnerWorksWhereTheLocalConfigurationWouldBeRefused() async throws {
        let s = try DispatchSandbox("agent-remote-config")
        defer { s.remove() }
        let (server, url, _) = try await ServeTests.startServer(s)
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        let created = try s.run(
            ["--hub", url, "w", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "t", "role": "code"}]}]}"#])
        #expect(created.status == 0, "\(created.stdout)")
        #expect(try s.run(["--hub", url, "w", "start"]).status == 0)
        let elsewhere = s.file("elsewhere")
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        try Data(#"{"event_retention": "30m"}"#.utf8).write(to: URL(fileURLWithPath: elsewhere + "/config.json"))
        let agent = ExecutableRunner(
            workingDirectory: s.directory.path, environment: ["COORDINATION_HUB_STATE_DIR": elsewhere])
        let ran = try agent.run([
            "--hub", url, "agent", "--id", "a1", "--roles", "code", "--workflow", "w", "--", "true",
        ])
        #expect(ran.status == 0, "\(ran.stdout) \(ran.stderr)")
        #expect(ran.stderr.contains("completed w/t"), "\(ran.stderr)")
        kill(server.processIdentifier, SIGTERM)
        #expect(await ProcessWait.exit(of: server, within: .seconds(30)))
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
    /// CancellationError()"; then an empty claim, "nothing taken" — but the server may assign
    /// a task in the moment it learns the client has gone, and that answer was a lie in about
    /// a third of such races. It says now what may have happened and how to give a lease back.
    @Test func aWaitingClaimCutShortThroughAServerSaysWhatMayHaveHappened() async throws {
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
        #expect(claim["result"]?["isError"] == true, "\(claim)")
        let error = claim["result"]?["structuredContent"]?["error"]
        #expect(error?["message"] == "The claim was cut short while it waited, before its answer came", "\(claim)")
        let steps = claim["result"]?["structuredContent"]?["recovery_suggestions"]?.arrayValue ?? []
        #expect(steps.first?.stringValue?.contains("held_leases") == true, "\(claim)")
        // Here nothing was there to assign: the server withdrew the claim.
        #expect(try s.pool()["waiter"]?["current_load"] == 0)
    }
}

/// The URL `--hub` is given: a trailing `/v1` and a user and password in it.
@Suite(.timeLimit(.minutes(1))) struct RemoteURLCLITests {
    /// `--hub http://host:port/v1` was sent to `/v1/v1/list-workflows`: OPERATION_NOT_FOUND
    /// "Nothing is served at /v1/v1/list-workflows".
    @Test func aURLEndingInV1ReachesTheServer() async throws {
        let s = try DispatchSandbox("remote-v1")
        defer { s.remove() }
        let (server, url) = try await AgentRunnerTests.server(s)
        defer {
            kill(server.processIdentifier, SIGTERM)
            server.waitUntilExit()
        }
        try s.succeed("--hub", url + "/v1", "w", "create", #"{"phases": [{"name": "p"}]}"#)
        let listed = try s.run(["--hub", url + "/v1/", "list-workflows"])
        #expect(listed.status == 0, "\(listed.stdout)")
        #expect(listed.json["result"]?["workflows"]?.arrayValue?.first?["id"] == "w", "\(listed.stdout)")
    }

    /// `--hub http://user:pw@host` printed the password in the MCP server's first line and in
    /// every message naming the hub.
    @Test func thePasswordInTheURLIsNotShown() throws {
        let hub = try CLISandbox("remote-userinfo")
        defer { hub.remove() }
        let (fd, port) = try ServePortInUseTests.occupyPort(listening: false)
        defer { close(fd) }
        let url = "http://user:s3cret@127.0.0.1:\(port)"
        let error = try hub.fail(["--hub", url, "list-workflows"], code: "STORE_UNAVAILABLE", exit: 1)
        #expect(error["message"]?.stringValue == "Cannot reach the hub at http://127.0.0.1:\(port): connection refused")
        #expect(!error.serialized().contains("s3cret"), "\(error)")
        let mcp = try hub.runner.run(["mcp", "--hub", url], stdin: "")
        #expect(mcp.stderr.contains("(hub http://127.0.0.1:\(port))"), "\(mcp.stderr)")
        #expect(!mcp.stderr.contains("s3cret"), "\(mcp.stderr)")
    }
}
