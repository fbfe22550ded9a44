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
