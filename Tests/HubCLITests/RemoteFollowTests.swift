import HubCore
import HubEngine
import Testing

@testable import HubCLI

/// The stream URL a `--hub` follow asks for carries every filter whole.
@Suite struct RemoteFollowTests {
    /// `#` was left unencoded, so `workflow.#` reached the server as `workflow.` and the rest
    /// of the query (event types, the workflow id) became a fragment the server never saw.
    @Test func aPatternWithHashKeepsItAndTheFiltersAfterIt() async throws {
        let remote = try RemoteHub(url: "http://127.0.0.1:9")
        let request = OperationRequest(
            workflowID: "wf1", operation: "get-events",
            parameters: ["follow": true, "patterns": ["workflow.#", "#"], "event_types": ["task_failed"]])
        let url = try remote.streamURL(for: request)
        await remote.shutdown()
        #expect(!url.contains("#"), "\(url)")
        #expect(url.contains("patterns=workflow.%23,%23") || url.contains("patterns=workflow.%23%2C%23"), "\(url)")
        #expect(url.contains("event_types=task_failed"))
        #expect(url.contains("workflow_id=wf1"))
    }

    /// `order: asc`, the order of every follow, was refused as a filter the stream does not take.
    @Test func ascendingOrderIsTheStreamsOwn() async throws {
        let remote = try RemoteHub(url: "http://127.0.0.1:9")
        let request = OperationRequest(
            workflowID: nil, operation: "get-events", parameters: ["follow": true, "order": "asc"])
        #expect(try remote.streamURL(for: request).hasSuffix("/v1/events/stream"))
        await remote.shutdown()
    }

    /// `workflow_id` among the parameters, as get-events takes it, narrows the stream too (it
    /// was refused); naming two different workflows is refused.
    @Test func aWorkflowIDAmongTheParametersNarrowsTheStream() async throws {
        let remote = try RemoteHub(url: "http://127.0.0.1:9")
        let named = OperationRequest(
            workflowID: nil, operation: "get-events", parameters: ["follow": true, "workflow_id": "wB"])
        #expect(try remote.streamURL(for: named).hasSuffix("/v1/events/stream?workflow_id=wB"))
        let both = OperationRequest(
            workflowID: "wA", operation: "get-events", parameters: ["follow": true, "workflow_id": "wB"])
        #expect(throws: HubError.self) { try remote.streamURL(for: both) }
        await remote.shutdown()
    }
}
