import HubCore
import HubStore
import Logging
import Metrics
import ServiceLifecycle

/// The delivery engine (§10): a `Service` that any long-lived hub process runs.
///
/// Each round it looks at every subscription with somewhere to deliver to —
/// a webhook, or a stream attached with ``stream(_:)`` — reads its pending events
/// from its cursor, lets ``DeliveryPlanner`` decide whether a batch goes now, and
/// sends the ready batches, at most `processing_pool_size` at once and in the
/// order of the priority scheme. A webhook batch is acknowledged (the cursor moves,
/// counters and statistics with it, in one transaction) only after a 2xx answer;
/// a failure waits out the retry policy's backoff, then the same batch goes again under
/// the same delivery id, and after `max_retries` it moves to the dead-letter list. So a delivery stopped mid-batch is sent again
/// by the next run: at least once, in sequence order, nothing skipped.
///
/// Time comes from the hub's clock, so tests drive ``deliverDue(flush:)`` round by
/// round under a manual clock; ``run()`` loops, polling every `pollInterval`.
public actor EventDelivery: Service {
    public let hub: Hub
    let sender: WebhookSender
    let pollInterval: Duration
    let requestTimeout: Duration
    /// The longest a webhook attempt may hold a graceful stop's flush.
    static let flushTimeout = Duration.seconds(2)
    let logger: Logger

    /// A subscription's failing delivery: the batch that failed, how often, and when it may
    /// go again. A retry resends exactly this batch under the same delivery id, so each event
    /// in it gets the policy's every attempt and an id names one body; events published
    /// meanwhile wait for the next batch.
    struct Backoff {
        var batch: Ready
        var attempts: Int
        var retryAt: Int64
        var deliveryID: String
    }

    private var backoff: [String: Backoff] = [:]
    private var dedup: [String: DeliveryDedup] = [:]
    private var streams: [String: [Int: AsyncStream<DeliveredBatch>.Continuation]] = [:]
    /// How far each attached stream has been sent (it acknowledges on its own).
    private var streamPosition: [String: Int64] = [:]
    private var nextStreamID = 0
    private var stopping = false

    /// Events read per subscription per round.
    static let readLimit = 100

    /// Events handed to a stream consumer.
    public struct DeliveredBatch: Sendable {
        public let subscriptionID: String
        public let events: [HubEvent]
    }

    /// What one round did.
    public struct Round: Sendable, Equatable {
        public var batchesDelivered = 0
        public var eventsDelivered = 0
        public var failedAttempts = 0
        public var deadLettered = 0
        public var deduplicated = 0
        /// The earliest time a waiting batch or a retry becomes due, if any.
        public var nextDue: Int64?
    }

    public init(
        hub: Hub, sender: WebhookSender, pollInterval: Duration = .milliseconds(100),
        requestTimeout: Duration = .seconds(10)
    ) {
        self.hub = hub
        self.sender = sender
        self.pollInterval = pollInterval
        self.requestTimeout = requestTimeout
        self.logger = hub.logger
    }

    // MARK: Running

    /// Delivers until cancelled or shut down gracefully; on a graceful shutdown the
    /// batches still filling are flushed first, then attached streams end.
    public func run() async throws {
        await withGracefulShutdownHandler {
            while !stopping && !Task.isCancelled {
                let round: Round
                do {
                    round = try await deliverDue()
                } catch {
                    // Cut short by the group stopping: not a failed round.
                    if Task.isCancelled { break }
                    logger.error("event delivery round failed", metadata: ["error": "\(error)"])
                    round = Round()
                }
                if round.eventsDelivered > 0 && !stopping { continue }
                var wait = pollInterval
                let now = hub.clock.nowMilliseconds()
                if let due = round.nextDue, due > now { wait = min(wait, .milliseconds(due - now)) }
                do { try await Task.sleep(for: wait) } catch { break }
            }
        } onGracefulShutdown: {
            Task { await self.requestStop() }
        }
        if !Task.isCancelled { _ = try? await deliverDue(flush: true) }
        for continuations in streams.values { for c in continuations.values { c.finish() } }
        streams = [:]
    }

    /// Asks ``run()`` to finish after its current round.
    public func requestStop() { stopping = true }

    /// Attaches a consumer to a `realtime` or `batch` subscription: its pending events
    /// arrive as batches. The consumer acknowledges what it has handled (`ack-events`);
    /// when it goes away, what it did not acknowledge is sent to the next consumer.
    public func stream(_ subscription: String) async throws -> AsyncStream<DeliveredBatch> {
        let s = try await hub.store.read { tx in try tx.requireSubscription(subscription) }
        if s.delivery == .webhook {
            throw HubError.parameter("subscription", "delivers by webhook; streams are for realtime and batch delivery")
        }
        let (stream, continuation) = AsyncStream<DeliveredBatch>.makeStream()
        let id = nextStreamID
        nextStreamID += 1
        streams[s.id, default: [:]][id] = continuation
        continuation.onTermination = { _ in Task { await self.detach(s.id, id) } }
        return stream
    }

    private func detach(_ subscriptionID: String, _ id: Int) {
        streams[subscriptionID]?[id] = nil
        if streams[subscriptionID]?.isEmpty == true {
            streams[subscriptionID] = nil
            streamPosition[subscriptionID] = nil
        }
    }

    // MARK: One round

    /// A batch ready to go, with what acknowledging it means.
    struct Ready: Sendable {
        var subscription: Subscription
        var events: [HubEvent]
        /// Dropped as repeats: acknowledged with the batch, not sent.
        var repeats: [HubEvent]
        /// Acknowledging the batch moves the cursor here.
        var ackThrough: Int64
        /// The scan, whose events up to `ackThrough` the counters take in.
        var scan: SubscriptionScan
        var rule: BatchingRule
    }

    /// Delivers every batch that is due now; with `flush` (a graceful stop), also those of
    /// attached streams still filling, and no webhook.
    @discardableResult
    public func deliverDue(flush: Bool = false) async throws -> Round {
        let now = hub.clock.nowMilliseconds()
        let attached = Set(streams.keys)
        let positions = streamPosition
        let waiting = backoff
        let (subscriptions, batching, processing, scans) = try await hub.store.read {
            tx -> ([Subscription], BatchingSettings, AsyncProcessing, [String: SubscriptionScan]) in
            let all = try tx.subscriptions().filter { s in
                s.delivery == .webhook ? s.webhookURL != nil : attached.contains(s.id)
            }
            // One pass over the log for all of them, routed through one trie.
            let views = all.filter { (waiting[$0.id]?.retryAt ?? now) <= now }.map { s -> Subscription in
                var view = s
                if let position = positions[s.id], position > view.cursor { view.cursor = position }
                return view
            }
            let found = try SubscriptionScan.scanAll(tx, views, limit: Self.readLimit)
            let scans = Dictionary(uniqueKeysWithValues: zip(views.map(\.id), found))
            return (
                all, BatchingSettings(json: try tx.setting(EventSettingKey.batching) ?? .emptyObject),
                AsyncProcessing(json: try tx.setting(EventSettingKey.asyncProcessing) ?? .emptyObject), scans
            )
        }
        var round = Round()
        round.nextDue = waiting.values.map(\.retryAt).filter { $0 > now }.min()
        var ready: [Ready] = []
        for s in subscriptions {
            guard let scan = scans[s.id] else { continue }
            // A graceful stop flushes the batches still filling (§13), a webhook's too, each with one
            // short attempt; a webhook's retry waits for the next start, its events pending in the
            // log, rather than hold the stop for a failing receiver.
            if flush && s.delivery == .webhook && backoff[s.id] != nil { continue }
            if let retry = retrying(s) {
                ready.append(retry)
                continue
            }
            if scan.events.isEmpty {
                // Nothing wanted, but events were passed over: remember how far.
                if s.delivery != .webhook, scan.safeThrough > (streamPosition[s.id] ?? s.cursor) {
                    streamPosition[s.id] = scan.safeThrough
                }
                continue
            }
            if s.delivery == .realtime {
                // A connected stream takes every pending event at once, one by one.
                ready.append(prepare(s, scan.events, scan: scan, batching: batching))
                continue
            }
            switch DeliveryPlanner.plan(
                scan.events, batching: batching, mode: processing.mode, queueDepth: scan.events.count, now: now)
            {
            case .idle: continue
            case .wait(let until) where !flush:
                round.nextDue = min(round.nextDue ?? until, until)
                continue
            case .wait:
                ready.append(prepare(s, scan.events, scan: scan, batching: batching))
            case .deliver(let batch):
                ready.append(prepare(s, batch, scan: scan, batching: batching))
            }
        }
        // One ready delivery per subscription: the order comes back by id.
        let readyByID = Dictionary(uniqueKeysWithValues: ready.map { ($0.subscription.id, $0) })
        let ordered = DeliveryPlanner.order(
            ready.map { ($0.subscription, $0.events.isEmpty ? $0.repeats : $0.events) },
            scheme: processing.priorityScheme
        ).compactMap { item in readyByID[item.subscription.id] }
        // With auto-scaling, workers grow with the backlog (one per ready delivery) up to the pool size.
        let pool = processing.enabled ? max(1, processing.poolSize) : 1
        let width = processing.autoScaling ? min(pool, max(1, ordered.count)) : pool
        var index = 0
        while index < ordered.count {
            let chunk = Array(ordered[index..<min(index + width, ordered.count)])
            index += chunk.count
            var deliveryIDs: [Int: String] = [:]
            for (n, item) in chunk.enumerated() where item.subscription.delivery == .webhook && !item.events.isEmpty {
                deliveryIDs[n] = backoff[item.subscription.id]?.deliveryID ?? hub.ids.make("dlv")
            }
            let outcomes = await withTaskGroup(of: (Int, WebhookAttempt, Compression).self) { group in
                for (n, item) in chunk.enumerated() {
                    guard let deliveryID = deliveryIDs[n] else { continue }
                    let body = Self.body(item, deliveryID: deliveryID)
                    let sender = self.sender
                    let timeout = flush ? min(requestTimeout, Self.flushTimeout) : requestTimeout
                    group.addTask {
                        let (attempt, wire) = await sender.postMeasured(
                            url: item.subscription.webhookURL ?? "", body: body, deliveryID: deliveryID,
                            secret: item.subscription.secret, gzip: item.rule.compression, timeout: timeout)
                        return (n, attempt, Compression(before: body.count, after: wire))
                    }
                }
                var results: [Int: (WebhookAttempt, Compression)] = [:]
                for await (n, attempt, sizes) in group { results[n] = (attempt, sizes) }
                return results
            }
            if Task.isCancelled { return round }
            for (n, item) in chunk.enumerated() {
                if item.subscription.delivery != .webhook {
                    try await deliverToStreams(item, now: now, round: &round)
                } else if item.events.isEmpty {
                    try await acknowledge(item, compression: nil, now: now, round: &round)
                } else if let (attempt, sizes) = outcomes[n], let deliveryID = deliveryIDs[n] {
                    if attempt.isDelivered {
                        try await acknowledge(
                            item, compression: item.rule.compression ? sizes : nil, now: now, round: &round)
                    } else {
                        try await failed(item, deliveryID: deliveryID, attempt: attempt, now: now, round: &round)
                    }
                }
            }
        }
        return round
    }

    /// The failed batch that is due again for `s`, with the subscription as it is now. `nil`,
    /// and the failure forgotten, when someone moved the cursor meanwhile (an ack, a replay):
    /// the next batch is then planned afresh from there.
    private func retrying(_ s: Subscription) -> Ready? {
        guard let waiting = backoff[s.id] else { return nil }
        let before = waiting.batch.subscription
        guard s.delivery == .webhook, s.cursor == before.cursor, s.replayEnd == before.replayEnd else {
            backoff[s.id] = nil
            return nil
        }
        var batch = waiting.batch
        batch.subscription = s
        return batch
    }

    /// Drops repeats when the batch's rule deduplicates, and works out the acknowledgement.
    private func prepare(
        _ s: Subscription, _ batch: [HubEvent], scan: SubscriptionScan, batching: BatchingSettings
    ) -> Ready {
        let rule = batching.rule(for: batch[0])
        let all = batch.count == scan.events.count && !scan.full
        let ackThrough = all ? scan.safeThrough : batch[batch.count - 1].sequence
        var send = batch
        var repeats: [HubEvent] = []
        if rule.deduplication && s.optimizationGoal != .completeness {
            // A copy, to catch repeats inside the batch: the memory itself takes the events only
            // once they are delivered, so a failed batch's retry is not judged a repeat of itself.
            var memory = dedupMemory(s.id)
            send = []
            for event in batch {
                if memory.repeats(event) {
                    repeats.append(event)
                } else {
                    send.append(event)
                    memory.record(event)
                }
            }
        }
        return Ready(
            subscription: s, events: send, repeats: repeats, ackThrough: ackThrough,
            scan: scan, rule: rule)
    }

    private func dedupMemory(_ subscriptionID: String) -> DeliveryDedup {
        dedup[subscriptionID] ?? DeliveryDedup(window: hub.configuration.dedupWindow)
    }

    /// Remembers a batch's events as sent, for the deduplication of the ones after them.
    private func recordSent(_ item: Ready) {
        guard item.rule.deduplication && item.subscription.optimizationGoal != .completeness else { return }
        var memory = dedupMemory(item.subscription.id)
        for event in item.events { memory.record(event) }
        dedup[item.subscription.id] = memory
    }

    /// The webhook body: the subscription, the delivery id and the events in sequence order.
    static func body(_ item: Ready, deliveryID: String) -> [UInt8] {
        let document: JSONValue = [
            "subscription_id": .string(item.subscription.id), "callback": .string(item.subscription.callback),
            "delivery_id": .string(deliveryID), "count": .count(item.events.count),
            "events": .array(item.events.map(\.json)),
        ]
        return document.serializedBytes(.compact)
    }

    // MARK: Outcomes

    /// A body's bytes before and after gzip, as sent.
    struct Compression: Sendable {
        var before: Int
        var after: Int
    }

    /// A delivered (or wholly deduplicated) batch: cursor, counters and statistics in one transaction.
    private func acknowledge(_ item: Ready, compression: Compression?, now: Int64, round: inout Round) async throws {
        let id = item.subscription.id
        let snapshot = item.subscription
        try await hub.store.write { tx in
            guard var s = try tx.subscription(id) else { return }
            // Someone moved the cursor meanwhile (an ack, a replay): leave it to them; the
            // events went out, and at-least-once allows them to go again.
            guard s.cursor == snapshot.cursor, s.replayEnd == snapshot.replayEnd else { return }
            s.absorb(item.scan, through: item.ackThrough)
            s.counters.delivered += item.events.count
            s.counters.acked += item.events.count + item.repeats.count
            s.acknowledge(through: item.ackThrough)
            try tx.update(s)
            var stats = DeliveryStatistics(json: try tx.setting(DeliveryStatistics.settingKey) ?? .emptyObject)
            stats.recordBatch(eventTimestamps: item.events.map(\.timestamp), now: now)
            if let compression { stats.recordCompression(before: compression.before, after: compression.after) }
            if item.rule.deduplication && snapshot.optimizationGoal != .completeness {
                stats.dedupChecked += item.events.count + item.repeats.count
                stats.dedupDropped += item.repeats.count
            }
            try tx.setSetting(DeliveryStatistics.settingKey, stats.json)
        }
        backoff[id] = nil
        recordSent(item)
        if !item.events.isEmpty {
            round.batchesDelivered += 1
            round.eventsDelivered += item.events.count
        }
        round.deduplicated += item.repeats.count
        // Delivered events, retries and dead letters are counted in the store (DeliveryStatistics),
        // which /metrics reports as counters for every process: not again here.
        Counter(label: "hub_events_deduplicated_total").increment(by: item.repeats.count)
        for event in item.events {
            Timer(label: "hub_delivery_latency").recordMilliseconds(max(0, now - event.timestamp))
        }
    }

    /// A failed attempt: wait out the backoff, or dead-letter the batch after the last retry.
    private func failed(
        _ item: Ready, deliveryID: String, attempt: WebhookAttempt, now: Int64, round: inout Round
    ) async throws {
        let id = item.subscription.id
        let policy = item.subscription.retryPolicy
        // The attempts are this batch's: a failure under another id started them afresh.
        let earlier = backoff[id].flatMap { $0.deliveryID == deliveryID ? $0.attempts : nil } ?? 0
        let attempts = earlier + 1
        round.failedAttempts += 1
        let error: String
        switch attempt {
        case .failed(_, let message): error = message
        case .delivered: error = ""
        }
        logger.warning(
            "webhook delivery failed",
            metadata: ["subscription": "\(id)", "attempt": "\(attempts)", "error": "\(error)"])
        if policy.allowsAnotherAttempt(after: attempts) {
            let retryAt = now + policy.delay(beforeRetry: attempts).milliseconds
            backoff[id] = Backoff(batch: item, attempts: attempts, retryAt: retryAt, deliveryID: deliveryID)
            round.nextDue = min(round.nextDue ?? retryAt, retryAt)
            try await hub.store.write { tx in
                guard var s = try tx.subscription(id) else { return }
                s.counters.retried += 1
                try tx.update(s)
                var stats = DeliveryStatistics(json: try tx.setting(DeliveryStatistics.settingKey) ?? .emptyObject)
                stats.retries += 1
                try tx.setSetting(DeliveryStatistics.settingKey, stats.json)
            }
            return
        }
        let snapshot = item.subscription
        try await hub.store.write { tx in
            guard var s = try tx.subscription(id) else { return }
            for event in item.events {
                try tx.insert(
                    DeadLetter(
                        subscriptionID: id, sequence: event.sequence, eventID: event.eventID, attempts: attempts,
                        lastError: String(error.prefix(1000)), at: now))
            }
            s.counters.deadLettered += item.events.count
            if s.cursor == snapshot.cursor && s.replayEnd == snapshot.replayEnd {
                s.absorb(item.scan, through: item.ackThrough)
                s.acknowledge(through: item.ackThrough)
            }
            try tx.update(s)
            var stats = DeliveryStatistics(json: try tx.setting(DeliveryStatistics.settingKey) ?? .emptyObject)
            stats.deadLettered += item.events.count
            try tx.setSetting(DeliveryStatistics.settingKey, stats.json)
        }
        backoff[id] = nil
        round.deadLettered += item.events.count
    }

    /// Hands a batch to the attached streams; their consumers acknowledge on their own.
    private func deliverToStreams(_ item: Ready, now: Int64, round: inout Round) async throws {
        let id = item.subscription.id
        guard let consumers = streams[id], !consumers.isEmpty else { return }
        // Realtime: each event on its own; batch delivery: the planned batch.
        let batches = item.subscription.delivery == .realtime ? item.events.map { [$0] } : [item.events]
        for events in batches where !events.isEmpty {
            let batch = DeliveredBatch(subscriptionID: id, events: events)
            for continuation in consumers.values { continuation.yield(batch) }
        }
        streamPosition[id] = item.ackThrough
        recordSent(item)
        try await hub.store.write { tx in
            guard var s = try tx.subscription(id) else { return }
            s.counters.delivered += item.events.count
            // A pull of the same events before the stream's consumer acknowledges them counts none again.
            s.counters.deliveredThrough = max(s.counters.deliveredThrough, item.ackThrough)
            try tx.update(s)
            var stats = DeliveryStatistics(json: try tx.setting(DeliveryStatistics.settingKey) ?? .emptyObject)
            for events in batches { stats.recordBatch(eventTimestamps: events.map(\.timestamp), now: now) }
            if item.rule.deduplication && item.subscription.optimizationGoal != .completeness {
                stats.dedupChecked += item.events.count + item.repeats.count
                stats.dedupDropped += item.repeats.count
            }
            try tx.setSetting(DeliveryStatistics.settingKey, stats.json)
        }
        round.batchesDelivered += batches.filter { !$0.isEmpty }.count
        round.eventsDelivered += item.events.count
        round.deduplicated += item.repeats.count
    }

    /// The retry state of a subscription's failing delivery, for tests and status.
    public func pendingRetry(_ subscriptionID: String) -> (attempts: Int, retryAt: Int64)? {
        backoff[subscriptionID].map { ($0.attempts, $0.retryAt) }
    }
}
