import Foundation
import HubCore
import HubEngine
import HubTesting
import Testing

/// What `load-state` makes of its source: the running time a bundle carries, `if_version`
/// and `auto_recovery` for a checkpoint.
@Suite struct LoadStateSourceTests {
    let t: TestHub
    init() throws { t = try TestHub() }

    /// Copies a bundle of `t` into `other`'s state directory, where load-state may read it.
    func copy(_ name: String, to other: TestHub) throws {
        try FileManager.default.createDirectory(
            atPath: other.directory.file("state"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: t.directory.file("state/\(name)"), toPath: other.directory.file("state/\(name)"))
    }

    /// The time the file sat on disk counted as running time: the loaded workflow had spent
    /// its wall_time budget, and resume blamed a timeout parameter nobody sent.
    @Test func aBundleOfARunningWorkflowKeepsTheRunningTimeItHadWhenSaved() async throws {
        await t.run(
            "wt", "create",
            #"{"phases": [{"name": "a", "tasks": [{"task_id": "t1"}]}], "timeout": "40s", "budget": {"wall_time": "45s"}}"#
        )
        await t.run("wt", "start")
        t.clock.advance(by: .seconds(2))
        #expect(await t.run("wt", "save-state", #"{"backup_location": "wt.bundle"}"#).succeeded)
        let fresh = try TestHub()
        fresh.clock.set(milliseconds: t.clock.nowMilliseconds() + 52_000)
        try copy("wt.bundle", to: fresh)
        let loaded = await fresh.run("wt", "load-state", #"{"bundle": "wt.bundle"}"#)
        #expect(loaded.succeeded, "\(loaded.json)")
        let state = await fresh.run("wt", "get-status").result["workflow_state"]
        #expect(state?["spend"]?["wall_time"] == "2s", "\(String(describing: state?["spend"]))")
        #expect(state?["status"] == "paused")
        fresh.clock.advance(by: .seconds(30))
        #expect(await fresh.run("wt", "get-status").result["workflow_state"]?["spend"]?["wall_time"] == "2s")
        #expect(await fresh.run("wt", "resume").succeeded)
    }

    /// Resumed past its timeout without a timeout given, the refusal speaks of the workflow's
    /// timeout: it said "parameter 'timeout' is 40s" though none was sent, and then still
    /// answered INVALID_PARAMETERS with context.field "timeout", blaming a parameter not sent.
    @Test func resumePastTheTimeoutNamesTheWorkflowsTimeoutUnlessOneWasSent() async throws {
        await t.run("wt", "create", #"{"phases": [{"name": "a", "tasks": [{"task_id": "t1"}]}], "timeout": "40s"}"#)
        await t.run("wt", "start")
        t.clock.advance(by: .seconds(30))
        await t.run("wt", "pause")
        let refused = await t.run("wt", "resume", #"{"timeout": "20s"}"#)
        #expect(refused.error?.message.hasPrefix("parameter 'timeout' is 20s") == true, "\(refused.json)")
        try await t.hub.store.write { tx in
            guard var w = try tx.workflow("wt") else { return }
            w.activeMilliseconds = 50_000
            try tx.update(w)
        }
        let own = await t.run("wt", "resume")
        #expect(own.errorCode == "INVALID_TRANSITION", "\(own.json)")
        #expect(own.error?.context?["field"] == nil, "\(own.json)")
        #expect(own.error?.context?["current_status"] == "paused", "\(own.json)")
        #expect(own.error?.context?["allowed_operations"]?.arrayValue?.contains("resume") == true, "\(own.json)")
        #expect(own.error?.message.contains("parameter") == false, "\(own.json)")
        #expect(own.error?.message.contains("its timeout is 40s") == true, "\(own.json)")
        #expect(own.error?.message.contains("Pass a longer timeout") == true, "\(own.json)")
    }

    /// A load that would create the workflow takes `if_version` as a check too: it was ignored.
    /// Its VERSION_CONFLICT carries what the other operations' does.
    @Test func ifVersionIsCheckedWhetherOrNotTheWorkflowExists() async throws {
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        #expect(await t.run("w1", "save-state", #"{"backup_location": "w1.bundle"}"#).succeeded)
        let fresh = try TestHub()
        try copy("w1.bundle", to: fresh)
        let absent = await fresh.run("w1", "load-state", #"{"bundle": "w1.bundle", "if_version": 99}"#)
        #expect(absent.errorCode == "VERSION_CONFLICT", "\(absent.json)")
        #expect(absent.error?.context?["expected_version"] == 99)
        #expect(await fresh.run("w1", "get-status").errorCode == "WORKFLOW_NOT_FOUND")

        let stale = await t.run("w1", "load-state", #"{"bundle": "w1.bundle", "if_version": 99}"#)
        let paused = await t.run("w1", "pause", #"{"if_version": 99}"#)
        #expect(stale.errorCode == "VERSION_CONFLICT")
        #expect(stale.error?.context?["expected_version"] == 99)
        #expect(stale.error?.context?["current_version"] == paused.error?.context?["current_version"])
        #expect(stale.error?.details != nil && stale.error?.details == paused.error?.details, "\(stale.json)")
        #expect(await t.run("w1", "load-state", #"{"bundle": "w1.bundle", "if_version": 1}"#).succeeded)
    }

    /// The refusal of a corrupt `latest` suggested auto_recovery, which load-state refused as
    /// an unknown parameter; it is taken now, as restore takes it.
    @Test func autoRecoveryAsTheRefusalSuggestsLoadsTheNewestValidCheckpoint() async throws {
        await t.run("w1", "create", #"{"phases": ["a"]}"#)
        let good = try #require(
            await t.run("w1", "checkpoint", #"{"name": "good"}"#).result["checkpoint_id"]?.stringValue)
        let bad = try #require(
            await t.run("w1", "checkpoint", #"{"name": "bad"}"#).result["checkpoint_id"]?.stringValue)
        try await t.damageCheckpoint(bad)
        let refused = await t.run("w1", "load-state", #"{"checkpoint_id": "latest"}"#)
        #expect(refused.errorCode == "CHECKPOINT_CORRUPT")
        #expect(refused.error?.recoverySuggestions.contains { $0.contains("auto_recovery: true") } == true)
        let loaded = await t.run("w1", "load-state", #"{"checkpoint_id": "latest", "auto_recovery": true}"#)
        #expect(loaded.succeeded, "\(loaded.json)")
        #expect(loaded.result["used_checkpoint"] == .string(good))
        #expect(loaded.result["fallback_used"] == true)
        #expect(loaded.result["skipped_corrupt"] == .strings([bad]))
        // An id is never replaced, whatever auto_recovery says.
        let explicit = await t.run("w1", "load-state", "{\"checkpoint_id\": \"\(bad)\", \"auto_recovery\": true}")
        #expect(explicit.errorCode == "CHECKPOINT_CORRUPT")
        #expect(
            await t.run("w1", "load-state", #"{"bundle": "x.json", "auto_recovery": true}"#).errorCode
                == "INVALID_PARAMETERS")
    }
}
