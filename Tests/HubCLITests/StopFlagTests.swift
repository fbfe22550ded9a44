import HubCore
import HubEngine
import Testing

@testable import HubCLI

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

@Suite(.timeLimit(.minutes(1))) struct StopFlagTests {
    /// The agent runner's pause between claims: a signal ends it, where it used to wait
    /// out the whole `--idle-delay` (an hour, if asked).
    @Test func settingTheFlagEndsASleep() async {
        let flag = StopFlag()
        let sleeper = Task { await flag.sleep(for: .seconds(3600)) }
        flag.set()
        await sleeper.value
        #expect(flag.isSet)
        // Once set, a sleep does not start at all.
        await flag.sleep(for: .seconds(3600))
    }
}

/// The URL `serve` prints is one `--hub` accepts: `http://::1:8080` was not.
@Suite struct ServeURLTests {
    @Test(arguments: [
        ("127.0.0.1", "http://127.0.0.1:8080"), ("::1", "http://[::1]:8080"), ("[::1]", "http://[::1]:8080"),
        ("localhost", "http://localhost:8080"),
    ])
    func theServedURLBracketsAnIPv6Address(_ host: String, _ url: String) {
        #expect(CommandLineTool.url(host: host, port: 8080) == url)
    }
}

/// A `--hub` client waits for an answer as long as the server may hold the request on
/// purpose, on top of its own timeout: a resource request waiting its 10 minutes was cut
/// off after 60 s.
@Suite struct RemoteTimeLimitTests {
    @Test(
        arguments: [
            ("claim-task", #"{"agent_id": "a", "wait": "30s"}"#, 90_000),
            ("claim-task", #"{"agent_id": "a"}"#, 60_000),
            ("allocate-resources", #"{"resources": {"db": 1}}"#, 660_000),
            ("allocate-resources", #"{"resources": {"db": 1}, "constraints": {"max_wait_time": "2h"}}"#, 7_260_000),
            ("allocate-resources", #"{"request_id": "req_1"}"#, 60_000),
            ("get-status", "{}", 60_000),
            ("restore", #"{"checkpoint_id": "latest"}"#, 60_000),
        ] as [(String, String, Int64)])
    func theTimeLimitCoversTheServersWait(_ operation: String, _ parameters: String, _ limit: Int64) async throws {
        let hub = try RemoteHub(url: "http://127.0.0.1:1")
        let request = OperationRequest(
            workflowID: nil, operation: operation, parameters: try JSONParser.parse(parameters))
        #expect(hub.timeLimit(for: request) == limit)
        await hub.shutdown()
    }
}

/// Through `--hub`, a complete-task whose check command ran past 60 s was reported
/// STORE_UNAVAILABLE ("no answer in time") while the server went on and completed it, and the
/// agent runner resent it: the check ran twice at once in the same workspace. A call that may
/// run checks is waited for as long as the server takes (it stops each at its check_timeout).
@Suite struct RemoteCheckTimeLimitTests {
    @Test(arguments: [
        ("complete-task", #"{"lease_id": "lease_1"}"#),
        ("restore", #"{"checkpoint_id": "latest", "verify_dependencies": true}"#),
    ])
    func aCallThatMayRunChecksHasNoTimeLimit(_ operation: String, _ parameters: String) async throws {
        let hub = try RemoteHub(url: "http://127.0.0.1:1")
        let request = OperationRequest(
            workflowID: "w", operation: operation, parameters: try JSONParser.parse(parameters))
        #expect(hub.timeLimit(for: request) == nil)
        await hub.shutdown()
    }

    /// "did not answer: no answer in time" read as a call that failed; the server may still make it.
    /// A server that takes the request and never answers: the client's own timeout (1s here) ends the wait.
    @Test func aCallNotAnsweredInTimeSaysTheServerMayStillMakeIt() async throws {
        let (fd, port) = try ServePortInUseTests.occupyPort(listening: true)
        defer { close(fd) }
        let hub = try RemoteHub(url: "http://127.0.0.1:\(port)", timeout: .seconds(1))
        let response = await hub.perform(OperationRequest(workflowID: nil, operation: "list-workflows"))
        await hub.shutdown()
        let error = try #require(response.error)
        #expect(error.code == .storeUnavailable)
        #expect(error.message.contains("did not answer within 1s"), "\(error.message)")
        #expect(error.message.contains("may still be making the call"), "\(error.message)")
        #expect(error.details?.contains("may be made after this answer") == true, "\(error)")
    }
}

/// The URL given to `--hub`, as it is used and as it is shown.
@Suite struct RemoteURLTests {
    /// `http://host:port/v1` was sent to `/v1/v1/list-workflows`: OPERATION_NOT_FOUND.
    @Test(arguments: [
        "http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1/", "http://127.0.0.1:8080/", "http://127.0.0.1:8080",
    ])
    func aTrailingV1IsTheRoutesOwnPrefix(_ url: String) async throws {
        let hub = try RemoteHub(url: url)
        #expect(hub.base == "http://127.0.0.1:8080")
        await hub.shutdown()
    }

    /// `--hub http://user:pw@host` printed the password in messages and the MCP server's first line.
    @Test(arguments: [
        ("http://user:pw@127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://user@127.0.0.1:8080/prefix", "http://127.0.0.1:8080/prefix"),
        ("https://a:b@[::1]:8080", "https://[::1]:8080"),
        ("http://127.0.0.1:8080/path@x", "http://127.0.0.1:8080/path@x"),
    ])
    func theUserAndPasswordAreNotShown(_ url: String, _ shown: String) async throws {
        let hub = try RemoteHub(url: url)
        #expect(hub.shown == shown)
        await hub.shutdown()
    }
}
