import HubCore
import HubEngine
import HubTesting
import Testing

/// publish-event, subscriptions as durable consumers, acks, replay, dedup and chains (§10, §16).
@Suite struct EventSubscriptionTests {
    let t: TestHub
    init() async throws {
        t = try TestHub()
        await t.run("w1", "create", #"{"phases": ["build", "test"]}"#)
        await t.run("w2", "create", #"{"phases": ["only"]}"#)
    }

    @discardableResult
    func publish(_ workflow: String?, _ type: String, _ extra: String = "") async -> OperationResponse {
        await t.run(workflow, "publish-event", "{\"event_type\": \"\(type)\"\(extra)}")
    }

    func pending(_ subscription: String, ack: Bool = false, limit: Int = 100) async -> (types: [String], cursor: Int64?)
    {
        let r = await t.run(
            nil, "get-events", "{\"subscription\": \"\(subscription)\", \"ack\": \(ack), \"limit\": \(limit)}")
        let events = r.result["events"]?.arrayValue ?? []
        return (events.compactMap { $0["event_type"]?.stringValue }, r.result["cursor"]?.intValue)
    }

    /// A phase the workflow does not have is refused, naming the field, and nothing is stored.
    @Test func aPhasePastTheWorkflowsLastIsRefused() async throws {
        let phases = try #require(
            await t.run("w1", "get-status").result["workflow_state"]?["total_phases"]?.intValue)
        let before = await t.run(nil, "get-events", #"{"limit": 1000}"#).result["events"]?.arrayValue?.count
        let one = await publish("w1", "a", ", \"phase\": \(phases + 1)")
        #expect(one.errorCode == "INVALID_PARAMETERS", "\(one.json)")
        #expect(one.error?.context?["field"] == "phase")
        let listed = await t.run(
            "w1", "publish-event", "{\"events\": [{\"event_type\": \"a\"}, {\"event_type\": \"b\", \"phase\": 99}]}")
        #expect(listed.error?.context?["field"] == "events[1].phase", "\(listed.json)")
        #expect(await t.run(nil, "get-events", #"{"limit": 1000}"#).result["events"]?.arrayValue?.count == before)
        #expect(await publish("w1", "a", ", \"phase\": \(phases)").succeeded)
        #expect(await publish("w1", "a", #", "phase": 0"#).succeeded)
        // An event about no workflow has phase 0 (§4): its routing key said x.ag1.2.
        let none = await publish(nil, "a", #", "phase": 2"#)
        #expect(none.errorCode == "INVALID_PARAMETERS", "\(none.json)")
        #expect(await publish(nil, "a", #", "phase": 0"#).succeeded)
    }

    @Test func publishedEventsCarryTheirFieldsAndSubject() async throws {
        let r = await publish(
            "w1", "tests_passed",
            #", "data": {"suite": "unit"}, "severity": "warning", "source": "ci", "metadata": {"tags": ["nightly"]}"#)
        #expect(r.errorCode == nil)
        let event = r.result["event"] ?? .null
        #expect(event["subject"] == "workflow.w1.tests_passed")
        #expect(event["severity"] == "warning")
        #expect(event["source"] == "ci")
        #expect(event["data"]?["suite"] == "unit")
        #expect(event["metadata"]?["tags"] == ["nightly"])
        #expect(event["routing_key"] == "tests_passed.w1.0")
        let hub = await publish(nil, "deploy_started", #", "source": "deployer""#)
        #expect(hub.result["event"]?["subject"] == "hub.deployer.deploy_started")
        let agent = await publish(nil, "note", #", "agent_id": "ag_1""#)
        #expect(agent.result["event"]?["subject"] == "agent.ag_1.note")
    }

    @Test func clientEventsNeverChangeWorkflowState() async throws {
        let before = await t.run("w1", "get-status").result["workflow_state"]?["state_version"]
        #expect(before?.intValue != nil)
        await publish("w1", "phase_completed", #", "data": {"phase": 1}"#)
        let after = await t.run("w1", "get-status").result["workflow_state"]
        #expect(after?["state_version"] == before)
        #expect(after?["status"] == "created")
    }

    @Test func batchesAreStoredTogetherAndDedupWithinTheWindow() async throws {
        let r = await t.run(
            "w1", "publish-event",
            #"{"events": [{"event_type": "a", "dedup_id": "x", "data": {"q": "\"1\"", "n": [1, 2.5]}}, {"event_type": "b", "metadata": {"tags": ["t"]}}, {"event_type": "a", "dedup_id": "x"}]}"#
        )
        #expect(r.result["published"] == 2)
        let events = r.result["events"]?.arrayValue ?? []
        #expect(r.result["duplicates"] == .array([events[0]["event_id"] ?? .null]))
        #expect(events[2]["event_id"] == events[0]["event_id"])
        #expect(events[2]["duplicate"] == true)
        // Stored in the order given, one sequence after another.
        #expect(events[1]["sequence"]?.intValue == (events[0]["sequence"]?.intValue).map { $0 + 1 })
        // Each echoed event is the stored event (the batch's answer is written as text, not built).
        for (n, echoed) in events.enumerated() {
            let id = try #require(echoed["event_id"]?.stringValue)
            let stored = try #require(try await t.hub.store.read { tx in try tx.event(id: id) })
            var expected = stored.json
            expected["duplicate"] = .bool(n == 2)
            #expect(echoed == expected)
        }
        // Inside the window the original comes back; after it, the id is new again.
        t.clock.advance(by: .seconds(60))
        let again = await publish("w1", "a", #", "dedup_id": "x""#)
        #expect(again.result["duplicate"] == true)
        #expect(again.result["event_id"] == events[0]["event_id"])
        // Whatever the type: the id names one thing that happened (§10).
        let otherType = await publish("w1", "tests_done", #", "dedup_id": "x""#)
        #expect(otherType.result["duplicate"] == true)
        #expect(otherType.result["event_id"] == events[0]["event_id"])
        // Another workflow's event with the same id is another event: it was dropped as a
        // duplicate, and its publisher got the first workflow's event back, data and all.
        await t.run("w2", "create", #"{"phases": ["p"]}"#)
        let elsewhere = await publish("w2", "a", #", "dedup_id": "x""#)
        #expect(elsewhere.result["duplicate"] == false)
        #expect(elsewhere.result["event"]?["workflow_id"] == "w2")
        // An agent's events are on its own subject, whatever the workflow: the id is still the workflow's.
        let agentEvent = #", "agent_id": "g1", "dedup_id": "y""#
        #expect(await publish("w1", "a", agentEvent).result["duplicate"] == false)
        #expect(await publish("w2", "a", agentEvent).result["duplicate"] == false)
        #expect(await publish("w2", "a", agentEvent).result["duplicate"] == true)
        t.clock.advance(by: .minutes(2))
        let later = await publish("w1", "a", #", "dedup_id": "x""#)
        #expect(later.result["duplicate"] == false)
    }

    @Test(arguments: [
        (#"{"event_type": "Bad-Type"}"#, "INVALID_PARAMETERS"),
        (#"{"event_type": "ok", "severity": "loud"}"#, "INVALID_PARAMETERS"),
        (#"{"event_type": "ok", "surprise": 1}"#, "INVALID_PARAMETERS"),
        (#"{"data": {}}"#, "INVALID_PARAMETERS"),
        (#"{"events": []}"#, "INVALID_PARAMETERS"),
        (#"{"events": [{"event_type": "ok"}], "event_type": "ok"}"#, "INVALID_PARAMETERS"),
        // A single event's field beside a list was silently ignored.
        (#"{"events": [{"event_type": "ok"}], "agent_id": "ag2"}"#, "INVALID_PARAMETERS"),
        // The hub's own source: such an event could not be told from the hub's.
        (#"{"event_type": "failed", "source": "coordination-hub"}"#, "INVALID_PARAMETERS"),
        // An empty dedup id deduplicated unrelated events; an empty cause or correlation named nothing.
        (#"{"event_type": "ok", "dedup_id": ""}"#, "INVALID_PARAMETERS"),
        (#"{"event_type": "ok", "metadata": {"causation_id": ""}}"#, "INVALID_PARAMETERS"),
        (#"{"event_type": "ok", "metadata": {"correlation_id": ""}}"#, "INVALID_PARAMETERS"),
    ])
    func badPublishesChangeNothing(_ params: String, _ code: String) async throws {
        let before = await t.run(nil, "get-events", #"{"order": "desc", "limit": 1}"#).result["last_sequence"]
        let r = await t.run("w1", "publish-event", params)
        #expect(r.errorCode == code)
        let after = await t.run(nil, "get-events", #"{"order": "desc", "limit": 1}"#).result["last_sequence"]
        #expect(after == before)
    }

    @Test func publishingIntoAnUnknownWorkflowIsRefused() async {
        #expect(await publish("nope", "x").errorCode == "WORKFLOW_NOT_FOUND")
    }

    @Test func aSubscriptionReceivesMatchingEventsUntilAcknowledged() async throws {
        let s = await t.run(nil, "subscribe-event", #"{"patterns": ["*.tests_passed", "*.failed"], "callback": "ci"}"#)
        #expect(s.errorCode == nil)
        #expect(s.result["subscription_id"]?.stringValue?.hasPrefix("sub_") == true)
        await publish("w1", "tests_passed")
        await publish("w1", "noise")
        await publish("w2", "failed", #", "severity": "error""#)
        #expect(await pending("ci").types == ["tests_passed", "failed"])
        // Not acknowledged: the same events come again.
        #expect(await pending("ci").types == ["tests_passed", "failed"])
        let first = await pending("ci", ack: true, limit: 1)
        #expect(first.types == ["tests_passed"])
        #expect(await pending("ci").types == ["failed"])
        _ = await pending("ci", ack: true)
        #expect(await pending("ci").types.isEmpty)
        await publish("w1", "tests_passed")
        #expect(await pending("ci").types == ["tests_passed"])
    }

    /// Subscribing again under the same callback updates the subscription and keeps its
    /// cursor (§17); it was refused, so a consumer could not re-subscribe when it restarts.
    @Test func subscribingAgainUnderACallbackUpdatesItAndKeepsItsCursor() async throws {
        let first = await t.run(nil, "subscribe-event", #"{"patterns": ["*.a"], "callback": "cb"}"#)
        await publish("w1", "a")
        await publish("w1", "a")
        _ = await pending("cb", ack: true, limit: 1)
        let again = await t.run(
            nil, "subscribe-event", #"{"patterns": ["*.a", "*.b"], "callback": "cb", "start_from": "all"}"#)
        #expect(again.succeeded, "\(again.json)")
        #expect(again.result["updated"] == true)
        #expect(again.result["subscription_id"] == first.result["subscription_id"])
        await publish("w1", "b")
        // The cursor stayed after the first event: the second and the new pattern's event follow.
        #expect(await pending("cb").types == ["a", "b"])
    }

    @Test func startFromChoosesTheFirstEvent() async throws {
        await publish("w1", "early")
        await t.run(nil, "subscribe-event", #"{"patterns": ["*.early", "*.late"], "callback": "new"}"#)
        await t.run(
            nil, "subscribe-event", #"{"patterns": ["*.early", "*.late"], "callback": "all", "start_from": "all"}"#)
        t.clock.advance(by: .minutes(5))
        let since = Timestamp.format(milliseconds: t.clock.nowMilliseconds())
        await publish("w1", "late")
        await t.run(
            nil, "subscribe-event",
            "{\"patterns\": [\"#\"], \"callback\": \"timed\", \"start_from\": {\"time\": \"\(since)\"}}")
        #expect(await pending("new").types == ["late"])
        #expect(await pending("all").types == ["early", "late"])
        #expect(await pending("timed").types == ["late"])
        // A bad time is the time alternative's error, not "'time' is not a known parameter".
        let badTime = await t.run(
            nil, "subscribe-event", ##"{"patterns": ["#"], "start_from": {"time": "2026-01-01"}}"##)
        #expect(badTime.error?.message.contains("RFC 3339") == true, "\(badTime.json)")
    }

    @Test func filtersAndTheCallsWorkflowNarrowASubscription() async throws {
        await t.run(
            nil, "subscribe-event",
            ##"{"patterns": ["#"], "callback": "errors", "filters": {"severity": ["error", "critical"]}}"##)
        await t.run("w2", "subscribe-event", ##"{"patterns": ["#"], "callback": "w2only"}"##)
        await publish("w1", "x", #", "severity": "error""#)
        await publish("w2", "y")
        await publish("w2", "z", #", "severity": "critical""#)
        #expect(await pending("errors").types == ["x", "z"])
        #expect(await pending("w2only").types == ["y", "z"])
    }

    @Test func ackEventsMovesTheCursorForwardOnly() async throws {
        await t.run(nil, "subscribe-event", #"{"patterns": ["*.tick"], "callback": "c", "start_from": "all"}"#)
        var sequences: [Int64] = []
        for _ in 0..<3 { sequences.append(await publish("w1", "tick").result["sequence"]?.intValue ?? 0) }
        let ack = await t.run(nil, "ack-events", "{\"subscription\": \"c\", \"up_to_sequence\": \(sequences[1])}")
        #expect(ack.result["acknowledged"] == 2)
        #expect(await pending("c").types == ["tick"])
        let back = await t.run(nil, "ack-events", "{\"subscription\": \"c\", \"up_to_sequence\": \(sequences[0])}")
        #expect(back.result["cursor"]?.intValue == sequences[1])
        let past = await t.run(nil, "ack-events", "{\"subscription\": \"c\", \"up_to_sequence\": 999999}")
        #expect(past.errorCode == "INVALID_PARAMETERS")
        #expect(
            await t.run(nil, "ack-events", #"{"subscription": "ghost", "up_to_sequence": 1}"#).errorCode
                == "SUBSCRIPTION_NOT_FOUND")
    }

    @Test func replayRedeliversARangeAndThenResumes() async throws {
        await t.run(nil, "subscribe-event", #"{"patterns": ["*.tick"], "callback": "r", "start_from": "all"}"#)
        var sequences: [Int64] = []
        for n in 0..<5 {
            sequences.append(await publish("w1", "tick", ", \"data\": {\"n\": \(n)}").result["sequence"]?.intValue ?? 0)
        }
        _ = await pending("r", ack: true)
        #expect(await pending("r").types.isEmpty)
        let replay = await t.run(
            nil, "replay-events",
            "{\"subscription\": \"r\", \"from_sequence\": \(sequences[1]), \"to_sequence\": \(sequences[2])}")
        #expect(replay.errorCode == nil)
        let again = await t.run(nil, "get-events", #"{"subscription": "r", "ack": true}"#)
        #expect(again.result["events"]?.arrayValue?.compactMap { $0["data"]?["n"]?.intValue } == [1, 2])
        // The range is done: the subscription is back where it was, nothing more comes.
        #expect(again.result["cursor"]?.intValue == sequences[4])
        #expect(await pending("r").types.isEmpty)
        // Without an end, a replay carries on to the present.
        await t.run(nil, "replay-events", "{\"subscription\": \"r\", \"from_sequence\": \(sequences[3])}")
        #expect(await pending("r").types.count == 2)
    }

    @Test func aReplayCannotStartPastTheNextEvent() async throws {
        await t.run(nil, "subscribe-event", #"{"patterns": ["*.tick"], "callback": "far", "start_from": "all"}"#)
        let newest = await publish("w1", "tick").result["sequence"]?.intValue ?? 0
        let refused = await t.run(
            nil, "replay-events", "{\"subscription\": \"far\", \"from_sequence\": \(Int64.max)}")
        #expect(refused.errorCode == "INVALID_PARAMETERS")
        // The cursor did not move: the next event still arrives.
        await publish("w1", "tick")
        #expect(await pending("far").types.count == 2)
        // From the next sequence is allowed: it waits for what comes.
        let next = await t.run(nil, "replay-events", "{\"subscription\": \"far\", \"from_sequence\": \(newest + 2)}")
        #expect(next.errorCode == nil)
    }

    @Test func replayByTimeRange() async throws {
        await t.run(nil, "subscribe-event", #"{"patterns": ["*.tick"], "callback": "rt", "start_from": "all"}"#)
        let t0 = Timestamp.format(milliseconds: t.clock.nowMilliseconds())
        await publish("w1", "tick", #", "data": {"n": 0}"#)
        t.clock.advance(by: .minutes(10))
        let t1 = Timestamp.format(milliseconds: t.clock.nowMilliseconds())
        await publish("w1", "tick", #", "data": {"n": 1}"#)
        t.clock.advance(by: .minutes(10))
        await publish("w1", "tick", #", "data": {"n": 2}"#)
        _ = await pending("rt", ack: true)
        await t.run(
            nil, "replay-events", "{\"subscription\": \"rt\", \"from_time\": \"\(t0)\", \"to_time\": \"\(t1)\"}")
        let again = await t.run(nil, "get-events", #"{"subscription": "rt"}"#)
        #expect(again.result["events"]?.arrayValue?.compactMap { $0["data"]?["n"]?.intValue } == [0, 1])
    }

    @Test func ackingANarrowedViewIsRefused() async throws {
        await t.run(nil, "subscribe-event", ##"{"patterns": ["#"], "callback": "n"}"##)
        let r = await t.run(nil, "get-events", #"{"subscription": "n", "ack": true, "event_types": ["x"]}"#)
        #expect(r.errorCode == "INVALID_PARAMETERS")
        let w = await t.run("w1", "get-events", #"{"subscription": "n", "ack": true}"#)
        #expect(w.errorCode == "INVALID_PARAMETERS")
    }

    @Test func callbackNamesAreUniqueAndUnsubscribeRemoves() async throws {
        let one = await t.run(nil, "subscribe-event", ##"{"patterns": ["#"], "callback": "one"}"##)
        #expect(one.errorCode == nil)
        // A callback that is another subscription's id would name two subscriptions.
        let id = try #require(one.result["subscription_id"]?.stringValue)
        #expect(
            await t.run(nil, "subscribe-event", "{\"patterns\": [\"#\"], \"callback\": \"\(id)\"}").errorCode
                == "INVALID_PARAMETERS")
        #expect(await t.run(nil, "unsubscribe-event", #"{"subscription": "one"}"#).result["removed"] == true)
        #expect(
            await t.run(nil, "unsubscribe-event", #"{"subscription": "one"}"#).errorCode == "SUBSCRIPTION_NOT_FOUND")
        #expect(await t.run(nil, "get-events", #"{"subscription": "one"}"#).errorCode == "SUBSCRIPTION_NOT_FOUND")
    }

    @Test(arguments: [
        ##"{"patterns": []}"##, ##"{"patterns": ["a..b"]}"##, ##"{"patterns": ["#"], "delivery": "webhook"}"##,
        ##"{"patterns": ["#"], "webhook_url": "http://169.254.169.254/latest"}"##,
        ##"{"patterns": ["#"], "start_from": "yesterday"}"##, ##"{"patterns": ["#"], "callback": "../x"}"##,
        ##"{"patterns": ["#"], "retry_policy": {"max_retries": -1}}"##,
        // An event type no event has would match nothing.
        ##"{"patterns": ["#"], "filters": {"event_type": "Task-Failed"}}"##,
    ])
    func badSubscriptionsAreRefusedAndStoreNothing(_ params: String) async throws {
        let r = await t.run(nil, "subscribe-event", params)
        #expect(r.errorCode != nil)
        #expect(r.json["error"]?["message"]?.stringValue?.isEmpty == false)
        #expect(
            await t.run(nil, "get-events", #"{"subscription": "sub_missing"}"#).errorCode == "SUBSCRIPTION_NOT_FOUND")
    }

    @Test func chainsLinkCausesAndEffects() async throws {
        let root = await publish("w1", "build_started")
        let rootID = root.result["event_id"]?.stringValue ?? ""
        let mid = await publish("w1", "build_failed", ", \"metadata\": {\"causation_id\": \"\(rootID)\"}")
        let midID = mid.result["event_id"]?.stringValue ?? ""
        await publish("w1", "retry_requested", ", \"metadata\": {\"causation_id\": \"\(midID)\"}")
        let chain = await t.run(nil, "get-events", "{\"event_id\": \"\(midID)\", \"chain\": true}")
        #expect(
            chain.result["caused_by"]?.arrayValue?.compactMap { $0["event_type"]?.stringValue } == ["build_started"])
        #expect(chain.result["causes"]?.arrayValue?.compactMap { $0["event_type"]?.stringValue } == ["retry_requested"])
        // The hub's own events chain too: `start` causes phase_started and workflow_state_updated.
        await t.run("w1", "start")
        let startedEvents = await t.run("w1", "get-events", #"{"event_types": ["started"]}"#).result["events"]
        let started = startedEvents?.arrayValue?.first?["event_id"]?.stringValue ?? ""
        let effects = await t.run(nil, "get-events", "{\"event_id\": \"\(started)\", \"chain\": true}")
        #expect(effects.result["causes"]?.arrayValue?.contains { $0["event_type"] == "phase_started" } == true)
        #expect(
            await t.run(nil, "get-events", #"{"event_id": "evt_nope", "chain": true}"#).errorCode
                == "INVALID_PARAMETERS")
    }

    @Test func countersFollowAcknowledgedEvents() async throws {
        await t.run(
            nil, "subscribe-event",
            #"{"patterns": ["*.tick", "*.never"], "callback": "k", "start_from": "all", "filters": {"severity": "error"}}"#
        )
        await publish("w1", "tick", #", "severity": "error""#)
        await publish("w1", "tick")
        _ = await pending("k", ack: true)
        let sub = try #require(await t.hub.store.read { tx in try tx.subscription("k") })
        #expect(sub.counters.matchedByPattern["*.tick"] == 2)
        #expect(sub.counters.matchedByPattern["*.never"] == nil)
        #expect(sub.counters.filtered == 1)
        #expect(sub.counters.acked == 1)
        #expect(sub.counters.delivered == 1)
    }

    /// A start past the newest event put the cursor there, so the events published until the
    /// log caught up were skipped without a word (ack-events and replay-events refuse it).
    @Test func aStartPastTheNewestEventIsRefused() async throws {
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        let newest =
            await t.run(nil, "get-events", #"{"order": "desc", "limit": 1}"#).result["events"]?.arrayValue?
            .first?["sequence"]?.intValue ?? 0
        let refused = await t.run(
            nil, "subscribe-event",
            "{\"patterns\": [\"#\"], \"callback\": \"far\", \"start_from\": {\"sequence\": \(newest + 50)}}")
        #expect(refused.errorCode == "INVALID_PARAMETERS", "\(refused.json)")
        let next = await t.run(
            nil, "subscribe-event",
            "{\"patterns\": [\"#\"], \"callback\": \"next\", \"start_from\": {\"sequence\": \(newest + 1)}}")
        #expect(next.succeeded, "\(next.json)")
    }

    /// A workflow id narrows replay-events (§17): the replay handed out every workflow's events
    /// in the range. Events after the subscription's old position come as they would have.
    @Test func aReplayWithAWorkflowIDRedeliversThatWorkflowsEventsOnly() async throws {
        await t.run(nil, "subscribe-event", ##"{"patterns": ["#"], "callback": "all", "start_from": "all"}"##)
        await t.run("wf1", "create", #"{"phases": ["a"]}"#)
        await t.run("wf2", "create", #"{"phases": ["a"]}"#)
        let first =
            await t.run(nil, "get-events", #"{"subscription": "all", "ack": true}"#).result["events"]?
            .arrayValue ?? []
        let workflows = Set(first.compactMap { $0["workflow_id"]?.stringValue })
        #expect(workflows.isSuperset(of: ["wf1", "wf2"]))
        let replay = await t.run("wf1", "replay-events", #"{"subscription": "all", "from_sequence": 1}"#)
        #expect(replay.succeeded, "\(replay.json)")
        await t.run("wf2", "publish-event", #"{"event_type": "after_replay"}"#)
        let again =
            await t.run(nil, "get-events", #"{"subscription": "all", "ack": true}"#).result["events"]?
            .arrayValue ?? []
        let replayed = again.filter { $0["event_type"] != "after_replay" }
        #expect(!replayed.isEmpty)
        #expect(
            replay.result["events_in_range"]?.intValue == Int64(replayed.count),
            "§17: the number of events in the range")
        let subjects = again.compactMap { $0["subject"]?.stringValue }
        #expect(replayed.allSatisfy { $0["workflow_id"] == "wf1" }, "\(subjects)")
        #expect(again.last?["event_type"] == "after_replay", "a new event of another workflow still comes")
        let idle = await t.run(nil, "get-events", #"{"subscription": "all"}"#).result["events"]?.arrayValue
        #expect(idle?.isEmpty == true)
    }

    /// A read of a subscription after a sequence, without ack, is a view of its pending events
    /// past it (a follow without ack reads on this way) that leaves the cursor alone; with ack
    /// it is refused, as acknowledging it would pass over the pending events before it.
    @Test func aSubscriptionReadAfterASequenceIsAViewOfItsPendingEvents() async throws {
        await t.run(nil, "subscribe-event", #"{"patterns": ["*.tick"], "callback": "v", "start_from": "all"}"#)
        var sequences: [Int64] = []
        for _ in 0..<3 { sequences.append(await publish("w1", "tick").result["event"]?["sequence"]?.intValue ?? 0) }
        let newest = await publish("w1", "other").result["event"]?["sequence"]?.intValue
        let cursor = await pending("v").cursor
        let view = await t.run(nil, "get-events", "{\"subscription\": \"v\", \"after_sequence\": \(sequences[0])}")
        #expect(view.result["events"]?.arrayValue?.compactMap { $0["sequence"]?.intValue } == Array(sequences[1...]))
        #expect(view.result["cursor"]?.intValue == cursor)
        // It looked as far as the log goes: a follow goes on from there, not from its last tick.
        #expect(view.result["read_through"]?.intValue == newest)
        #expect(await pending("v").types == ["tick", "tick", "tick"])
        let acking = await t.run(
            nil, "get-events", "{\"subscription\": \"v\", \"ack\": true, \"after_sequence\": \(sequences[0])}")
        #expect(acking.errorCode == "INVALID_PARAMETERS", "\(acking.json)")
        #expect(await pending("v").cursor == cursor)
    }

    /// Found by a probe: ack-events during a bounded replay counted the replayed range only,
    /// though acknowledging past the point the replay returns to acknowledges what follows it
    /// too: `acknowledged` and the subscription's acked counter fell short.
    @Test func ackEventsDuringABoundedReplayCountsEverythingItAcknowledges() async throws {
        await t.run(nil, "subscribe-event", #"{"patterns": ["*.tick"], "callback": "r", "start_from": "all"}"#)
        var sequences: [Int64] = []
        for _ in 0..<7 { sequences.append(await publish("w1", "tick").result["event"]?["sequence"]?.intValue ?? 0) }
        let first = await t.run(nil, "ack-events", "{\"subscription\": \"r\", \"up_to_sequence\": \(sequences[4])}")
        #expect(first.result["acknowledged"] == 5)
        let replay = await t.run(
            nil, "replay-events",
            "{\"subscription\": \"r\", \"from_sequence\": \(sequences[1]), \"to_sequence\": \(sequences[2])}")
        #expect(replay.succeeded, "\(replay.json)")
        let second = await t.run(nil, "ack-events", "{\"subscription\": \"r\", \"up_to_sequence\": \(sequences[6])}")
        // The two replayed ticks and the two after the point the replay returned to.
        #expect(second.result["acknowledged"] == 4, "\(second.json)")
        #expect(second.result["cursor"]?.intValue == sequences[6])
        let stored = try #require(await t.hub.store.read { tx in try tx.subscription("r") })
        #expect(stored.counters.acked == 9)
    }

    /// Found by a probe: a start_from time in the future was taken as "new", so the events
    /// published before that time were delivered. It is refused, as a sequence past the newest is.
    @Test func aStartFromATimeInTheFutureIsRefused() async throws {
        let later = Timestamp.format(milliseconds: t.clock.nowMilliseconds() + 3_600_000)
        let refused = await t.run(
            nil, "subscribe-event",
            "{\"patterns\": [\"#\"], \"callback\": \"f\", \"start_from\": {\"time\": \"\(later)\"}}")
        #expect(refused.errorCode == "INVALID_PARAMETERS", "\(refused.json)")
        #expect(refused.error?.message.contains("in the future") == true, "\(refused.json)")
        #expect(await t.run(nil, "get-events", #"{"subscription": "f"}"#).errorCode == "SUBSCRIPTION_NOT_FOUND")
        let now = Timestamp.format(milliseconds: t.clock.nowMilliseconds())
        let accepted = await t.run(
            nil, "subscribe-event",
            "{\"patterns\": [\"#\"], \"callback\": \"f\", \"start_from\": {\"time\": \"\(now)\"}}")
        #expect(accepted.succeeded, "\(accepted.json)")
    }
}
