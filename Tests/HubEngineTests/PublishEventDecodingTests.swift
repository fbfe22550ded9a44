import HubCore
import Testing

@testable import HubEngine

/// publish-event reads its validated parameters directly (its hot path); it must read
/// exactly what the general `Decodable` path reads.
@Suite struct PublishEventDecodingTests {
    static let documents = [
        #"{"event_type": "build_finished"}"#,
        #"{"event_type": "", "data": null, "phase": null}"#,
        #"""
        {"event_type": "tests_passed", "data": {"suite": "unit", "n": [1, 2.5, null]}, "severity": "warning",
         "phase": 2, "source": "ci", "agent_id": "agent_7", "dedup_id": "run-42", "enable_batching": false,
         "batch_optimization": "fixed", "metadata": {"correlation_id": "c1", "causation_id": "evt_x", "tags": ["a", "b"]}}
        """#,
        #"{"events": [{"event_type": "a", "data": 3}, {"event_type": "b", "metadata": {"tags": []}, "severity": "critical"}]}"#,
        #"{"events": [], "source": "x"}"#,
        #"{"metadata": {}}"#,
    ]

    @Test(arguments: documents) func theDirectReadMatchesDecodable(_ text: String) throws {
        let value = try JSONParser.parse(text)
        let direct = try PublishEvent.Parameters.decode(value)
        let general = try PublishEvent.Parameters.decodeThroughDecodable(value)
        #expect(Self.describe(direct) == Self.describe(general))
    }

    @Test func aMistypedMemberGoesTheGeneralWayAndIsReported() throws {
        // The schema refuses these first; decoding on its own still names the member.
        let value = try JSONParser.parse(#"{"event_type": "a", "phase": "two"}"#)
        #expect(throws: HubError.self) { try PublishEvent.Parameters.decode(value) }
    }

    static func describe(_ p: PublishEvent.Parameters) -> String {
        func one(_ e: PublishEvent.EventInput) -> String {
            [
                e.eventType, e.data?.serialized() ?? "-", e.severity?.rawValue ?? "-", e.phase.map(String.init) ?? "-",
                e.source ?? "-", e.agentId ?? "-", e.dedupId ?? "-", e.enableBatching.map(String.init) ?? "-",
                e.batchOptimization ?? "-", e.metadata?.correlationId ?? "-", e.metadata?.causationId ?? "-",
                e.metadata?.tags?.joined(separator: ",") ?? "-", e.metadata == nil ? "no-meta" : "meta",
            ].joined(separator: "|")
        }
        let top = PublishEvent.EventInput(
            eventType: p.eventType ?? "<none>", data: p.data, severity: p.severity, phase: p.phase, source: p.source,
            agentId: p.agentId, metadata: p.metadata, dedupId: p.dedupId, enableBatching: p.enableBatching,
            batchOptimization: p.batchOptimization)
        return one(top) + " events:" + (p.events.map { $0.map(one).joined(separator: ";") } ?? "none")
    }
}
