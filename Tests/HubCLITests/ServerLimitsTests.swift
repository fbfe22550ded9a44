import Foundation
import HubCore
import HubTesting
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `serve` against clients that misbehave at the HTTP level: a broken body, a body that never comes.
@Suite(.timeLimit(.minutes(2))) struct ServerLimitsTests {
    /// A raw connection to the server at `url` carrying `bytes`, left open.
    static func send(_ bytes: String, to url: String) throws -> FileHandle {
        let handle = try ServeTests.openSocket(url: url)
        handle.write(Data(bytes.utf8))
        return handle
    }

    /// Runs `body` against a fresh `serve` in a sandbox of its own, stopped afterwards.
    static func withServer(_ label: String, _ body: (String) async throws -> Void) async throws {
        let s = try DispatchSandbox(label)
        defer { s.remove() }
        let (server, url, _) = try await ServeTests.startServer(s)
        defer { server.terminate() }
        try await body(url)
    }

    /// What the server answered on `handle`, up to the end of a small response.
    static func answer(_ handle: FileHandle) -> String { read(handle, until: { $0.contains("}") }) }

    /// Everything the server writes on `handle` until it closes the connection.
    static func untilClosed(_ handle: FileHandle) -> String { read(handle, until: { _ in false }) }

    /// What arrives on `handle` until `done` says so of it, or the connection closes.
    static func read(_ handle: FileHandle, until done: (String) -> Bool) -> String {
        var text = ""
        while !done(text) {
            let chunk = handle.readAvailableRetryingInterrupts()
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        return text
    }

    @Test func aBrokenChunkedBodyIsABadRequestNotATooLargeOne() async throws {
        try await Self.withServer("serve-chunk") { url in
            let handle = try Self.send(
                "POST /v1/list-workflows HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n",
                to: url)
            let text = Self.answer(handle)
            #expect(text.hasPrefix("HTTP/1.1 400"), "\(text)")
            #expect(text.contains("\"INVALID_PARAMETERS\""))
        }
    }

    /// Graceful shutdown finishes what is in flight, but a request whose body never comes
    /// held it for as long as its client kept the connection open.
    @Test func aBodyThatNeverComesDoesNotHoldTheShutdown() async throws {
        let s = try DispatchSandbox("serve-body")
        defer { s.remove() }
        let (server, url, _) = try await ServeTests.startServer(s)
        let handle = try Self.send(
            "POST /v1/list-workflows HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n{}", to: url)
        // The request has reached the server when an operation sent after it on another connection is answered.
        #expect(try await ServeTests.request("POST", "\(url)/v1/list-workflows", "{}").0 == 200)
        server.terminate()
        // Without the fix this waits for the suite's time limit: the stalled body kept the server running.
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                server.waitUntilExit()
                continuation.resume()
            }
        }
        #expect(server.terminationStatus == 0)
        let text = Self.answer(handle)
        #expect(text.isEmpty || text.contains("\"STORE_UNAVAILABLE\""), "\(text)")
    }
}

extension ServerLimitsTests {
    /// curl sends `Expect: 100-continue` before a large body and waits a second for the
    /// answer; other clients wait for it before sending at all.
    @Test func expectContinueIsAnsweredBeforeTheBody() async throws {
        try await Self.withServer("serve-continue") { url in
            let body = #"{"phases": ["a"]}"#
            let handle = try Self.send(
                "POST /v1/workflows/w1/create HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\n"
                    + "Content-Length: \(body.utf8.count)\r\n\r\n", to: url)
            // Without the answer this read waits until the server gives up on the body (400).
            let interim = Self.read(handle, until: { $0.contains("\r\n\r\n") })
            #expect(interim.hasPrefix("HTTP/1.1 100 Continue\r\n"), "\(interim)")
            handle.write(Data(body.utf8))
            let rest = interim.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
            let text = rest + Self.answer(handle)
            #expect(text.hasPrefix("HTTP/1.1 200"), "\(text)")
            #expect(text.contains("\"success\""), "\(text)")
        }
    }
}

