import Dispatch
import HTTPTypes
import HubCore
import HubEngine
import Hummingbird
import NIOCore
import Prometheus
import ServiceLifecycle

/// The HTTP API of §13, generated from the operation table: every operation at
/// `POST /v1/workflows/{id}/{operation}` and `POST /v1/{hub-operation}`, the seed's
/// envelope at `POST /v1/operations`, reads at `GET /v1/workflows[/{id}]`, and
/// `GET /healthz`. Every answer is the §3 envelope with the status of §13's table.
public enum HubRouter {
    /// Builds the router for `hub`; bodies over `maxBodySize` bytes get `PAYLOAD_TOO_LARGE`;
    /// event streams end once `streamsStop` says so.
    public static func make(
        hub: Hub, maxBodySize: Int, streamsStop: @escaping @Sendable () -> Bool = { false },
        registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), adminToken: String? = nil
    ) -> Router<HubRequestContext> {
        // HEAD wherever GET is served (RFC 9110 §9.3.2): the GET's status and headers, no body.
        let router = Router(context: HubRequestContext.self, options: .autoGenerateHeadEndpoints)
        let auth = Authorization(adminToken: adminToken, hub: hub)
        let operations = OperationMetrics(factory: PrometheusMetricsFactory(registry: registry))
        // Request counts, durations and errors, into the registry GET /metrics emits.
        router.add(
            middleware: RequestMetricsMiddleware(
                factory: PrometheusMetricsFactory(registry: registry), isOperation: { hub.table[$0] != nil }))
        router.add(middleware: MethodNotAllowedMiddleware(hub: hub))
        if adminToken == nil { router.add(middleware: LoopbackGuardMiddleware(hub: hub)) }
        addEventStream(to: router, hub: hub, stop: streamsStop, auth: auth)
        addMetrics(to: router, hub: hub, registry: registry, auth: auth)
        let openAPI = OpenAPIDocument.make(hub.table, version: Hub.version)
        // Served with this server's own address in `servers` (the generated one names 127.0.0.1:8080).
        let served: @Sendable (HubRequestContext) -> JSONValue = {
            OpenAPIDocument.served(openAPI, at: $0.channel.localAddress)
        }
        // The open endpoints take no parameters; a query is refused as on every other path.
        let open: [(String, String, @Sendable (HubRequestContext) -> JSONValue)] = [
            ("healthz", "healthz", { _ in ["status": "ok"] }), ("openapi.json", "openapi", served),
        ]
        for (path, operation, body) in open {
            router.get(RouterPath(stringLiteral: path)) { request, context in
                if let refusal = unknownQuery(request, allowed: [], instead: Self.takesNone) {
                    return failure(refusal, operation: operation, workflowID: nil, hub: hub)
                }
                return json(body(context), status: .ok)
            }
        }
        router.post("v1/operations") { request, context in
            if let refusal = unknownQuery(request, allowed: []) {
                return failure(refusal, operation: "request", workflowID: nil, hub: hub)
            }
            var request = request
            let headers = request.headers
            // Who is asking comes before what is asked: an unauthenticated body is not read.
            let caller: Authorization.Caller
            let envelope: JSONValue
            do {
                caller = try await auth.caller(headers)
                envelope = try await body(&request, limit: maxBodySize)
            } catch let error as HubError {
                return failure(error, operation: "request", workflowID: nil, hub: hub)
            }
            switch RequestEnvelope.read(envelope) {
            case .failure(let refusal):
                return failure(refusal.error, operation: refusal.operation, workflowID: refusal.workflowID, hub: hub)
            case .success(let operation):
                return await perform(
                    operation, hub: hub, auth: auth, headers: headers, context: context, caller: caller,
                    metrics: operations)
            }
        }
        router.post("v1/workflows/:id/:operation") { request, context in
            let id = Self.pathParameter(context, "id") ?? ""
            let operation = Self.pathParameter(context, "operation") ?? ""
            return await run(
                request, workflowID: id, operation: operation, hub: hub, auth: auth, limit: maxBodySize,
                context: context, metrics: operations)
        }
        router.post("v1/:operation") { request, context in
            let operation = Self.pathParameter(context, "operation") ?? ""
            return await run(
                request, workflowID: nil, operation: operation, hub: hub, auth: auth, limit: maxBodySize,
                context: context, metrics: operations)
        }
        router.get("v1/workflows") { request, _ in
            if let refusal = unknownQuery(request, allowed: ["status", "limit", "offset", "after", "include_archived"])
            {
                return failure(refusal, operation: "list-workflows", workflowID: nil, hub: hub)
            }
            var request = request
            if let refusal = await refuseBody(
                &request, limit: maxBodySize, path: "/v1/workflows",
                instead:
                    "Put status, limit, offset, after and include_archived in the query, or POST the parameters to /v1/list-workflows"
            ) {
                return failure(refusal, operation: "list-workflows", workflowID: nil, hub: hub)
            }
            var parameters: JSONValue = .emptyObject
            let query = request.uri.queryParameters
            if let status = query["status"] { parameters["status"] = .string(String(status)) }
            if let limit = query["limit"] {
                parameters["limit"] = Int64(String(limit)).map(JSONValue.int) ?? .string(String(limit))
            }
            if let offset = query["offset"] {
                parameters["offset"] = Int64(String(offset)).map(JSONValue.int) ?? .string(String(offset))
            }
            if let after = query["after"] { parameters["after"] = .string(String(after)) }
            if let archived = query["include_archived"] {
                // true or false; anything else goes to the operation as text, whose schema refuses it.
                parameters["include_archived"] =
                    archived == "true" ? .bool(true) : archived == "false" ? .bool(false) : .string(String(archived))
            }
            return await perform(
                OperationRequest(workflowID: nil, operation: "list-workflows", parameters: parameters), hub: hub,
                auth: auth, headers: request.headers, metrics: operations)
        }
        router.get("v1/workflows/:id") { request, context in
            let id = Self.pathParameter(context, "id") ?? ""
            // get-status's parameters (include_metrics, …) go with POST; this GET takes none at all.
            let instead =
                "POST get-status's parameters as JSON to /v1/workflows/\(id.prefix(128))/get-status, e.g. {\"include_metrics\": true}"
            if let refusal = unknownQuery(request, allowed: [], instead: "this path takes none; " + instead) {
                return failure(refusal, operation: "get-status", workflowID: id, hub: hub)
            }
            var request = request
            if let refusal = await refuseBody(
                &request, limit: maxBodySize, path: "/v1/workflows/\(id.prefix(128))", instead: instead)
            {
                return failure(refusal, operation: "get-status", workflowID: id, hub: hub)
            }
            return await perform(
                OperationRequest(workflowID: Self.pathParameter(context, "id") ?? "", operation: "get-status"),
                hub: hub,
                auth: auth, headers: request.headers, metrics: operations)
        }
        return router
    }

    static func run(
        _ request: Request, workflowID: String?, operation: String, hub: Hub, auth: Authorization, limit: Int,
        context: HubRequestContext, metrics: OperationMetrics? = nil
    ) async -> Response {
        var request = request
        if let refusal = unknownQuery(request, allowed: []) {
            return failure(refusal, operation: operation, workflowID: workflowID, hub: hub)
        }
        let caller: Authorization.Caller
        let parameters: JSONValue
        do {
            // Who is asking comes before what is asked: an unauthenticated body is not read.
            caller = try await auth.caller(request.headers)
            parameters = try await body(&request, limit: limit)
        } catch let error as HubError {
            return failure(error, operation: operation, workflowID: workflowID, hub: hub)
        } catch {
            return failure(.internal("\(error)"), operation: operation, workflowID: workflowID, hub: hub)
        }
        guard parameters.objectValue != nil else {
            return failure(
                HubError(
                    .invalidArguments, "Parameters must be a JSON object, got \(parameters.typeName)",
                    details: "Send the parameters as one object, e.g. {} when there are none.",
                    suggestions: ["Wrap the parameters in { }"]), operation: operation, workflowID: workflowID, hub: hub
            )
        }
        return await perform(
            OperationRequest(workflowID: workflowID, operation: operation, parameters: parameters), hub: hub,
            auth: auth, headers: request.headers, context: context, caller: caller, metrics: metrics)
    }

    /// `INVALID_PARAMETERS` naming a query parameter the route does not take (§3: unknown
    /// parameters are refused, not ignored), or `nil`. Operations take theirs in the body;
    /// `instead` says where they go on a path that takes none.
    /// A parameter given twice is refused too, unless it is one of `lists` (whose values add
    /// up): which of the two was meant cannot be known, and taking either would ignore the other.
    static func unknownQuery(
        _ request: Request, allowed: Set<String>, lists: Set<String> = [],
        instead: String = "an operation's parameters go in its JSON body"
    ) -> HubError? {
        let query = request.uri.queryParameters
        guard let unknown = query.first(where: { !allowed.contains(String($0.key)) }) else {
            var seen: Set<Substring> = []
            for (key, _) in query where !lists.contains(String(key)) && !seen.insert(key).inserted {
                return HubError.parameter(String(key.prefix(64)), "is given twice in the query; give it once")
            }
            return nil
        }
        let name = String(unknown.key.prefix(64))
        return allowed.isEmpty
            ? HubError.parameter(name, "is not a query parameter here: \(instead)")
            : HubError.parameter(
                name, "is not a query parameter here; this path takes \(allowed.sorted().joined(separator: ", "))")
    }

    /// What a path that takes no parameters says of one.
    static let takesNone = "this path takes no parameters"

    /// `INVALID_PARAMETERS` when a GET carries a body, or `nil` (none, whitespace, or `{}`):
    /// a GET's parameters are in its query, and a body would otherwise be silently ignored
    /// (§3). `instead` says where the parameters go.
    static func refuseBody(_ request: inout Request, limit: Int, path: String, instead: String) async -> HubError? {
        let bytes: [UInt8]
        do {
            bytes = Array(try await collect(request.body, limit: limit).readableBytesView)
        } catch {
            return error
        }
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return nil }
        if let value = try? JSONParser.parse(bytes: bytes), value.objectValue?.isEmpty == true { return nil }
        return HubError(
            .invalidParameters, "GET \(path) takes no request body; it would be ignored, so it is refused",
            details: "A GET reads its few parameters from the query; nothing was run.",
            context: ["field": "body"], suggestions: [instead])
    }

    /// Answers the refusal when the caller is not the admin (or no admin token is set), else `nil`.
    static func requireAdmin(
        _ headers: HTTPFields, auth: Authorization, operation: String, what: String, hub: Hub
    ) async -> Response? {
        do throws(HubError) {
            guard case .agent(let agent) = try await auth.caller(headers) else { return nil }
            return failure(
                auth.forbidden(agent, "may not read \(what)"), operation: operation, workflowID: nil, hub: hub)
        } catch {
            return failure(error, operation: operation, workflowID: nil, hub: hub)
        }
    }

    /// How long a request's body may take to arrive once its headers have.
    static let bodyTimeout: Duration = .seconds(30)

    /// The request body as JSON (`{}` when empty), refusing more than `limit` bytes.
    static func body(_ request: inout Request, limit: Int) async throws -> JSONValue {
        // A body the server would read as something it is not (gzip bytes, UTF-16 text) is
        // refused for what it is, not as "not valid JSON: unexpected character".
        if let encoding = request.headers[.contentEncoding], encoding.lowercased() != "identity" {
            throw HubError(
                .invalidArguments, "Content-Encoding \(encoding.prefix(64)) is not supported",
                details: "The server reads request bodies as they are sent: plain JSON in UTF-8.",
                suggestions: ["Send the body uncompressed, without a Content-Encoding header"])
        }
        if let type = request.headers[.contentType]?.lowercased(), let charset = Self.charset(of: type),
            !["utf-8", "utf8", "us-ascii", "ascii"].contains(charset)  // ASCII is UTF-8 too
        {
            throw HubError(
                .invalidArguments, "The request body's charset \(charset.prefix(32)) is not supported",
                details: "JSON bodies are read as UTF-8 (RFC 8259).",
                suggestions: ["Send the body in UTF-8: Content-Type: application/json"])
        }
        let buffer = try await collect(request.body, limit: limit)
        let bytes = Array(buffer.readableBytesView)
        // No body is no parameters; a body of blanks is no JSON document (schemathesis sent " ").
        if bytes.isEmpty { return .emptyObject }
        do {
            return try JSONParser.parse(bytes: bytes)
        } catch {
            // The command line's code for the same mistake (§3): the request could not be read
            // as parameters at all, before any operation saw it.
            throw HubError(
                .invalidArguments, "The request body is not valid JSON: \(error.description)",
                details: "Send one JSON object as the body, e.g. {\"name\": \"x\"}.",
                suggestions: ["Check the JSON with a validator", "Send Content-Type: application/json"])
        }
    }

    /// The `charset` parameter of a Content-Type value, lower-cased and unquoted, if it has one.
    static func charset(of contentType: String) -> String? {
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces) == "charset" else { continue }
            return String(pair[1].trimmingCharacters(in: .whitespaces).filter { $0 != "\"" })
        }
        return nil
    }

    /// The whole body, or an error that says why not: too large, malformed (a broken chunk),
    /// not there within ``bodyTimeout``, or cut short by a graceful shutdown. A body that never
    /// comes would otherwise hold its request, and the server's shutdown, for ever.
    static func collect(_ body: RequestBody, limit: Int) async throws(HubError) -> ByteBuffer {
        enum Arrival: Sendable {
            case body(ByteBuffer), shuttingDown, timedOut, failed(any Error)
        }
        let arrival = await withTaskGroup(of: Arrival.self) { group in
            group.addTask {
                do {
                    return .body(try await cancelWhenGracefulShutdown { try await body.collect(upTo: limit) })
                } catch {
                    return Task.isShuttingDownGracefully ? .shuttingDown : .failed(error)
                }
            }
            group.addTask {
                try? await Task.sleep(for: bodyTimeout)
                return .timedOut
            }
            defer { group.cancelAll() }
            return await group.next() ?? .timedOut
        }
        switch arrival {
        case .body(let buffer): return buffer
        case .shuttingDown:
            throw HubError(
                .storeUnavailable, "The server is shutting down; the request was not run",
                details: "Its body had not arrived when the shutdown began.", suggestions: ["Send it again"])
        case .timedOut:
            throw HubError(
                .invalidParameters, "The request body did not arrive within \(bodyTimeout)",
                details: "The headers came but the body stopped; nothing was run.",
                suggestions: ["Send the whole body with its request"])
        case .failed(let error)
        where error is NIOTooManyBytesError || (error as? HTTPError)?.status == .contentTooLarge:
            throw HubError(
                .payloadTooLarge, "The request body is larger than \(limit) bytes",
                details: "The server's max_body_size is \(limit) bytes.",
                suggestions: ["Send a smaller body, or raise max_body_size in the configuration"])
        case .failed(let error):
            throw HubError(
                .invalidParameters, "The request body could not be read: \(error)",
                details: "Its framing is broken (a chunk size that does not match, for one); nothing was run.",
                suggestions: ["Send the body with a Content-Length, or well-formed chunks"])
        }
    }

    static func perform(
        _ request: OperationRequest, hub: Hub, auth: Authorization, headers: HTTPFields,
        context: HubRequestContext? = nil, caller known: Authorization.Caller? = nil,
        metrics: OperationMetrics? = nil
    ) async -> Response {
        let started = DispatchTime.now().uptimeNanoseconds
        do throws(HubError) {
            let caller: Authorization.Caller
            if let known { caller = known } else { caller = try await auth.caller(headers) }
            try await auth.authorize(caller, request)
            if let refusal = request.unfollowable(
                instead:
                    "follow the log with GET /v1/events/stream (Server-Sent Events), or read on with after_sequence")
            {
                throw refusal
            }
        } catch {
            metrics?.record(
                operation: request.operation, known: hub.table[request.operation] != nil, error: error.code,
                started: started)
            return failure(error, operation: request.operation, workflowID: request.workflowID, hub: hub)
        }
        let response: OperationResponse
        if request.waitsForWork, let departure = await context?.departure() {
            // A claim that waits for work is cancelled when its client goes, before it takes
            // a task nobody can receive (the claim's loop stops at cancellation).
            let cancelled: Bool
            (response, cancelled) = await departure.cancellingOnDeparture { await hub.perform(request) }
            if cancelled {
                hub.logger.info(
                    "a waiting \(request.operation) ended early: its client went away",
                    metadata: ["agent_id": "\(request.parameters["agent_id"]?.stringValue ?? "?")"])
                // Granted in the instant its client left: nobody will hold it, so it is released.
                if request.operation == "allocate-resources",
                    let id = response.json["result"]?["allocation_id"]?.stringValue
                {
                    _ = await hub.perform(
                        OperationRequest(
                            workflowID: nil, operation: "release-resources", parameters: ["allocation_id": .string(id)])
                    )
                }
            }
        } else {
            response = await hub.perform(request)
        }
        metrics?.record(
            operation: request.operation, known: hub.table[request.operation] != nil, error: response.error?.code,
            started: started)
        return json(response.compactBytes, status: response.error?.code.httpStatus ?? .ok)
    }

    /// A path segment as the client meant it: `wf%41` is `wfA` (RFC 3986 §2.1). One that does
    /// not decode stays as sent, for the id check to refuse.
    static func pathParameter(_ context: HubRequestContext, _ name: String) -> String? {
        guard let raw = context.parameters.get(name) else { return nil }
        return raw.contains("%") ? (raw.removingPercentEncoding ?? raw) : raw
    }

    static func failure(_ error: HubError, operation: String, workflowID: String?, hub: Hub) -> Response {
        json(envelope(error, operation: operation, workflowID: workflowID, hub: hub), status: error.code.httpStatus)
    }

    /// The error envelope of §3 for `error`.
    static func envelope(_ error: HubError, operation: String, workflowID: String?, hub: Hub) -> JSONValue {
        OperationResponse.failure(
            request: OperationRequest(workflowID: workflowID, operation: operation), error: error,
            timestamp: hub.clock.nowMilliseconds()
        ).json
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status) -> Response {
        json(value.serializedBytes(.compact), status: status)
    }

    /// A response of compact JSON text, ended by a newline.
    static func json(_ bytes: [UInt8], status: HTTPResponse.Status) -> Response {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(bytes.count + 1)
        buffer.writeBytes(bytes)
        buffer.writeInteger(UInt8(0x0A))
        var headers: HTTPFields = [.contentType: "application/json"]
        // RFC 9110 §11.6.1: a 401 names the scheme that would be accepted.
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: buffer))
    }
}
