import AsyncHTTPClient
import Foundation
import HubCore
import HubEngine
import NIOCore

/// The command line as a client of a running server (`--hub URL`, §13): each
/// operation is one `POST` to the route the server generates from the same
/// operation table, and the server's envelope is the answer, so the output is the
/// one the local store would give.
final class RemoteHub: OperationPerformer {
    /// The server's base URL, without a trailing slash.
    let base: String
    let timeout: Duration
    let client: HTTPClient
    /// The bearer token sent with every request, when there is one.
    let token: String?

    /// Reads `http://host:port` (or https); anything else is `INVALID_ARGUMENTS`.
    init(url: String, token: String? = nil, timeout: Duration = .seconds(60)) throws(HubError) {
        var trimmed = url
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard let parsed = URL(string: trimmed), ["http", "https"].contains(parsed.scheme ?? ""),
            parsed.host?.isEmpty == false, parsed.query == nil, parsed.fragment == nil
        else {
            throw HubError(
                .invalidArguments, "--hub needs a server URL such as http://127.0.0.1:8080, got \(url.prefix(128))",
                suggestions: ["Start a server with 'coordination-hub serve'"])
        }
        base = trimmed
        self.token = token.flatMap { $0.isEmpty ? nil : $0 }
        self.timeout = timeout
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5)), decompression: .disabled)
        // A server that is not there is an answer at once, not a minute of retried connections.
        configuration.connectionPool.retryConnectionEstablishment = false
        client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    /// Closes the client's connections.
    func shutdown() async { try? await client.shutdown() }

    /// How long to wait for the answer, in milliseconds: the client's timeout, and for a request
    /// the server holds on purpose (a claim's `wait`, a resource request's `max_wait_time`,
    /// default 10m) that long more.
    func timeLimit(for request: OperationRequest) -> Int64 {
        let base = Int64(timeout.components.seconds) * 1000
        let held: String?
        switch request.operation {
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
        do {
            let response = try await client.execute(http, timeout: .milliseconds(timeLimit(for: request)))
            let body = try await response.body.collect(upTo: Self.maximumResponse)
            let json = try JSONParser.parse(bytes: Array(body.readableBytesView))
            guard json["status"] != nil else { throw HubError.internal("not a coordination-hub response") }
            return OperationResponse(json: json)
        } catch {
            return OperationResponse.failure(
                request: request,
                error: HubError(
                    .storeUnavailable, "Cannot reach the hub at \(base): \(error)",
                    details: "Nothing was sent, or the answer was lost; check the server before retrying a change.",
                    suggestions: [
                        "Check that 'coordination-hub serve' is running at \(base)",
                        "Read the state with get-status before repeating a mutation",
                    ]),
                timestamp: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
        }
    }

    /// A path segment, percent-encoded (ids and operation names are plain already; this keeps hostile ones inert).
    static func escape(_ segment: String) -> String {
        segment.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_")))
            ?? segment
    }
}
