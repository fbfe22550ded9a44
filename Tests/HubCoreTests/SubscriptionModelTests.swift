import HubCore
import Testing

/// The pure parts of the event system: cursors, replay, counters, advice and delivery statistics.
@Suite struct SubscriptionModelTests {
    static func event(_ sequence: Int64, _ subject: String, severity: Severity = .info) -> HubEvent {
        let type = String(subject.split(separator: ".").last ?? "")
        return HubEvent(
            eventID: "evt_\(sequence)", sequence: sequence, eventType: type, workflowID: "w", phase: 0,
            severity: severity, source: "t", timestamp: sequence * 1000, data: .emptyObject, subject: subject,
            metadata: .init(), dedupID: nil)
    }

    @Test func theCursorOnlyMovesForward() {
        var s = Subscription(id: "sub_1", callback: "c", patterns: ["#"], cursor: 10, createdAt: 0)
        s.acknowledge(through: 5)
        #expect(s.cursor == 10)
        s.acknowledge(through: 12)
        #expect(s.cursor == 12)
    }

    @Test func aBoundedReplayReturnsToWhereItWas() {
        var s = Subscription(id: "sub_1", callback: "c", patterns: ["#"], cursor: 50, createdAt: 0)
        s.replay(from: 10, through: 20)
        #expect(s.cursor == 9)
        #expect(s.upperBound == 20)
        s.acknowledge(through: 15)
        #expect(s.cursor == 15 && s.replayEnd == 20)
        s.acknowledge(through: 20)
        #expect(s.cursor == 50)
        #expect(s.replayEnd == nil && s.resumeAt == nil)
    }

    /// A range with nothing in it (a time window without events: its end is the sequence
    /// before its start) changes nothing, not even a replay under way.
    @Test func anEmptyReplayChangesNothing() {
        var s = Subscription(id: "sub_1", callback: "c", patterns: ["#"], cursor: 50, createdAt: 0)
        s.replay(from: 10, through: 20)
        let before = s
        s.replay(from: 31, through: 30)
        #expect(s == before)
        s.replay(from: 61, through: 60)
        #expect(s == before)
    }

    @Test func anOpenReplayCarriesOnFromItsStart() {
        var s = Subscription(id: "sub_1", callback: "c", patterns: ["#"], cursor: 50, createdAt: 0)
        s.replay(from: 40, through: nil)
        #expect(s.cursor == 39 && s.replayEnd == nil)
        // A range reaching past the cursor is the same as an open one.
        s.replay(from: 30, through: 60)
        #expect(s.cursor == 29 && s.replayEnd == nil)
    }

    @Test func countersCountEachPatternOnceAndFilteredEvents() {
        var s = Subscription(
            id: "sub_1", callback: "c", patterns: ["*.failed", "*.failed", "workflow.#"],
            filter: EventFilter(severities: [.error]), createdAt: 0)
        let compiled = s.compiledPatterns
        s.count(Self.event(1, "workflow.w.failed", severity: .error), compiled: compiled)
        s.count(Self.event(2, "workflow.w.failed"), compiled: compiled)
        s.count(Self.event(3, "agent.a.registered"), compiled: compiled)
        #expect(s.counters.examined == 3)
        #expect(s.counters.matchedByPattern == ["*.failed": 2, "workflow.#": 2])
        #expect(s.counters.filtered == 1)
    }

