import HTTPTypes
import HubCore
import HubEngine
import HubServer
import HubTesting
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// Bearer tokens (§13, §17): the admin token may do everything, an agent token only
/// acts as its agent, a wrong or missing token is 401, and the open endpoints stay open.
@Suite struct AuthorizationTests {
    static let admin = "admin-token-0123456789"
    let t: TestHub
    init() throws { t = try TestHub() }

    static func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)"] }
    static func json(_ r: TestResponse) -> JSONValue {
        (try? JSONParser.parse(bytes: Array(r.body.readableBytesView))) ?? .null
    }

    func post(
        _ client: some TestClientProtocol, _ uri: String, _ body: String = "{}", token: String? = nil
    ) async throws -> (HTTPResponse.Status, JSONValue) {
        try await client.execute(
            uri: uri, method: .post, headers: token.map(Self.bearer) ?? [:], body: ByteBuffer(string: body)
        ) { r in (r.status, Self.json(r)) }
    }

    @Test func tokensDecideWhoMayDoWhat() async throws {
        let app = Application(router: HubRouter.make(hub: t.hub, maxBodySize: 1 << 20, adminToken: Self.admin))
        try await app.test(.router) { client in
            // Open endpoints; everything else needs a token.
            #expect(try await client.execute(uri: "/healthz", method: .get) { $0.status } == .ok)
            #expect(try await client.execute(uri: "/openapi.json", method: .get) { $0.status } == .ok)
            #expect(try await client.execute(uri: "/metrics", method: .get) { $0.status } == .unauthorized)
            let (anonymous, refusal) = try await post(client, "/v1/list-workflows")
            #expect(anonymous == .unauthorized)
            #expect(refusal["error"]?["code"] == "UNAUTHORIZED")
            #expect(try await post(client, "/v1/list-workflows", token: "wrong-token").0 == .unauthorized)
            // Who asks comes before what is asked: a body that is not JSON was 400 to a stranger.
            for uri in ["/v1/operations", "/v1/list-workflows", "/v1/workflows/w1/get-status"] {
                let (status, answer) = try await post(client, uri, "{not json")
                #expect(status == .unauthorized && answer["error"]?["code"] == "UNAUTHORIZED", "\(uri): \(answer)")
            }
            // A 401 names the scheme it wants; the scheme's name is case-insensitive.
            let challenge = try await client.execute(uri: "/v1/list-workflows", method: .post) {
                $0.headers[.wwwAuthenticate]
            }
            #expect(challenge == "Bearer")
            let lowercase = try await client.execute(
                uri: "/v1/list-workflows", method: .post, headers: [.authorization: "bearer \(Self.admin)"]
            ) { $0.status }
            #expect(lowercase == .ok)

            // The admin sets up a workflow with two tasks and a token for agent a1.
            let admin = Self.admin
            let create =
                #"{"phases": [{"name": "p", "tasks": [{"task_id": "x", "role": "code"}, {"task_id": "y", "role": "code"}]}]}"#
            #expect(try await post(client, "/v1/workflows/w1/create", create, token: admin).0 == .ok)
            #expect(try await post(client, "/v1/workflows/w2/create", #"{"phases": ["q"]}"#, token: admin).0 == .ok)
            #expect(try await post(client, "/v1/workflows/w1/start", token: admin).0 == .ok)
            let (_, issued) = try await post(client, "/v1/issue-token", #"{"agent_id": "a1"}"#, token: admin)
            let agentToken = try #require(issued["result"]?["token"]?.stringValue)
            let (_, other) = try await post(client, "/v1/issue-token", #"{"agent_id": "a2"}"#, token: admin)
            let otherToken = try #require(other["result"]?["token"]?.stringValue)

            // The agent acts as itself only.
            let register = #"{"agent_id": "a1", "specializations": ["code"]}"#
            #expect(try await post(client, "/v1/register-agent", register, token: agentToken).0 == .ok)
            let asOther = #"{"agent_id": "a2", "specializations": ["code"]}"#
            #expect(try await post(client, "/v1/register-agent", asOther, token: agentToken).0 == .forbidden)
            #expect(try await post(client, "/v1/register-agent", asOther, token: otherToken).0 == .ok)
            let (claimed, claim) = try await post(client, "/v1/claim-task", #"{"agent_id": "a1"}"#, token: agentToken)
            #expect(claimed == .ok)
            let lease = try #require(claim["result"]?["tasks"]?.arrayValue?.first?["lease_id"]?.stringValue)
            let (_, otherClaim) = try await post(client, "/v1/claim-task", #"{"agent_id": "a2"}"#, token: otherToken)
            let otherLease = try #require(otherClaim["result"]?["tasks"]?.arrayValue?.first?["lease_id"]?.stringValue)

            // Not another agent's lease, not admin operations, not other workflows' events.
            let (stolen, theft) = try await post(
                client, "/v1/complete-task", "{\"lease_id\": \"\(otherLease)\"}", token: agentToken)
            #expect(stolen == .forbidden)
            #expect(theft["error"]?["code"] == "FORBIDDEN")
            #expect(try await post(client, "/v1/workflows/w3/create", create, token: agentToken).0 == .forbidden)
            #expect(
                try await post(client, "/v1/issue-token", #"{"agent_id": "a1"}"#, token: agentToken).0 == .forbidden)
            let note = #"{"event_type": "progress"}"#
            #expect(try await post(client, "/v1/workflows/w1/publish-event", note, token: agentToken).0 == .ok)
            #expect(try await post(client, "/v1/workflows/w2/publish-event", note, token: agentToken).0 == .forbidden)
            // Nor as another agent, whose subject (agent.a2.failed) its subscribers trust.
            for spoof in [
                #"{"event_type": "failed", "agent_id": "a2"}"#, #"{"events": [{"event_type": "x", "agent_id": "a2"}]}"#,
            ] {
                #expect(
                    try await post(client, "/v1/workflows/w1/publish-event", spoof, token: agentToken).0 == .forbidden)
            }
            // An operation that does not exist is not found, for an agent token too (was 403).
            let (unknown, missing) = try await post(client, "/v1/no-such-operation", token: agentToken)
            #expect(unknown == .notFound)
            #expect(missing["error"]?["code"] == "OPERATION_NOT_FOUND")
            // A percent-encoded workflow id is the id it encodes.
            #expect(try await post(client, "/v1/workflows/w%31/get-status", token: agentToken).0 == .ok)
            let own = #"{"event_type": "progress", "agent_id": "a1"}"#
            #expect(try await post(client, "/v1/workflows/w1/publish-event", own, token: agentToken).0 == .ok)
            #expect(try await post(client, "/v1/workflows/w1/get-status", token: agentToken).0 == .ok)
            let streamRefusal = try await client.execute(
                uri: "/v1/events/stream", method: .get, headers: Self.bearer(agentToken)
            ) { ($0.status, String(buffer: $0.body)) }
            #expect(streamRefusal.0 == .forbidden)
            // Named get-events, as every other answer of the stream is (it said "events/stream").
            #expect(streamRefusal.1.contains(#""operation":"get-events""#), "\(streamRefusal.1)")
            #expect(
                try await client.execute(uri: "/metrics", method: .get, headers: Self.bearer(agentToken)) {
                    $0.status
                } == .ok)
            #expect(
                try await post(client, "/v1/complete-task", "{\"lease_id\": \"\(lease)\"}", token: agentToken).0 == .ok)
        }
        // Only the token's hash is stored.
        let stored = try await t.hub.store.read { tx in try tx.tokenAgent(hash: Checksum.sha256(Array("x".utf8))) }
        #expect(stored == nil)
    }

    /// Deregistering an agent revokes its tokens: a compromised agent's token kept working,
    /// and could register the agent again.
    @Test func deregisteringAnAgentRevokesItsTokens() async throws {
        let app = Application(router: HubRouter.make(hub: t.hub, maxBodySize: 1 << 20, adminToken: Self.admin))
        try await app.test(.router) { client in
            #expect(try await post(client, "/v1/register-agent", #"{"agent_id": "a9"}"#, token: Self.admin).0 == .ok)
            var tokens: [String] = []
            for _ in 0..<2 {
                let (_, issued) = try await post(client, "/v1/issue-token", #"{"agent_id": "a9"}"#, token: Self.admin)
                tokens.append(try #require(issued["result"]?["token"]?.stringValue))
            }
            #expect(try await post(client, "/v1/heartbeat", #"{"agent_id": "a9"}"#, token: tokens[0]).0 == .ok)
            let (status, gone) = try await post(
                client, "/v1/deregister-agent", #"{"agent_id": "a9"}"#, token: Self.admin)
            #expect(status == .ok)
            #expect(gone["result"]?["tokens_revoked"] == 2)
            for token in tokens {
                #expect(
                    try await post(client, "/v1/register-agent", #"{"agent_id": "a9"}"#, token: token).0
                        == .unauthorized)
            }
        }
    }

    /// A token issued to an agent that had not registered (or had left) could not be revoked:
    /// deregister-agent answered AGENT_NOT_FOUND and the token kept working.
    @Test func theTokensOfAnAgentNotRegisteredCanBeRevoked() async throws {
        let app = Application(router: HubRouter.make(hub: t.hub, maxBodySize: 1 << 20, adminToken: Self.admin))
        try await app.test(.router) { client in
            let (_, issued) = try await post(client, "/v1/issue-token", #"{"agent_id": "a9"}"#, token: Self.admin)
            let token = try #require(issued["result"]?["token"]?.stringValue)
            #expect(try await post(client, "/v1/list-workflows", token: token).0 == .ok)
            let (status, gone) = try await post(
                client, "/v1/deregister-agent", #"{"agent_id": "a9"}"#, token: Self.admin)
            #expect(status == .ok, "\(gone)")
            #expect(gone["result"]?["tokens_revoked"] == 1)
            #expect(try await post(client, "/v1/list-workflows", token: token).0 == .unauthorized)
            // With nothing to revoke, an agent not registered is still not found.
            let (again, _) = try await post(client, "/v1/deregister-agent", #"{"agent_id": "a9"}"#, token: Self.admin)
            #expect(again == .notFound)
        }
    }

    /// An agent token raised its own agent's budget once it was spent, and claimed again.
    @Test func anAgentTokenCannotSetItsAgentsBudget() async throws {
        let app = Application(router: HubRouter.make(hub: t.hub, maxBodySize: 1 << 20, adminToken: Self.admin))
        try await app.test(.router) { client in
            let limited = #"{"agent_id": "a1", "budget": {"tokens": 10}}"#
            #expect(try await post(client, "/v1/register-agent", limited, token: Self.admin).0 == .ok)
            let (_, issued) = try await post(client, "/v1/issue-token", #"{"agent_id": "a1"}"#, token: Self.admin)
            let token = try #require(issued["result"]?["token"]?.stringValue)
            let raise = #"{"agent_id": "a1", "budget": {"tokens": 1000000}}"#
            let (status, refusal) = try await post(client, "/v1/register-agent", raise, token: token)
            #expect(status == .forbidden)
            #expect(refusal["error"]?["message"]?.stringValue?.contains("budget") == true)
            // Registering again without one is its own business.
            #expect(try await post(client, "/v1/register-agent", #"{"agent_id": "a1"}"#, token: token).0 == .ok)
            let budget = try await t.hub.store.read { tx in try tx.agent("a1")?.budget?.json }
            #expect(budget?["tokens"] == 10)
        }
    }

    @Test func withoutAnAdminTokenTheServerIsOpen() async throws {
        let app = Application(router: HubRouter.make(hub: t.hub, maxBodySize: 1 << 20))
        try await app.test(.router) { client in
            let (status, _) = try await post(client, "/v1/list-workflows")
            #expect(status == .ok)
        }
    }

    /// Open to this machine's programs, not to the web pages its browser shows: a page's
    /// cross-site POST (it carries its Origin) and a rebound name (its Host) are refused, and
    /// nothing is created.
    @Test func anOpenServerRefusesWebPagesAndForeignHostNames() async throws {
        let app = Application(router: HubRouter.make(hub: t.hub, maxBodySize: 1 << 20))
        try await app.test(.router) { client in
            let create = ByteBuffer(string: #"{"phases": ["a"]}"#)
            let own = HTTPField.Name("Host")!
            for headers: HTTPFields in [
                [.origin: "https://evil.example"], [.origin: "null"], [.origin: "http://127.0.0.1.evil.example"],
                // A page served from another port of this machine is another site (the test
                // client sends every request to localhost).
                [.origin: "http://localhost:3000"], [.origin: "http://127.0.0.1"], [.origin: "http://[::1]"],
                [.origin: "https://localhost"], [own: "localhost:8080", .origin: "http://localhost:8080"],
            ] {
                let status = try await client.execute(
                    uri: "/v1/workflows/csrf/create", method: .post, headers: headers, body: create
                ) { r in (r.status, Self.json(r)["error"]?["code"]) }
                #expect(status.0 == .forbidden)
                #expect(status.1 == "FORBIDDEN")
            }
            let rebound = try await client.execute(
                uri: "/v1/workflows", method: .get, headers: [HTTPField.Name("Host")!: "attacker.example"]
            ) { $0.status }
            #expect(rebound == .forbidden)
            #expect(await t.run("csrf", "get-status").errorCode == "WORKFLOW_NOT_FOUND")
            // The server's own pages and the machine's programs are answered.
            for headers: HTTPFields in [
                [.origin: "http://localhost"], [.origin: "http://LOCALHOST"], [own: "localhost"],
                [own: "127.0.0.1:9"], [:],
            ] {
                let status = try await client.execute(
                    uri: "/v1/list-workflows", method: .post, headers: headers, body: ByteBuffer(string: "{}")
                ) { $0.status }
                #expect(status == .ok, "\(headers)")
            }
        }
        // With an admin token the token decides, whatever the page.
        let guarded = Application(router: HubRouter.make(hub: t.hub, maxBodySize: 1 << 20, adminToken: Self.admin))
        try await guarded.test(.router) { client in
            var headers = Self.bearer(Self.admin)
            headers[.origin] = "https://dashboard.example"
            let status = try await client.execute(
                uri: "/v1/list-workflows", method: .post, headers: headers, body: ByteBuffer(string: "{}")
            ) { $0.status }
            #expect(status == .ok)
        }
    }
}
