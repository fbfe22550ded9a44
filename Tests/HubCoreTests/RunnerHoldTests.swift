import HubCore
import Testing

/// The pure rules of which runner holds an agent id (§7), without a store.
@Suite struct RunnerHoldTests {
    static let interval = HubDuration.seconds(10)

    /// An agent last heard from at 1,000 ms, held by `holder`.
    static func agent(_ holder: String?, status: AgentStatus = .available) -> Agent {
        var a = Agent(agentID: "ag", registeredAt: 1_000)
        a.runnerID = holder
        a.status = status
        return a
    }

    @Test func aRegistrationIsRefusedOnlyForAnotherRunnerWhileTheAgentIsLive() {
        let live: Int64 = 30_999
        let lapsed: Int64 = 31_000
        #expect(
            Self.agent("run_a").registration(by: "run_b", now: live, heartbeatInterval: Self.interval)
                == .heldByAnother(holder: "run_a"))
        #expect(
            Self.agent("run_a").registration(by: "run_a", now: live, heartbeatInterval: Self.interval)
                == .proceed(holder: "run_a"))
        #expect(
            Self.agent(nil).registration(by: "run_b", now: live, heartbeatInterval: Self.interval)
                == .proceed(holder: "run_b"))
        #expect(
            Self.agent("run_a").registration(by: "run_b", now: lapsed, heartbeatInterval: Self.interval)
                == .proceed(holder: "run_b"))
        for status in [AgentStatus.offline, .unresponsive] {
            #expect(
                Self.agent("run_a", status: status).registration(
                    by: "run_b", now: live, heartbeatInterval: Self.interval)
                    == .proceed(holder: "run_b"))
        }
        #expect(
            Self.agent("run_a", status: .busy).registration(by: "run_b", now: live, heartbeatInterval: Self.interval)
                == .heldByAnother(holder: "run_a"))
    }

    @Test func aRegistrationWithoutRunnerIDKeepsALiveHoldAndClearsALapsedOne() {
        #expect(
            Self.agent("run_a").registration(by: nil, now: 30_999, heartbeatInterval: Self.interval)
                == .proceed(holder: "run_a"))
        #expect(
            Self.agent("run_a").registration(by: nil, now: 31_000, heartbeatInterval: Self.interval)
                == .proceed(holder: nil))
        #expect(
            Self.agent("run_a", status: .offline).registration(by: nil, now: 1_000, heartbeatInterval: Self.interval)
                == .proceed(holder: nil))
    }

    @Test func aHeartbeatIsRefusedForAnyRunnerButTheHolder() {
        #expect(Self.agent("run_a").heartbeat(from: "run_b", offline: false) == .heldByAnother(holder: "run_a"))
        #expect(
            Self.agent("run_a", status: .unresponsive).heartbeat(from: "run_b", offline: true)
                == .heldByAnother(holder: "run_a"))
        #expect(Self.agent("run_a").heartbeat(from: "run_a", offline: false) == .proceed(holder: "run_a"))
        #expect(Self.agent("run_a").heartbeat(from: "run_a", offline: true) == .proceed(holder: nil))
        #expect(Self.agent(nil).heartbeat(from: "run_b", offline: false) == .proceed(holder: "run_b"))
        #expect(Self.agent("run_a").heartbeat(from: nil, offline: true) == .proceed(holder: "run_a"))
    }

    @Test func aClaimIsRefusedForAnyRunnerButTheHolderAndTakesNoHold() {
        #expect(Self.agent("run_a").claim(by: "run_b") == .heldByAnother(holder: "run_a"))
        #expect(Self.agent("run_a", status: .unresponsive).claim(by: "run_b") == .heldByAnother(holder: "run_a"))
        #expect(Self.agent("run_a").claim(by: "run_a") == .proceed(holder: "run_a"))
        #expect(Self.agent("run_a").claim(by: nil) == .proceed(holder: "run_a"))
        #expect(Self.agent(nil).claim(by: "run_b") == .proceed(holder: nil))
    }

    @Test func theRefusalNamesTheHolderAndHowLongToWait() {
        let error = Self.agent("run_a").heldByAnotherRunner(
            holder: "run_a", now: 8_000, heartbeatInterval: Self.interval, registering: true)
        #expect(error.code == .versionConflict)
        #expect(error.context?["agent_id"] == "ag")
        #expect(error.context?["runner_id"] == "run_a")
        #expect(error.context?["last_heartbeat"]?.stringValue == Timestamp.format(milliseconds: 1_000))
        #expect(error.context?["hold_expires_at"]?.stringValue == Timestamp.format(milliseconds: 31_000))
        #expect(error.context?["silent_for"] == "7s")
        #expect(error.context?["retry_after"] == "23s")
    }
}
