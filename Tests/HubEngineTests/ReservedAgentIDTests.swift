import HubCore
import HubEngine
import HubTesting
import Testing

/// Agent ids are not operation names (§2), for a token as for a registration.
@Suite struct ReservedAgentIDTests {
    /// issue-token gave a token for `create`, which register-agent refuses: it could never be used.
    @Test func aTokenIsRefusedForAnIDRegistrationRefuses() async throws {
        let t = try TestHub()
        defer { t.remove() }
        #expect(await t.run(nil, "register-agent", #"{"agent_id": "create"}"#).errorCode == "INVALID_PARAMETERS")
        let refused = await t.run(nil, "issue-token", #"{"agent_id": "create"}"#)
        #expect(refused.errorCode == "INVALID_PARAMETERS", "\(refused.json)")
        #expect(refused.error?.message.contains("register-agent refuses it") == true)
        #expect(await t.run(nil, "issue-token", #"{"agent_id": "create_agent"}"#).succeeded)
    }
}
