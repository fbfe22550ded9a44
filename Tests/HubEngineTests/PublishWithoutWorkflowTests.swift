import HubCore
import HubEngine
import HubTesting
import Testing

/// `publish-event` without a workflow id (a departure from SPEC §2, docs/ARCHITECTURE.md):
/// the event is about no workflow, on `hub.<component>.<event_type>`, and help says so.
@Suite struct PublishWithoutWorkflowTests {
    @Test func helpSaysWhatHappensWithoutAWorkflowID() throws {
        let help = HelpText.operation(try #require(OperationTable.standard["publish-event"]))
        #expect(help.contains("Without a workflow id"))
        #expect(help.contains("hub.client.<event_type>"))
        #expect(help.contains("workflow_id null"))
    }

    @Test func anEventWithoutAWorkflowIsAboutNoWorkflowOnTheHubsSubject() async throws {
        let t = try TestHub()
        let plain = await t.run(nil, "publish-event", #"{"event_type": "deploy_started"}"#)
        #expect(plain.result["event"]?["subject"] == "hub.client.deploy_started")
        #expect(plain.result["event"]?["workflow_id"] == .null)
        #expect(plain.result["event"]?["phase"] == 0)
        // Every metadata member, null or empty (§4): it was `{}`. get-events writes it the same way.
        let metadata: JSONValue = ["correlation_id": .null, "causation_id": .null, "tags": []]
        #expect(plain.result["event"]?["metadata"] == metadata)
        let read = await t.run(nil, "get-events", #"{"event_types": ["deploy_started"]}"#)
        #expect(read.result["events"]?.arrayValue?.first?["metadata"] == metadata, "\(read.json)")
        let unusable = await t.run(nil, "publish-event", #"{"event_type": "deploy_started", "source": "CI Bot"}"#)
        #expect(unusable.result["event"]?["subject"] == "hub.client.deploy_started")
        #expect(unusable.result["event"]?["source"] == "CI Bot")
    }
}
