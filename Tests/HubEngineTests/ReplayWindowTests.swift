import HubCore
import HubEngine
import HubTesting
import Testing

/// `replay-events` over a time window that holds no event (§17: the result gives the cursor
/// and the number of events in the range): it was refused as a range ending before it starts.
@Suite struct ReplayWindowTests {
    let t: TestHub
    init() async throws {
        t = try TestHub()
        await t.run("w1", "create", #"{"phases": ["build"]}"#)
    }

    func at(_ time: String) {
        t.clock.set(milliseconds: Timestamp.parseMilliseconds(time) ?? 0)
    }

    func pending(_ subscription: String, ack: Bool = false) async -> [Int64] {
        let r = await t.run(nil, "get-events", "{\"subscription\": \"\(subscription)\", \"ack\": \(ack)}")
        return (r.result["events"]?.arrayValue ?? []).compactMap { $0["data"]?["n"]?.intValue }
    }

    /// The README's and `help replay-events`' own example, with events before and after its window.
    @Test func theDocumentedExampleOfAWindowWithoutEventsSucceeds() async throws {
        await t.run(
            nil, "subscribe-event",
            #"{"patterns": ["*.task_completed", "*.failed"], "callback": "ci-watcher", "start_from": "all"}"#)
        at("2026-11-30T08:00:00Z")
        await t.run("w1", "publish-event", #"{"event_type": "task_completed", "data": {"n": 0}}"#)
        at("2026-11-30T11:00:00Z")
        await t.run("w1", "publish-event", #"{"event_type": "task_completed", "data": {"n": 1}}"#)
        let example = try #require(OperationTable.standard["replay-events"]?.example)
        let start = try #require(example.firstIndex(of: "'"))
        let end = try #require(example.lastIndex(of: "'"))
        let parameters = String(example[example.index(after: start)..<end])
        let replay = await t.run(nil, "replay-events", parameters)
        #expect(replay.succeeded, "\(replay.json)")
        #expect(replay.result["events_in_range"] == 0)
        #expect(replay.result["cursor"] == 0)
        // Nothing pending was skipped, nothing is handed out twice.
        #expect(await pending("ci-watcher", ack: true) == [0, 1])
        #expect(await pending("ci-watcher").isEmpty)
    }

    /// A window of the recent past with no event in it (now-3s..now-1s): the cursor stays,
    /// so neither the events before the window nor those after it come again.
    @Test func anEmptyWindowLeavesTheCursorWhereItWas() async throws {
        await t.run(nil, "subscribe-event", #"{"patterns": ["*.note"], "callback": "r", "start_from": "all"}"#)
        await t.run("w1", "publish-event", #"{"event_type": "note", "data": {"n": 0}}"#)
        t.clock.advance(by: .seconds(10))
        let now = t.clock.nowMilliseconds()
        await t.run("w1", "publish-event", #"{"event_type": "note", "data": {"n": 1}}"#)
        #expect(await pending("r", ack: true) == [0, 1])
        let cursor = await t.run(nil, "get-events", #"{"subscription": "r"}"#).result["cursor"]
        let from = Timestamp.format(milliseconds: now - 3000)
        let to = Timestamp.format(milliseconds: now - 1000)
        let replay = await t.run(
            nil, "replay-events", "{\"subscription\": \"r\", \"from_time\": \"\(from)\", \"to_time\": \"\(to)\"}")
        #expect(replay.succeeded, "\(replay.json)")
        #expect(replay.result["events_in_range"] == 0)
        #expect(replay.result["cursor"] == cursor)
        #expect(await pending("r").isEmpty)
        // The subscription is live as before: the next event comes, once.
        await t.run("w1", "publish-event", #"{"event_type": "note", "data": {"n": 2}}"#)
        #expect(await pending("r", ack: true) == [2])
    }

    /// An empty window does not cut short a replay under way.
    @Test func anEmptyWindowLeavesAReplayUnderWayAlone() async throws {
        await t.run(nil, "subscribe-event", #"{"patterns": ["*.note"], "callback": "r", "start_from": "all"}"#)
        var sequences: [Int64] = []
        for n in 0..<3 {
            t.clock.advance(by: .minutes(1))
            let r = await t.run("w1", "publish-event", "{\"event_type\": \"note\", \"data\": {\"n\": \(n)}}")
            sequences.append(r.result["sequence"]?.intValue ?? 0)
        }
        #expect(await pending("r", ack: true) == [0, 1, 2])
        await t.run(nil, "replay-events", "{\"subscription\": \"r\", \"from_sequence\": \(sequences[0])}")
        let future = Timestamp.format(milliseconds: t.clock.nowMilliseconds() + 60_000)
        let replay = await t.run(
            nil, "replay-events", "{\"subscription\": \"r\", \"from_time\": \"\(future)\", \"to_time\": \"\(future)\"}")
        #expect(replay.succeeded, "\(replay.json)")
        #expect(await pending("r") == [0, 1, 2])
    }

    /// A window that ends before it starts is still refused, naming to_time and both times.
    /// events_in_range counts the range only: not the unacknowledged events after it, which
    /// the subscription hands out too once the replay is over.
    @Test func eventsInRangeCountsTheRangeOnly() async throws {
        let subscribed = await t.run(
            nil, "subscribe-event",
            #"{"patterns": ["workflow.w1.e_one", "workflow.w1.e_two", "workflow.w1.e_three"], "callback": "s", "start_from": "all"}"#
        )
        #expect(subscribed.succeeded, "\(subscribed.json)")
        var sequences: [Int64] = []
        for type in ["e_one", "e_two", "e_three"] {
            let published = await t.run("w1", "publish-event", "{\"event_type\": \"\(type)\"}")
            sequences += [try #require(published.result["sequence"]?.intValue)]
        }
        await t.run(nil, "ack-events", "{\"subscription\": \"s\", \"up_to_sequence\": \(sequences[1])}")
        let replay = await t.run(
            nil, "replay-events",
            "{\"subscription\": \"s\", \"from_sequence\": \(sequences[0]), \"to_sequence\": \(sequences[1])}")
        #expect(replay.result["events_in_range"] == 2, "\(replay.json)")
        // Open to the present, the range holds all three.
        let open = await t.run(nil, "replay-events", "{\"subscription\": \"s\", \"from_sequence\": \(sequences[0])}")
        #expect(open.result["events_in_range"] == 3, "\(open.json)")
    }

    @Test func aWindowEndingBeforeItStartsIsRefused() async throws {
        await t.run(nil, "subscribe-event", ##"{"patterns": ["#"], "callback": "r"}"##)
        let refused = await t.run(
            nil, "replay-events",
            #"{"subscription": "r", "from_time": "2026-11-30T10:00:00Z", "to_time": "2026-11-30T09:00:00Z"}"#)
        #expect(refused.errorCode == "INVALID_PARAMETERS")
        #expect(refused.error?.context?["field"] == "to_time")
        #expect(refused.error?.message.contains("2026-11-30T09:00:00Z") == true)
        let sequence = await t.run("w1", "publish-event", #"{"event_type": "note"}"#).result["sequence"]?.intValue ?? 0
        let reversed = await t.run(
            nil, "replay-events",
            "{\"subscription\": \"r\", \"from_sequence\": \(sequence), \"to_sequence\": \(sequence - 1)}")
        #expect(reversed.errorCode == "INVALID_PARAMETERS")
    }
}

/// A replay whose range starts past what the subscription has acknowledged moved its cursor up
/// to the range, and the events before it were never delivered (at-least-once broken).
@Suite struct ReplayAheadTests {
    let t: TestHub
    init() async throws {
        t = try TestHub()
        await t.run("w1", "create", #"{"phases": ["build"]}"#)
        await t.run(nil, "subscribe-event", #"{"patterns": ["*.note"], "callback": "c1", "start_from": "all"}"#)
        for n in 1...5 { await t.run("w1", "publish-event", "{\"event_type\": \"note\", \"data\": {\"n\": \(n)}}") }
    }

    func notes(ack: Bool) async -> [Int64] {
        let r = await t.run(nil, "get-events", "{\"subscription\": \"c1\", \"ack\": \(ack)}")
        return (r.result["events"]?.arrayValue ?? []).compactMap { $0["data"]?["n"]?.intValue }
    }

    func sequence(ofNote n: Int) async throws -> Int64 {
        let events = await t.run(nil, "get-events", #"{"event_types": ["note"]}"#).result["events"]?.arrayValue ?? []
        return try #require(events.first { $0["data"]?["n"] == .int(Int64(n)) }?["sequence"]?.intValue)
    }

    @Test(arguments: [true, false])
    func aRangeAheadOfTheSubscriptionSkipsNothing(_ bounded: Bool) async throws {
        let fourth = try await sequence(ofNote: 4)
        let end = bounded ? ", \"to_sequence\": \(fourth)" : ""
        let replay = await t.run(nil, "replay-events", "{\"subscription\": \"c1\", \"from_sequence\": \(fourth)\(end)}")
        #expect(replay.succeeded, "\(replay.json)")
        #expect(replay.result["cursor"] == 0, "the cursor did not move")
        #expect(replay.result["events_in_range"] == (bounded ? 1 : 2))
        #expect(await notes(ack: true) == [1, 2, 3, 4, 5])
        #expect(await notes(ack: false).isEmpty)
    }

    /// Behind the cursor a replay still rewinds, and a bounded one returns to where it was.
    @Test func aRangeBehindTheCursorIsDeliveredAgain() async throws {
        #expect(await notes(ack: true) == [1, 2, 3, 4, 5])
        let second = try await sequence(ofNote: 2)
        let replay = await t.run(
            nil, "replay-events", "{\"subscription\": \"c1\", \"from_sequence\": \(second), \"to_sequence\": \(second)}"
        )
        #expect(replay.result["cursor"] == .int(second - 1))
        #expect(await notes(ack: true) == [2])
        #expect(await notes(ack: false).isEmpty)
    }
}
