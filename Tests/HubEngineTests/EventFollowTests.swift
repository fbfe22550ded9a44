import HubCore
import HubEngine
import HubTesting
import Testing

/// `Hub.follow` (the server's event streams, `get-events` with `follow`): a
/// follower is woken by the operations that append events, not by its poll.
@Suite(.timeLimit(.minutes(1))) struct EventFollowTests {
    @Test func aFollowerIsWokenByAPublishNotByItsInterval() async throws {
        let t = try TestHub()
        defer { t.remove() }
        await t.run("w1", "create", #"{"phases": ["p"]}"#)
        let first = await t.run(nil, "get-events", "{}")
        let after = first.result["last_sequence"]?.intValue ?? 0
        // The interval is far past the suite's time limit: only the publish's signal can wake it in time.
        let stream = t.hub.follow(
            OperationRequest(
                workflowID: nil, operation: "get-events",
                parameters: ["after_sequence": .int(after), "event_types": ["note"]]),
            interval: .seconds(600), shouldStop: { false })
        // A child task, so the suite's time limit cancels it (and the stream) if no wake comes.
        async let received: JSONValue? = {
            for try await event in stream { return event }
            return nil
        }()
        #expect(await t.run("w1", "publish-event", #"{"event_type": "note", "data": {"n": 1}}"#).succeeded)
        let event = try await received
        #expect(event?["event_type"] == "note")
        #expect(event?["data"]?["n"] == 1)
    }
}
