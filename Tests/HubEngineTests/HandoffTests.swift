import Foundation
import HubCore
import HubEngine
import HubTesting
import Testing

@Suite struct HandoffTests {
    let t: TestHub
    init() throws { t = try TestHub() }

    let handoff = #"""
        {"orchestrate_to_hub": {
          "workflow_definition": {"workflow_id": "wf_h", "phases": [{"name": "build", "tasks": [{"task_id": "compile"}]}]},
          "initial_state": "phase_0_ready",
          "agent_preferences": {"agent_pool_size": 1},
          "monitoring_config": {"subscriptions": [{"patterns": ["workflow.*.phase_completed", "*.failed", "workflow.*.started"], "callback": "orchestrator"}]}}}
        """#

    @Test func aHandoffCreatesSubscribesAndStartsInOneStep() async throws {
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        let accepted = await t.run(nil, "accept-handoff", handoff)
        #expect(accepted.succeeded, "\(accepted.json)")
        #expect(accepted.result["status"] == "running")
        // The envelope names the workflow the definition gave (the request named none).
        #expect(accepted.json["workflow_id"] == "wf_h")
        #expect(accepted.result["agent_pool"]?["bound"] == ["ag"])
        #expect(accepted.result["subscriptions"]?.arrayValue?.first?["callback"] == "orchestrator")
        let seen = await t.run(nil, "get-events", #"{"subscription": "orchestrator"}"#)
        #expect(seen.result["events"]?.arrayValue?.map { $0["event_type"] } == ["started"])
        #expect(await t.run("wf_h", "get-status").result["workflow_state"]?["status"] == "running")
    }

    @Test func aFailedHandoffLeavesNothingBehind() async throws {
        // The workflow exists already: the subscription is not stored either.
        await t.run("wf_h", "create", #"{"phases": ["a"]}"#)
        let refused = await t.run(nil, "accept-handoff", handoff)
        #expect(refused.errorCode == "WORKFLOW_EXISTS")
        #expect(
            await t.run(nil, "get-events", #"{"subscription": "orchestrator"}"#).errorCode == "SUBSCRIPTION_NOT_FOUND")
        let bad = await t.run(
            nil, "accept-handoff",
            #"{"orchestrate_to_hub": {"workflow_definition": {"workflow_id": "wf_x", "phases": ["a"]}, "monitoring_config": {"subscriptions": [{"patterns": ["a..b"]}]}}}"#
        )
        #expect(bad.errorCode == "INVALID_PARAMETERS")
        #expect(await t.run("wf_x", "get-status").errorCode == "WORKFLOW_NOT_FOUND")
        // A bad id is INVALID_WORKFLOW_ID whether it breaks the id rule or names an operation (§2).
        for id in ["h.11", "create"] {
            let named = await t.run(
                nil, "accept-handoff",
                "{\"orchestrate_to_hub\": {\"workflow_definition\": {\"workflow_id\": \"\(id)\", \"phases\": [\"a\"]}}}"
            )
            #expect(named.errorCode == "INVALID_WORKFLOW_ID", "\(id): \(named.json)")
        }
        #expect(await t.run(nil, "list-workflows", #"{"include_archived": true}"#).result["total"] == 1)
    }

    /// An orchestrator that hands over several workflows keeps one subscription: a handoff
    /// naming an existing callback updates it and keeps its cursor, as subscribe-event does
    /// (it was refused, so the second handoff failed).
    @Test func aHandoffUnderAnExistingCallbackUpdatesThatSubscription() async throws {
        let first = await t.run(nil, "subscribe-event", ##"{"patterns": ["*.nothing"], "callback": "orchestrator"}"##)
        let accepted = await t.run(nil, "accept-handoff", handoff)
        #expect(accepted.succeeded, "\(accepted.json)")
        #expect(
            accepted.result["subscriptions"]?.arrayValue?.first?["subscription_id"] == first.result["subscription_id"])
        let seen = await t.run(nil, "get-events", #"{"subscription": "orchestrator"}"#)
        #expect(seen.result["events"]?.arrayValue?.map { $0["event_type"] } == ["started"])
        // A second handoff under the same callback widens it: both workflows' events reach it.
        let second = handoff.replacingOccurrences(of: "wf_h", with: "wf_i")
        #expect(await t.run(nil, "accept-handoff", second).succeeded)
        await t.run("wf_h", "publish-event", #"{"event_type": "failed"}"#)
        await t.run("wf_i", "publish-event", #"{"event_type": "failed"}"#)
        let both = await t.run(nil, "get-events", #"{"subscription": "orchestrator", "event_types": ["failed"]}"#)
        #expect(both.result["events"]?.arrayValue?.compactMap { $0["workflow_id"]?.stringValue } == ["wf_h", "wf_i"])
    }

    /// Widening adds a workflow and patterns; the orchestrator's own settings stay: a second
    /// handoff turned its webhook subscription into a realtime one with the default retry
    /// policy and dropped its severity filter.
    @Test func aHandoffWideningASubscriptionKeepsItsSettings() async throws {
        let first = handoff.replacingOccurrences(
            of: #""callback": "orchestrator"}"#,
            with:
                #""callback": "orchestrator", "delivery": "batch", "secret": "s3", "filters": {"severity": ["error"]}, "retry_policy": {"max_retries": 9}}"#
        )
        #expect(await t.run(nil, "accept-handoff", first).succeeded)
        let second = handoff.replacingOccurrences(of: "wf_h", with: "wf_i")
        #expect(await t.run(nil, "accept-handoff", second).succeeded)
        let stored = try #require(try await t.hub.store.read { try $0.subscription("orchestrator") })
        #expect(stored.delivery == .batch)
        #expect(stored.secret == "s3")
        #expect(stored.retryPolicy.maxRetries == 9)
        #expect(stored.filter.severities == [.error])
        #expect(stored.filter.workflowIDs == ["wf_h", "wf_i"])
        await t.run("wf_i", "publish-event", #"{"event_type": "failed", "severity": "info"}"#)
        await t.run("wf_i", "publish-event", #"{"event_type": "failed", "severity": "error"}"#)
        let seen = await t.run(nil, "get-events", #"{"subscription": "orchestrator", "event_types": ["failed"]}"#)
        #expect(seen.result["events"]?.arrayValue?.map { $0["severity"] } == ["error"])
    }

    @Test func aFinishedHandoffReturnsHubToOrchestrate() async throws {
        await t.run(nil, "register-agent", #"{"agent_id": "ag"}"#)
        await t.run(nil, "accept-handoff", handoff)
        let claimed = await t.run(nil, "claim-task", #"{"agent_id": "ag"}"#).result["tasks"]?.arrayValue?.first
        let lease = try #require(claimed?["lease_id"]?.stringValue)
        await t.run(nil, "complete-task", "{\"lease_id\": \"\(lease)\"}")
        let status = await t.run("wf_h", "get-status")
        #expect(status.result["hub_to_orchestrate"]?["completion_status"] == "success")
        let completed = await t.run("wf_h", "complete")
        #expect(completed.result["hub_to_orchestrate"]?["final_state"]?["status"] == "completed")
        let seen = await t.run(nil, "get-events", #"{"subscription": "orchestrator"}"#)
        #expect(seen.result["events"]?.arrayValue?.map { $0["event_type"] } == ["started", "phase_completed"])
    }

    @Test func theWorkflowIDMayComeFromTheCallForm() async throws {
        let accepted = await t.run(
            "wf_c", "accept-handoff",
            #"{"orchestrate_to_hub": {"workflow_definition": {"phases": ["a"]}, "initial_state": "created"}}"#)
        #expect(accepted.succeeded, "\(accepted.json)")
        #expect(accepted.result["status"] == "created")
    }

    /// Found by a probe: a handoff whose subscription named an existing callback without a
    /// workflow filter added its patterns to it as given, and the filter, which sees every
    /// workflow, could not narrow them: another workflow's start reached the orchestrator. The
    /// added patterns name the workflow's subjects instead; one that matches none is left out.
    @Test func aHandoffIntoASubscriptionOfEveryWorkflowStaysNarrowedToItsWorkflow() async throws {
        #expect(await t.run(nil, "subscribe-event", #"{"patterns": ["*.created"], "callback": "orch"}"#).succeeded)
        let accepted = await t.run(
            nil, "accept-handoff",
            #"{"orchestrate_to_hub": {"workflow_definition": {"workflow_id": "h2", "phases": ["a"]}, "monitoring_config": {"subscriptions": [{"patterns": ["*.started", "agent.*.failed"], "callback": "orch"}]}}}"#
        )
        #expect(accepted.succeeded, "\(accepted.json)")
        await t.run("other", "create", #"{"phases": ["a"]}"#)
        await t.run("other", "start")
        let stored = try #require(try await t.hub.store.read { try $0.subscription("orch") })
        #expect(stored.patterns == ["*.created", "workflow.h2.started"])
        #expect(stored.filter.workflowIDs.isEmpty)
        let seen = await t.run(nil, "get-events", #"{"subscription": "orch"}"#)
        #expect(
            seen.result["events"]?.arrayValue?.compactMap { $0["subject"]?.stringValue }
                == ["workflow.h2.created", "workflow.h2.started", "workflow.other.created"])
    }
}
