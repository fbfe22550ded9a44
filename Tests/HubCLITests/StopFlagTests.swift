import HubCore
import HubEngine
import Testing

@testable import HubCLI

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
        ] as [(String, String, Int64)])
    func theTimeLimitCoversTheServersWait(_ operation: String, _ parameters: String, _ limit: Int64) async throws {
        let hub = try RemoteHub(url: "http://127.0.0.1:1")
        let request = OperationRequest(
            workflowID: nil, operation: operation, parameters: try JSONParser.parse(parameters))
        #expect(hub.timeLimit(for: request) == limit)
        await hub.shutdown()
    }
}
