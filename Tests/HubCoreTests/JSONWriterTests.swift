import HubCore
import Testing

/// The writer must produce, byte for byte, what serializing the same document as a
/// `JSONValue` produces: clients cannot tell which way an answer was made.
@Suite struct JSONWriterTests {
    @Test func writesWhatTheTreeSerializes() throws {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("a")
        writer.int(-12)
        writer.key("empty")
        writer.beginObject()
        writer.endObject()
        writer.key("list")
        writer.beginArray()
        writer.string("x\"y\\z\n\u{1}é")
        writer.null()
        writer.bool(false)
        writer.beginArray()
        writer.endArray()
        writer.value(["k": [1, 2.5, "v"]])
        writer.raw(#"{"r":[1]}"#)
        writer.string(concatenating: ["a\"", "", "b\t"])
        writer.endArray()
        writer.key("last")
        writer.string(nil)
        writer.endObject()
        let tree: JSONValue = [
            "a": -12, "empty": .emptyObject,
            "list": [
                .string("x\"y\\z\n\u{1}é"), .null, false, .array([]), ["k": [1, 2.5, "v"]], ["r": [1]], "a\"b\t",
            ],
            "last": .null,
        ]
        #expect(String(decoding: writer.bytes, as: UTF8.self) == tree.serialized(.compact))
    }

    @Test func anEnvelopeTakesARawMemberInItsPlace() {
        let envelope: JSONValue = ["status": "success", "result": .null, "next_steps": .strings(["a"])]
        let raw = Array(#"{"n":[1,2]}"#.utf8)
        var expected = envelope
        expected["result"] = ["n": [1, 2]]
        #expect(envelope.serializedBytes(replacing: "result", with: raw) == expected.serializedBytes(.compact))
        #expect(JSONValue.array([1]).serializedBytes(replacing: "result", with: raw) == Array("[1]".utf8))
    }

    static let events: [HubEvent] = [
        HubEvent(
            eventID: "evt_1", sequence: 1, eventType: "build_done", workflowID: "wf-1", phase: 2, severity: .info,
            source: "client", timestamp: 1_764_000_000_123, data: ["text": "say \"hi\"\n", "n": [1, 2.5, nil]],
            subject: "workflow.wf-1.build_done", metadata: EventMetadata(), dedupID: nil),
        HubEvent(
            eventID: "evt_2", sequence: 9_000_000_000, eventType: "agent_failed", workflowID: nil, phase: 0,
            severity: .critical, source: "coordination-hub", timestamp: 0, data: .emptyObject,
            subject: "agent.a-7.failed", metadata: EventMetadata(correlationID: "c\u{7}", tags: ["t1", "é"]),
            dedupID: "job-1"),
        HubEvent(
            eventID: "evt_3", sequence: 3, eventType: "x", workflowID: nil, phase: 11, severity: .warning,
            source: "s", timestamp: -1, data: ["unicode": "\u{1F600}\\"], subject: "nodots",
            metadata: EventMetadata(causationID: "evt_1"), dedupID: nil),
    ]

    @Test(arguments: events)
    func anEventIsWrittenAsItsJSONSerializes(_ event: HubEvent) {
        for compactData in [nil, event.data.serialized(.compact)] {
            var writer = JSONWriter()
            writer.beginObject()
            event.writeMembers(to: &writer, compactData: compactData)
            writer.key("duplicate")
            writer.bool(true)
            writer.endObject()
            var expected = event.json
            expected["duplicate"] = true
            #expect(String(decoding: writer.bytes, as: UTF8.self) == expected.serialized(.compact))
        }
    }
}