extension ServerLimitsTests {
    /// What NIO cannot parse never reaches a route; it was answered with an empty 400.
    @Test(
        arguments: [
            ("NONSENSE\r\n\r\n", "400", "INVALID_ARGUMENTS"),
            (
                "POST /v1/list-workflows HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}",
                "400", "INVALID_ARGUMENTS"
            ),
            (
                "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + String(repeating: "a", count: 90 * 1024)
                    + "\r\n\r\n",
                "431", "PAYLOAD_TOO_LARGE"
            ),
        ])
    func unreadableHTTPGetsTheJSONErrorEnvelope(_ request: String, _ status: String, _ code: String) async throws {
        try await Self.withServer("serve-unparsable") { url in
            let handle = try Self.send(request, to: url)
            let text = Self.answer(handle)
            #expect(text.hasPrefix("HTTP/1.1 \(status)"), "\(text.prefix(300))")
            #expect(text.lowercased().contains("content-type: application/json"), "\(text.prefix(300))")
            #expect(text.contains("\"\(code)\""), "\(text.prefix(300))")
            // The server is unharmed.
            #expect(try await ServeTests.request("POST", "\(url)/v1/list-workflows", "{}").0 == 200)
            // And the answer is counted, as the router's are (it was not).
            let counted = try await Self.requestCounts(url).filter { $0.contains("status_code=\"\(status)\"") }
            #expect(counted.count == 1 && counted.first?.hasSuffix(" 1") == true, "\(counted)")
        }
    }

    /// `hb_requests_total`'s lines in `/metrics`.
    static func requestCounts(_ url: String) async throws -> [Substring] {
        try await ServeTests.text(url + "/metrics").split(separator: "\n").filter { $0.hasPrefix("hb_requests_total{") }
    }
}

