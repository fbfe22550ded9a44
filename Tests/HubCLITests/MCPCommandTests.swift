import Foundation
import HubCore
import HubEngine
import HubTesting
import Testing

/// `coordination-hub mcp` as an MCP client starts it: a process speaking JSON-RPC on
/// its standard input and output (the official Python SDK drives it further in
/// scripts/test-external.sh).
@Suite(.timeLimit(.minutes(1))) struct MCPCommandTests {
    /// One JSON-RPC exchange at a time: write a line, read the answer's line.
    final class Session {
        let process: SpawnedProcess
        let input = Pipe()
        let output = Pipe()
        var buffer: [UInt8] = []

        init(_ runner: ExecutableRunner, _ arguments: [String]) throws {
            process = try runner.start(arguments, standardInput: input, standardOutput: output)
        }

        /// The handshake, without waiting for its answer (the first line on standard output).
        func initialize(version: String = "2025-06-18") {
            send(
                #"{"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": ""#
                    + version + #"", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}}"#
            )
            send(#"{"jsonrpc": "2.0", "method": "notifications/initialized"}"#)
        }

        func send(_ message: String) {
            input.fileHandleForWriting.write(Data((message + "\n").utf8))
        }

        /// The next line on standard output, parsed (blocks until it arrives).
        func receive() -> JSONValue {
            while true {
                if let newline = buffer.firstIndex(of: 0x0A) {
                    let line = Array(buffer[..<newline])
                    buffer.removeFirst(newline + 1)
                    return (try? JSONParser.parse(bytes: line)) ?? .null
                }
                let chunk = output.fileHandleForReading.readAvailableRetryingInterrupts()
                if chunk.isEmpty { return .null }
                buffer += chunk
            }
        }

        func finish() -> Int32 {
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
            return process.terminationStatus
        }
    }

    @Test func anMCPClientListsTheToolsAndCallsOne() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let runner = ExecutableRunner(workingDirectory: directory.path)
        let session = try Session(runner, ["mcp"])
        session.send(
            #"{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}}"#
        )
        let initialized = session.receive()
        #expect(initialized["result"]?["serverInfo"]?["name"] == "coordination-hub", "\(initialized)")
        session.send(#"{"jsonrpc": "2.0", "method": "notifications/initialized"}"#)
        session.send(#"{"jsonrpc": "2.0", "id": 2, "method": "tools/list"}"#)
        let tools = session.receive()["result"]?["tools"]?.arrayValue ?? []
        #expect(tools.contains { $0["name"] == "claim_task" })
        #expect(tools.count == OperationTable.standard.operations.count)
        session.send(
            #"{"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "create", "arguments": {"workflow_id": "by_mcp", "phases": ["one"]}}}"#
        )
        let created = session.receive()["result"]
        #expect(created?["isError"] == false)
        #expect(created?["structuredContent"]?["result"]?["status"] == "created")
        session.send(
            #"{"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "get_status", "arguments": {}}}"#
        )
        let refused = session.receive()["result"]
        #expect(refused?["isError"] == true)
        #expect(refused?["structuredContent"]?["error"]?["code"] == "INVALID_ARGUMENTS")
        #expect(session.finish() == 0)
        // The workflow is in the store the command line reads.
        let status = try runner.run(["by_mcp", "get-status"])
        #expect(status.json["result"]?["workflow_state"]?["status"] == "created")
    }

    /// SIGINT and SIGTERM end the input as the client closing it would: what was read is
    /// answered and the server exits 0, its store closed.
    /// The companion answers `--help` and `--version` as the main executable does; it started a
    /// server, which with its input open waited for a client.
    @Test func theCompanionAnswersHelpAndVersion() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let companion = ExecutableRunner(workingDirectory: directory.path, named: "coordination-hub-mcp")
        let main = ExecutableRunner(workingDirectory: directory.path)
        let help = try companion.run(["--state-dir", "s", "--help"])
        #expect(help.status == 0)
        #expect(help.stdout == (try main.run(["mcp", "--help"])).stdout, "\(help.stdout)")
        #expect(help.stdout.hasPrefix("coordination-hub mcp ["), "\(help.stdout)")
        let version = try companion.run(["--version"])
        #expect(version.status == 0)
        #expect(version.json["result"]?["version"] == .string(Hub.version), "\(version.stdout)")
        // An option the command does not take is refused naming the command, not a workflow "mcp".
        let refused = try main.run(["mcp", "--version"])
        #expect(refused.errorCode == "INVALID_ARGUMENTS")
        #expect(refused.json["operation"] == "mcp", "\(refused.stdout)")
        #expect(refused.json["workflow_id"] == .null, "\(refused.stdout)")
        // Neither opened a store.
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/s"))
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/.claude"))
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func aStopSignalEndsTheServerCleanly(_ signal: Int32) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let runner = ExecutableRunner(workingDirectory: directory.path)
        let session = try Session(runner, ["mcp"])
        session.initialize()
        #expect(session.receive()["result"]?["serverInfo"]?["name"] == "coordination-hub")
        session.send(
            #"{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "create", "arguments": {"workflow_id": "before_stop", "phases": ["one"]}}}"#
        )
        #expect(session.receive()["result"]?["isError"] == false)
        #expect(session.process.send(signal))
        session.process.waitUntilExit()
        #expect(session.process.termination == .exited(0))
        #expect(try runner.run(["before_stop", "get-status"]).status == 0)
    }

    /// MCP's lifecycle: only a ping may come before initialize. The SDK listed and called
    /// tools for a client that had not initialized.
    @Test func requestsBeforeInitializeAreRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let runner = ExecutableRunner(workingDirectory: directory.path)
        let session = try Session(runner, ["mcp"])
        session.send(#"{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}"#)
        let early = session.receive()
        #expect(early["id"] == 1 && early["error"]?["code"] == -32600, "\(early)")
        session.send(
            #"{"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "create", "arguments": {"workflow_id": "early", "phases": ["a"]}}}"#
        )
        #expect(session.receive()["error"]?["code"] == -32600)
        session.send(#"{"jsonrpc": "2.0", "id": 3, "method": "ping"}"#)
        #expect(session.receive()["result"] != nil)
        session.initialize()
        #expect(session.receive()["id"] == 0)
        session.send(#"{"jsonrpc": "2.0", "id": 4, "method": "tools/list"}"#)
        #expect(session.receive()["result"]?["tools"]?.arrayValue?.isEmpty == false)
        #expect(session.finish() == 0)
        // The refused call changed nothing.
        #expect(try runner.run(["early", "get-status"]).json["error"]?["code"] == "WORKFLOW_NOT_FOUND")
    }

    /// A batch (MCP 2025-06-18 has none) is refused with one Invalid Request, before and
    /// after initialize: the SDK ran a batch's tools/call before initialize, and answered a
    /// batch holding a non-object with one parse error, never answering its request.
    @Test func aBatchIsRefusedAndChangesNothing() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let runner = ExecutableRunner(workingDirectory: directory.path)
        let session = try Session(runner, ["mcp"])
        let create =
            #"{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "create", "arguments": {"workflow_id": "batched", "phases": ["a"]}}}"#
        session.send("[\(create)]")
        let early = session.receive()
        #expect(early["id"] == .null && early["error"]?["code"] == -32600, "\(early)")
        #expect(early["error"]?["message"]?.stringValue?.contains("batches are not supported") == true)
        session.initialize()
        #expect(session.receive()["id"] == 0)
        session.send(#"[{"jsonrpc": "2.0", "id": 2, "method": "ping"}, 7]"#)
        let mixed = session.receive()
        #expect(mixed["id"] == .null && mixed["error"]?["code"] == -32600, "\(mixed)")
        #expect(mixed["error"]?["message"]?.stringValue?.contains("2025-06-18") == true, "\(mixed)")
        // The session goes on: the next line is answered as usual.
        session.send(#"{"jsonrpc": "2.0", "id": 3, "method": "ping"}"#)
        #expect(session.receive()["id"] == 3)
        #expect(session.finish() == 0)
        #expect(try runner.run(["batched", "get-status"]).json["error"]?["code"] == "WORKFLOW_NOT_FOUND")
    }

    /// MCP 2025-03-26 has JSON-RPC batches (2025-06-18 removed them): a client that negotiated
    /// it gets one array answering the batch's requests, each entry checked as a message on its
    /// own line is. Batches were refused whatever the version.
    @Test func aBatchIsAnsweredWhenTheNegotiatedVersionHasBatches() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let runner = ExecutableRunner(workingDirectory: directory.path)
        let session = try Session(runner, ["mcp"])
        session.initialize(version: "2025-03-26")
        #expect(session.receive()["result"]?["protocolVersion"] == "2025-03-26")
        let create =
            #"{"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "create", "arguments": {"workflow_id": "batched", "phases": ["a"]}}}"#
        session.send(
            #"[{"jsonrpc": "2.0", "id": 1, "method": "ping"}, "# + create
                + #", {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": 1, "progress": 1}}, 7, {"jsonrpc": "2.0", "id": 3, "method": "initialize", "params": {}}]"#
        )
        let answer = session.receive()
        let entries = try #require(answer.arrayValue, "\(answer)")
        // One answer per request and per invalid entry; none for the notification.
        #expect(entries.count == 4, "\(answer)")
        let byID = Dictionary(
            entries.map { (($0["id"] ?? .null).serialized(.compact), $0) }, uniquingKeysWith: { a, _ in a })
        #expect(byID["1"]?["result"] != nil, "\(answer)")
        #expect(byID["2"]?["result"]?["isError"] == false, "\(answer)")
        #expect(byID["null"]?["error"]?["code"] == -32600, "\(answer)")
        #expect(byID["3"]?["error"]?["code"] == -32600, "\(answer)")
        // An empty batch is one Invalid Request; a batch of notifications is answered with nothing.
        session.send("[]")
        let empty = session.receive()
        #expect(empty["id"] == .null && empty["error"]?["code"] == -32600, "\(empty)")
        session.send(#"[{"jsonrpc": "2.0", "method": "notifications/initialized"}]"#)
        // Lines go on as before.
        session.send(#"{"jsonrpc": "2.0", "id": 4, "method": "ping"}"#)
        #expect(session.receive()["id"] == 4)
        #expect(session.finish() == 0)
        #expect(try runner.run(["batched", "get-status"]).json["result"]?["workflow_state"]?["status"] == "created")
    }

    /// A client that writes its requests and closes its end gets every answer: the SDK
    /// answered each request in a task the server's exit did not wait for, so the
    /// workflows were created and the answers lost.
    @Test func requestsWrittenBeforeTheInputEndsAreAllAnswered() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let runner = ExecutableRunner(workingDirectory: directory.path)
        let session = try Session(runner, ["mcp"])
        session.initialize()
        for n in 1...8 {
            session.send(
                #"{"jsonrpc": "2.0", "id": \#(n), "method": "tools/call", "params": {"name": "create", "arguments": {"workflow_id": "w\#(n)", "phases": ["a"]}}}"#
            )
        }
        #expect(session.finish() == 0)
        var answered: Set<Int64> = []
        while case let line = session.receive(), !line.isNull {
            if let id = line["id"]?.intValue, line["result"]?["isError"] == false { answered.insert(id) }
        }
        #expect(answered == Set(1...8), "answered: \(answered.sorted())")
    }

    /// An `mcp` session, initialized, on a store with the agent `waiter` registered.
    static func waiterSession(in directory: TemporaryDirectory) throws -> (ExecutableRunner, Session) {
        let runner = ExecutableRunner(workingDirectory: directory.path)
        #expect(try runner.run(["register-agent", #"{"agent_id": "waiter"}"#]).status == 0)
        let session = try Session(runner, ["mcp"])
        session.initialize()
        return (runner, session)
    }

    /// A claim that waits for work is cancelled when the client's input ends, and answered
    /// (empty): the server had waited the whole `wait` for the answer of a client that
    /// was gone, and would have taken the next task for it.
    @Test func aWaitingClaimEndsWhenTheInputDoes() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (_, session) = try Self.waiterSession(in: directory)
        // Without the fix the process runs on for the claim's 60 s: past the suite's limit.
        let claim = session.waitingClaimCutShort()
        #expect(claim["result"]?["structuredContent"]?["result"]?["count"] == 0, "\(claim)")
    }

    /// A claim the client cancels (`notifications/cancelled`) ends at once, takes nothing and
    /// is not answered, as MCP asks: it was answered (empty) after the cancellation.
    @Test func aCancelledClaimEndsUnansweredAndTakesNothing() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (runner, session) = try Self.waiterSession(in: directory)
        #expect(session.receive()["id"] == 0)
        session.send(
            #"{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "claim_task", "arguments": {"agent_id": "waiter", "wait": "60s"}}}"#
        )
        session.send(#"{"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}}"#)
        // Work arrives after the cancellation: the cancelled claim must not take it.
        session.send(
            #"{"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "create", "arguments": {"workflow_id": "w", "name": "w", "phases": [{"name": "p", "tasks": [{"task_id": "t", "description": "t"}]}]}}}"#
        )
        session.send(
            #"{"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "start", "arguments": {"workflow_id": "w"}}}"#
        )
        session.send(#"{"jsonrpc": "2.0", "id": 4, "method": "ping"}"#)
        // Without the fix the process ran on for the claim's 60 s: past the suite's limit.
        #expect(session.finish() == 0)
        var answers: [JSONValue] = []
        while case let line = session.receive(), !line.isNull { answers.append(line) }
        #expect(answers.compactMap { $0["id"]?.intValue }.sorted() == [2, 3, 4], "\(answers)")
        let status = try runner.run(["w", "get-status", "{}"])
        let task = status.json["result"]?["workflow_state"]?["phases"]?.arrayValue?.first?["tasks"]?.arrayValue?.first
        #expect(task?["status"] == "ready", "\(status.stdout)")
    }

    #if os(Linux)
        /// The main executable does not load FoundationNetworking (and libcurl): only the
        /// companion links the MCP SDK that needs it (docs/ARCHITECTURE.md).
        @Test func theMainExecutableDoesNotLoadTheNetworkingLibraries() throws {
            let output = Pipe()
            let ldd = try SpawnedProcess.spawn(
                "/usr/bin/ldd", arguments: [ExecutableRunner.locateExecutable()],
                environment: ProcessInfo.processInfo.environment,
                standardOutput: .descriptor(output.fileHandleForWriting.fileDescriptor))
            try output.fileHandleForWriting.close()
            let libraries = String(decoding: output.fileHandleForReading.readToEndRetryingInterrupts(), as: UTF8.self)
            ldd.waitUntilExit()
            #expect(libraries.contains("libc.so"), "\(libraries)")
            #expect(!libraries.contains("FoundationNetworking"), "\(libraries)")
            #expect(!libraries.contains("libcurl"), "\(libraries)")
        }
    #endif
}

extension MCPCommandTests.Session {
    /// Calls `claim_task` for the agent `waiter` with a 60 s wait, then closes standard input
    /// at once (the process must exit 0) and answers the claim's response (`null` if none).
    func waitingClaimCutShort() -> JSONValue {
        send(
            #"{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "claim_task", "arguments": {"agent_id": "waiter", "wait": "60s"}}}"#
        )
        #expect(finish() == 0)
        var claim: JSONValue = .null
        while case let line = receive(), !line.isNull {
            if line["id"] == 1 { claim = line }
        }
        return claim
    }
}
