import HTTPTypes
import HubCore
import HubEngine
import HubServer
import HubTesting
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// §3 on every path: a query parameter a path does not take is refused, not ignored, and so
/// is a body sent with a GET, whose parameters are in its query.
@Suite struct HubRouterQueryTests {
    let t: TestHub
    init() throws { t = try TestHub() }

    func app() -> some ApplicationProtocol {
        Application(router: HubRouter.make(hub: t.hub, maxBodySize: 1 << 20))
    }

    static func json(_ response: TestResponse) -> JSONValue {
        (try? JSONParser.parse(bytes: Array(response.body.readableBytesView))) ?? .null
    }

    static func text(_ response: TestResponse) -> String {
        String(decoding: response.body.readableBytesView, as: UTF8.self)
    }

    @Test(arguments: ["/healthz", "/metrics", "/openapi.json"])
    func theOpenEndpointsRefuseAQuery(_ path: String) async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: path + "?x=1", method: .get) { r in
                #expect(r.status == .badRequest)
                #expect(Self.json(r)["error"]?["code"] == "INVALID_PARAMETERS")
                #expect(Self.json(r)["error"]?["context"]?["field"] == "x")
            }
            try await client.execute(uri: path, method: .get) { r in #expect(r.status == .ok) }
        }
    }

    /// HEAD is served wherever GET is (RFC 9110 §9.3.2), as the GET: its status and headers, no body.
    @Test(arguments: ["/healthz", "/openapi.json", "/metrics", "/v1/workflows", "/v1/events/stream"])
    func aHeadWithAQueryIsRefusedToo(_ path: String) async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: path + "?x=1", method: .head) { r in #expect(r.status == .badRequest) }
            try await client.execute(uri: path, method: .head) { r in
                #expect(r.status == .ok)
                #expect(r.body.readableBytes == 0)
            }
        }
    }

    /// Found by session 18's probe: a HEAD's body is dropped after the metrics middleware, so
    /// its request was never counted and stayed active for good.
    @Test func aHeadIsCountedAndEnds() async throws {
        try await app().test(.router) { client in
            for _ in 0..<3 { try await client.execute(uri: "/healthz", method: .head) { _ in } }
            try await client.execute(uri: "/metrics", method: .get) { r in
                let lines = Self.text(r).split(separator: "\n")
                let counted = lines.filter { $0.hasPrefix("hb_requests_total{") && $0.contains("\"HEAD\"") }
                #expect(counted.count == 1 && counted.first?.hasSuffix(" 3") == true, "\(counted)")
                let active = lines.filter { $0.hasPrefix("http_server_active_requests{") && $0.contains("\"HEAD\"") }
                #expect(active.allSatisfy { $0.hasSuffix(" 0") || $0.hasSuffix(" 0.0") }, "\(active)")
            }
        }
    }

    @Test func aHeadOfAWorkflowAnswersAsItsGet() async throws {
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        try await app().test(.router) { client in
            try await client.execute(uri: "/v1/workflows/w1", method: .head) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentType] == "application/json")
                #expect(r.body.readableBytes == 0)
            }
            try await client.execute(uri: "/v1/workflows/nope", method: .head) { r in #expect(r.status == .notFound) }
            try await client.execute(uri: "/v1/workflows/w1/start", method: .head) { r in
                #expect(r.status == .methodNotAllowed)
                #expect(r.headers[.allow] == "POST")
            }
        }
        #expect(await t.run("w1", "get-status").result["workflow_state"]?["status"] == "created")
    }

    /// A parameter given twice was read as its first value, the second ignored; which one was
    /// meant cannot be known, so it is refused. The stream's list filters add up instead.
    @Test func aQueryParameterGivenTwiceIsRefused() async throws {
        try await app().test(.router) { client in
            for uri in ["/v1/workflows?limit=1&limit=2", "/v1/events/stream?after_sequence=1&after_sequence=2"] {
                try await client.execute(uri: uri, method: .get) { r in
                    #expect(r.status == .badRequest, "\(uri)")
                    #expect(Self.json(r)["error"]?["code"] == "INVALID_PARAMETERS", "\(uri)")
                    #expect(Self.text(r).contains("given twice"), "\(uri)")
                }
            }
            try await client.execute(
                uri: "/v1/events/stream?event_types=a&event_types=b&after_sequence=0", method: .head
            ) { r in #expect(r.status == .ok) }
        }
    }

    @Test func aGetOfAWorkflowWithABodyIsRefusedAndPointsToThePost() async throws {
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        try await app().test(.router) { client in
            try await client.execute(
                uri: "/v1/workflows/w1", method: .get, body: ByteBuffer(string: #"{"include_metrics": true}"#)
            ) { r in
                #expect(r.status == .badRequest)
                let error = Self.json(r)["error"]
                #expect(error?["code"] == "INVALID_PARAMETERS")
                #expect(error?["context"]?["field"] == "body")
                #expect(Self.text(r).contains("/v1/workflows/w1/get-status"))
            }
            try await client.execute(uri: "/v1/workflows/w1?include_metrics=true", method: .get) { r in
                #expect(r.status == .badRequest)
                #expect(Self.json(r)["error"]?["message"]?.stringValue?.contains("/v1/workflows/w1/get-status") == true)
            }
            // No body, or an empty object, is what a GET without parameters sends.
            try await client.execute(uri: "/v1/workflows/w1", method: .get) { r in #expect(r.status == .ok) }
            try await client.execute(uri: "/v1/workflows/w1", method: .get, body: ByteBuffer(string: "{}")) { r in
                #expect(r.status == .ok)
            }
            try await client.execute(
                uri: "/v1/workflows/w1/get-status", method: .post,
                body: ByteBuffer(string: #"{"include_metrics": true}"#)
            ) { r in #expect(r.status == .ok) }
        }
    }

    @Test func aGetOfTheWorkflowListWithABodyIsRefused() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/v1/workflows", method: .get, body: ByteBuffer(string: #"{"limit": 1}"#)) {
                r in
                #expect(r.status == .badRequest)
                #expect(Self.json(r)["error"]?["code"] == "INVALID_PARAMETERS")
            }
        }
    }
}