    @Test func adviceFindsDeadDuplicateAndBroadPatternsAndAppliesOnlyTheSafe() {
        let s = Subscription(
            id: "sub_1", callback: "c", patterns: ["*.task_completed", "*.never", "*.task_completed", "#"],
            createdAt: 0)
        let sample = (1...10).map { n in
            Self.event(
                Int64(n), n <= 8 ? "workflow.w.task_completed" : "workflow.w.failed", severity: n == 10 ? .error : .info
            )
        }
        let advice = SubscriptionAdvice.compute(s, sample: sample)
        #expect(advice.neverMatched == ["*.never"])
        #expect(advice.duplicates == ["*.task_completed"])
        #expect(Set(advice.broad) == ["*.task_completed", "#"])
        #expect(
            advice.filterSuggestions.contains {
                $0.filters == ["severity": ["warning", "error", "critical"]] && $0.wouldCut == 9
            })
        // The sample is recent traffic the subscription selects, not what it was delivered.
        #expect(advice.filterSuggestions.allSatisfy { $0.reason.hasSuffix("of the 10 recent events it selects") })
        // "#" covers the other two; a pattern that never matched is only reported.
        #expect(advice.covered == ["*.task_completed", "*.never"])
        let (applied, removed) = advice.applySafe(to: s)
        #expect(applied.patterns == ["#"])
        #expect(removed == ["*.task_completed", "*.never", "*.task_completed"])
        // Completeness: no advice that would cut deliveries.
        #expect(SubscriptionAdvice.compute(s, sample: sample, goal: .completeness).filterSuggestions.isEmpty)
    }

    /// Events a pull read without acknowledging are counted (examined_through passes the
    /// cursor): the advice added them again from the sample, 4 examined of 2 events.
    @Test func adviceCountsEventsReadButNotAcknowledgedOnce() {
        var s = Subscription(id: "sub_1", callback: "c", patterns: ["*.ping"], createdAt: 0)
        let sample = [Self.event(1, "workflow.w.ping"), Self.event(2, "workflow.w.ping")]
        for event in sample { s.count(event, compiled: s.compiledPatterns) }
        s.counters.examinedThrough = 2
        let advice = SubscriptionAdvice.compute(s, sample: sample)
        #expect(advice.examined == 2)
        #expect(advice.matchesByPattern == ["*.ping": 2])
    }

    /// A pattern that had not matched yet was removed as "safe": `*.failed` then missed the
    /// workflow's failure when it came.
    @Test func aPatternThatNeverMatchedIsReportedNotRemoved() {
        let s = Subscription(id: "sub_1", callback: "c", patterns: ["*.a", "*.b"], createdAt: 0)
        let advice = SubscriptionAdvice.compute(s, sample: [Self.event(1, "workflow.w.c")])
        #expect(advice.neverMatched == ["*.a", "*.b"])
        #expect(advice.applySafe(to: s).0.patterns == ["*.a", "*.b"])
        // With nothing examined there is no evidence: nothing is called dead.
        #expect(SubscriptionAdvice.compute(s, sample: []).neverMatched.isEmpty)
    }

    @Test(
        arguments: [
            ("#", "*.failed", true), ("*.failed", "#", false), ("workflow.*.failed", "workflow.w1.failed", true),
            ("workflow.w1.failed", "workflow.*.failed", false), ("*.failed", "workflow.*.failed", true),
            ("workflow.*.failed", "*.failed", false), ("failed", "#.failed", true), ("#.failed", "failed", true),
            ("workflow.#", "workflow.*.failed", false), ("#.workflow.#", "workflow.*.failed", true),
            ("workflow.*.#", "workflow.#", false),
            ("*.*", "a.#.b", true), ("a.#.b", "a.*.b", false), ("#.a.#.b", "a.*.b", true), ("a.*.b", "a.#.b", false),
            ("*", "#", true),
            ("a.#", "a", false), ("#.a.#", "x.a.y", true),
        ])
    func aPatternCoversWhatItMatchesWhatever(_ broad: String, _ narrow: String, _ covers: Bool) throws {
        let (b, n) = (try SubjectPattern(broad), try SubjectPattern(narrow))
        #expect(b.covers(n) == covers)
        // Checked against subjects: a cover never misses one the narrower pattern matches.
        for subject in ["a", "a.b", "a.x.b", "workflow.w1.failed", "workflow.w2.failed", "x.a.y", "failed", "a.b.c.d"]
        where n.matches(subject) && covers {
            #expect(b.matches(subject), "\(broad) covers \(narrow) but misses \(subject)")
        }
    }

    @Test func latencyPercentilesFallWithinABucketOfTheTruth() {
        var h = LatencyHistogram()
        for ms in 1...1000 { h.record(milliseconds: Int64(ms)) }
        let p50 = h.percentile(0.5) ?? 0
        let p99 = h.percentile(0.99) ?? 0
        #expect(p50 >= 500 && p50 <= 500 * 1.19 + 1)
        #expect(p99 >= 990 && p99 <= 1000)
        #expect(LatencyHistogram().percentile(0.5) == nil)
        #expect(LatencyHistogram(json: h.json) == h)
    }

    @Test func deliveryStatisticsReportNullWithoutMeasurements() {
        var d = DeliveryStatistics()
        #expect(
            d.meanBatchSize == nil && d.deduplicationRate == nil && d.compressionRatio == nil && d.throughput == nil)
        d.recordBatch(eventTimestamps: [1_000, 2_000], now: 3_000)
        d.recordBatch(eventTimestamps: [4_000], now: 5_000)
        d.recordCompression(before: 1000, after: 250)
        #expect(d.meanBatchSize == 1.5)
        #expect(d.compressionRatio == 0.25)
        #expect(d.throughput == 1.5)
        #expect(DeliveryStatistics(json: d.json) == d)
    }

    @Test func settingsRoundTripThroughJSON() {
        var batching = BatchingSettings()
        batching.byType["task_ready"] = BatchingRule(
            enabled: true, size: .adaptive, timeout: .seconds(3), compression: true, deduplication: true)
        #expect(BatchingSettings(json: batching.json) == batching)
        var policy = PersistencePolicy.standard
        policy.policy = .selectiveCritical
        policy.lastEnforcedAt = 1_000
        policy.compressedThrough = 42
        #expect(PersistencePolicy(json: policy.storedJSON) == policy)
        // A period that follows the configuration is not stored; one that was set is.
        #expect(PersistencePolicy(json: policy.storedJSON, defaultRetention: .days(30)).retention == .days(30))
        policy.retention = .days(3)
        policy.retentionIsSet = true
        #expect(PersistencePolicy(json: policy.storedJSON, defaultRetention: .days(30)) == policy)
        // Stores from before the distinction: a stored period longer than the configuration's counts as set.
        let legacy: JSONValue = ["retention_period": "14d"]
        #expect(PersistencePolicy(json: legacy, defaultRetention: .days(7)).retention == .days(14))
        #expect(PersistencePolicy(json: legacy, defaultRetention: .days(30)).retention == .days(30))
        policy.retentionIsSet = false
        #expect(policy.isDue(now: 1_000 + 3_600_000))
        #expect(!policy.isDue(now: 1_000 + 3_599_999))
        let processing = AsyncProcessing(
            enabled: true, poolSize: 8, priorityScheme: .strict, autoScaling: true, mode: .latency)
        #expect(AsyncProcessing(json: processing.json) == processing)
    }
}

