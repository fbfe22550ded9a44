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
