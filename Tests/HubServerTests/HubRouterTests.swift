import HTTPTypes
import HubCore
import HubEngine
import HubServer
import HubTesting
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// The HTTP API through Hummingbird's in-process test client (§13): routes from the
/// operation table, the §3 envelope, and the status of each error code.
@Suite struct HubRouterTests {
    let t: TestHub
    init() throws { t = try TestHub() }

    func app(maxBodySize: Int = 1 << 20) -> some ApplicationProtocol {
        Application(router: HubRouter.make(hub: t.hub, maxBodySize: maxBodySize))
    }

    static func json(_ response: TestResponse) -> JSONValue {
        (try? JSONParser.parse(bytes: Array(response.body.readableBytesView))) ?? .null
    }

    static func body(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    @Test func operationsAnswerTheEnvelopeWithTheirStatus() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { r in
                #expect(r.status == .ok)
                #expect(Self.json(r)["status"] == "ok")
            }
            try await client.execute(
                uri: "/v1/workflows/w1/create", method: .post, body: Self.body(#"{"phases": ["a", "b"]}"#)
            ) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentType] == "application/json")
                #expect(Self.json(r)["status"] == "success")
                #expect(Self.json(r)["workflow_id"] == "w1")
            }
            try await client.execute(
                uri: "/v1/workflows/w1/create", method: .post, body: Self.body(#"{"phases": ["a"]}"#)
            ) { r in
                #expect(r.status == .conflict)
                #expect(Self.json(r)["error"]?["code"] == "WORKFLOW_EXISTS")
            }
            // An empty body is {}; a hub operation at /v1/{operation}.
            try await client.execute(uri: "/v1/workflows/w1/start", method: .post) { r in
                #expect(r.status == .ok)
            }
            try await client.execute(uri: "/v1/list-workflows", method: .post) { r in
                #expect(Self.json(r)["result"]?["total"] == 1)
            }
            try await client.execute(uri: "/v1/workflows", method: .get) { r in
                #expect(Self.json(r)["result"]?["workflows"]?.arrayValue?.count == 1)
            }
            try await client.execute(uri: "/v1/workflows/w1", method: .get) { r in
                #expect(Self.json(r)["result"]?["workflow_state"]?["status"] == "running")
            }
            try await client.execute(uri: "/v1/workflows/nope", method: .get) { r in
                #expect(r.status == .notFound)
                #expect(Self.json(r)["error"]?["code"] == "WORKFLOW_NOT_FOUND")
            }
            try await client.execute(
                uri: "/v1/operations", method: .post,
                body: Self.body(#"{"workflow_id": "w1", "operation": "pause", "parameters": {"reason": "lunch"}}"#)
            ) { r in
                #expect(r.status == .ok)
                #expect(Self.json(r)["operation"] == "pause")
            }
        }
    }

    @Test func badRequestsGetAClearErrorAndChangeNothing() async throws {
        try await app(maxBodySize: 2048).test(.router) { client in
            try await client.execute(uri: "/v1/workflows/w1/create", method: .post, body: Self.body("{bad")) { r in
                #expect(r.status == .badRequest)
                // The command line's code for parameters that are not JSON (§3).
                #expect(Self.json(r)["error"]?["code"] == "INVALID_ARGUMENTS")
            }
            try await client.execute(uri: "/v1/workflows/w1/create", method: .post, body: Self.body("[1]")) { r in
                #expect(r.status == .badRequest)
                #expect(Self.json(r)["error"]?["code"] == "INVALID_ARGUMENTS")
            }
            // A body encoded as the server does not read it is refused for that, not as bad JSON
            // ("unexpected character '\x1f'"), and so is a charset other than UTF-8.
            for (name, value, says) in [
                ("Content-Encoding", "gzip", "Content-Encoding gzip is not supported"),
                ("Content-Type", "application/json; charset=\"UTF-16\"", "charset utf-16 is not supported"),
            ] {
                try await client.execute(
                    uri: "/v1/workflows/w1/create", method: .post,
                    headers: [HTTPField.Name(name)!: value], body: Self.body(#"{"phases": ["a"]}"#)
                ) { r in
                    #expect(r.status == .badRequest)
                    #expect(Self.json(r)["error"]?["code"] == "INVALID_ARGUMENTS")
                    #expect(Self.json(r)["error"]?["message"]?.stringValue?.contains(says) == true, "\(Self.json(r))")
                }
            }
            try await client.execute(
                uri: "/v1/workflows/w1/get-status", method: .post,
                headers: [.contentType: "application/json; charset=utf-8", .contentEncoding: "identity"]
            ) { r in #expect(Self.json(r)["error"]?["code"] == "WORKFLOW_NOT_FOUND", "created nothing") }
            // Blanks are no JSON document (schemathesis: a body of " " was taken for none).
            try await client.execute(uri: "/v1/monitor-pool", method: .post, body: Self.body(" ")) { r in
                #expect(r.status == .badRequest)
                #expect(Self.json(r)["error"]?["code"] == "INVALID_ARGUMENTS")
            }
            try await client.execute(uri: "/v1/monitor-pool", method: .post, body: Self.body("")) { r in
                #expect(r.status == .ok, "no body is no parameters")
            }
            let big = "{\"description\": \"" + String(repeating: "x", count: 4096) + "\"}"
            try await client.execute(uri: "/v1/workflows/w1/create", method: .post, body: Self.body(big)) { r in
                #expect(r.status == .contentTooLarge)
                #expect(Self.json(r)["error"]?["code"] == "PAYLOAD_TOO_LARGE")
            }
            try await client.execute(uri: "/v1/no-such-operation", method: .post) { r in
                #expect(r.status == .notFound)
                #expect(Self.json(r)["error"]?["code"] == "OPERATION_NOT_FOUND")
            }
            try await client.execute(uri: "/v1/workflows/..%2Fx/create", method: .post) { r in
                #expect(r.status == .badRequest)
                #expect(Self.json(r)["error"]?["code"] == "INVALID_WORKFLOW_ID")
            }
            try await client.execute(
                uri: "/v1/operations", method: .post, body: Self.body(#"{"operation": "create", "extra": 1}"#)
            ) { r in
                #expect(r.status == .badRequest)
            }
            // A workflow id that is not a string was taken for none.
            try await client.execute(
                uri: "/v1/operations", method: .post, body: Self.body(#"{"operation": "get-status", "workflow_id": 7}"#)
            ) { r in
                #expect(r.status == .badRequest)
                #expect(Self.json(r)["operation"] == "get-status")
                #expect(Self.json(r)["error"]?["message"]?.stringValue?.contains("\"workflow_id\"") == true)
            }
            // An envelope that is not an object is named as the envelope, with what it holds.
            try await client.execute(uri: "/v1/operations", method: .post, body: Self.body("[1]")) { r in
                #expect(r.status == .badRequest)
                let message = Self.json(r)["error"]?["message"]?.stringValue ?? ""
                #expect(message.contains("request envelope must be a JSON object"), "\(message)")
                #expect(message.contains("workflow_id") && message.contains("parameters"), "\(message)")
            }
            try await client.execute(uri: "/v1/workflows", method: .get) { r in
                #expect(Self.json(r)["result"]?["total"] == 0)
            }
            // A POST answers once: follow is refused there (it answered with a snapshot), and
            // the refusal names the stream to use.
            try await client.execute(
                uri: "/v1/get-events", method: .post, body: Self.body(#"{"follow": true, "after_sequence": 0}"#)
            ) { r in
                #expect(r.status == .badRequest)
                #expect(Self.json(r)["error"]?["context"]?["field"] == "follow")
                #expect(Self.json(r)["error"]?["message"]?.stringValue?.contains("/v1/events/stream") == true)
            }
            // Health checks that ask with HEAD get the GET's status.
            try await client.execute(uri: "/healthz", method: .head) { r in #expect(r.status == .ok) }
            // A GET of an operation that does not exist is not found, not "use POST".
            try await client.execute(uri: "/v1/no-such-operation", method: .get) { r in
                #expect(r.status == .notFound)
            }
        }
    }

    @Test(arguments: [
        ("INVALID_PARAMETERS", 400), ("INVALID_ARGUMENTS", 400), ("INVALID_WORKFLOW_ID", 400), ("UNAUTHORIZED", 401),
        ("FORBIDDEN", 403), ("PATH_NOT_ALLOWED", 403), ("URL_NOT_ALLOWED", 403), ("WORKFLOW_NOT_FOUND", 404),
        ("SUBSCRIPTION_NOT_FOUND", 404), ("OPERATION_NOT_FOUND", 404), ("RESOURCE_TIMEOUT", 408),
        ("WORKFLOW_EXISTS", 409), ("INVALID_TRANSITION", 409), ("VERSION_CONFLICT", 409), ("LEASE_EXPIRED", 409),
        ("BUDGET_EXHAUSTED", 409), ("PAYLOAD_TOO_LARGE", 413), ("EVIDENCE_MISSING", 422),
        ("CHECKPOINT_CORRUPT", 422), ("STORE_UNAVAILABLE", 503), ("INTERNAL", 500),
    ])
    func everyCodeHasTheStatusOfTheTable(_ name: String, _ status: Int) throws {
        let code = try #require(HubError.Code.all.first { $0.name == name })
        #expect(code.httpStatus.code == status)
    }

    @Test func theEventStreamSendsServerSentEventsAndResumes() async throws {
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        var published: [Int64] = []
        for n in 0..<3 {
            let r = await t.run("w1", "publish-event", "{\"event_type\": \"note\", \"data\": {\"n\": \(n)}}")
            published.append(r.result["sequence"]?.intValue ?? 0)
        }
        let sequences = published
        // Streams that are told to stop send what is there, then end: the test can read the whole body.
        let app = Application(router: HubRouter.make(hub: t.hub, maxBodySize: 1 << 20, streamsStop: { true }))
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/events/stream?patterns=*.note&after_sequence=0", method: .get) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentType] == "text/event-stream")
                let text = String(buffer: r.body)
                let ids = text.split(separator: "\n").filter { $0.hasPrefix("id: ") }.map { String($0.dropFirst(4)) }
                #expect(ids == sequences.map(String.init))
                #expect(text.contains("event: note\ndata: {"))
            }
            try await client.execute(
                uri: "/v1/events/stream?patterns=*.note", method: .get,
                headers: [HTTPField.Name("Last-Event-ID")!: String(sequences[0])]
            ) { r in
                let ids = String(buffer: r.body).split(separator: "\n").filter { $0.hasPrefix("id: ") }
                #expect(ids.map { String($0.dropFirst(4)) } == sequences.dropFirst().map(String.init))
            }
            try await client.execute(uri: "/v1/events/stream?patterns=a..b", method: .get) { r in
                #expect(r.status == .badRequest)
            }
            try await client.execute(
                uri: "/v1/events/stream", method: .get, headers: [HTTPField.Name("Last-Event-ID")!: "yesterday"]
            ) { r in
                #expect(r.status == .badRequest)
            }
            // Past the newest event (a log since rebuilt): the stream would skip everything up to it.
            try await client.execute(
                uri: "/v1/events/stream", method: .get, headers: [HTTPField.Name("Last-Event-ID")!: "999999"]
            ) { r in
                #expect(r.status == .badRequest)
                // Named as the client sent it (it named after_sequence, which the client never sent).
                #expect(Self.json(r)["error"]?["context"]?["field"] == "Last-Event-ID")
                #expect(Self.json(r)["error"]?["message"]?.stringValue?.hasPrefix("header 'Last-Event-ID'") == true)
                // So are its details (they said "Fix 'after_sequence'").
                #expect(Self.json(r)["error"]?["details"]?.stringValue?.contains("after_sequence") == false)
            }
            try await client.execute(uri: "/v1/events/stream?after_sequence=999999", method: .get) { r in
                #expect(Self.json(r)["error"]?["context"]?["field"] == "after_sequence")
            }
        }
    }

    /// A stream without after_sequence or Last-Event-ID sent the whole log first: it carries
    /// the events after the newest one at the time of the request, and no older one.
    @Test func aStreamWithoutAStartCarriesNoEarlierEvent() async throws {
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        await t.run("w1", "publish-event", #"{"event_type": "note"}"#)
        // Told to stop, a stream sends what is there for it and ends: here, nothing.
        let app = Application(router: HubRouter.make(hub: t.hub, maxBodySize: 1 << 20, streamsStop: { true }))
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/events/stream", method: .get) { r in
                #expect(r.status == .ok)
                #expect(!String(buffer: r.body).contains("id: "), "\(String(buffer: r.body))")
            }
            try await client.execute(uri: "/v1/events/stream?after_sequence=0", method: .get) { r in
                #expect(String(buffer: r.body).contains("event: note"))
            }
        }
    }

    /// Delivery deduplication applies to streams too (§17): with it on, a repeat inside the
    /// window is not sent again (the stream sent both); the log keeps both.
    @Test func theEventStreamDropsRepeatsWhenDeduplicationIsOn() async throws {
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        #expect(
            await t.run(nil, "configure-batching", #"{"event_types": ["same"], "deduplication_enabled": true}"#)
                .succeeded)
        await t.run("w2", "create", #"{"phases": ["a"]}"#)
        for type in ["same", "same", "other", "other"] {
            await t.run("w1", "publish-event", "{\"event_type\": \"\(type)\", \"data\": {\"k\": 1}}")
        }
        // One dedup id in two workflows names two events: both are sent.
        for workflow in ["w1", "w2"] {
            await t.run(workflow, "publish-event", #"{"event_type": "same", "dedup_id": "d", "data": {"k": 2}}"#)
        }
        let app = Application(router: HubRouter.make(hub: t.hub, maxBodySize: 1 << 20, streamsStop: { true }))
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/events/stream?event_types=same,other&after_sequence=0", method: .get) {
                r in
                let types = String(buffer: r.body).split(separator: "\n").filter { $0.hasPrefix("event: ") }
                #expect(types == ["event: same", "event: other", "event: other", "event: same", "event: same"])
            }
        }
        #expect(await t.run("w1", "get-events", #"{"event_types": ["same"]}"#).result["count"] == 3)
    }

    @Test func metricsAreInThePrometheusTextFormat() async throws {
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        try await app().test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentType]?.hasPrefix("text/plain") == true)
                let lines = String(buffer: r.body).split(separator: "\n").map(String.init)
                #expect(lines.contains("hub_workflows{status=\"created\"} 1.0"))
                #expect(lines.contains { $0.hasPrefix("hub_events_stored ") })
                #expect(lines.contains("# TYPE hub_events_stored gauge"))
            }
        }
    }

    /// /metrics had `hb_request_errors{…,error_type="200"} 0` series, one per route and status
    /// served, and the cumulative figures typed as gauges: errors are counted for error statuses
    /// only, and the figures that only grow are counters named `…_total`.
    @Test func metricsCountErrorsOnlyForErrorsAndCumulativeFiguresAsCounters() async throws {
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        try await app().test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/workflows/w1/get-status", method: .post) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/workflows/nobody/get-status", method: .post) {
                #expect($0.status == .notFound)
            }
            // A name the table does not have is no label of its own: labels stay bounded.
            try await client.execute(uri: "/v1/no-such-operation-42", method: .post) { _ in }
            try await client.execute(uri: "/metrics", method: .get) { r in
                let lines = String(buffer: r.body).split(separator: "\n").map(String.init)
                #expect(lines.contains(#"hub_operations_total{operation="unknown",outcome="OPERATION_NOT_FOUND"} 1"#))
                #expect(!lines.contains { $0.contains("no-such-operation-42") })
                let errors = lines.filter { $0.hasPrefix("hb_request_errors_total{") }
                #expect(errors.count == 2, "\(errors)")
                #expect(errors.first?.contains("error_type=\"404\"") == true, "\(errors)")
                #expect(errors.first?.hasSuffix(" 1") == true, "\(errors)")
                #expect(!lines.contains { $0.contains("error_type=\"2") }, "\(lines)")
                #expect(lines.contains { $0.hasPrefix("hb_requests_total{") && $0.contains("status_code=\"200\"") })
                #expect(lines.contains("# TYPE hb_requests_total counter"))
                // Per operation, with the outcome: the route template could not tell one from another.
                #expect(
                    lines.contains(#"hub_operations_total{operation="get-status",outcome="success"} 1"#), "\(lines)")
                #expect(lines.contains(#"hub_operations_total{operation="get-status",outcome="WORKFLOW_NOT_FOUND"} 1"#))
                #expect(
                    lines.contains { $0.hasPrefix(#"hub_operation_duration_seconds_count{operation="get-status"}"#) })
                for name in [
                    "hub_delivered_events", "hub_delivered_batches", "hub_dead_letters", "hub_delivery_retries",
                ] {
                    #expect(lines.contains("# TYPE \(name)_total counter"), "\(name)")
                    #expect(lines.contains("\(name)_total 0"), "\(name)")
                    #expect(!lines.contains { $0.hasPrefix("# TYPE \(name) ") }, "\(name)")
                }
                // The agents' records go with a deregistered agent: levels, so they were no counters.
                for name in ["hub_agent_tasks_completed", "hub_agent_tasks_failed"] {
                    #expect(lines.contains("# TYPE \(name) gauge"), "\(name)")
                    #expect(!lines.contains { $0.hasPrefix("# TYPE \(name)_total") }, "\(name)")
                }
            }
        }
    }

    /// A method a real route does not serve (405) is counted under that route, not NotFound.
    @Test func aMethodNotServedIsCountedUnderItsRoute() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/v1/list-workflows", method: .put) {
                #expect($0.status == .methodNotAllowed)
            }
            try await client.execute(uri: "/v1/workflows/w1", method: .delete) {
                #expect($0.status == .methodNotAllowed)
            }
            try await client.execute(uri: "/metrics", method: .get) { r in
                let lines = String(buffer: r.body).split(separator: "\n").filter { $0.hasPrefix("hb_requests_total{") }
                let notAllowed = lines.filter { $0.contains("status_code=\"405\"") }
                #expect(notAllowed.contains { $0.contains("http_route=\"/v1/{operation}\"") }, "\(notAllowed)")
                #expect(notAllowed.contains { $0.contains("http_route=\"/v1/workflows/{id}\"") }, "\(notAllowed)")
                #expect(!notAllowed.contains { $0.contains("NotFound") }, "\(notAllowed)")
            }
        }
    }

    /// Found by schemathesis: other methods on a known path are 405 with Allow; unknown paths
    /// are 404 with a JSON error (they had an empty body).
    @Test func otherMethodsOnAKnownPathAre405WithAllow() async throws {
        try await app().test(.router) { client in
            for (uri, method, allow) in [
                ("/v1/claim-task", HTTPRequest.Method.get, "POST"), ("/healthz", .delete, "GET, HEAD"),
                ("/v1/workflows/w1/pause", .put, "POST"), ("/v1/workflows", .post, "GET, HEAD"),
                ("/v1/events/stream", .post, "GET, HEAD"), ("/metrics", .patch, "GET, HEAD"),
            ] {
                try await client.execute(uri: uri, method: method) { r in
                    #expect(r.status == .methodNotAllowed, "\(method) \(uri)")
                    #expect(r.headers[.allow] == allow, "\(method) \(uri)")
                    #expect(Self.json(r)["error"]?["code"] == "OPERATION_NOT_FOUND", "\(method) \(uri)")
                }
            }
            for uri in ["/no/such/path", "/", "/v1/workflows/w1/start/extra"] {
                try await client.execute(uri: uri, method: .get) { r in
                    #expect(r.status == .notFound, "\(uri)")
                    #expect(Self.json(r)["error"]?["code"] == "OPERATION_NOT_FOUND", "\(uri)")
                }
            }
            // A workflow id left out is no route's path, not a GET route's (it was a 405 saying GET).
            try await client.execute(uri: "/v1/workflows//start", method: .post) { r in
                #expect(r.status == .notFound)
                #expect(r.headers[.allow] == nil)
                #expect(Self.json(r)["error"]?["details"]?.stringValue?.contains("empty segment") == true)
            }
        }
    }

    /// Found by schemathesis: query values the document does not allow are refused, not ignored.
    @Test func emptyOrMistypedQueryValuesAreRefused() async throws {
        try await app().test(.router) { client in
            for uri in [
                "/v1/events/stream?severity=", "/v1/events/stream?patterns=,", "/v1/workflows?include_archived=null",
            ] {
                try await client.execute(uri: uri, method: .get) { r in
                    #expect(r.status == .badRequest, "\(uri)")
                    #expect(Self.json(r)["error"]?["code"] == "INVALID_PARAMETERS", "\(uri)")
                }
            }
            let lastEventID = try #require(HTTPField.Name("Last-Event-ID"))
            try await client.execute(
                uri: "/v1/events/stream?after_sequence=null", method: .get, headers: [lastEventID: "0"]
            ) { r in
                #expect(r.status == .badRequest)
            }
            try await client.execute(uri: "/v1/workflows?include_archived=false", method: .get) { r in
                #expect(r.status == .ok)
            }
            // Paging by place reaches the operation from the query too.
            try await client.execute(uri: "/v1/workflows?after=nope", method: .get) { r in
                #expect(r.status == .badRequest)
                #expect(Self.json(r)["error"]?["context"]?["field"] == "after")
            }
        }
    }

    /// §3: unknown parameters are refused, not ignored — in a query too; an operation's
    /// parameters go in its body, so a POST takes none in its query.
    @Test func unknownQueryParametersAreRefused() async throws {
        try await app().test(.router) { client in
            for (uri, method) in [
                ("/v1/events/stream?bogus=1", HTTPRequest.Method.get), ("/v1/workflows?recent_events=2", .get),
                ("/v1/workflows/w1?recent_events=2", .get), ("/v1/list-workflows?limit=abc", .post),
                ("/v1/workflows/w1/get-status?x=1", .post),
            ] {
                try await client.execute(uri: uri, method: method, body: ByteBuffer(string: "{}")) { r in
                    #expect(r.status == .badRequest, "\(uri)")
                    #expect(Self.json(r)["error"]?["code"] == "INVALID_PARAMETERS", "\(uri)")
                }
            }
            try await client.execute(uri: "/v1/workflows?limit=5", method: .get) { r in #expect(r.status == .ok) }
        }
    }

    /// An open server (no admin token) issues no tokens: they would outlive its openness.
    @Test func anOpenServerIssuesNoTokens() async throws {
        try await app().test(.router) { client in
            try await client.execute(
                uri: "/v1/issue-token", method: .post, body: ByteBuffer(string: #"{"agent_id": "a1"}"#)
            ) { r in
                #expect(r.status == .forbidden)
                #expect(Self.json(r)["error"]?["code"] == "FORBIDDEN")
            }
        }
    }
}
