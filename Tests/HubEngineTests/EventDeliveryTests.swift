import CompressNIO
import Crypto
import HubCore
import HubEngine
import HubTesting
import NIOCore
import Testing

/// The delivery engine against a real local HTTP receiver, round by round under a
/// manual clock (§10): order, signatures, batching, gzip, backoff, dead letters, dedup.
@Suite(.timeLimit(.minutes(1))) struct EventDeliveryTests {
    let t: TestHub
    init() async throws {
        t = try TestHub()
        await t.run("w1", "create", #"{"phases": ["build"]}"#)
    }

    /// Runs `body` with a delivery engine and `receiver`, shutting both down however it ends.
    func with(
        _ receiver: WebhookReceiver, _ body: (EventDelivery) async throws -> Void
    ) async throws {
        let sender = WebhookSender()
        let delivery = EventDelivery(hub: t.hub, sender: sender, requestTimeout: .seconds(5))
        do {
            try await body(delivery)
        } catch {
            try? await sender.shutdown()
            try? await receiver.shutdown()
            throw error
        }
        try await sender.shutdown()
        try await receiver.shutdown()
    }

    func subscribe(_ receiver: WebhookReceiver, _ extra: String = "") async {
        let r = await t.run(
            nil, "subscribe-event",
            "{\"patterns\": [\"*.note\"], \"callback\": \"hook\", \"webhook_url\": \"\(receiver.url(path: "/hook"))\"\(extra)}"
        )
        #expect(r.errorCode == nil, "\(r.json)")
    }

    func publish(_ n: Int, severity: String = "info", type: String = "note") async {
        await t.run(
            "w1", "publish-event",
            "{\"event_type\": \"\(type)\", \"severity\": \"\(severity)\", \"data\": {\"n\": \(n)}}")
    }

    static func numbers(_ request: WebhookReceiver.Request) -> [Int64] {
        let body = (try? JSONParser.parse(bytes: request.body)) ?? .null
        return body["events"]?.arrayValue?.compactMap { $0["data"]?["n"]?.intValue } ?? []
    }

    func pending() async -> Int {
        Int(await t.run(nil, "get-events", #"{"subscription": "hook"}"#).result["count"]?.intValue ?? -1)
    }

    @Test func eventsGoOutSignedInOrderAndAreAcknowledged() async throws {
        let receiver = try await WebhookReceiver.start()
        try await with(receiver) { delivery in
            await subscribe(receiver, #", "secret": "s3cret""#)
            await t.run(nil, "enable-async-processing", #"{"optimization_mode": "latency"}"#)
            for n in 0..<3 { await publish(n) }
            for _ in 0..<3 { try await delivery.deliverDue() }
            let requests = await receiver.received()
            #expect(requests.flatMap(Self.numbers) == [0, 1, 2])
            for request in requests {
                let mac = HMAC<SHA256>.authenticationCode(
                    for: request.body, using: SymmetricKey(data: Array("s3cret".utf8)))
                let hex = mac.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
                #expect(request.header("X-Hub-Signature-256") == "sha256=" + hex)
            }
            #expect(await pending() == 0)
        }
    }

    @Test func batchesFillOrWaitOutTheirTimeout() async throws {
        let receiver = try await WebhookReceiver.start()
        try await with(receiver) { delivery in
            await subscribe(receiver)
            await t.run(nil, "configure-batching", #"{"batch_size": 3, "batch_timeout": "5s"}"#)
            await publish(0)
            await publish(1)
            let waiting = try await delivery.deliverDue()
            #expect(waiting.batchesDelivered == 0)
            #expect(waiting.nextDue == t.clock.nowMilliseconds() + 5_000)
            t.clock.advance(by: HubDuration(milliseconds: 4_999))
            #expect(try await delivery.deliverDue().batchesDelivered == 0)
            t.clock.advance(by: HubDuration(milliseconds: 1))
            #expect(try await delivery.deliverDue().eventsDelivered == 2)
            for n in 2..<5 { await publish(n) }
            #expect(try await delivery.deliverDue().eventsDelivered == 3)  // full: goes at once
            #expect(await receiver.received().map(Self.numbers) == [[0, 1], [2, 3, 4]])
            let metrics = await t.run(nil, "get-metrics").result["event_system_performance"]
            #expect(metrics?["batching_performance"]?["mean_batch_size"] == 2.5)
        }
    }

    @Test func gzipBatchesDecode() async throws {
        let receiver = try await WebhookReceiver.start()
        try await with(receiver) { delivery in
            await subscribe(receiver)
            await t.run(nil, "configure-batching", #"{"batch_size": 2, "compression_enabled": true}"#)
            await publish(0)
            await publish(1)
            try await delivery.deliverDue()
            let request = try #require(await receiver.received().first)
            #expect(request.header("Content-Encoding") == "gzip")
            var buffer = ByteBuffer(bytes: request.body)
            var plain = try buffer.decompress(with: .gzip())
            let body = try JSONParser.parse(bytes: plain.readBytes(length: plain.readableBytes) ?? [])
            #expect(body["events"]?.arrayValue?.compactMap { $0["data"]?["n"]?.intValue } == [0, 1])
            let metrics = await t.run(nil, "get-metrics").result["event_system_performance"]
            #expect(metrics?["batching_performance"]?["compression_ratio"]?.doubleValue != nil)
        }
    }

    /// A webhook's batch still filling at a graceful stop went out only after the next start,
    /// once its batch timeout passed (§13: the stop flushes batches).
    @Test func theFlushOfAStopSendsAWebhookBatchStillFilling() async throws {
        let receiver = try await WebhookReceiver.start()
        try await with(receiver) { delivery in
            await subscribe(receiver)
            await t.run(nil, "configure-batching", #"{"batch_size": 3, "batch_timeout": "30s"}"#)
            await publish(0)
            let waiting = try await delivery.deliverDue()
            #expect(waiting.eventsDelivered == 0, "the batch waits to fill")
            let flushed = try await delivery.deliverDue(flush: true)
            #expect(flushed.eventsDelivered == 1)
            #expect(await receiver.received().map(Self.numbers) == [[0]])
            #expect(await pending() == 0)
        }
    }

    /// A graceful stop's flush began webhook retries: one failing receiver held the stop for
    /// its timeout. A retry waits for the next start, pending.
    @Test func theFlushOfAStopSendsNoWebhookRetry() async throws {
        let receiver = try await WebhookReceiver.start(statuses: [503], then: 200)
        try await with(receiver) { delivery in
            await subscribe(receiver, #", "retry_policy": {"max_retries": 3, "initial_delay": "1s"}"#)
            await t.run(nil, "enable-async-processing", #"{"optimization_mode": "latency"}"#)
            await publish(0)
            #expect(try await delivery.deliverDue().failedAttempts == 1)
            t.clock.advance(by: .seconds(5))

            let flushed = try await delivery.deliverDue(flush: true)

            #expect(flushed.failedAttempts == 0 && flushed.eventsDelivered == 0)
            #expect(await receiver.received().count == 1)
            #expect(await pending() == 1, "the event waits, pending, for the next start")
            #expect(try await delivery.deliverDue().eventsDelivered == 1)
        }
    }

    @Test func retriesBackOffExponentiallyOnTheClock() async throws {
        let receiver = try await WebhookReceiver.start(statuses: [503, 503], then: 200)
        try await with(receiver) { delivery in
            await subscribe(
                receiver,
                #", "retry_policy": {"max_retries": 3, "backoff_strategy": "exponential", "initial_delay": "1s"}"#)
            await t.run(nil, "enable-async-processing", #"{"optimization_mode": "latency"}"#)
            await publish(0)
            let start = t.clock.nowMilliseconds()
            let first = try await delivery.deliverDue()
            #expect(first.failedAttempts == 1)
            let id = try #require(await t.hub.store.read { tx in try tx.subscription("hook")?.id })
            #expect(await delivery.pendingRetry(id)?.retryAt == start + 1_000)
            t.clock.advance(by: HubDuration(milliseconds: 999))
            try await delivery.deliverDue()
            #expect(await receiver.received().count == 1)  // not yet due
            t.clock.advance(by: HubDuration(milliseconds: 1))
            #expect(try await delivery.deliverDue().failedAttempts == 1)
            #expect(await delivery.pendingRetry(id)?.retryAt == start + 1_000 + 2_000)
            t.clock.advance(by: HubDuration(milliseconds: 1_999))
            try await delivery.deliverDue()
            #expect(await receiver.received().count == 2)
            t.clock.advance(by: HubDuration(milliseconds: 1))
            #expect(try await delivery.deliverDue().eventsDelivered == 1)
            let requests = await receiver.received()
            #expect(requests.count == 3)
            // One delivery, retried: the same delivery id each time.
            #expect(Set(requests.compactMap { $0.header("X-Hub-Delivery") }).count == 1)
            #expect(await pending() == 0)
            let sub = try #require(await t.hub.store.read { tx in try tx.subscription("hook") })
            #expect(sub.counters.retried == 2)
        }
    }

    @Test func afterMaxRetriesEventsAreDeadLettered() async throws {
        let receiver = try await WebhookReceiver.start(statuses: [], then: 500)
        try await with(receiver) { delivery in
            await subscribe(receiver, #", "retry_policy": {"max_retries": 1, "initial_delay": "1s"}"#)
            await t.run(nil, "enable-async-processing", #"{"optimization_mode": "latency"}"#)
            await publish(7)
            try await delivery.deliverDue()
            t.clock.advance(by: .seconds(1))
            let last = try await delivery.deliverDue()
            #expect(last.deadLettered == 1)
            #expect(await receiver.received().count == 2)
            let letters = await t.run(nil, "get-events", #"{"subscription": "hook", "dead_letters": true}"#)
            let letter = try #require(letters.result["dead_letters"]?.arrayValue?.first)
            #expect(letter["attempts"] == 2)
            #expect(letter["event"]?["data"]?["n"] == 7)
            #expect(letter["last_error"]?.stringValue?.contains("500") == true)
            #expect(await pending() == 0)  // moved past: the next events are not held up
            let metrics = await t.run(nil, "get-metrics").result["event_system_performance"]
            #expect(metrics?["async_processing_performance"]?["dead_letters"] == 1)
        }
    }

    /// Retention removed a dead-lettered event after the retention period, leaving its
    /// letter with `event: null`: the letter is kept whole while it exists.
    @Test func aDeadLetterKeepsItsEventPastTheRetentionPeriod() async throws {
        let receiver = try await WebhookReceiver.start(statuses: [], then: 500)
        try await with(receiver) { delivery in
            await subscribe(receiver, #", "retry_policy": {"max_retries": 0}"#)
            await t.run(nil, "enable-async-processing", #"{"optimization_mode": "latency"}"#)
            await publish(7)
            #expect(try await delivery.deliverDue().deadLettered == 1)
            t.clock.advance(by: .days(8))
            await publish(8)  // newer than the period, so the lettered event is not the newest
            await t.run(nil, "configure-persistence", #"{"enforce_now": true}"#)
            let left = await t.run(nil, "get-events", #"{"event_types": ["note"]}"#).result["events"]?.arrayValue
            #expect(left?.count == 2)
            let letters = await t.run(nil, "get-events", #"{"subscription": "hook", "dead_letters": true}"#)
            let letter = try #require(letters.result["dead_letters"]?.arrayValue?.first)
            #expect(letter["event"]?["data"]?["n"] == 7)
            // Once its subscription goes, so may the event.
            await t.run(nil, "unsubscribe-event", #"{"subscription": "hook"}"#)
            await t.run(nil, "configure-persistence", #"{"enforce_now": true}"#)
            let after = await t.run(nil, "get-events", #"{"event_types": ["note"]}"#).result["events"]?.arrayValue
            #expect(after?.compactMap { $0["data"]?["n"]?.intValue } == [8])
        }
    }

    @Test func anEventPublishedDuringABackoffWaitsForItsOwnBatchAndAttempts() async throws {
        let receiver = try await WebhookReceiver.start(statuses: [], then: 500)
        try await with(receiver) { delivery in
            await subscribe(
                receiver, #", "retry_policy": {"max_retries": 2, "initial_delay": "1s", "backoff_strategy": "fixed"}"#)
            await t.run(nil, "configure-batching", #"{"batch_size": 10, "batch_timeout": "1s"}"#)
            await publish(1)
            t.clock.advance(by: .seconds(1))
            #expect(try await delivery.deliverDue().failedAttempts == 1)
            await publish(2)  // while the first batch backs off
            var deadLettered = 0
            for _ in 0..<5 {
                t.clock.advance(by: .seconds(1))
                deadLettered += try await delivery.deliverDue().deadLettered
            }
            #expect(deadLettered == 2)
            let requests = await receiver.received()
            #expect(requests.map(Self.numbers) == [[1], [1], [1], [2], [2], [2]])
            // A delivery id names one body: three attempts each, under two ids.
            var bodies: [String: Set<[UInt8]>] = [:]
            for request in requests { bodies[request.header("X-Hub-Delivery") ?? "", default: []].insert(request.body) }
            #expect(bodies.count == 2)
            #expect(bodies.values.allSatisfy { $0.count == 1 })
            let letters = await t.run(nil, "get-events", #"{"subscription": "hook", "dead_letters": true}"#)
            let attempts = letters.result["dead_letters"]?.arrayValue?.map { letter in
                [letter["event"]?["data"]?["n"]?.intValue, letter["attempts"]?.intValue]
            }
            #expect(attempts == [[1, 3], [2, 3]])
            #expect(await pending() == 0)
        }
    }

    @Test func aReplayDuringABackoffIsPlannedAfreshFromTheNewCursor() async throws {
        let receiver = try await WebhookReceiver.start(statuses: [500], then: 200)
        try await with(receiver) { delivery in
            await subscribe(
                receiver, #", "retry_policy": {"max_retries": 3, "initial_delay": "1s", "backoff_strategy": "fixed"}"#)
            await t.run(nil, "enable-async-processing", #"{"optimization_mode": "latency"}"#)
            await publish(1)
            #expect(try await delivery.deliverDue().failedAttempts == 1)
            await publish(2)
            await t.run(nil, "replay-events", #"{"subscription": "hook", "from_sequence": 1}"#)
            t.clock.advance(by: .seconds(1))
            try await delivery.deliverDue()
            try await delivery.deliverDue()
            let requests = await receiver.received()
            #expect(requests.map(Self.numbers) == [[1], [1], [2]])
            // The kept batch was dropped: the resend after the replay is a delivery of its own.
            #expect(Set(requests.compactMap { $0.header("X-Hub-Delivery") }).count == 3)
            #expect(await pending() == 0)
        }
    }

    @Test func repeatsInsideTheWindowAreDroppedAndCounted() async throws {
        let receiver = try await WebhookReceiver.start()
        try await with(receiver) { delivery in
            await subscribe(receiver)
            await t.run(nil, "configure-batching", #"{"batch_size": 10, "deduplication_enabled": true}"#)
            await publish(1)
            await publish(1)
            await publish(2)
            t.clock.advance(by: .seconds(1))
            let round = try await delivery.deliverDue()
            #expect(round.eventsDelivered == 2)
            #expect(round.deduplicated == 1)
            #expect(await receiver.received().map(Self.numbers) == [[1, 2]])
            let metrics = await t.run(nil, "get-metrics").result["event_system_performance"]
            #expect(metrics?["batching_performance"]?["deduplication_rate"] == 0.333)
        }
    }

    /// The window is between the events' publication times, not their sending: a backlog read
    /// in one moment (the receiver was down, a subscription from `all`, a resumed stream) lost
    /// a report published hours after an identical one, which the live delivery had sent.
    @Test func identicalEventsPublishedFarApartAreBothDeliveredFromABacklog() async throws {
        let receiver = try await WebhookReceiver.start()
        try await with(receiver) { delivery in
            await t.run(nil, "configure-batching", #"{"batch_size": 10, "deduplication_enabled": true}"#)
            await publish(1)
            t.clock.advance(by: .hours(3))
            await publish(1)
            await publish(1)
            await subscribe(receiver, #", "start_from": "all""#)
            t.clock.advance(by: .seconds(1))
            let round = try await delivery.deliverDue()
            #expect(round.eventsDelivered == 2)
            #expect(round.deduplicated == 1)
            #expect(await receiver.received().map(Self.numbers) == [[1, 1]])
        }
    }

    @Test func aFailedDeliveryIsRetriedWithDeduplicationOn() async throws {
        let receiver = try await WebhookReceiver.start(statuses: [500], then: 200)
        try await with(receiver) { delivery in
            await subscribe(
                receiver, #", "retry_policy": {"max_retries": 3, "initial_delay": "1s", "backoff_strategy": "fixed"}"#)
            await t.run(nil, "configure-batching", #"{"batch_size": 1, "deduplication_enabled": true}"#)
            await publish(1)
            #expect(try await delivery.deliverDue().failedAttempts == 1)
            t.clock.advance(by: .seconds(1))
            let retry = try await delivery.deliverDue()
            #expect(retry.eventsDelivered == 1)
            #expect(retry.deduplicated == 0)
            #expect(await receiver.received().map(Self.numbers) == [[1], [1]])
            #expect(await pending() == 0)
            let letters = await t.run(nil, "get-events", #"{"subscription": "hook", "dead_letters": true}"#)
            #expect(letters.result["count"] == 0)
        }
    }

    @Test func aReplayInsideTheDedupWindowIsDeliveredAgain() async throws {
        let receiver = try await WebhookReceiver.start()
        try await with(receiver) { delivery in
            await subscribe(receiver)
            await t.run(nil, "configure-batching", #"{"batch_size": 2, "deduplication_enabled": true}"#)
            await publish(1)
            await publish(2)
            #expect(try await delivery.deliverDue().eventsDelivered == 2)
            let replay = await t.run(nil, "replay-events", #"{"subscription": "hook", "from_sequence": 1}"#)
            #expect(replay.errorCode == nil, "\(replay.json)")
            let again = try await delivery.deliverDue()
            #expect(again.eventsDelivered == 2)
            #expect(again.deduplicated == 0)
            #expect(await receiver.received().map(Self.numbers) == [[1, 2], [1, 2]])
        }
    }

    @Test func aRepeatOfAnEventDeliveredInAnEarlierBatchIsDropped() async throws {
        let receiver = try await WebhookReceiver.start()
        try await with(receiver) { delivery in
            await subscribe(receiver)
            await t.run(nil, "configure-batching", #"{"batch_size": 1, "deduplication_enabled": true}"#)
            await publish(1)
            #expect(try await delivery.deliverDue().eventsDelivered == 1)
            await publish(1)
            let round = try await delivery.deliverDue()
            #expect(round.eventsDelivered == 0)
            #expect(round.deduplicated == 1)
            #expect(await receiver.received().map(Self.numbers) == [[1]])
            #expect(await pending() == 0)
        }
    }

    @Test func aBacklogGoesMostSevereFirstUnderStrict() async throws {
        let receiver = try await WebhookReceiver.start()
        try await with(receiver) { delivery in
            await t.run(
                nil, "subscribe-event",
                "{\"patterns\": [\"*.info_note\"], \"callback\": \"calm\", \"webhook_url\": \"\(receiver.url(path: "/calm"))\"}"
            )
            await t.run(
                nil, "subscribe-event",
                "{\"patterns\": [\"*.alarm\"], \"callback\": \"loud\", \"webhook_url\": \"\(receiver.url(path: "/loud"))\"}"
            )
            await t.run(
                nil, "enable-async-processing",
                #"{"processing_pool_size": 1, "priority_scheme": "strict", "optimization_mode": "latency"}"#)
            await publish(0, type: "info_note")
            await publish(1, severity: "critical", type: "alarm")
            try await delivery.deliverDue()
            #expect(await receiver.received().map(\.path) == ["/loud", "/calm"])
        }
    }

    @Test func aStreamReceivesARealtimeSubscriptionsEvents() async throws {
        let receiver = try await WebhookReceiver.start()
        try await with(receiver) { delivery in
            await t.run(nil, "subscribe-event", #"{"patterns": ["*.note"], "callback": "live"}"#)
            let stream = try await delivery.stream("live")
            var iterator = stream.makeAsyncIterator()
            await publish(5)
            await publish(6)
            try await delivery.deliverDue()
            let first = await iterator.next()
            let second = await iterator.next()
            #expect(first?.events.map(\.data) == [["n": 5]])
            #expect(second?.events.map(\.data) == [["n": 6]])
            // Streams do not acknowledge for the consumer.
            #expect(await t.run(nil, "get-events", #"{"subscription": "live"}"#).result["count"] == 2)
        }
    }

    @Test func stoppedMidBatchAndStartedAgainEveryEventArrivesInOrder() async throws {
        // The first request is never answered: the service is stopped while it waits.
        let receiver = try await WebhookReceiver.start { _, index in index == 0 ? .silence : .init(status: 200) }
        await subscribe(receiver)
        await t.run(nil, "configure-batching", #"{"batch_size": 3}"#)
        for n in 0..<7 { await publish(n) }
        let firstSender = WebhookSender()
        let first = EventDelivery(
            hub: t.hub, sender: firstSender, pollInterval: .milliseconds(10), requestTimeout: .seconds(30))
        let running = Task { try await first.run() }
        let stuck = try #require(await receiver.next())
        #expect(Self.numbers(stuck) == [0, 1, 2])
        running.cancel()
        _ = try? await running.value
        try await firstSender.shutdown()
        #expect(await pending() == 7)  // nothing was acknowledged

        let secondSender = WebhookSender()
        let second = EventDelivery(hub: t.hub, sender: secondSender, pollInterval: .milliseconds(10))
        let again = Task { try await second.run() }
        var seen: [Int64] = []
        while seen.count < 7, let request = await receiver.next() {
            seen += Self.numbers(request)
            // The last event waits for its batch's timeout, on the test's clock.
            if seen.count == 6 { t.clock.advance(by: .seconds(1)) }
        }
        await second.requestStop()
        _ = try? await again.value
        try await secondSender.shutdown()
        try await receiver.shutdown()
        #expect(seen == [0, 1, 2, 3, 4, 5, 6])
        #expect(await pending() == 0)
    }

    @Test func oneRoundServesManySubscriptionsEachFromItsOwnCursor() async throws {
        let receiver = try await WebhookReceiver.start()
        try await with(receiver) { delivery in
            await t.run(nil, "configure-batching", #"{"batch_size": 100}"#)
            await t.run(nil, "enable-async-processing", #"{"processing_pool_size": 8}"#)
            // Half the subscriptions start with the log, half after the first events.
            for k in 0..<12 where k % 2 == 0 {
                await t.run(
                    nil, "subscribe-event",
                    "{\"patterns\": [\"*.kind_\(k % 4)\"], \"callback\": \"s\(k)\", \"start_from\": \"all\", \"webhook_url\": \"\(receiver.url(path: "/\(k)"))\"}"
                )
            }
            for n in 0..<8 { await publish(n, type: "kind_\(n % 4)") }
            for k in 0..<12 where k % 2 == 1 {
                await t.run(
                    nil, "subscribe-event",
                    "{\"patterns\": [\"*.kind_\(k % 4)\", \"agent.#\"], \"callback\": \"s\(k)\", \"webhook_url\": \"\(receiver.url(path: "/\(k)"))\"}"
                )
            }
            for n in 8..<16 { await publish(n, type: "kind_\(n % 4)") }
            t.clock.advance(by: .seconds(1))
            try await delivery.deliverDue()
            var byPath: [String: [Int64]] = [:]
            for request in await receiver.received() { byPath[request.path, default: []] += Self.numbers(request) }
            for k in 0..<12 {
                let kind = Int64(k % 4)
                let first: Int64 = k % 2 == 0 ? 0 : 8
                let expected: [Int64] = (first..<16).filter { $0 % 4 == kind }
                #expect(byPath["/\(k)"] == expected, "subscription s\(k)")
            }
        }
    }

    @Test func deliveriesRunConcurrentlyUpToThePoolSize() async throws {
        // The first request is never answered; with two deliveries at once the second
        // still arrives (one at a time, it would wait past the test time limit).
        let receiver = try await WebhookReceiver.start { _, index in index == 0 ? .silence : .init(status: 200) }
        let sender = WebhookSender()
        let delivery = EventDelivery(hub: t.hub, sender: sender, requestTimeout: .seconds(120))
        for name in ["one", "two"] {
            await t.run(
                nil, "subscribe-event",
                "{\"patterns\": [\"*.\(name)\"], \"callback\": \"\(name)\", \"webhook_url\": \"\(receiver.url(path: "/\(name)"))\"}"
            )
        }
        await t.run(
            nil, "enable-async-processing", #"{"processing_pool_size": 2, "optimization_mode": "latency"}"#)
        await publish(1, type: "one")
        await publish(2, type: "two")
        let round = Task { try await delivery.deliverDue() }
        let first = await receiver.next()
        let second = await receiver.next()
        #expect(Set([first?.path, second?.path]) == ["/one", "/two"])
        round.cancel()
        _ = try? await round.value
        try await sender.shutdown()
        try await receiver.shutdown()
    }
}
