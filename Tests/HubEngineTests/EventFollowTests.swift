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

extension EventFollowTests {
    /// Events another process writes do not pass through this process's feed: a follower
    /// still gets them, and this process's later events, each once and in order.
    @Test func aFollowerGetsAnotherProcesssEventsAndItsOwnInOrder() async throws {
        let t = try TestHub()
        defer { t.remove() }
        let other = try t.otherProcess()
        #expect(await t.run(nil, "publish-event", #"{"event_type": "note", "data": {"n": 0}}"#).succeeded)
        let start = await t.run(nil, "get-events", "{}").result["last_sequence"]?.intValue ?? 0
        let stream = t.hub.follow(
            OperationRequest(
                workflowID: nil, operation: "get-events",
                parameters: ["after_sequence": .int(start), "event_types": ["note"]]),
            interval: .milliseconds(20), shouldStop: { false })
        async let received: [JSONValue] = {
            var events: [JSONValue] = []
            for try await event in stream {
                events.append(event)
                if events.count == 4 { break }
            }
            return events
        }()
        let foreign = await other.perform(
            OperationRequest(
                workflowID: nil, operation: "publish-event", parameters: ["event_type": "note", "data": ["n": 1]]))
        #expect(foreign.error == nil)
        for n in 2...4 {
            #expect(await t.run(nil, "publish-event", #"{"event_type": "note", "data": {"n": \#(n)}}"#).succeeded)
        }
        let events = try await received
        #expect(events.map { $0["data"]?["n"]?.intValue } == [1, 2, 3, 4])
        #expect(events.compactMap { $0["sequence"]?.intValue } == (1...4).map { start + Int64($0) })
    }
}

extension EventFollowTests {
    /// More events than a follower may read ahead: it waits for its consumer and carries
    /// on, losing and repeating none.
    @Test func aFollowerPastItsReadAheadWaitsForItsConsumerAndLosesNothing() async throws {
        let t = try TestHub()
        defer { t.remove() }
        let count = FollowedEvents.readAhead * 2 + 10
        let stream = await Self.backlog(count, on: t)
        var received: [Int64] = []
        for try await event in stream {
            received.append(event["data"]?["n"]?.intValue ?? -1)
            if received.count == count { break }
        }
        #expect(received == (0..<Int64(count)).map { $0 })
    }
}

extension EventFollowTests {
    /// Publishes `count` note events numbered from 0 in one request, and follows the notes
    /// from before them (a read far longer than the suite's time limit: only events wake it).
    static func backlog(_ count: Int, on t: TestHub) async -> FollowedEvents {
        let start = await t.run(nil, "get-events", "{}").result["last_sequence"]?.intValue ?? 0
        let events = (0..<count).map { n -> JSONValue in ["event_type": "note", "data": ["n": .int(Int64(n))]] }
        #expect(
            await t.hub.perform(
                OperationRequest(workflowID: nil, operation: "publish-event", parameters: ["events": .array(events)])
            ).error == nil)
        return t.hub.follow(
            OperationRequest(
                workflowID: nil, operation: "get-events",
                parameters: ["after_sequence": .int(start), "event_types": ["note"], "limit": 1000]),
            interval: .seconds(600), shouldStop: { false })
    }

    /// In batches: a publish of ten events reaches a caught-up follower as one chunk (one
    /// SSE write), and a read larger than the read-ahead comes in chunks no larger than it,
    /// every event once and in order.
    @Test func batchesCarryAPublishAtOnceAndNeverMoreThanTheReadAhead() async throws {
        let t = try TestHub()
        defer { t.remove() }
        let count = FollowedEvents.readAhead + 40
        let stream = await Self.backlog(count, on: t)
        var iterator = stream.batches().makeAsyncIterator()
        var received: [Int64] = []
        var sizes: [Int] = []
        while received.count < count, let batch = try await iterator.next() {
            sizes.append(batch.count)
            received += batch.map { $0["data"]?["n"]?.intValue ?? -1 }
        }
        #expect(received == (0..<Int64(count)).map { $0 })
        #expect(sizes.allSatisfy { $0 > 0 && $0 <= FollowedEvents.readAhead })
        #expect(sizes.count >= 2)
        // Caught up: the next publish of ten comes as one chunk.
        let ten = (0..<10).map { n -> JSONValue in ["event_type": "note", "data": ["n": .int(Int64(count + n))]] }
        #expect(
            await t.hub.perform(
                OperationRequest(workflowID: nil, operation: "publish-event", parameters: ["events": .array(ten)])
            ).error == nil)
        let next = try await iterator.next()
        #expect(next?.map { $0["data"]?["n"]?.intValue ?? -1 } == (0..<10).map { Int64(count + $0) })
    }
}

extension EventFollowTests {
    /// A follower with nothing to send yields an empty chunk once its keep-alive has passed
    /// (an event stream writes a comment then); the event-by-event sequence never sees one.
    @Test func aQuietFollowerYieldsAnEmptyChunkAsItsKeepAlive() async throws {
        let t = try TestHub()
        defer { t.remove() }
        #expect(await t.run(nil, "publish-event", #"{"event_type": "other"}"#).succeeded)
        let stream = t.hub.follow(
            OperationRequest(workflowID: nil, operation: "get-events", parameters: ["event_types": ["note"]]),
            interval: .milliseconds(5), keepAlive: .milliseconds(10), shouldStop: { false })
        var iterator = stream.batches().makeAsyncIterator()
        let first = try await iterator.next()
        #expect(first == [])
        // Still live after it: a matching event comes next.
        #expect(await t.run(nil, "publish-event", #"{"event_type": "note", "data": {"n": 7}}"#).succeeded)
        var next = try await iterator.next()
        while next == [] { next = try await iterator.next() }
        #expect(next?.map { $0["data"]?["n"] } == [7])
    }
}