/// The delivery planner: when a batch goes, and the order of a backlog.
@Suite struct DeliveryPlannerTests {
    static func events(_ types: [String], at time: Int64 = 0, severity: Severity = .info) -> [HubEvent] {
        types.enumerated().map { n, type in
            HubEvent(
                eventID: "evt_\(n)", sequence: Int64(n + 1), eventType: type, workflowID: "w", phase: 0,
                severity: severity, source: "t", timestamp: time, data: ["n": .int(Int64(n))],
                subject: "workflow.w.\(type)", metadata: .init(), dedupID: nil)
        }
    }

    static let tenPerSecond = BatchingSettings(
        defaults: BatchingRule(
            enabled: true, size: .fixed(3), timeout: .seconds(1), compression: false, deduplication: false))

    @Test func aBatchGoesWhenFullOrWhenItsOldestEventHasWaited() {
        let two = Self.events(["a", "a"])
        #expect(
            DeliveryPlanner.plan(two, batching: Self.tenPerSecond, mode: .balanced, queueDepth: 2, now: 999)
                == .wait(until: 1000))
        #expect(
            DeliveryPlanner.plan(two, batching: Self.tenPerSecond, mode: .balanced, queueDepth: 2, now: 1000)
                == .deliver(two))
        let four = Self.events(["a", "a", "a", "a"])
        #expect(
            DeliveryPlanner.plan(four, batching: Self.tenPerSecond, mode: .balanced, queueDepth: 4, now: 0)
                == .deliver(Array(four.prefix(3))))
        #expect(DeliveryPlanner.plan([], batching: Self.tenPerSecond, mode: .balanced, queueDepth: 0, now: 0) == .idle)
    }

    @Test func modesAndPerTypeRulesChangeWhenABatchGoes() {
        let two = Self.events(["a", "a"])
        #expect(
            DeliveryPlanner.plan(two, batching: Self.tenPerSecond, mode: .latency, queueDepth: 2, now: 0)
                == .deliver([two[0]]))
        #expect(
            DeliveryPlanner.plan(two, batching: Self.tenPerSecond, mode: .throughput, queueDepth: 2, now: 1000)
                == .wait(until: 5000))
        var settings = Self.tenPerSecond
        settings.byType["b"] = BatchingRule(
            enabled: false, size: .fixed(3), timeout: .seconds(1), compression: false, deduplication: false)
        let mixed = Self.events(["a", "a", "b"])
        // The batch of a's cannot grow past the b: it goes now; a lone b goes at once.
        #expect(
            DeliveryPlanner.plan(mixed, batching: settings, mode: .balanced, queueDepth: 3, now: 0)
                == .deliver(Array(mixed.prefix(2))))
        #expect(
            DeliveryPlanner.plan([mixed[2]], batching: settings, mode: .balanced, queueDepth: 1, now: 0)
                == .deliver([mixed[2]]))
    }

    @Test func strictAndWeightedSendTheMostSevereFirst() {
        let calm = Subscription(id: "sub_a", callback: "a", patterns: ["#"], createdAt: 0)
        let urgent = Subscription(id: "sub_b", callback: "b", patterns: ["#"], optimizationGoal: .latency, createdAt: 0)
        let info = Self.events(["x"])
        let error = Self.events(["y"], severity: .error).map { e -> HubEvent in
            var e = e
            e.sequence = 9
            return e
        }
        let ready = [(subscription: calm, events: info), (subscription: urgent, events: error)]
        // A latency subscription goes first even in fifo order.
        #expect(DeliveryPlanner.order(ready, scheme: .fifo).map(\.subscription.id) == ["sub_b", "sub_a"])
        let plain = [(subscription: calm, events: error), (subscription: calm, events: info)]
        #expect(DeliveryPlanner.order(plain, scheme: .fifo).map(\.events[0].sequence) == [1, 9])
        #expect(DeliveryPlanner.order(ready, scheme: .strict).map(\.subscription.id) == ["sub_b", "sub_a"])
        let sameSeverity = [
            (subscription: calm, events: info),
            (
                subscription: urgent,
                events: Self.events(["z"]).map { e -> HubEvent in
                    var e = e
                    e.sequence = 5
                    return e
                }
            ),
        ]
        // Weighted: a latency subscription counts one level up.
        #expect(DeliveryPlanner.order(sameSeverity, scheme: .weighted).map(\.subscription.id) == ["sub_b", "sub_a"])
        #expect(DeliveryPlanner.order(sameSeverity, scheme: .strict).map(\.subscription.id) == ["sub_b", "sub_a"])
    }

    /// The window is between the events' publication times: the first one was sent at 0, and
    /// whenever they are read (live, a replay, a resumed stream), a copy published a minute
    /// later repeats it and one published two minutes later does not.
    @Test func dedupDropsRepeatsOnlyInsideTheWindow() {
        var dedup = DeliveryDedup(window: .minutes(2))
        var event = Self.events(["a"])[0]
        event.timestamp = 1_000_000
        func copy(_ id: String, after milliseconds: Int64) -> HubEvent {
            var again = event
            again.eventID = id
            again.timestamp = event.timestamp + milliseconds
            return again
        }
        var other = copy("evt_other", after: 60_000)
        other.data = ["n": 99]
        dedup.record(event)
        let answers = [
            dedup.repeats(copy("evt_minute", after: 60_000)), dedup.repeats(copy("evt_two", after: 120_000)),
            dedup.repeats(other),
            // Clocks of processes sharing a store differ: one published "before" it is as close.
            dedup.repeats(copy("evt_earlier", after: -1_000)),
        ]
        #expect(answers == [true, false, false, true])
        // A stream's keys the same way.
        var stream = DeliveryDedup(window: .minutes(2))
        let seen = [0, 119_999, 7_200_000].map { stream.isRepeat(key: "k", publishedAt: $0) }
        #expect(seen == [false, true, false])
    }

    @Test func dedupDoesNotJudgeAnEventARepeatOfItself() {
        var dedup = DeliveryDedup(window: .minutes(2))
        let event = Self.events(["a"])[0]
        #expect(!dedup.repeats(event))  // nothing recorded until it is sent
        dedup.record(event)
        #expect(!dedup.repeats(event))  // a retry or a replay of the same event
    }
}
