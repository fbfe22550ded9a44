import HubCore
import HubEngine
import HubTesting
import Testing

@Suite struct GetEventsTests {
    let t: TestHub
    init() async throws {
        t = try TestHub()
        await t.run("w1", "create", #"{"phases": [{"name": "p", "tasks": [{"task_id": "a", "max_retries": 0}]}]}"#)
        await t.run("w1", "start")
        t.clock.advance(by: .minutes(10))
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        let lease = await t.run(nil, "claim-task", #"{"agent_id": "ag"}"#).result["tasks"]?.arrayValue?.first?[
            "lease_id"]
        await t.run(nil, "fail-task", "{\"lease_id\": \"\(lease?.stringValue ?? "")\"}")
    }

    func types(_ params: String, workflow: String? = nil) async -> [String] {
        let events = await t.run(workflow, "get-events", params).result["events"]?.arrayValue ?? []
        return events.compactMap { $0["event_type"]?.stringValue }
    }

    @Test func patternsFilterBySubject() async {
        #expect(await types(#"{"patterns": ["*.task_failed"]}"#) == ["task_failed"])
        #expect(await types(#"{"patterns": ["agent.*.registered"]}"#) == ["registered"])
        #expect(Set(await types(#"{"patterns": ["*.failed"]}"#)) == ["failed"])
    }

    @Test func severityFilters() async {
        #expect(Set(await types(#"{"min_severity": "error"}"#)) == ["task_failed", "phase_failed", "failed"])
        #expect(await types(#"{"severity": ["warning"]}"#).isEmpty)
    }

    @Test func timeRangesAreInclusive() async {
        let late = await types(#"{"since": "2026-01-15T12:10:00Z"}"#)
        #expect(late.first == "registered")
        #expect(!late.contains("created"))
        let early = await types(#"{"until": "2026-01-15T12:00:00Z"}"#)
        #expect(early.contains("created"))
        #expect(!early.contains("task_assigned"))
    }

    @Test func descendingWithALimitReturnsTheNewest() async {
        let newest = await types(#"{"order": "desc", "limit": 1}"#)
        #expect(newest == ["workflow_state_updated"])
    }

    @Test func badFiltersAreRefused() async {
        for bad in [
            #"{"patterns": ["a..b"]}"#, #"{"patterns": ["x#"]}"#, #"{"limit": 10001}"#, #"{"since": "yesterday"}"#,
            #"{"since": "2026-01-15T13:00:00Z", "until": "2026-01-15T12:00:00Z"}"#, #"{"severity": "loud"}"#,
            // Filters that could never match anything: an event type no event has, NATS's '>'.
            #"{"event_types": ["Bad"]}"#, #"{"patterns": ["workflow.w1.>"]}"#,
            // An empty list filtered nothing (every event came), where the stream and
            // subscribe-event refuse it.
            #"{"patterns": []}"#, #"{"event_types": []}"#, #"{"severity": []}"#,
        ] {
            #expect(await t.run(nil, "get-events", bad).errorCode == "INVALID_PARAMETERS", "\(bad)")
        }
    }

    /// With event_id every other filter was ignored, a subscription not even looked up.
    @Test func eventIdTakesNoFilterBesideIt() async throws {
        let first = try #require(await t.run(nil, "get-events", #"{"limit": 1}"#).result["events"]?.arrayValue?.first)
        let id = try #require(first["event_id"]?.stringValue)
        for other in [#""subscription": "nope""#, #""patterns": ["agent.#"]"#, #""after_sequence": 999"#] {
            let refused = await t.run(nil, "get-events", "{\"event_id\": \"\(id)\", \(other)}")
            #expect(refused.errorCode == "INVALID_PARAMETERS", "\(other): \(refused.json)")
        }
        #expect(await t.run(nil, "get-events", "{\"event_id\": \"\(id)\", \"chain\": true}").succeeded)
    }
}
