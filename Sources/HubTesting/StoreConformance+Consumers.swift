import Foundation
import HubCore
import HubEngine
import HubStore

/// Durable consumers through the engine on the store under test (§10): a cursor
/// that holds events until acknowledged, acks that only move forward, bounded
/// replay, and retention that keeps what a subscription still waits for.
extension StoreConformance {
    static let consumerCases: [(name: String, run: @Sendable (any Store) async throws -> Void)] = [
        ("cursors hold events until acknowledged; acks only move forward", cursorsAndAcks),
        ("a bounded replay redelivers its range and returns", boundedReplay),
        ("acknowledged_only retention keeps unacknowledged events", retentionKeepsPending),
        ("acknowledged_only retention waits only for the subscriptions matching an event", retentionByInterest),
    ]

    /// A hub on `store` with a manual clock; state files go to a temporary directory.
    static func hub(on store: any Store) -> (Hub, ManualClock) {
        let clock = ManualClock()
        let directory = NSTemporaryDirectory() + "conformance-\(UInt64.random(in: 0...UInt64.max))"
        return (Hub(store: store, stateDirectory: directory, clock: clock, workingDirectory: directory), clock)
    }

    static func perform(_ hub: Hub, _ workflow: String?, _ operation: String, _ json: String) async throws
        -> JSONValue
    {
        let response = await hub.perform(
            OperationRequest(workflowID: workflow, operation: operation, parameters: try JSONParser.parse(json)))
        if let error = response.error { throw ConformanceFailure(description: "\(operation): \(error.message)") }
        return response.json["result"] ?? .null
    }

    static func numbers(_ result: JSONValue) -> [Int64] {
        result["events"]?.arrayValue?.compactMap { $0["data"]?["n"]?.intValue } ?? []
    }

    static func cursorsAndAcks(_ store: any Store) async throws {
        let (hub, _) = hub(on: store)
        _ = try await perform(hub, nil, "subscribe-event", #"{"patterns": ["*.conf_tick"], "callback": "conf-acks"}"#)
        var sequences: [Int64] = []
        for n in 0..<4 {
            let r = try await perform(
                hub, nil, "publish-event", "{\"event_type\": \"conf_tick\", \"data\": {\"n\": \(n)}}")
            sequences.append(r["sequence"]?.intValue ?? 0)
            _ = try await perform(hub, nil, "publish-event", #"{"event_type": "conf_noise"}"#)
        }
        let unacked = try await perform(hub, nil, "get-events", #"{"subscription": "conf-acks"}"#)
        let again = try await perform(hub, nil, "get-events", #"{"subscription": "conf-acks"}"#)
        try expect(numbers(unacked) == [0, 1, 2, 3], "pending events: \(numbers(unacked))")
        try expect(numbers(again) == [0, 1, 2, 3], "unacknowledged events did not come again")
        _ = try await perform(
            hub, nil, "ack-events", "{\"subscription\": \"conf-acks\", \"up_to_sequence\": \(sequences[1])}")
        let rest = try await perform(hub, nil, "get-events", #"{"subscription": "conf-acks", "ack": true}"#)
        try expect(numbers(rest) == [2, 3], "after an ack through event 1: \(numbers(rest))")
        let back = try await perform(
            hub, nil, "ack-events", "{\"subscription\": \"conf-acks\", \"up_to_sequence\": \(sequences[0])}")
        try expect((back["cursor"]?.intValue ?? 0) >= sequences[3], "an ack moved the cursor back")
        let none = try await perform(hub, nil, "get-events", #"{"subscription": "conf-acks"}"#)
        try expect(numbers(none).isEmpty, "acknowledged events came again")
    }

    static func boundedReplay(_ store: any Store) async throws {
        let (hub, _) = hub(on: store)
        _ = try await perform(
            hub, nil, "subscribe-event", #"{"patterns": ["*.conf_replay"], "callback": "conf-replay"}"#)
        var sequences: [Int64] = []
        for n in 0..<5 {
            let r = try await perform(
                hub, nil, "publish-event", "{\"event_type\": \"conf_replay\", \"data\": {\"n\": \(n)}}")
            sequences.append(r["sequence"]?.intValue ?? 0)
        }
        _ = try await perform(hub, nil, "get-events", #"{"subscription": "conf-replay", "ack": true}"#)
        _ = try await perform(
            hub, nil, "replay-events",
            "{\"subscription\": \"conf-replay\", \"from_sequence\": \(sequences[1]), \"to_sequence\": \(sequences[3])}")
        let replayed = try await perform(hub, nil, "get-events", #"{"subscription": "conf-replay", "ack": true}"#)
        try expect(numbers(replayed) == [1, 2, 3], "replayed: \(numbers(replayed))")
        let after = try await perform(hub, nil, "get-events", #"{"subscription": "conf-replay"}"#)
        try expect(numbers(after).isEmpty, "after the replay the subscription did not return: \(numbers(after))")
    }

    static func retentionKeepsPending(_ store: any Store) async throws {
        let (hub, clock) = hub(on: store)
        _ = try await perform(
            hub, nil, "subscribe-event", #"{"patterns": ["*.conf_keep"], "callback": "conf-keep", "start_from": "all"}"#
        )
        for n in 0..<3 {
            _ = try await perform(hub, nil, "publish-event", "{\"event_type\": \"conf_keep\", \"data\": {\"n\": \(n)}}")
        }
        _ = try await perform(hub, nil, "get-events", #"{"subscription": "conf-keep", "limit": 1, "ack": true}"#)
        clock.advance(by: .hours(2))
        _ = try await perform(
            hub, nil, "configure-persistence", #"{"replay_capabilities": "acknowledged_only", "enforce_now": true}"#)
        let pending = try await perform(hub, nil, "get-events", #"{"subscription": "conf-keep"}"#)
        try expect(numbers(pending) == [1, 2], "retention removed unacknowledged events: \(numbers(pending))")
    }

    static func retentionByInterest(_ store: any Store) async throws {
        let (hub, clock) = hub(on: store)
        for (name, type) in [("conf-int-a", "conf_int_a"), ("conf-int-b", "conf_int_b")] {
            _ = try await perform(
                hub, nil, "subscribe-event", "{\"patterns\": [\"*.\(type)\"], \"callback\": \"\(name)\"}")
        }
        for type in ["conf_int_a", "conf_int_b", "conf_int_a", "conf_int_tail"] {
            _ = try await perform(hub, nil, "publish-event", "{\"event_type\": \"\(type)\"}")
        }
        // A takes and acknowledges both of its events; B has acknowledged nothing.
        let taken = try await perform(hub, nil, "get-events", #"{"subscription": "conf-int-a", "ack": true}"#)
        try expect(taken["events"]?.arrayValue?.count == 2, "subscription a got \(taken)")
        clock.advance(by: .hours(2))
        _ = try await perform(
            hub, nil, "configure-persistence", #"{"replay_capabilities": "acknowledged_only", "enforce_now": true}"#)
        let a = try await perform(hub, nil, "get-events", #"{"event_types": ["conf_int_a"]}"#)
        try expect(a["events"]?.arrayValue?.isEmpty == true, "events only a wanted, acknowledged, stayed: \(a)")
        let b = try await perform(hub, nil, "get-events", #"{"subscription": "conf-int-b"}"#)
        try expect(b["events"]?.arrayValue?.count == 1, "b's unacknowledged event went: \(b)")
        _ = try await perform(hub, nil, "configure-persistence", #"{"replay_capabilities": "full"}"#)
    }
}
