import HubCore
import HubEngine
import HubTesting
import Testing

/// `claim-task` with `wait`: a long poll woken by the operations that make work ready.
@Suite(.timeLimit(.minutes(1))) struct ClaimWaitTests {
    @Test func aWaiterIsWokenByNotifyNotByItsTimeout() async {
        let signal = WorkSignal()
        let seen = await signal.current()
        // The timeout is far past the suite's time limit: only notify can end this wait in time.
        let waiter = Task { await signal.wait(after: seen, timeout: .seconds(600)) }
        await signal.notify()
        await waiter.value
        #expect(await signal.current() == seen + 1)
        // A closed signal lets every wait through at once.
        await signal.close()
        await signal.wait(after: await signal.current(), timeout: .seconds(600))
        #expect(await signal.isClosed)
    }

    @Test func aWaitingClaimGetsTheTaskThatBecomesReady() async throws {
        let t = try TestHub()
        defer { t.remove() }
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "a", "role": "code"}]}]}"#)
        await t.run(nil, "register-agent", #"{"agent_id": "ag", "specializations": ["code"]}"#)
        let claim = Task { await t.run(nil, "claim-task", #"{"agent_id": "ag", "wait": "60s"}"#) }
        await t.run("w1", "start")
        let response = await claim.value
        #expect(response.result["count"] == 1)
        #expect(response.result["tasks"]?.arrayValue?.first?["task_id"] == "a")
    }

    @Test func badWaitsAreRefused() async throws {
        let t = try TestHub()
        defer { t.remove() }
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        #expect(await t.run(nil, "claim-task", #"{"agent_id": "ag", "wait": "2h"}"#).errorCode == "INVALID_PARAMETERS")
        #expect(
            await t.run(nil, "claim-task", #"{"agent_id": "ag", "wait": "soon"}"#).errorCode == "INVALID_PARAMETERS")
        // Nothing to claim and no wait: an empty answer at once.
        #expect(await t.run(nil, "claim-task", #"{"agent_id": "ag"}"#).result["count"] == 0)
    }
}