extension EventFollowTests {
    /// A follow that names no starting point began at sequence 1: the whole log, then new
    /// events. It starts after the newest event at the time it is set up; after_sequence 0
    /// still asks for the history.
    @Test func aFollowWithoutAStartBeginsAfterTheNewestEvent() async throws {
        let t = try TestHub()
        defer { t.remove() }
        #expect(await t.run(nil, "publish-event", #"{"event_type": "note", "data": {"n": 0}}"#).succeeded)
        let newest = await t.run(nil, "get-events", "{}").result["last_sequence"]?.intValue
        let request = OperationRequest(
            workflowID: nil, operation: "get-events", parameters: ["follow": true, "event_types": ["note"]])
        let fixed = try await t.hub.fixingFollowStart(request)
        #expect(fixed.parameters["after_sequence"]?.intValue == newest)
        let stream = t.hub.follow(fixed, interval: .seconds(600), shouldStop: { false })
        async let received: JSONValue? = {
            for try await event in stream { return event }
            return nil
        }()
        #expect(await t.run(nil, "publish-event", #"{"event_type": "note", "data": {"n": 1}}"#).succeeded)
        #expect(try await received?["data"]?["n"] == 1)
        // A starting point of its own is kept: after_sequence 0 is the whole history.
        var history = request
        history.parameters["after_sequence"] = 0
        #expect(try await t.hub.fixingFollowStart(history).parameters["after_sequence"] == 0)
        #expect(await t.run(nil, "subscribe-event", #"{"patterns": ["*.note"], "callback": "s"}"#).succeeded)
        var subscribed = request
        subscribed.parameters["subscription"] = "s"
        #expect(try await t.hub.fixingFollowStart(subscribed).parameters["after_sequence"] == nil)
    }
}

extension EventFollowTests {
    /// Publishes a note numbered `n` and answers its sequence.
    static func note(_ n: Int, on t: TestHub) async -> Int64 {
        let published = await t.run(nil, "publish-event", "{\"event_type\": \"note\", \"data\": {\"n\": \(n)}}")
        return published.result["event"]?["sequence"]?.intValue ?? -1
    }

    /// Found by a probe: an acknowledging follow of a subscription left out the events a
    /// `replay-events` during it handed out again (they were not after the last one it yielded),
    /// though its read had acknowledged them: they were never printed. What an acknowledging
    /// read returns is what the subscription delivers, and is yielded.
    @Test func anAcknowledgingFollowYieldsWhatAReplayHandsOutAgain() async throws {
        let t = try TestHub()
        defer { t.remove() }
        var sequences: [Int64] = []
        for n in 1...3 { sequences.append(await Self.note(n, on: t)) }
        #expect(
            await t.run(nil, "subscribe-event", #"{"patterns": ["*.note"], "callback": "fr", "start_from": "all"}"#)
                .succeeded)
        // A replay wakes no follower (it appends nothing): a short interval reads again soon.
        let stream = t.hub.follow(
            OperationRequest(
                workflowID: nil, operation: "get-events", parameters: ["subscription": "fr", "ack": true]),
            interval: .milliseconds(10), shouldStop: { false })
        var events = stream.makeAsyncIterator()
        var first: [Int64] = []
        for _ in 1...3 { first.append(try await events.next()?["data"]?["n"]?.intValue ?? -1) }
        #expect(first == [1, 2, 3])
        let replay = await t.run(
            nil, "replay-events",
            "{\"subscription\": \"fr\", \"from_sequence\": \(sequences[0]), \"to_sequence\": \(sequences[1])}")
        #expect(replay.succeeded, "\(replay.json)")
        for n in 4...6 { _ = await Self.note(n, on: t) }
        var again: [Int64] = []
        for _ in 1...3 { again.append(try await events.next()?["data"]?["n"]?.intValue ?? -1) }
        #expect(again == [1, 2, 4])
    }

    /// Found by a probe: a follow of a subscription without ack read from the cursor, which it
    /// does not move, every time, and left out what it had yielded: past its first page it
    /// yielded nothing more. It reads on after what it yielded, leaving the cursor alone.
    @Test func aFollowWithoutAckReadsOnAndLeavesTheCursorAlone() async throws {
        let t = try TestHub()
        defer { t.remove() }
        for n in 1...3 { _ = await Self.note(n, on: t) }
        #expect(await t.run(nil, "publish-event", #"{"event_type": "other"}"#).succeeded)
        #expect(
            await t.run(nil, "subscribe-event", #"{"patterns": ["*.note"], "callback": "nf", "start_from": "all"}"#)
                .succeeded)
        let cursor = await t.run(nil, "get-events", #"{"subscription": "nf"}"#).result["cursor"]
        // Only events wake it: the interval is far past the suite's time limit.
        let stream = t.hub.follow(
            OperationRequest(workflowID: nil, operation: "get-events", parameters: ["subscription": "nf", "limit": 1]),
            interval: .seconds(600), shouldStop: { false })
        var events = stream.makeAsyncIterator()
        var received: [Int64] = []
        for _ in 1...3 { received.append(try await events.next()?["data"]?["n"]?.intValue ?? -1) }
        #expect(received == [1, 2, 3])
        _ = await Self.note(4, on: t)
        #expect(try await events.next()?["data"]?["n"] == 4)
        let after = await t.run(nil, "get-events", #"{"subscription": "nf"}"#)
        #expect(after.result["cursor"] == cursor)
        #expect(after.result["count"] == 4)
    }
}
