import Foundation
import HubCore
import HubEngine
import HubTesting
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `coordination-hub serve` as a user runs it: a real process on a real port, real
/// HTTP, webhook delivery from the server, and a graceful stop on SIGTERM (§13).
@Suite(.timeLimit(.minutes(2))) struct ServeTests {
    /// Sends one request and answers its status and JSON body.
    /// The body of a GET, as text.
    static func text(_ url: String) async throws -> String {
        let (data, _) = try await URLSession.shared.data(from: try #require(URL(string: url)))
        return String(decoding: data, as: UTF8.self)
    }

    static func request(_ method: String, _ url: String, _ body: String? = nil) async throws -> (Int, JSONValue) {
        var request = URLRequest(url: try #require(URL(string: url)))
        request.httpMethod = method
        if let body { request.httpBody = Data(body.utf8) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        return (status, (try? JSONParser.parse(bytes: [UInt8](data))) ?? .null)
    }

    @Test func theServerAnswersDeliversWebhooksAndStopsGracefully() async throws {
        let s = try DispatchSandbox("serve")
        defer { s.remove() }
        let receiver = try await WebhookReceiver.start()
        let (process, url, _) = try await Self.startServer(s)

        let (health, _) = try await Self.request("GET", url + "/healthz")
        #expect(health == 200)
        let (created, body) = try await Self.request("POST", url + "/v1/workflows/w1/create", #"{"phases": ["a"]}"#)
        #expect(created == 200)
        #expect(body["status"] == "success")
        let (again, error) = try await Self.request("POST", url + "/v1/workflows/w1/create", #"{"phases": ["a"]}"#)
        #expect(again == 409)
        #expect(error["error"]?["code"] == "WORKFLOW_EXISTS")

        // Request figures reach /metrics through swift-metrics.
        var request = URLRequest(url: try #require(URL(string: url + "/metrics")))
        request.httpMethod = "GET"
        let (metrics, _) = try await URLSession.shared.data(for: request)
        let text = String(decoding: metrics, as: UTF8.self)
        #expect(text.contains("http_server_request_duration_count{"))
        #expect(text.contains("hub_workflows{status=\"created\"} 1.0"))
        // An error series only for what failed (a 200 had one, at 0): here the 409.
        let errors = text.split(separator: "\n").filter { $0.hasPrefix("hb_request_errors_total{") }
        #expect(errors.count == 1 && errors.first?.contains("error_type=\"409\"") == true, "\(errors)")
        #expect(text.contains("# TYPE hub_delivered_events_total counter"))

        // The served OpenAPI document names this server, not 127.0.0.1:8080.
        let (_, document) = try await Self.request("GET", url + "/openapi.json")
        #expect(document["servers"] == [["url": .string(url)]])

        // Webhook delivery runs inside the server.
        let (subscribed, _) = try await Self.request(
            "POST", url + "/v1/subscribe-event",
            "{\"patterns\": [\"*.deployed\"], \"callback\": \"hook\", \"webhook_url\": \"\(receiver.url(path: "/hook"))\"}"
        )
        #expect(subscribed == 200)
        _ = try await Self.request("POST", url + "/v1/enable-async-processing", #"{"optimization_mode": "latency"}"#)
        _ = try await Self.request("POST", url + "/v1/workflows/w1/publish-event", #"{"event_type": "deployed"}"#)
        let delivered = try #require(await receiver.next())
        let events = (try? JSONParser.parse(bytes: delivered.body))?["events"]?.arrayValue ?? []
        #expect(events.first?["event_type"] == "deployed")

        // An open event stream must not hold up the graceful stop.
        let stream = try Self.openStream(url: url, path: "/v1/events/stream?patterns=*.deployed&after_sequence=0")
        var streamLines = LineStream(stream)
        #expect(await streamLines.next()?.hasPrefix("HTTP/1.1 200") == true)
        while let line = await streamLines.next(), !line.hasPrefix("data: ") {}

        kill(process.processIdentifier, SIGTERM)
        #expect(await ProcessWait.exit(of: process, within: .seconds(60)))
        #expect(process.terminationStatus == 0)
        try await receiver.shutdown()
        // The state is on disk for the next process.
        let status = try s.succeed("w1", "get-status")
        #expect(status["workflow_state"]?["status"] == "created")
    }

    /// A raw HTTP/1.1 GET on a socket, left open: what an SSE client does.
    static func openStream(url: String, path: String) throws -> FileHandle {
        let handle = try openSocket(url: url)
        handle.write(Data("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n".utf8))
        return handle
    }

    /// A TCP connection to the server at `url`, nothing sent yet; `receiveBuffer` sets the
    /// socket's receive buffer before it connects (a client that reads little holds little).
    static func openSocket(url: String, receiveBuffer: Int32? = nil) throws -> FileHandle {
        let port = UInt16(url.split(separator: ":").last.flatMap { Int($0) } ?? 0)
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        if var size = receiveBuffer {
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        try #require(fd >= 0 && connected == 0, "could not connect to \(url)")
        return FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }

    /// Starts `serve --port <port>` (0: any free port) in the sandbox and answers the
    /// process, its base URL and the rest of its standard error.
    static func startServer(_ s: DispatchSandbox, port: Int = 0) async throws -> (SpawnedProcess, String, LineStream) {
        let errors = Pipe()
        let process = try s.runner.start(["serve", "--port", String(port)], standardError: errors)
        var lines = LineStream(errors.fileHandleForReading)
        while let line = await lines.next() {
            if let range = line.range(of: "serving ") {
                return (process, String(line[range.upperBound...].prefix { $0 != " " }), lines)
            }
        }
        throw ServeFailure(description: "the server did not start")
    }

    struct ServeFailure: Error, CustomStringConvertible { let description: String }

    /// A response with what differs between two runs (ids, times) blanked out.
    static func comparable(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let members):
            var out: JSONValue = .emptyObject
            for (key, member) in members {
                if [
                    "timestamp", "execution_time", "created_at", "updated_at", "started_at", "event_id",
                    "correlation_id", "causation_id", "lease_id", "last_heartbeat", "registered_at",
                    "lease_expires_at", "claimed_at", "completed_at", "finished_at", "message", "routing_key",
                    "average_task_time", "active_time", "workspace", "wall_time",
                ].contains(key) {
                    out[key] = "…"
                } else {
                    out[key] = comparable(member)
                }
            }
            return out
        case .array(let items): return .array(items.map(comparable))
        default: return value
        }
    }

    @Test func theSameOperationsGiveTheSameAnswersLocallyAndThroughTheServer() async throws {
        let local = try DispatchSandbox("parity-local")
        let remote = try DispatchSandbox("parity-remote")
        defer {
            local.remove()
            remote.remove()
        }
        let (server, url, _) = try await Self.startServer(remote)
        let script: [[String]] = [
            ["w1", "create", #"{"phases": [{"name": "build", "tasks": [{"task_id": "t1", "role": "code"}]}]}"#],
            ["w1", "create", #"{"phases": ["again"]}"#],
            ["w1", "start"],
            ["register-agent", #"{"agent_id": "a1", "specializations": ["code"]}"#],
            ["claim-task", #"{"agent_id": "a1"}"#],
            ["w1", "get-status"],
            ["w1", "pause", #"{"if_version": 1}"#],
            ["list-workflows"],
            ["nope-operation"],
            ["w1", "get-events", #"{"event_types": ["task_assigned"]}"#],
        ]
        for words in script {
            let here = try local.run(words)
            let there = try remote.run(["--hub", url] + words)
            #expect(here.status == there.status, "\(words): exit \(here.status) here, \(there.status) through --hub")
            #expect(Self.comparable(here.json) == Self.comparable(there.json), "\(words)")
        }
        // An agent works through the server too: it claims, runs and completes the task.
        _ = try remote.run([
            "--hub", url, "w2", "create",
            #"{"phases": [{"name": "only", "tasks": [{"task_id": "x", "role": "code"}]}]}"#,
        ])
        _ = try remote.run(["--hub", url, "w2", "start"])
        let agent = try remote.run([
            "agent", "--hub", url, "--id", "a2", "--roles", "code", "--max-tasks", "1", "--workflow", "w2",
            "--idle-delay", "20ms", "--", "/bin/sh", "-c", "exit 0",
        ])
        #expect(agent.status == 0, "\(agent.stderr)")
        let finished = try remote.run(["--hub", url, "w2", "get-status"])
        #expect(finished.json["result"]?["workflow_state"]?["status"] == "completed")
        kill(server.processIdentifier, SIGTERM)
        #expect(await ProcessWait.exit(of: server, within: .seconds(60)))
        let unreachable = try remote.run(["--hub", url, "list-workflows"])
        #expect(unreachable.errorCode == "STORE_UNAVAILABLE")
        #expect(unreachable.status == 1)
    }

    /// `get-events` with `follow` through `--hub` reads the server's event stream and prints
    /// the same JSON lines as following the local store, until interrupted.
    /// SIGINT to a following process: it stops and exits 0.
    static func interruptAndExpectCleanExit(_ process: SpawnedProcess) async {
        kill(process.processIdentifier, SIGINT)
        #expect(await ProcessWait.exit(of: process, within: .seconds(30)))
        #expect(process.terminationStatus == 0)
    }

    @Test func followThroughTheServerPrintsEventsAsTheyArrive() async throws {
        let s = try DispatchSandbox("serve-follow")
        defer { s.remove() }
        let (server, url, _) = try await Self.startServer(s)
        _ = try s.run(["--hub", url, "w1", "create", #"{"phases": ["build"]}"#])
        _ = try s.run(["--hub", url, "w1", "publish-event", #"{"event_type": "note", "data": {"n": 0}}"#])
        let output = Pipe()
        let follower = try s.runner.start(
            ["--hub", url, "w1", "get-events", #"{"follow": true, "event_types": ["note"], "after_sequence": 0}"#],
            standardOutput: output)
        var lines = LineStream(output.fileHandleForReading)
        let first = try JSONParser.parse(try #require(await lines.next()))
        #expect(first["event_type"] == "note")
        #expect(first["data"]?["n"] == 0)
        _ = try s.run(["--hub", url, "w1", "publish-event", #"{"event_type": "other"}"#])
        _ = try s.run(["--hub", url, "w1", "publish-event", #"{"event_type": "note", "data": {"n": 1}}"#])
        let second = try JSONParser.parse(try #require(await lines.next()))
        #expect(second["data"]?["n"] == 1)
        await Self.interruptAndExpectCleanExit(follower)
        // A subscription's events, which the stream does not carry, are read with get-events
        // again and again, acknowledged as they are printed (it was refused).
        _ = try s.run(["--hub", url, "subscribe-event", #"{"patterns": ["*.note"], "callback": "cb"}"#])
        let subscribed = Pipe()
        let consumer = try s.runner.start(
            ["--hub", url, "get-events", #"{"follow": true, "subscription": "cb", "ack": true}"#],
            standardOutput: subscribed)
        var consumed = LineStream(subscribed.fileHandleForReading)
        _ = try s.run(["--hub", url, "w1", "publish-event", #"{"event_type": "note", "data": {"n": 2}}"#])
        let third = try JSONParser.parse(try #require(await consumed.next()))
        #expect(third["data"]?["n"] == 2)
        await Self.interruptAndExpectCleanExit(consumer)
        let pending = try s.run(["--hub", url, "get-events", #"{"subscription": "cb"}"#])
        #expect(pending.json["result"]?["events"]?.arrayValue?.isEmpty == true)
        let missing = try s.run(["--hub", url, "get-events", #"{"follow": true, "subscription": "x"}"#])
        #expect(missing.errorCode == "SUBSCRIPTION_NOT_FOUND")
        // What neither can follow is refused with the reason, as a bad filter is, and with the
        // code and exit status of a local follow (it was INVALID_ARGUMENTS, exit 2, here alone).
        for parameters in [#"{"follow": true, "order": "desc"}"#, #"{"follow": true, "filters": {}}"#] {
            let unsupported = try s.run(["--hub", url, "get-events", parameters])
            let local = try s.run(["get-events", parameters])
            #expect(unsupported.errorCode == "INVALID_PARAMETERS", "\(unsupported.json)")
            #expect(unsupported.json["error"]?["context"] == local.json["error"]?["context"], "\(unsupported.json)")
            #expect(unsupported.status == 1 && local.status == 1)
        }
        let bad = try s.run(["--hub", url, "get-events", #"{"follow": true, "min_severity": "loud"}"#])
        #expect(bad.errorCode == "INVALID_PARAMETERS")
        kill(server.processIdentifier, SIGTERM)
        #expect(await ProcessWait.exit(of: server, within: .seconds(60)))
    }

    /// Starts `get-events` with `parameters` (a follow) through the server, once it has said on
    /// standard error how it follows (`notice`: by the stream unless told); answers the process
    /// and its standard output.
    static func startFollower(
        _ s: DispatchSandbox, url: String, _ parameters: String,
        notice expected: String = "get-events: following the event stream of"
    ) async throws -> (SpawnedProcess, Pipe) {
        let errors = Pipe()
        let output = Pipe()
        let follower = try s.runner.start(
            ["--hub", url, "get-events", parameters], standardOutput: output, standardError: errors)
        var notices = LineStream(errors.fileHandleForReading)
        let notice = try #require(await notices.next())
        #expect(notice.contains(expected), "\(notice)")
        return (follower, output)
    }

    /// Found by session 18's probe: a follow whose server stopped gracefully ended with exit 0
    /// and no word, as if interrupted; a watcher could not tell the server had gone.
    @Test(.timeLimit(.minutes(2))) func aFollowWhoseServerStopsSaysSo() async throws {
        let s = try DispatchSandbox("serve-follow-ends")
        defer { s.remove() }
        let (server, url, _) = try await Self.startServer(s)
        let (follower, output) = try await Self.startFollower(s, url: url, #"{"follow": true, "order": "asc"}"#)

        kill(server.processIdentifier, SIGTERM)

        #expect(await ProcessWait.exit(of: server, within: .seconds(60)))
        #expect(await ProcessWait.exit(of: follower, within: .seconds(60)))
        #expect(follower.terminationStatus == 1)
        var lines = LineStream(output.fileHandleForReading)
        var last: String?
        while let line = await lines.next() { last = line }
        let said = try JSONParser.parse(try #require(last))
        #expect(said["error"]?["code"] == "STORE_UNAVAILABLE", "\(said)")
        #expect(said["error"]?["message"]?.stringValue?.contains("the server closed it") == true, "\(said)")
    }

    /// A stream or a follow through the server without a starting point sent the whole log
    /// first. They carry the events after the newest one at the time of the request, fixed
    /// before the stream's headers (and the follower's line on standard error): a client that
    /// publishes once it has them gets its event, and no older one.
    @Test(.timeLimit(.minutes(2))) func aStreamWithoutAStartCarriesWhatIsPublishedOnceItAnswered() async throws {
        let s = try DispatchSandbox("serve-stream-new")
        defer { s.remove() }
        let (server, url, _) = try await Self.startServer(s)
        _ = try s.run(["--hub", url, "w1", "create", #"{"phases": ["build"]}"#])
        _ = try s.run(["--hub", url, "w1", "publish-event", #"{"event_type": "note", "data": {"n": 0}}"#])
        var stream = LineStream(try Self.openStream(url: url, path: "/v1/events/stream?event_types=note"))
        #expect(await stream.next()?.hasPrefix("HTTP/1.1 200") == true)
        let (follower, output) = try await Self.startFollower(
            s, url: url, #"{"follow": true, "event_types": ["note"]}"#)
        _ = try s.run(["--hub", url, "w1", "publish-event", #"{"event_type": "note", "data": {"n": 1}}"#])
        var data: String?
        while data == nil, let line = await stream.next() {
            if line.hasPrefix("data: ") { data = line }
        }
        let streamed = try JSONParser.parse(String(try #require(data).dropFirst(6)))
        #expect(streamed["data"]?["n"] == 1)
        var lines = LineStream(output.fileHandleForReading)
        let followed = try JSONParser.parse(try #require(await lines.next()))
        #expect(followed["data"]?["n"] == 1)
        await Self.interruptAndExpectCleanExit(follower)
        kill(server.processIdentifier, SIGTERM)
        #expect(await ProcessWait.exit(of: server, within: .seconds(60)))
    }

    /// Through a server, a resource request waits until it is granted (§8) instead of coming
    /// back queued; the client's own time limit grows with the wait it asked for.
    /// A client that stopped reading its event stream held a graceful stop for as long as it
    /// kept its connection, and further signals did nothing: a second signal cancels the stop.
    @Test(.timeLimit(.minutes(2))) func aSecondSignalEndsAStopHeldByAStalledStream() async throws {
        let s = try DispatchSandbox("serve-stalled")
        defer { s.remove() }
        let (server, url, log) = try await Self.startServer(s)
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        let stalled = try Self.openSocket(url: url, receiveBuffer: 4096)
        stalled.write(Data("GET /v1/events/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8))
        // More than any socket buffer holds: the stream cannot finish while nobody reads.
        let events =
            "["
            + Array(
                repeating: #"{"event_type": "blob", "data": {"b": "\#(String(repeating: "x", count: 8000))"}}"#,
                count: 100
            ).joined(separator: ",") + "]"
        for _ in 0..<10 {
            let (status, _) = try await Self.request("POST", "\(url)/v1/publish-event", "{\"events\": \(events)}")
            #expect(status == 200)
        }
        kill(server.processIdentifier, SIGTERM)
        var lines = log
        #expect(await lines.until("stopping gracefully") != nil)
        kill(server.processIdentifier, SIGTERM)
        #expect(await lines.until("a second signal") != nil)
        #expect(await ProcessWait.exit(of: server, within: .seconds(30)), "the server did not stop")
        #expect(server.terminationStatus == 0)
        try? stalled.close()
    }

    @Test func aResourceRequestThroughTheServerWaitsUntilGranted() async throws {
        let s = try DispatchSandbox("serve-resources")
        defer { s.remove() }
        let (server, url, _) = try await Self.startServer(s)
        let held = try s.run(["--hub", url, "allocate-resources", #"{"resources": {"gpu": 1}}"#])
        let allocation = try #require(held.json["result"]?["allocation_id"]?.stringValue)
        let requests = Pipe()
        let follower = try s.runner.start(
            [
                "--hub", url, "get-events",
                #"{"follow": true, "event_types": ["resource_requested"], "after_sequence": 0}"#,
            ],
            standardOutput: requests)
        var lines = LineStream(requests.fileHandleForReading)
        _ = await lines.next()
        let answer = Pipe()
        let waiter = try s.runner.start(
            [
                "--hub", url, "allocate-resources",
                #"{"resources": {"gpu": 1}, "constraints": {"max_wait_time": "1h"}}"#,
            ],
            standardOutput: answer)
        // The second request is queued: the waiter is waiting in the server.
        _ = await lines.next()
        _ = try s.run(["--hub", url, "release-resources", "{\"allocation_id\": \"\(allocation)\"}"])
        #expect(await ProcessWait.exit(of: waiter, within: .seconds(30)))
        let granted = try JSONParser.parse(bytes: Array(answer.fileHandleForReading.readDataToEndOfFile()))
        #expect(granted["result"]?["state"] == "granted", "\(granted)")
        #expect(waiter.terminationStatus == 0)
        kill(follower.processIdentifier, SIGINT)
        #expect(await ProcessWait.exit(of: follower, within: .seconds(30)))
        kill(server.processIdentifier, SIGTERM)
        #expect(await ProcessWait.exit(of: server, within: .seconds(60)))
    }

    @Test func clientsSendTheirTokenToAServerThatNeedsOne() async throws {
        let token = "admin-token-0123456789"
        let s = try DispatchSandbox("serve-auth", environment: ["COORDINATION_HUB_ADMIN_TOKEN": token])
        defer { s.remove() }
        let (server, url, _) = try await Self.startServer(s)
        let refused = try s.run(["--hub", url, "list-workflows"])
        #expect(refused.errorCode == "UNAUTHORIZED")
        #expect(refused.status == 1)
        let allowed = try s.run(["--hub", url, "--token", token, "list-workflows"])
        #expect(allowed.status == 0)
        let issued = try s.run(["--hub", url, "--token", token, "issue-token", #"{"agent_id": "a1"}"#])
        let agentToken = try #require(issued.json["result"]?["token"]?.stringValue)
        let forbidden = try s.run(["--hub", url, "--token", agentToken, "w1", "create", #"{"phases": ["a"]}"#])
        #expect(forbidden.errorCode == "FORBIDDEN")
        kill(server.processIdentifier, SIGTERM)
        #expect(await ProcessWait.exit(of: server, within: .seconds(60)))
        #expect(server.terminationStatus == 0)
    }

    @Test func aNonLoopbackBindIsRefused() throws {
        let s = try DispatchSandbox("serve-refused")
        defer { s.remove() }
        let error = try s.fail(["serve", "--host", "0.0.0.0"], code: "INVALID_ARGUMENTS", exit: 2)
        #expect(error["message"]?.stringValue?.contains("without an admin token") == true)
        // A DNS name that begins with 127. may resolve to any address: only IPv4 literals count.
        for name in ["127.lan-box.invalid", "127.0.0.1.example", "127.+0.0.1"] {
            let refused = try s.fail(["serve", "--host", name], code: "INVALID_ARGUMENTS", exit: 2)
            #expect(refused["message"]?.stringValue?.contains("without an admin token") == true, "\(name)")
        }
        // A name that does not resolve is the command line's mistake, not a bug of the hub.
        let unknown = try s.fail(
            ["serve", "--host", "nosuchhost.invalid", "--port", "0", "--admin-token", "abcdefghijklmnopqrst"],
            code: "INVALID_ARGUMENTS", exit: 2)
        #expect(unknown["message"]?.stringValue?.contains("does not resolve") == true, "\(unknown)")
        try s.fail(["serve", "--port", "99999"], code: "INVALID_ARGUMENTS", exit: 2)
        try s.fail(["serve", "--host", "0.0.0.0", "--admin-token", "short"], code: "INVALID_ARGUMENTS", exit: 2)
        // An empty or blank token (an unset variable) is refused, not taken as "open".
        for blank in ["", String(repeating: " ", count: 16)] {
            let refused = try s.fail(["serve", "--admin-token", blank], code: "INVALID_ARGUMENTS", exit: 2)
            #expect(refused["message"]?.stringValue?.contains("--admin-token is empty") == true)
        }
        // One no Authorization header can carry as given: the server started and refused its admin.
        for unsendable in ["  abcdefghijklmnop  ", "abcdefgh\nijklmnop"] {
            let refused = try s.fail(["serve", "--admin-token", unsendable], code: "INVALID_ARGUMENTS", exit: 2)
            #expect(refused["message"]?.stringValue?.contains("space or a control character") == true)
        }
    }

    /// `--set` after `serve` was "Unknown serve option" (exit 2) while the README lists it as a
    /// global option; it is read as before the command (a misspelt key shows it was read).
    @Test func settingsAfterServeAreRead() throws {
        let s = try DispatchSandbox("serve-set")
        defer { s.remove() }
        let error = try s.fail(
            ["serve", "--port", "0", "--set", "heartbeat_intervl=5s"], code: "INVALID_PARAMETERS", exit: 1)
        #expect(error["message"]?.stringValue?.contains("did you mean 'heartbeat_interval'") == true, "\(error)")
        try s.fail(["serve", "--set", "novalue"], code: "INVALID_ARGUMENTS", exit: 2)
    }
}

/// A state directory that is a file, or a symlink to nothing: a read answered as from an empty
/// store ("no workflows"), a write with Foundation's words for something else.
@Suite struct UnusableStateDirectoryTests {
    @Test func aStateDirectoryThatIsNoDirectoryIsStoreUnavailable() throws {
        let s = try DispatchSandbox("state-dir-file")
        defer { s.remove() }
        try "x".write(toFile: s.file("notadir"), atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: s.file("dangling"), withDestinationPath: "nowhere")
        let read = try s.fail(["--state-dir", "notadir", "list-workflows"], code: "STORE_UNAVAILABLE")
        #expect(read["message"]?.stringValue?.contains("is a file, not a directory") == true)
        let write = try s.fail(
            ["--state-dir", "dangling", "w", "create", #"{"phases": ["a"]}"#], code: "STORE_UNAVAILABLE")
        #expect(write["message"]?.stringValue?.contains("symbolic link to nothing") == true)
        // A directory to be made under a file: the read answered as from an empty store.
        let under = try s.fail(["--state-dir", "notadir/x", "list-workflows"], code: "STORE_UNAVAILABLE")
        #expect(under["message"]?.stringValue?.contains("notadir is a file") == true, "\(under)")
        #expect(!FileManager.default.fileExists(atPath: s.file("nowhere")))
    }
}
