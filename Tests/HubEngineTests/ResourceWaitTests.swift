import HubCore
import HubEngine
import HubTesting
import Testing

/// A server's `allocate-resources` waits for its resources up to `max_wait_time` (§8), woken
/// by the operations that free them; a one-shot command gets the queued request at once.
@Suite(.timeLimit(.minutes(1))) struct ResourceWaitTests {
    let t: TestHub
    init() throws { t = try TestHub(serving: true) }

    func allocate(_ json: String) async -> OperationResponse { await t.run(nil, "allocate-resources", json) }

    /// Returns once `count` requests have been queued (their `resource_requested` events).
    func requested(_ count: Int) async {
        while await t.run(nil, "get-events", #"{"event_types": ["resource_requested"]}"#).result["count"]
            != .int(Int64(count))
        {
            await Task.yield()
        }
    }

    @Test func aWaitingRequestIsGrantedWhenTheResourceIsReleased() async throws {
        let holder = await allocate(#"{"resources": {"gpu": 1}}"#)
        let allocation = try #require(holder.result["allocation_id"]?.stringValue)
        // Its wait is far past the suite's time limit: only the release can answer it in time.
        let waiting = Task { await allocate(#"{"resources": {"gpu": 1}, "constraints": {"max_wait_time": "1h"}}"#) }
        await requested(2)
        #expect(await t.run(nil, "release-resources", "{\"allocation_id\": \"\(allocation)\"}").succeeded)
        let granted = await waiting.value
        #expect(granted.result["state"] == "granted", "\(granted.json)")
        #expect(granted.result["allocation_id"]?.stringValue?.hasPrefix("alloc_") == true)
    }

    @Test func aWaitThatRunsOutIsResourceTimeoutAndHoldsNothing() async throws {
        _ = await allocate(#"{"resources": {"gpu": 1}}"#)
        let waiting = Task { await allocate(#"{"resources": {"gpu": 1}, "constraints": {"max_wait_time": "10m"}}"#) }
        await requested(2)
        t.clock.advance(by: .minutes(11))
        await t.hub.workSignal.notify()
        let refused = await waiting.value
        #expect(refused.errorCode == "RESOURCE_TIMEOUT", "\(refused.json)")
        let id = try #require(refused.error?.context?["request_id"]?.stringValue)
        #expect(await allocate("{\"request_id\": \"\(id)\"}").errorCode == "RESOURCE_TIMEOUT")
    }

    @Test func aRequestWhoseCallerLeavesIsWithdrawn() async throws {
        let holder = await allocate(#"{"resources": {"gpu": 1}}"#)
        let waiting = Task { await allocate(#"{"resources": {"gpu": 1}, "constraints": {"max_wait_time": "1h"}}"#) }
        await requested(2)
        waiting.cancel()
        #expect(await waiting.value.errorCode == "RESOURCE_TIMEOUT")
        // Released, the resource goes to nobody who left: a new request gets it.
        await t.run(
            nil, "release-resources", "{\"allocation_id\": \"\(holder.result["allocation_id"]?.stringValue ?? "")\"}")
        #expect(await allocate(#"{"resources": {"gpu": 1}, "constraints": {"max_wait_time": "0s"}}"#).succeeded)
    }
}