extension ServerLimitsTests {
    /// Unparseable bytes pipelined behind a good request: the good one is answered, then
    /// the envelope (Hummingbird's bare 400 had come instead).
    @Test func unreadableHTTPBehindAGoodRequestGetsTheEnvelopeAfterItsAnswer() async throws {
        try await Self.withServer("serve-pipelined") { url in
            let handle = try Self.send(
                "POST /v1/list-workflows HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}NONSENSE\r\n\r\n",
                to: url)
            let text = Self.untilClosed(handle)
            let statusLines = text.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("HTTP/1.1 ") }
            #expect(statusLines.map { $0.prefix(12) } == ["HTTP/1.1 200", "HTTP/1.1 400"], "\(text)")
            #expect(text.hasSuffix("}\n") && text.contains("\"INVALID_ARGUMENTS\""), "\(text)")
        }
    }

    /// The refusal of a body announced too large names the operation the path asked for, as
    /// the refusal of one sent too large does (§3): it said "request" with no workflow.
    @Test(
        arguments: [
            ("/v1/workflows/w1/create", "create", JSONValue.string("w1")),
            ("/v1/list-workflows", "list-workflows", JSONValue.null),
            ("/v1/operations", "request", JSONValue.null),
        ])
    func aTooLargeBodyIsRefusedInTheNameOfItsOperation(_ path: String, _ operation: String, _ workflowID: JSONValue)
        async throws
    {
        try await Self.withServer("serve-large-name") { url in
            let handle = try Self.send(
                "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\n"
                    + "Content-Length: \(1 << 30)\r\n\r\n", to: url)
            let text = Self.untilClosed(handle)
            let body = try JSONParser.parse(String(text[try #require(text.range(of: "\r\n\r\n")).upperBound...]))
            #expect(body["error"]?["code"] == "PAYLOAD_TOO_LARGE", "\(text)")
            #expect(body["operation"] == .string(operation), "\(text)")
            #expect(body["workflow_id"] == workflowID, "\(text)")
        }
    }

    /// A header too large for the server is answered (431, the JSON envelope) and the
    /// connection ends with the answer read: the server closed it with the rest of the
    /// header unread, which resets the connection (RST), often before the client has read
    /// the answer or finished sending.
    @Test(arguments: [100_000, 1 << 20])
    func aTooLargeHeaderIsAnsweredNotReset(_ size: Int) async throws {
        try await Self.withServer("serve-large-header") { url in
            let handle = try ServeTests.openSocket(url: url)
            let request = Array(
                ("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + String(repeating: "a", count: size)
                    + "\r\n\r\n").utf8)
            let sendError = RawSocket.sendAll(request, on: handle.fileDescriptor)
            let (text, readError) = RawSocket.readToEnd(handle.fileDescriptor)
            #expect(sendError == nil, "sending failed: errno \(sendError ?? 0)")
            #expect(readError == nil, "reading failed: errno \(readError ?? 0), after \(text.prefix(300))")
            #expect(text.hasPrefix("HTTP/1.1 431"), "\(text.prefix(300))")
            #expect(text.contains("\"PAYLOAD_TOO_LARGE\"") && text.hasSuffix("}\n"), "\(text.prefix(600))")
            // The server is unharmed.
            #expect(try await ServeTests.request("POST", "\(url)/v1/list-workflows", "{}").0 == 200)
        }
    }

    /// A body announced over max_body_size with Expect: 100-continue is refused before it is sent.
    @Test func aTooLargeBodyThatAsksFirstIsRefusedAtOnce() async throws {
        try await Self.withServer("serve-continue-large") { url in
            let handle = try Self.send(
                "POST /v1/workflows/w1/create HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\n"
                    + "Content-Length: \(1 << 30)\r\n\r\n", to: url)
            // Nothing of the body is sent: without the fix the server says 100 and waits for it.
            let text = Self.untilClosed(handle)
            #expect(text.hasPrefix("HTTP/1.1 413"), "\(text)")
            #expect(text.contains("\"PAYLOAD_TOO_LARGE\""), "\(text)")
            let counted = try await Self.requestCounts(url).filter { $0.contains("status_code=\"413\"") }
            #expect(counted.count == 1, "\(counted)")
            #expect(counted.first?.contains("http_route=\"/v1/workflows/{id}/{operation}\"") == true, "\(counted)")
            #expect(counted.first?.contains("http_request_method=\"POST\"") == true, "\(counted)")
        }
    }
}

/// A `claim-task` that waits for work holds its connection open; a client that gives up
/// and goes must not be handed a task it can no longer receive.
@Suite(.timeLimit(.minutes(2))) struct LongPollDepartureTests {
    @Test func aWaitingClaimWhoseClientWentAwayTakesNothing() async throws {
        let s = try DispatchSandbox("serve-longpoll")
        defer { s.remove() }
        var (server, url, errors) = try await ServeTests.startServer(s)
        defer { server.terminate() }
        let workflow = #"{"phases": [{"name": "build", "tasks": [{"task_id": "t1", "role": "code"}]}]}"#
        #expect(try await ServeTests.request("POST", "\(url)/v1/workflows/w1/create", workflow).0 == 200)
        for agent in ["gone", "here"] {
            let body = #"{"agent_id": "\#(agent)", "specializations": ["code"]}"#
            #expect(try await ServeTests.request("POST", "\(url)/v1/register-agent", body).0 == 200)
        }
        // The workflow is not started: nothing can be claimed, so the claim waits.
        let body = #"{"agent_id": "gone", "wait": "60s"}"#
        let handle = try ServerLimitsTests.send(
            "POST /v1/claim-task HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)",
            to: url)
        try handle.close()
        // The server says when it has ended the wait; without the fix the claim waits on (and
        // this loop with it, until the suite's time limit) and takes t1 when work appears.
        var ended = false
        while !ended, let line = await errors.next() {
            ended = line.contains("ended early: its client went away") && line.contains("gone")
        }
        #expect(ended)
        #expect(try await ServeTests.request("POST", "\(url)/v1/workflows/w1/start", "{}").0 == 200)
        let (status, claimed) = try await ServeTests.request(
            "POST", "\(url)/v1/claim-task", #"{"agent_id": "here", "wait": "60s"}"#)
        #expect(status == 200)
        // t1, the only task, is still there to take: the departed claim did not take it.
        #expect(claimed["result"]?["tasks"]?.arrayValue?.first?["task_id"] == "t1", "\(claimed)")
    }
}

/// An event stream whose client closes its connection ends: it went on reading the log for
/// nobody, its socket left in CLOSE-WAIT and counted as an active request.
@Suite(.timeLimit(.minutes(2))) struct StreamDepartureTests {
    @Test func anEventStreamWhoseClientWentAwayEnds() async throws {
        let s = try DispatchSandbox("serve-stream-gone")
        defer { s.remove() }
        var (server, url, errors) = try await ServeTests.startServer(s)
        defer { server.terminate() }
        // A filter nothing matches: the stream has nothing to write, so only its client's
        // going can end it.
        let handle = try ServerLimitsTests.send(
            "GET /v1/events/stream?event_types=never_published HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", to: url)
        try handle.close()
        var ended = false
        while !ended, let line = await errors.next() {
            ended = line.contains("an event stream ended: its client went away")
        }
        #expect(ended)
    }
}

/// A socket written and read by hand, reporting what a client sees: the errno of a failed
/// send (EPIPE, ECONNRESET), and of a read that ended in a reset instead of end of file.
enum RawSocket {
    /// Sends all of `bytes` (no SIGPIPE); the errno that stopped it, or `nil`.
    static func sendAll(_ bytes: [UInt8], on fd: Int32) -> Int32? {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { raw in
                send(fd, raw.baseAddress.map { $0 + offset }, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += sent
        }
        return nil
    }

    /// Everything read until end of file, and the errno that ended it instead, if any.
    static func readToEnd(_ fd: Int32) -> (String, Int32?) {
        var all: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                all += buffer.prefix(n)
            } else if n == 0 {
                return (String(decoding: all, as: UTF8.self), nil)
            } else if errno != EINTR {
                return (String(decoding: all, as: UTF8.self), errno)
            }
        }
    }
}
