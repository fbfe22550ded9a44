import AsyncHTTPClient
import Foundation
import HubCore
import HubEngine
import NIOCore
import NIOPosix

/// The command line as a client of a running server (`--hub URL`, §13): each
/// operation is one `POST` to the route the server generates from the same
/// operation table, and the server's envelope is the answer, so the output is the
/// one the local store would give.
final class RemoteHub: OperationPerformer {
    /// The server's base URL, without a trailing slash (nor `/v1`), as requests are sent to it.
    /// Never shown: ``shown`` is.
    let base: String
    /// ``base`` as messages and logs show it: without the `user:password@` a URL may carry.
    let shown: String
    let timeout: Duration
    let client: HTTPClient
    /// The bearer token sent with every request, when there is one.
    let token: String?

    /// Reads `http://host:port` (or https); anything else is `INVALID_ARGUMENTS`. A trailing
    /// `/v1` is the routes' own prefix (a URL copied from a route): dropped, where it was sent
    /// to `/v1/v1/…`, which nothing serves.
    init(url: String, token: String? = nil, timeout: Duration = .seconds(60)) throws(HubError) {
        var trimmed = url
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        if trimmed.hasSuffix("/v1") {
            trimmed.removeLast(3)
            while trimmed.hasSuffix("/") { trimmed.removeLast() }
        }
        guard let parsed = URL(string: trimmed), ["http", "https"].contains(parsed.scheme ?? ""),
            parsed.host?.isEmpty == false, parsed.query == nil, parsed.fragment == nil,
            Self.portIsValid(trimmed)
        else {
            throw HubError(
                .invalidArguments,
                "--hub needs a server URL such as http://127.0.0.1:8080, got \(Self.redacted(url).prefix(128))",
                suggestions: ["Start a server with 'coordination-hub serve'"])
        }
        base = trimmed
        shown = Self.redacted(trimmed)
        self.token = token.flatMap { $0.isEmpty ? nil : $0 }
        self.timeout = timeout
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5)), decompression: .disabled)
        // A server that is not there is an answer at once, not a minute of retried connections.
        configuration.connectionPool.retryConnectionEstablishment = false
        client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    /// Whether the URL's port, when it names one, is 1 to 65535: one too large to read, or a
    /// colon with nothing after it, went to port 80 (URL drops a port it cannot parse).
    static func portIsValid(_ url: String) -> Bool {
        guard let start = url.range(of: "://")?.upperBound else { return false }
        let authority = url[start...].prefix { $0 != "/" }
        let hostEnd = authority.lastIndex(of: "]") ?? authority.startIndex
        guard let colon = authority[hostEnd...].lastIndex(of: ":") else { return true }
        let text = authority[authority.index(after: colon)...]
        guard !text.isEmpty, text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber), text.count <= 5,
            let port = Int(text)
        else { return false }
        return (1...65535).contains(port)
    }

    /// `url` without the user and password its authority may carry (`http://user:pw@host` is
    /// shown as `http://host`): the URL goes into messages, logs and the MCP server's first
    /// line, where a password does not belong.
    static func redacted(_ url: String) -> String {
        guard let start = url.range(of: "://")?.upperBound else { return url }
        let authorityEnd = url[start...].firstIndex(where: { "/?#".contains($0) }) ?? url.endIndex
        guard let at = url[start..<authorityEnd].lastIndex(of: "@") else { return url }
        return String(url[..<start]) + String(url[url.index(after: at)...])
    }

    /// Closes the client's connections.
    func shutdown() async { try? await client.shutdown() }

    /// How long to wait for the answer, in milliseconds, or `nil` for as long as it takes: the
    /// client's timeout, and for a request the server holds on purpose (a claim's `wait`, a
    /// resource request's `max_wait_time`, default 10m) that long more.
    ///
    /// An operation that may run check commands on the server (`complete-task` runs the task's
    /// `evidence.check_command`; `restore` with `verify_dependencies` runs each dependency's
    /// `check_command`, one after another) is waited for without a limit. The server stops each
    /// check after its `check_timeout` (default 5m), but this client does not know the server's
    /// value, which has no upper bound, nor how many checks a restore runs: any limit here could
    /// end the wait while the server goes on and completes the call, and a caller that sent it
    /// again (the agent runner resends an outcome the hub did not answer) ran the check a second
    /// time, at once, in the same workspace. The server ends every such call itself; a server
    /// that goes away closes the connection, which ends the wait too; a signal or an MCP
    /// cancellation cuts it short.
    func timeLimit(for request: OperationRequest) -> Int64? {
        let base = Int64(timeout.components.seconds) * 1000
        let held: String?
        switch request.operation {
        case "complete-task": return nil
        case "restore" where request.parameters["verify_dependencies"] == true: return nil
        case "claim-task": held = request.parameters["wait"]?.stringValue
        case "allocate-resources" where request.parameters["request_id"] == nil:
            held = request.parameters["constraints"]?["max_wait_time"]?.stringValue ?? "10m"
        default: held = nil
        }
        return base + (held.flatMap(HubDuration.init(parsing:))?.milliseconds ?? 0)
    }

    /// The largest answer read from the server.
    static let maximumResponse = 64 << 20

    func perform(_ request: OperationRequest) async -> OperationResponse {
        let started = ContinuousClock.now
        let path: String
        if let id = request.workflowID {
            path = "/v1/workflows/\(Self.escape(id))/\(Self.escape(request.operation))"
        } else {
            path = "/v1/\(Self.escape(request.operation))"
        }
        var http = HTTPClientRequest(url: base + path)
        http.method = .POST
        http.headers.add(name: "Content-Type", value: "application/json")
        http.headers.add(name: "User-Agent", value: "coordination-hub/\(Hub.version)")
        if let token { http.headers.add(name: "Authorization", value: "Bearer \(token)") }
        http.body = .bytes(ByteBuffer(bytes: request.parameters.serializedBytes()))
        let status: UInt
        let body: ByteBuffer
        let limit = timeLimit(for: request)
        do {
            let deadline = limit.map { NIODeadline.now() + .milliseconds($0) } ?? .distantFuture
            let response = try await client.execute(http, deadline: deadline)
            status = response.status.code
            body = try await response.body.collect(upTo: Self.maximumResponse)
        } catch {
            if Task.isCancelled || error is CancellationError || (error as? HTTPClientError) == .cancelled {
                return cancelled(request, after: ContinuousClock.now - started)
            }
            return failure(request, unanswered(error, limit: limit))
        }
        // The answer nests what a request stored a few levels deeper than the request did (a
        // task's payload under result.workflow_state.phases[].tasks[]): read as deep as that.
        guard let json = try? JSONParser.parse(bytes: Array(body.readableBytesView), extraDepth: 16),
            json["status"] != nil
        else {
            return failure(
                request,
                HubError(
                    .storeUnavailable,
                    "The server at \(shown) did not answer as a coordination hub (HTTP \(status), \(body.readableBytes) bytes)",
                    details: "Something else answered; the request may or may not have reached a hub.",
                    suggestions: ["Check that --hub names the address 'coordination-hub serve' printed"]))
        }
        return OperationResponse(json: json)
    }

    /// The answer to a call its caller cancelled (an MCP client cancelling or closing its
    /// input, a signal) before the server answered: not an unreachable hub. The connection
    /// closing tells the server, which withdraws a waiting claim or resource request then
    /// (§13) — unless it was granted in the same moment, and the answer went out as the
    /// connection closed. So nothing is said to have been taken or withdrawn: the answer says
    /// what may have happened and how to undo it. `elapsed`: how long the call went on.
    func cancelled(_ request: OperationRequest, after elapsed: Duration) -> OperationResponse {
        switch request.operation {
        case "claim-task" where request.waitsForWork:
            let agent = request.parameters["agent_id"]?.stringValue ?? "the agent"
            return failure(
                request,
                HubError(
                    .storeUnavailable, "The claim was cut short while it waited, before its answer came",
                    details:
                        "The server withdraws a waiting claim when its client goes, but a task assigned in that same moment is held for \(agent) under a lease nobody received.",
                    suggestions: [
                        "Give back any such lease: heartbeat with held_leases listing only the leases \(agent) has received",
                        "Or claim again: the agent's load in monitor-pool shows what it holds",
                    ]))
        case "allocate-resources" where request.waitsForWork:
            return failure(
                request,
                HubError(
                    .resourceTimeout, "The resource request was cut short while it waited, before its answer came",
                    details:
                        "The server withdraws a waiting request when its client goes; one granted in that same moment is held under an allocation id nobody received.",
                    suggestions: [
                        "Look for it: get-events '{\"event_types\": [\"resource_allocated\"], \"order\": \"desc\", \"limit\": 10}' lists recent grants with their allocation_id",
                        "Free a grant nobody uses with release-resources and its allocation_id; then send allocate-resources again",
                    ]))
        default:
            return failure(
                request,
                HubError(
                    .storeUnavailable, "The call to the hub at \(shown) was cancelled before its answer came",
                    details: "A change it asked for may or may not have been made.",
                    suggestions: ["Read the state with get-status before repeating a mutation"]))
        }
    }

    /// The error for a call that got no answer. One that never connected (refused, unknown
    /// host, no connection in time) sent nothing, and says so; one whose answer was lost or
    /// too large reached the hub, and the change it asked for may have been made; one not
    /// answered within `limit` milliseconds may still be under way there, and be made later.
    func unanswered(_ error: any Error, limit: Int64? = nil) -> HubError {
        if Self.neverSent(error) {
            return HubError(
                .storeUnavailable, "Cannot reach the hub at \(shown): \(Self.reason(error))",
                details: "Nothing was sent: no change was made.",
                suggestions: ["Check that 'coordination-hub serve' is running at \(shown)"])
        }
        if error is NIOTooManyBytesError {
            return HubError(
                .storeUnavailable,
                "The hub at \(shown) answered with more than \(Self.maximumResponse >> 20) MiB, more than this client reads",
                details: "The call was made; only its answer was not read.",
                suggestions: [
                    "Ask for less at a time: a smaller limit, or a narrower filter",
                    "Read the state with get-status before repeating a mutation",
                ])
        }
        if let failure = error as? HTTPClientError, failure == .readTimeout || failure == .deadlineExceeded {
            let waited = limit.map { " within \(HubDuration(milliseconds: $0))" } ?? " in time"
            return HubError(
                .storeUnavailable,
                "The hub at \(shown) did not answer\(waited); it may still be making the call, and complete it",
                details:
                    "The request was sent and the hub may still be working on it: the change it asked for may be made after this answer.",
                suggestions: [
                    "Read the state with get-status before repeating a mutation: a repeat may run it (and its checks) a second time",
                    "Check that 'coordination-hub serve' is running at \(shown)",
                ])
        }
        return HubError(
            .storeUnavailable, "The hub at \(shown) did not answer: \(Self.reason(error))",
            details: "The request was sent: the change it asked for may or may not have been made.",
            suggestions: [
                "Read the state with get-status before repeating a mutation",
                "Check that 'coordination-hub serve' is running at \(shown)",
            ])
    }

    /// Whether `error` came before the request could be sent: no connection was made.
    static func neverSent(_ error: any Error) -> Bool {
        switch error {
        case is NIOConnectionError, is SocketAddressError.UnknownHost: return true
        case let failure as IOError: return [ECONNREFUSED, EHOSTUNREACH, ENETUNREACH].contains(failure.errnoCode)
        case let failure as HTTPClientError: return failure == .connectTimeout || failure == .tlsHandshakeTimeout
        case let failure as ChannelError: if case .connectTimeout = failure { return true } else { return false }
        default: return false
        }
    }

    private func failure(_ request: OperationRequest, _ error: HubError) -> OperationResponse {
        OperationResponse.failure(
            request: request, error: error, timestamp: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
    }

    /// Why the server could not be reached, in a few words ("connection refused"), where
    /// NIO's descriptions nest ("connection reset (error set): Connection refused (errno: 111)").
    static func reason(_ error: any Error) -> String {
        switch error {
        case let failure as IOError:
            return String(cString: strerror(failure.errnoCode)).lowercased()
        case let failure as NIOConnectionError:
            if let lookup = failure.dnsAError ?? failure.dnsAAAAError { return reason(lookup) }
            if let first = failure.connectionErrors.first { return reason(first.error) }
            return "no connection to \(failure.host):\(failure.port)"
        case let unknown as SocketAddressError.UnknownHost:
            return "the host \(unknown.host) is not known"
        case let failure as HTTPClientError:
            switch failure {
            case .connectTimeout: return "the connection timed out"
            case .readTimeout, .deadlineExceeded: return "no answer in time"
            case .remoteConnectionClosed: return "the server closed the connection before answering"
            case .tlsHandshakeTimeout: return "the TLS handshake timed out"
            default: return String(describing: failure)
            }
        case let failure as ChannelError:
            if case .connectTimeout = failure { return "the connection timed out" }
            return String(describing: failure)
        case is NIOTooManyBytesError:
            return "the answer is larger than \(maximumResponse >> 20) MiB"
        default:
            return String(describing: error)
        }
    }

    /// A path segment, percent-encoded (ids and operation names are plain already; this keeps hostile ones inert).
    static func escape(_ segment: String) -> String {
        segment.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_")))
            ?? segment
    }
}
